#include "stream.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "darklens/error.hpp"

namespace darklens::ingest {

namespace {
constexpr size_t kInputBuffer = 1 << 18;
constexpr uint8_t kGzipMagic[2] = {0x1f, 0x8b};
constexpr uint8_t kZstdMagic[4] = {0x28, 0xb5, 0x2f, 0xfd};
}  // namespace

struct ByteStream::Decoder {
  z_stream zs{};
  bool zs_ready = false;
  bool member_done = false;  // gzip: the current member ended cleanly
  ZSTD_DStream* zd = nullptr;
  size_t zstd_hint = 1;  // 0 when the last zstd frame is complete
  ~Decoder() {
    if (zs_ready) inflateEnd(&zs);
    if (zd) ZSTD_freeDStream(zd);
  }
};

ByteStream::ByteStream(std::string name, int fd, const uint8_t* mem, size_t mem_size)
    : name_(std::move(name)), fd_(fd), mem_(mem), mem_size_(mem_size) {}

ByteStream::~ByteStream() {
  if (fd_ >= 0) ::close(fd_);
}

std::unique_ptr<ByteStream> ByteStream::open_file(const std::string& path) {
  int fd = -1;
  if (path == "-") {
    fd = ::dup(STDIN_FILENO);
  } else {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) {
    throw IoError(path + ": cannot open: " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw IoError(path + ": cannot read: is a directory");
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  std::unique_ptr<ByteStream> s(new ByteStream(path, fd, nullptr, 0));
  if (S_ISREG(st.st_mode) && st.st_size > 0) s->source_size_ = static_cast<uint64_t>(st.st_size);
  s->detect_compression();
  return s;
}

std::unique_ptr<ByteStream> ByteStream::open_memory(const uint8_t* data, size_t size, std::string name) {
  std::unique_ptr<ByteStream> s(new ByteStream(std::move(name), -1, data, size));
  s->source_size_ = size;
  s->detect_compression();
  return s;
}

size_t ByteStream::raw_read(uint8_t* buf, size_t n) {
  if (mem_ != nullptr || fd_ < 0) {
    size_t k = std::min(n, mem_size_ - mem_pos_);
    if (k) std::memcpy(buf, mem_ + mem_pos_, k);
    mem_pos_ += k;
    source_read_ += k;
    return k;
  }
  for (;;) {
    ssize_t k = ::read(fd_, buf, n);
    if (k >= 0) {
      source_read_ += static_cast<uint64_t>(k);
      return static_cast<size_t>(k);
    }
    if (errno == EINTR) continue;
    error_ = std::string("read error: ") + std::strerror(errno);
    return 0;
  }
}

bool ByteStream::refill_input() {
  if (raw_eof_) return false;
  if (in_pos_ < in_len_) return true;
  in_pos_ = 0;
  in_len_ = raw_read(in_.data(), in_.size());
  if (in_len_ == 0) raw_eof_ = true;
  return in_len_ > 0;
}

void ByteStream::detect_compression() {
  in_.resize(kInputBuffer);
  // Gather at least 4 bytes (a pipe may deliver fewer per read).
  while (in_len_ < 4 && !raw_eof_) {
    size_t k = raw_read(in_.data() + in_len_, in_.size() - in_len_);
    if (k == 0) raw_eof_ = true;
    in_len_ += k;
  }
  if (!error_.empty()) throw IoError(name_ + ": " + error_);
  raw_eof_ = false;  // re-evaluated by refill_input()
  const uint8_t* b = in_.data();
  if (in_len_ >= 2 && std::memcmp(b, kGzipMagic, 2) == 0) {
    compression_ = Compression::kGzip;
    decoder_ = std::make_unique<Decoder>();
    if (inflateInit2(&decoder_->zs, 15 + 16) != Z_OK) {
      throw IoError(name_ + ": cannot initialise gzip decoder");
    }
    decoder_->zs_ready = true;
  } else if (in_len_ >= 4 && std::memcmp(b, kZstdMagic, 4) == 0) {
    compression_ = Compression::kZstd;
    decoder_ = std::make_unique<Decoder>();
    decoder_->zd = ZSTD_createDStream();
    if (decoder_->zd == nullptr) {
      throw IoError(name_ + ": cannot initialise zstd decoder");
    }
    // Bound the window a hostile frame may ask for (128 MiB).
    ZSTD_DCtx_setParameter(decoder_->zd, ZSTD_d_windowLogMax, 27);
  }
}

size_t ByteStream::decode(uint8_t* buf, size_t n) {
  if (!error_.empty()) return 0;
  if (compression_ == Compression::kNone) {
    if (in_pos_ < in_len_) {
      size_t k = std::min(n, in_len_ - in_pos_);
      std::memcpy(buf, in_.data() + in_pos_, k);
      in_pos_ += k;
      return k;
    }
    if (raw_eof_) return 0;
    size_t k = raw_read(buf, n);
    if (k == 0) raw_eof_ = true;
    return k;
  }
  Decoder& d = *decoder_;
  size_t produced = 0;
  while (produced == 0) {
    if (in_pos_ == in_len_ && !refill_input()) {
      if (!error_.empty()) return 0;
      bool complete = compression_ == Compression::kGzip ? d.member_done : d.zstd_hint == 0;
      if (!complete) {
        error_ = std::string("truncated ") + std::string(compression_name(compression_)) + " stream";
        truncated_ = true;
      }
      return 0;
    }
    const size_t in_before = in_pos_;
    if (compression_ == Compression::kGzip) {
      if (d.member_done) {
        // Another gzip member follows (concatenated .gz); anything else
        // after a complete member is trailing garbage, ignored like gzip(1).
        if (in_len_ - in_pos_ >= 2 && std::memcmp(in_.data() + in_pos_, kGzipMagic, 2) != 0) {
          in_pos_ = in_len_;
          raw_eof_ = true;
          return 0;
        }
        inflateReset(&d.zs);
        d.member_done = false;
      }
      d.zs.next_in = in_.data() + in_pos_;
      d.zs.avail_in = static_cast<uInt>(in_len_ - in_pos_);
      d.zs.next_out = buf;
      d.zs.avail_out = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
      int rc = inflate(&d.zs, Z_NO_FLUSH);
      in_pos_ = in_len_ - d.zs.avail_in;
      produced = std::min<size_t>(n, 1u << 30) - d.zs.avail_out;
      if (rc == Z_STREAM_END) {
        d.member_done = true;
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        error_ = std::string("corrupt gzip data: ") + (d.zs.msg ? d.zs.msg : "inflate failed");
        return produced;
      }
    } else {
      ZSTD_inBuffer in{in_.data(), in_len_, in_pos_};
      ZSTD_outBuffer out{buf, n, 0};
      size_t rc = ZSTD_decompressStream(d.zd, &out, &in);
      in_pos_ = in.pos;
      produced = out.pos;
      if (ZSTD_isError(rc)) {
        error_ = std::string("corrupt zstd data: ") + ZSTD_getErrorName(rc);
        return produced;
      }
      d.zstd_hint = rc;
    }
    if (produced == 0 && in_pos_ == in_before) {
      error_ = std::string(compression_name(compression_)) + " decoder made no progress";
      return 0;
    }
  }
  return produced;
}

size_t ByteStream::read(void* out, size_t n) {
  auto* buf = static_cast<uint8_t*>(out);
  size_t done = 0;
  if (pushback_pos_ < pushback_.size()) {
    done = std::min(n, pushback_.size() - pushback_pos_);
    std::memcpy(buf, pushback_.data() + pushback_pos_, done);
    pushback_pos_ += done;
  }
  while (done < n) {
    size_t k = decode(buf + done, n - done);
    if (k == 0) break;
    done += k;
  }
  return done;
}

size_t ByteStream::peek(uint8_t* buf, size_t n) {
  while (pushback_.size() < n) {
    uint8_t tmp[4096];
    size_t want = std::min(sizeof tmp, n - pushback_.size());
    size_t k = decode(tmp, want);
    if (k == 0) break;
    pushback_.insert(pushback_.end(), tmp, tmp + k);
  }
  size_t k = std::min(n, pushback_.size());
  if (k) std::memcpy(buf, pushback_.data(), k);
  return k;
}

FILE* ByteStream::as_file() {
  cookie_io_functions_t io{};
  io.read = [](void* cookie, char* buf, size_t n) -> ssize_t {
    auto* self = static_cast<ByteStream*>(cookie);
    size_t k = self->read(buf, n);
    if (k == 0 && !self->error_.empty()) {
      errno = EIO;
      return -1;
    }
    return static_cast<ssize_t>(k);
  };
  io.close = [](void*) -> int { return 0; };
  FILE* f = fopencookie(this, "rb", io);
  if (f == nullptr) throw IoError(name_ + ": cannot create stream");
  setvbuf(f, nullptr, _IOFBF, 1 << 18);
  return f;
}

}  // namespace darklens::ingest
