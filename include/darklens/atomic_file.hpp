// Output files appear whole or not at all: data goes to a temporary file
// beside the target, which commit() renames over it. Destroying an
// uncommitted AtomicFile removes the temporary, so a failed or interrupted
// run never leaves half a file (and never clobbers an older good one).
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace darklens {

class AtomicFile {
 public:
  /// Creates `<path>.tmp-<pid>-<n>`. Throws IoError naming `path`.
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n);
  void write(std::string_view s) { write(s.data(), s.size()); }
  /// Flushes, fsyncs and renames onto the target. Throws IoError.
  void commit();

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return tmp_; }
  /// The underlying stream (for libraries that write to a FILE*).
  FILE* stream() { return f_; }

 private:
  std::string path_, tmp_;
  std::unique_ptr<char[]> buffer_;  // the stream's (outlives it: closed first)
  FILE* f_ = nullptr;
  bool committed_ = false;
  // Bytes given to write(), and how many of them the disk was asked to
  // start writing (so that commit()'s fsync has only the tail to wait for).
  size_t written_ = 0, started_ = 0;
};

}  // namespace darklens
