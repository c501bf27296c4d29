#include "darklens/core/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "darklens/core/output_set.hpp"
#include "darklens/error.hpp"

namespace darklens {

namespace {
std::atomic<unsigned> g_counter{0};
std::atomic<bool> g_sync{false};
}  // namespace

void AtomicFile::set_sync(bool on) { g_sync = on; }
bool AtomicFile::sync() { return g_sync; }

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  tmp_ = path_ + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(g_counter++);
  f_ = std::fopen(tmp_.c_str(), "wbx");
  if (f_ == nullptr) {
    throw IoError(path_ + ": cannot create output file: " + std::strerror(errno));
  }
  // A buffer of our own: given none, glibc ignores the size and uses 4 KiB
  // (a write call every few CSV rows).
  constexpr size_t kBuffer = size_t{1} << 20;
  buffer_ = std::make_unique_for_overwrite<char[]>(kBuffer);
  std::setvbuf(f_, buffer_.get(), _IOFBF, kBuffer);
}

AtomicFile::~AtomicFile() {
  if (f_) std::fclose(f_);
  if (!committed_) std::remove(tmp_.c_str());
}

void AtomicFile::put(const void* data, size_t n) {
  if (std::fwrite(data, 1, n, f_) != n) {
    throw IoError(path_ + ": write failed: " + std::strerror(errno));
  }
}

void AtomicFile::write(const void* data, size_t n) {
  if (!g_sync) return put(data, n);
  // Large durable outputs: every 8 MiB, the kernel is asked to start
  // writing what it holds (asynchronously), so the disk works while the
  // rest is written.
  constexpr size_t kStep = size_t{8} << 20;
  const auto* p = static_cast<const char*>(data);
  while (n != 0) {
    const size_t k = std::min(n, kStep - (written_ - started_));
    put(p, k);
    p += k, n -= k, written_ += k;
    if (written_ - started_ == kStep) {
      // Only a hint: errors surface at the next write or commit()'s fsync.
      if (std::fflush(f_) == 0) {
        ::sync_file_range(::fileno(f_), static_cast<off64_t>(started_), static_cast<off64_t>(kStep),
                          SYNC_FILE_RANGE_WRITE);
      }
      started_ = written_;
    }
  }
}

void AtomicFile::commit() {
  int rc = std::fflush(f_);
  if (rc == 0 && g_sync) rc = ::fsync(::fileno(f_));
  int close_rc = std::fclose(f_);
  f_ = nullptr;
  if (rc != 0 || close_rc != 0) {
    throw IoError(path_ + ": write failed: " + std::strerror(errno));
  }
  crash_point();
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    throw IoError(path_ + ": cannot rename temporary file into place: " + std::strerror(errno));
  }
  committed_ = true;
}

}  // namespace darklens
