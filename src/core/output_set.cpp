// All-or-nothing outputs: staging beside the target, one exchange (or a
// journal) to publish, recovery by the next run. The states a kill can
// leave, and what the next run does with each, are listed in
// docs/outputs.md; tests/cli/crash_test.py kills runs at every step.
#include "darklens/core/output_set.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "darklens/core/atomic_file.hpp"
#include "darklens/error.hpp"

namespace fs = std::filesystem;

namespace darklens {

void crash_point() {
  static const long at = [] {
    const char* v = std::getenv("DARKLENS_CRASH_AT");
    return v ? std::strtol(v, nullptr, 10) : 0L;
  }();
  static std::atomic<long> calls{0};
  if (at > 0 && ++calls == at) ::kill(::getpid(), SIGKILL);
}

std::string new_run_token() {
  std::random_device rd;
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  char buf[64];
  std::snprintf(buf, sizeof buf, "%llx-%x-%08x%08x",
                static_cast<unsigned long long>(std::chrono::duration_cast<std::chrono::microseconds>(now).count()),
                static_cast<unsigned>(::getpid()), rd(), rd());
  return buf;
}

namespace {

constexpr const char* kMarker = ".darklens-run";

std::string errno_text() { return std::strerror(errno); }

// "a/b/" -> ("a", "b"); "b" -> (".", "b").
std::pair<std::string, std::string> split(const std::string& path) {
  fs::path p(path);
  if (!p.has_filename()) p = p.parent_path();  // trailing slash
  const std::string name = p.filename().string();
  if (name.empty() || name == "." || name == "..") {
    throw ParamError(path + ": give the output a name (not '.', '..' or '/')");
  }
  const std::string parent = p.parent_path().string();
  return {parent.empty() ? "." : parent, name};
}

int take_lock(const std::string& lock, const std::string& target) {
  const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) throw IoError(target + ": cannot create the lock file " + lock + ": " + errno_text());
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    throw IoError(target + ": another darklens run is writing it now; wait for that run to finish");
  }
  return fd;
}

bool same_file(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

void remove_tree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
}

struct Marker {
  bool present = false;
  std::string db, token;
};
Marker read_marker(const std::string& dir) {
  Marker m;
  std::ifstream in(dir + "/" + kMarker);
  if (!in) return m;
  m.present = true;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("db=", 0) == 0) m.db = line.substr(3);
    if (line.rfind("token=", 0) == 0) m.token = line.substr(6);
  }
  return m;
}

// Swaps two existing directories. Where the file system cannot
// (renameat2 EINVAL), three renames through `.x.darklens-old`, which
// recovery also understands.
void exchange(const std::string& a, const std::string& b, const std::string& via) {
  if (::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) == 0) return;
  if (errno != EINVAL && errno != ENOSYS) throw IoError(b + ": cannot swap in the new outputs: " + errno_text());
  if (std::rename(b.c_str(), via.c_str()) != 0 || (crash_point(), std::rename(a.c_str(), b.c_str()) != 0) ||
      (crash_point(), std::rename(via.c_str(), a.c_str()) != 0)) {
    throw IoError(b + ": cannot swap in the new outputs: " + errno_text());
  }
}

// With --sync: the folder's entries (renames) made durable.
void sync_dir(const std::string& dir) {
  if (!AtomicFile::sync()) return;
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    const std::string why = errno_text();
    if (fd >= 0) ::close(fd);
    throw IoError(dir + ": cannot sync the folder: " + why);
  }
  ::close(fd);
}

// The file's permission bits onto `to`, when `from` exists.
void keep_mode(const std::string& from, const std::string& to) {
  struct stat st {};
  if (::stat(from.c_str(), &st) == 0) ::chmod(to.c_str(), st.st_mode & 07777);
}

// AtomicFile temporaries (`<name>.tmp-<pid>-<n>`) in `dir` of processes
// that are gone, for names starting with `stem`.
void remove_stale_temps(const std::string& dir, const std::string& stem) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    const size_t t = n.rfind(".tmp-");
    if (n.rfind(stem, 0) != 0 || t == std::string::npos) continue;
    const std::string rest = n.substr(t + 5);
    const size_t dash = rest.find('-');
    if (dash == std::string::npos || dash == 0) continue;
    const long pid = std::strtol(rest.substr(0, dash).c_str(), nullptr, 10);
    if (pid <= 0 || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)) fs::remove(e.path(), ec);
  }
}

}  // namespace

