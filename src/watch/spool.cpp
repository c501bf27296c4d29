// Where watch's packets come from: the complete files of a directory of
// rotating captures (DirScanner), and the Recorder that spools a live
// interface or standard input into such a directory of its own.
#include <pcap/pcap.h>
#include <poll.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>

#include "darklens/core/atomic_file.hpp"
#include "darklens/core/text.hpp"
#include "darklens/error.hpp"
#include "darklens/watch/watch.hpp"

namespace darklens::watch {
namespace {

namespace fs = std::filesystem;
constexpr size_t kMaxDirEntries = 100000;

int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool ends_with(const std::string& s, const char* tail) {
  const size_t n = std::strlen(tail);
  return s.size() >= n && s.compare(s.size() - n, n, tail) == 0;
}

// Names a writer is still busy with, by the usual conventions.
bool in_progress_name(const std::string& name) {
  return name.empty() || name[0] == '.' || ends_with(name, ".tmp") || ends_with(name, ".part") ||
         ends_with(name, "~") || name.find(".tmp-") != std::string::npos;
}

int64_t floor_to(int64_t t, int64_t step) {
  const int64_t q = t / step;
  return (t % step < 0 ? q - 1 : q) * step;
}

void put_u32(std::string& b, uint32_t v) { b.append(reinterpret_cast<const char*>(&v), 4); }
void put_u16(std::string& b, uint16_t v) { b.append(reinterpret_cast<const char*>(&v), 2); }

}  // namespace

DirScanner::DirScanner(std::string dir, int64_t settle_ns) : dir_(std::move(dir)), settle_ns_(settle_ns) {}

std::vector<std::string> DirScanner::complete() {
  std::error_code ec;
  fs::directory_iterator it(dir_, ec);
  if (ec) throw IoError(dir_ + ": cannot list the directory: " + ec.message());
  std::map<std::string, std::pair<uint64_t, int64_t>> now;
  std::vector<std::string> out;
  const int64_t t = wall_ns();
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) throw IoError(dir_ + ": cannot list the directory: " + ec.message());
    const std::string name = it->path().filename().string();
    if (in_progress_name(name)) continue;
    const std::string path = it->path().string();
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (now.size() >= kMaxDirEntries) {
      throw IoError(dir_ + ": more than " + std::to_string(kMaxDirEntries) +
                    " files; move the captures watch has taken elsewhere");
    }
    const int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    const std::pair<uint64_t, int64_t> id{static_cast<uint64_t>(st.st_size), mtime};
    now[path] = id;
    const auto before = seen_.find(path);
    if (settle_ns_ == 0 || (before != seen_.end() && before->second == id && t - mtime >= settle_ns_)) {
      out.push_back(path);
    }
  }
  seen_ = std::move(now);
  std::sort(out.begin(), out.end());
  return out;
}

struct Recorder::Impl {
  RecorderOptions o;
  pcap_t* pcap = nullptr;
  FILE* in = nullptr;  // standard input, as libpcap reads it
  bool nano = true;
  int linktype = 1;
  uint32_t snaplen = 262144;
  mutable std::mutex m;
  RecorderCounters counters;
  uint64_t serial = 0;

  // The open segment: its step, its bytes, when it was started.
  std::optional<int64_t> step;
  std::string bytes;
  int64_t opened_ns = 0;

  void begin(int64_t s) {
    step = s;
    opened_ns = wall_ns();
    bytes.clear();
    put_u32(bytes, nano ? 0xa1b23c4d : 0xa1b2c3d4);
    put_u16(bytes, 2);
    put_u16(bytes, 4);
    put_u32(bytes, 0);
    put_u32(bytes, 0);
    put_u32(bytes, snaplen);
    put_u32(bytes, static_cast<uint32_t>(linktype));
  }
  void commit(const std::function<void()>& segment) {
    if (!step) return;
    char name[96];
    std::snprintf(name, sizeof name, "/seg-%020lld-%08llu.pcap", static_cast<long long>(*step),
                  static_cast<unsigned long long>(serial++));
    AtomicFile f(o.dir + name);
    f.write(bytes);
    f.commit();
    step.reset();
    bytes.clear();
    {
      const std::lock_guard<std::mutex> lock(m);
      ++counters.segments;
    }
    if (segment) segment();
  }
};

