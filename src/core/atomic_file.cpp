#include "darklens/atomic_file.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "darklens/error.hpp"

namespace darklens {

namespace {
std::atomic<unsigned> g_counter{0};
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  tmp_ = path_ + ".tmp-" + std::to_string(::getpid()) + "-" +
         std::to_string(g_counter++);
  f_ = std::fopen(tmp_.c_str(), "wbx");
  if (f_ == nullptr) {
    throw IoError(path_ + ": cannot create output file: " + std::strerror(errno));
  }
  std::setvbuf(f_, nullptr, _IOFBF, 1 << 20);
}

AtomicFile::~AtomicFile() {
  if (f_) std::fclose(f_);
  if (!committed_) std::remove(tmp_.c_str());
}

void AtomicFile::write(const void* data, size_t n) {
  if (n && std::fwrite(data, 1, n, f_) != n) {
    throw IoError(path_ + ": write failed: " + std::strerror(errno));
  }
}

void AtomicFile::commit() {
  int rc = std::fflush(f_);
  if (rc == 0) rc = ::fsync(::fileno(f_));
  int close_rc = std::fclose(f_);
  f_ = nullptr;
  if (rc != 0 || close_rc != 0) {
    throw IoError(path_ + ": write failed: " + std::strerror(errno));
  }
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    throw IoError(path_ + ": cannot rename temporary file into place: " +
                  std::strerror(errno));
  }
  committed_ = true;
}

}  // namespace darklens