void refuse_replacing_inputs(const std::string& target, bool is_dir, const std::vector<std::string>& inputs) {
  struct stat t {};
  if (::stat(target.c_str(), &t) != 0) return;  // nothing there yet
  for (const auto& in : inputs) {
    if (in.empty() || in == "-") continue;
    struct stat s {};
    if (::stat(in.c_str(), &s) == 0 && same_file(s, t)) {
      throw ParamError(target + ": is also an input of this run (" + in + "); write the output elsewhere");
    }
    if (!is_dir) continue;
    // Inside the directory (also an input not created yet, such as a new
    // database): one of its parents is it.
    std::error_code ec;
    fs::path p = fs::absolute(in, ec).parent_path();
    for (int depth = 0; depth < 256 && !p.empty(); ++depth) {
      struct stat d {};
      if (::stat(p.c_str(), &d) == 0 && same_file(d, t)) {
        throw ParamError(target + ": holds " + in +
                         ", an input of this run, and a run replaces its whole output directory; write the "
                         "output elsewhere");
      }
      if (p == p.parent_path()) break;
      p = p.parent_path();
    }
  }
}

OutputDir::OutputDir(const std::string& dir, const std::vector<std::string>& known,
                     const std::vector<std::string>& inputs, const CommittedFn& committed) {
  std::tie(parent_, name_) = split(dir);
  dir_ = parent_ + "/" + name_;
  std::error_code ec;
  fs::create_directories(parent_, ec);
  if (ec) throw IoError(dir_ + ": cannot create the output directory: " + ec.message());
  lock_fd_ = take_lock(parent_ + "/." + name_ + ".darklens-lock", dir);
  staging_ = parent_ + "/." + name_ + ".darklens-new";
  const std::string via = parent_ + "/." + name_ + ".darklens-old";
  try {
    // Recovery. An interrupted fallback exchange: put the pieces back in
    // the state a real exchange leaves.
    if (fs::exists(via, ec)) {
      if (!fs::exists(dir_, ec)) {
        fs::rename(via, dir_, ec);  // the old one back; the new one stays staged
      } else if (!fs::exists(staging_, ec)) {
        fs::rename(via, staging_, ec);  // exchanged but for the last step
      } else {
        remove_tree(via);
      }
    }
    if (fs::exists(staging_, ec)) {
      // The staging directory is a killed run's: unpublished (remove it),
      // or the previous outputs it replaced (swap them back when that
      // run's database write never committed, else remove them).
      const Marker now = read_marker(dir_), old = read_marker(staging_);
      if (now.present && !now.token.empty() && old.present && committed && !committed(now.db, now.token)) {
        exchange(staging_, dir_, via);
      }
      remove_tree(staging_);
    }
    if (fs::exists(dir_, ec)) {
      if (!fs::is_directory(dir_, ec)) throw ParamError(dir_ + ": exists and is not a directory");
      if (!read_marker(dir_).present) {
        for (const auto& e : fs::directory_iterator(dir_, ec)) {
          const std::string n = e.path().filename().string();
          bool ours = n == ".darklens-write-test" || n.find(".tmp-") != std::string::npos;
          for (const auto& k : known) ours |= n == k;
          if (!ours) {
            throw ParamError(dir_ + ": holds '" + n +
                             "', which darklens did not write, and a run replaces the whole directory; give a new "
                             "or empty directory, or one a darklens run wrote");
          }
        }
      }
      refuse_replacing_inputs(dir_, true, inputs);
    }
    if (::mkdir(staging_.c_str(), 0777) != 0) {
      throw IoError(dir_ + ": cannot create the staging directory " + staging_ + ": " + errno_text());
    }
    crash_point();
  } catch (...) {
    ::close(lock_fd_);
    throw;
  }
}

OutputDir::~OutputDir() {
  if (published_ && !finished_) {
    // Published, then something failed before finish() (the database
    // commit): the previous outputs go back.
    try {
      exchange(staging_, dir_, parent_ + "/." + name_ + ".darklens-old");
    } catch (const Error&) {
      // Left for the next run's recovery.
    }
  }
  if (!finished_) remove_tree(staging_);
  ::close(lock_fd_);
}

std::string OutputDir::path(const std::string& name) const { return staging_ + "/" + name; }