Recorder::Recorder(RecorderOptions options) : impl_(std::make_unique<Impl>()) {
  auto& r = *impl_;
  r.o = std::move(options);
  if (r.o.step_ns <= 0) throw ParamError("recorder: the step must be positive");
  std::error_code ec;
  fs::create_directories(r.o.dir, ec);
  if (ec) throw IoError(r.o.dir + ": cannot create the spool directory: " + ec.message());
  // New segments sort after the ones already there.
  for (fs::directory_iterator it(r.o.dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    unsigned long long serial = 0;
    long long step = 0;
    if (std::sscanf(it->path().filename().c_str(), "seg-%lld-%llu.pcap", &step, &serial) == 2) {
      r.serial = std::max<uint64_t>(r.serial, serial + 1);
    }
  }
  char err[PCAP_ERRBUF_SIZE] = "";
  if (r.o.interface.empty()) {
    r.in = stdin;
    r.pcap = pcap_fopen_offline_with_tstamp_precision(stdin, PCAP_TSTAMP_PRECISION_NANO, err);
    if (!r.pcap) {
      throw FormatError("standard input: not a pcap or pcapng stream (" + terminal_text(err) +
                        "); compressed captures: decompress them into the pipe (zstdcat, zcat)");
    }
  } else {
    r.pcap = pcap_create(r.o.interface.c_str(), err);
    if (!r.pcap) throw IoError("interface " + terminal_text(r.o.interface) + ": " + terminal_text(err));
    pcap_set_snaplen(r.pcap, r.o.snaplen);
    pcap_set_timeout(r.pcap, 100);
    // libpcap's 2 MB default holds 8 packets of 256 KB slots in immediate
    // mode on loopback, a few hundred full-size Ethernet frames otherwise.
    pcap_set_buffer_size(r.pcap, r.o.buffer_bytes);
    pcap_set_immediate_mode(r.pcap, 1);
    if (pcap_set_tstamp_precision(r.pcap, PCAP_TSTAMP_PRECISION_NANO) != 0) r.nano = false;
    const int rc = pcap_activate(r.pcap);
    if (rc < 0) {
      const std::string why = pcap_geterr(r.pcap);
      pcap_close(r.pcap);
      r.pcap = nullptr;
      throw IoError("interface " + terminal_text(r.o.interface) + ": " + terminal_text(why) +
                    (rc == PCAP_ERROR_PERM_DENIED ? " (capturing needs root or CAP_NET_RAW)" : ""));
    }
    r.nano = pcap_get_tstamp_precision(r.pcap) == PCAP_TSTAMP_PRECISION_NANO;
    // Waits are poll()'s, bounded, so that a stop is seen on a quiet link
    // (immediate mode ignores the read timeout).
    if (pcap_setnonblock(r.pcap, 1, err) != 0 || pcap_get_selectable_fd(r.pcap) < 0) {
      pcap_close(r.pcap);
      r.pcap = nullptr;
      throw IoError("interface " + terminal_text(r.o.interface) + ": cannot be polled");
    }
  }
  r.linktype = pcap_datalink(r.pcap);
  r.snaplen = static_cast<uint32_t>(pcap_snapshot(r.pcap));
  if (!r.o.filter.empty()) {
    bpf_program prog{};
    if (pcap_compile(r.pcap, &prog, r.o.filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      const std::string why = pcap_geterr(r.pcap);
      pcap_close(r.pcap);
      r.pcap = nullptr;
      throw ParamError("--filter '" + terminal_text(r.o.filter) + "': " + terminal_text(why));
    }
    const int rc = pcap_setfilter(r.pcap, &prog);
    pcap_freecode(&prog);
    if (rc != 0) {
      const std::string why = pcap_geterr(r.pcap);
      pcap_close(r.pcap);
      r.pcap = nullptr;
      throw ParamError("--filter '" + terminal_text(r.o.filter) + "': " + terminal_text(why));
    }
  }
}

Recorder::~Recorder() {
  if (impl_->pcap) pcap_close(impl_->pcap);  // also the standard input stream libpcap was given
}

RecorderCounters Recorder::counters() const {
  const std::lock_guard<std::mutex> lock(impl_->m);
  return impl_->counters;
}

void Recorder::run(const std::atomic<bool>& stop, const std::function<void()>& segment) {
  auto& r = *impl_;
  const int64_t unit = r.nano ? 1 : 1000;
  // Once stopped, an interface's packets the kernel already holds are still
  // read (a lagging reader would otherwise lose them uncounted); a bounded
  // number, so that a flood cannot keep a stop waiting.
  const bool live = !r.o.interface.empty();
  uint64_t after_stop = 0;
  constexpr uint64_t kMaxAfterStop = 1'000'000;
  for (;;) {
    if (stop && (!live || ++after_stop > kMaxAfterStop)) break;
    pcap_pkthdr* h = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(r.pcap, &h, &data);
    if (rc == 1) {
      const int64_t ts =
          static_cast<int64_t>(h->ts.tv_sec) * 1'000'000'000 + static_cast<int64_t>(h->ts.tv_usec) * unit;
      const int64_t s = floor_to(ts, r.o.step_ns);
      if (r.step && *r.step != s) r.commit(segment);
      if (!r.step) r.begin(s);
      put_u32(r.bytes, static_cast<uint32_t>(h->ts.tv_sec));
      put_u32(r.bytes, static_cast<uint32_t>(h->ts.tv_usec));
      put_u32(r.bytes, h->caplen);
      put_u32(r.bytes, h->len);
      r.bytes.append(reinterpret_cast<const char*>(data), h->caplen);
      const std::lock_guard<std::mutex> lock(r.m);
      ++r.counters.packets;
    } else if (rc == 0) {
      if (stop) break;  // nothing left that arrived before the stop
      // A live capture with nothing to read: wait up to 100 ms.
      pollfd fd{pcap_get_selectable_fd(r.pcap), POLLIN, 0};
      ::poll(&fd, 1, 100);
    } else if (rc == PCAP_ERROR_BREAK) {
      break;
    } else {
      if (rc != -2 /* the end of a stream */) {
        const std::string why = pcap_geterr(r.pcap);
        r.commit(segment);
        throw FormatError((r.o.interface.empty() ? std::string("standard input") : "interface " + r.o.interface) +
                          ": " + terminal_text(why));
      }
      break;
    }
    if (r.step && wall_ns() - r.opened_ns >= r.o.flush_ns) r.commit(segment);
  }
  r.commit(segment);
  if (!r.o.interface.empty()) {
    pcap_stat st{};
    if (pcap_stats(r.pcap, &st) == 0) {
      const std::lock_guard<std::mutex> lock(r.m);
      r.counters.dropped = st.ps_drop;
    }
  }
}

}  // namespace darklens::watch
