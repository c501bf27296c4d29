// A byte stream over a file, standard input or memory, transparently
// decompressed (gzip or zstd, detected by magic bytes). Internal to ingest.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "darklens/ingest/ingest.hpp"

namespace darklens::ingest {

class ByteStream {
 public:
  /// Opens `path` ("-" = standard input). Throws IoError naming the path.
  static std::unique_ptr<ByteStream> open_file(const std::string& path);
  static std::unique_ptr<ByteStream> open_memory(const uint8_t* data, size_t size, std::string name);
  ~ByteStream();
  ByteStream(const ByteStream&) = delete;
  ByteStream& operator=(const ByteStream&) = delete;

  /// Reads up to n decompressed bytes; 0 at the end or after an error
  /// (then error() says what happened).
  size_t read(void* buf, size_t n);
  /// Copies up to n bytes from the start of the stream without consuming
  /// them (only before the first read()).
  size_t peek(uint8_t* buf, size_t n);

  Compression compression() const { return compression_; }
  /// Bytes taken from the source as stored (compressed ones for gzip and
  /// zstd), read-ahead included; and its size, 0 when unknown (a pipe,
  /// standard input).
  uint64_t source_read() const { return source_read_; }
  uint64_t source_size() const { return source_size_; }
  const std::string& name() const { return name_; }
  /// "" while healthy; else e.g. "truncated gzip stream" (without the name).
  const std::string& error() const { return error_; }
  /// The error is a compressed stream that ended early (else: corrupt data
  /// or an I/O error).
  bool truncated() const { return truncated_; }

  /// A stdio FILE* reading this stream (for libpcap). fclose() on it does
  /// not destroy the ByteStream, which must outlive the FILE*.
  FILE* as_file();

 private:
  struct Decoder;
  ByteStream(std::string name, int fd, const uint8_t* mem, size_t mem_size);
  void detect_compression();
  size_t raw_read(uint8_t* buf, size_t n);
  bool refill_input();
  size_t decode(uint8_t* buf, size_t n);

  std::string name_;
  int fd_ = -1;                   // file source (owned), or -1
  const uint8_t* mem_ = nullptr;  // memory source
  size_t mem_size_ = 0, mem_pos_ = 0;
  uint64_t source_read_ = 0, source_size_ = 0;
  bool raw_eof_ = false;

  Compression compression_ = Compression::kNone;
  std::unique_ptr<Decoder> decoder_;
  std::vector<uint8_t> in_;  // compressed input buffer
  size_t in_pos_ = 0, in_len_ = 0;

  std::vector<uint8_t> pushback_;  // bytes peeked but not yet consumed
  size_t pushback_pos_ = 0;
  std::string error_;
  bool truncated_ = false;
};

}  // namespace darklens::ingest