void OutputDir::publish(const std::string& db, const std::string& token) {
  {
    AtomicFile m(staging_ + "/" + kMarker);
    m.write("darklens run\n");
    if (!token.empty()) m.write("db=" + db + "\ntoken=" + token + "\n");
    m.commit();
  }
  std::error_code ec;
  if (!fs::exists(dir_, ec)) {
    // Exchanged with an empty directory, so a kill after it leaves the same
    // evidence (the staging directory) as any other.
    if (::mkdir(dir_.c_str(), 0777) != 0) throw IoError(dir_ + ": cannot create output directory: " + errno_text());
    AtomicFile m(dir_ + "/" + kMarker);
    m.write("darklens run\n");
    m.commit();
  } else {
    keep_mode(dir_, staging_);
    for (const auto& e : fs::directory_iterator(staging_, ec)) {
      keep_mode(dir_ + "/" + e.path().filename().string(), e.path().string());
    }
  }
  sync_dir(staging_);
  crash_point();
  exchange(staging_, dir_, parent_ + "/." + name_ + ".darklens-old");
  published_ = true;
  sync_dir(parent_);
  crash_point();
}

void OutputDir::finish() {
  if (!published_) throw Error("OutputDir::finish before publish");
  finished_ = true;
  remove_tree(staging_);
  crash_point();
}

OutputFiles::OutputFiles(std::vector<std::string> targets, const std::vector<std::string>& inputs)
    : targets_(std::move(targets)) {
  if (targets_.empty()) throw ParamError("no output file given");
  std::tie(parent_, name_) = split(targets_.front());
  for (const auto& t : targets_) {
    if (split(t).first != parent_) throw ParamError(t + ": the outputs of one run must be in one folder");
  }
  std::error_code ec;
  if (!fs::is_directory(parent_, ec)) {
    throw IoError(targets_.front() + ": cannot create output file: directory " + parent_ + " does not exist");
  }
  lock_fd_ = take_lock(parent_ + "/." + name_ + ".darklens-lock", targets_.front());
  staging_ = parent_ + "/." + name_ + ".darklens-new";
  const std::string journal = parent_ + "/." + name_ + ".darklens-journal";
  try {
    if (fs::exists(journal, ec)) {
      // Committed but not all moved: finish the moves.
      std::ifstream in(journal);
      std::string n;
      while (std::getline(in, n)) {
        if (!n.empty() && n.find('/') == std::string::npos && fs::exists(staging_ + "/" + n, ec)) {
          fs::rename(staging_ + "/" + n, parent_ + "/" + n, ec);
        }
      }
      fs::remove(journal, ec);
    }
    remove_tree(staging_);
    remove_stale_temps(parent_, "." + name_ + ".darklens-journal");
    for (const auto& t : targets_) {
      remove_stale_temps(parent_, split(t).second);
      if (fs::is_directory(t, ec)) throw ParamError(t + ": is a directory; give a file name");
      refuse_replacing_inputs(t, false, inputs);
    }
    if (::mkdir(staging_.c_str(), 0777) != 0) {
      throw IoError(targets_.front() + ": cannot create the staging directory " + staging_ + ": " + errno_text());
    }
  } catch (...) {
    ::close(lock_fd_);
    throw;
  }
}

OutputFiles::~OutputFiles() {
  if (!committed_) remove_tree(staging_);
  ::close(lock_fd_);
}

std::string OutputFiles::path(const std::string& target) const { return staging_ + "/" + split(target).second; }

void OutputFiles::commit() {
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(staging_, ec)) names.push_back(e.path().filename().string());
  if (ec) throw IoError(staging_ + ": cannot list the staged outputs: " + ec.message());
  std::sort(names.begin(), names.end());
  const std::string journal = parent_ + "/." + name_ + ".darklens-journal";
  {
    AtomicFile j(journal);
    for (const auto& n : names) j.write(n + "\n");
    j.commit();
  }
  crash_point();
  committed_ = true;  // from here on, the next run rolls forward
  for (const auto& n : names) {
    const std::string to = parent_ + "/" + n;
    keep_mode(to, staging_ + "/" + n);
    if (std::rename((staging_ + "/" + n).c_str(), to.c_str()) != 0) {
      throw IoError(to + ": cannot move the output into place: " + errno_text());
    }
    crash_point();
  }
  sync_dir(parent_);
  fs::remove(journal, ec);
  remove_tree(staging_);
}

}  // namespace darklens
