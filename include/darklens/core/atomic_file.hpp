// Output files appear whole or not at all: data goes to a temporary file
// beside the target, which commit() renames over it. Destroying an
// uncommitted AtomicFile removes the temporary, so a failed or interrupted
// run never leaves half a file (and never clobbers an older good one).
//
// Durability is a choice (set_sync): by default commit() does not wait for
// the disk. The rename already gives every reader, and any crash of the
// program, the old file or the whole new one; only a power loss (or kernel
// crash) in the seconds after can leave a new name empty: ext4 and btrfs
// write the data of a file renamed over an older one before the rename
// itself. With sync on, commit() fsyncs first, for outputs that must
// survive a power loss the moment the program ends (`darklens --sync`).
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
  /// Flushes (and with sync on, fsyncs) and renames onto the target.
  /// Throws IoError.
  void commit();

  /// Whether commit() fsyncs before the rename, for every AtomicFile of the
  /// process from now on (default: off).
  static void set_sync(bool on);
  static bool sync();

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return tmp_; }
  /// The underlying stream (for libraries that write to a FILE*).
  FILE* stream() { return f_; }

 private:
  void put(const void* data, size_t n);  // fwrite; throws IoError naming the file

  std::string path_, tmp_;
  std::unique_ptr<char[]> buffer_;  // the stream's (outlives it: closed first)
  FILE* f_ = nullptr;
  bool committed_ = false;
  // With sync on: bytes given to write(), and how many of them the disk was
  // asked to start writing (so that commit()'s fsync has only the tail to
  // wait for).
  size_t written_ = 0, started_ = 0;
};

}  // namespace darklens
