// darklens watch: rolling windows over captures as they arrive, each closed
// window classified and stored, its events written out (docs/watch.md).
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "commands.hpp"
#include "darklens/core/data_files.hpp"
#include "darklens/core/text.hpp"
#include "darklens/error.hpp"
#include "darklens/watch/watch.hpp"

namespace darklens::cli {
namespace {

constexpr size_t kEventBatch = 1000;
constexpr int kExecTimeoutSeconds = 60;

// The events file: each event one whole line. A line cut short by a kill
// is removed; the last whole line's seq is where writing goes on.
class EventsFile {
 public:
  explicit EventsFile(std::string path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) throw IoError(path_ + ": cannot open the events file: " + std::strerror(errno));
    const off_t size = ::lseek(fd_, 0, SEEK_END);
    // Read back the tail: the last line, whole or not.
    const off_t from = size > 65536 ? size - 65536 : 0;
    std::string tail(static_cast<size_t>(size - from), '\0');
    if (::pread(fd_, tail.data(), tail.size(), from) != static_cast<ssize_t>(tail.size())) {
      throw IoError(path_ + ": cannot read the events file");
    }
    if (!tail.empty() && tail.back() != '\n') {
      const size_t cut = tail.rfind('\n');
      const off_t keep = cut == std::string::npos ? from : from + static_cast<off_t>(cut) + 1;
      if (cut == std::string::npos && from > 0) throw FormatError(path_ + ": a line longer than 64 KiB at its end");
      if (::ftruncate(fd_, keep) != 0) throw IoError(path_ + ": cannot remove the line cut short at its end");
      tail.resize(static_cast<size_t>(keep - from));
    }
    if (!tail.empty()) {
      tail.pop_back();
      const std::string last = tail.substr(tail.rfind('\n') == std::string::npos ? 0 : tail.rfind('\n') + 1);
      try {
        last_ = nlohmann::json::parse(last).at("seq").get<int64_t>();
      } catch (const nlohmann::json::exception&) {
        throw FormatError(path_ + ": its last line is not a darklens watch event; give another --events file");
      }
      has_last_ = true;
    }
  }
  ~EventsFile() { ::close(fd_); }
  EventsFile(const EventsFile&) = delete;
  EventsFile& operator=(const EventsFile&) = delete;
  bool has_last() const { return has_last_; }
  int64_t last() const { return last_; }
  void write(const std::string& line, int64_t seq) {
    size_t done = 0;
    while (done < line.size()) {
      const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw IoError(path_ + ": cannot write an event: " + std::strerror(errno));
      done += static_cast<size_t>(n);
    }
    last_ = seq;
    has_last_ = true;
  }

 private:
  std::string path_;
  int fd_ = -1;
  int64_t last_ = 0;
  bool has_last_ = false;
};

// Runs `cmd` with /bin/sh, the event on its standard input and in
// DARKLENS_EVENT_KIND / DARKLENS_EVENT_SEQ; killed after a minute.
// Returns what went wrong ("" when it exited 0).
std::string run_exec(const std::string& cmd, const std::string& line, const std::string& kind, int64_t seq) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return std::string("pipe: ") + std::strerror(errno);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return std::string("fork: ") + std::strerror(errno);
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, nullptr);
    ::dup2(fds[0], 0);
    ::setenv("DARKLENS_EVENT_KIND", kind.c_str(), 1);
    ::setenv("DARKLENS_EVENT_SEQ", std::to_string(seq).c_str(), 1);
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[0]);
  signal(SIGPIPE, SIG_IGN);
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fds[1], line.data() + done, line.size() - done);
    if (n <= 0) break;  // the command does not read its input: fine
    done += static_cast<size_t>(n);
  }
  ::close(fds[1]);
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kExecTimeoutSeconds);
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return "killed after " + std::to_string(kExecTimeoutSeconds) + " s";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  return "ended by signal " + std::to_string(WTERMSIG(status));
}

// "500ms", "5s", "10m", "1h", "1d" -> ns, in [lo, hi] seconds.
int64_t parse_duration(const std::string& flag, const std::string& text, double lo, double hi) {
  static const std::pair<const char*, double> units[] = {{"ms", 1e-3}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};
  for (const auto& [unit, seconds] : units) {
    const size_t n = std::strlen(unit);
    if (text.size() <= n || text.compare(text.size() - n, n, unit) != 0) continue;
    const std::string digits = text.substr(0, text.size() - n);
    if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) break;
    const double v = std::stod(digits) * seconds;
    if (v < lo || v > hi) break;
    return static_cast<int64_t>(v * 1e9);
  }
  std::ostringstream why;
  why << flag << " '" << terminal_text(text) << "': expected a duration such as 500ms, 5s, 10m or 1h, from " << lo
      << " s to " << hi << " s";
  throw ParamError(why.str());
}

}  // namespace

Command add_watch(CLI::App& app) {
  struct Opts {
    std::string db, state, dir, interface, window, step, filter, events, exec, signatures, label_map, asn_db, geo_db;
    std::vector<std::string> gt;
    std::string settle = "5s", poll = "1s", flush = "10s", retain = "7d", max_memory = MemoryBudget::kDefault;
    bool stdin_input = false, once = false, drain = false, quiet = false;
    int64_t model = 0;
    size_t max_joined = 100, min_group = 10;
    int threads = 0;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand(
      "watch",
      "Near-real-time classification: take captures as they arrive (a directory of rotating captures, a live "
      "interface, or standard input), cut them into rolling windows (--window, --step), and when a window "
      "closes, classify its sources against the stored model as 'darklens classify' does, store the run and "
      "write what changed as JSON Lines events: pattern_back, pattern_absent, new_group, unexplained_group, "
      "source_joined, window_closed. Stops on SIGINT/SIGTERM; restarted (even after kill -9), it goes on where "
      "it stood. docs/watch.md.");
  sub->add_option("--db", o->db, "Pattern database with the model (darklens analyze --db)")->required();
  sub->add_option("--state", o->state,
                  "Directory for the checkpoint (and the spool of an interface or standard input); default: "
                  "DB.watch beside the database");
  auto* dir = sub->add_option("--dir", o->dir,
                              "Directory where captures appear (pcap, pcapng, DarkVec CSV; gzip/zstd), taken in "
                              "name order once complete: not hidden, not *.tmp/*.part, unchanged for --settle");
  auto* iface = sub->add_option("--interface", o->interface,
                                "Capture live from this interface with libpcap (needs root or CAP_NET_RAW)");
  auto* in = sub->add_flag("--stdin", o->stdin_input, "Read a pcap or pcapng stream from standard input");
  dir->excludes(iface)->excludes(in);
  iface->excludes(in);
  sub->add_option("--window", o->window, "Window length (30m, 1h, 24h); default: the model's window");
  sub->add_option("--step", o->step, "How often a window closes (it must divide --window); default: --window");
  sub->add_option("--model", o->model, "Analyze run to classify against (default: the newest)");
  sub->add_option("--filter", o->filter,
                  "libpcap filter expression applied while capturing (--interface, --stdin); the model's own "
                  "selection applies in every case");
  sub->add_option("--events", o->events,
                  "Append the events to this file (JSON Lines), each exactly once across restarts; default: "
                  "standard output");
  sub->add_option("--exec", o->exec,
                  "Run this shell command for every event, the event (one JSON line) on its standard input and "
                  "its kind and number in $DARKLENS_EVENT_KIND and $DARKLENS_EVENT_SEQ; killed after 60 s");
  sub->add_flag("--once", o->once, "With --dir: take the complete captures there, close the windows they pass, exit");
  sub->add_flag("--drain", o->drain,
                "When the input ends (standard input, --once), also close the windows still open that hold "
                "packets");
  sub->add_option("--settle", o->settle, "A file in --dir is complete once unchanged this long")
      ->default_val(o->settle);
  sub->add_option("--poll", o->poll, "How often --dir is listed")->default_val(o->poll);
  sub->add_option("--flush", o->flush,
                  "An interface or standard input is spooled in segments of at most this much time (what a kill "
                  "-9 can lose)")
      ->default_val(o->flush);
  sub->add_option("--max-joined", o->max_joined,
                  "At most this many source_joined events per window, the busiest sources first")
      ->default_val(o->max_joined)
      ->check(CLI::Range(size_t{0}, size_t{1000000}));
  sub->add_option("--min-group", o->min_group,
                  "New groups of fewer sources are left as noise, not stored as patterns (small groups of every "
                  "window would pile up as patterns)")
      ->default_val(o->min_group)
      ->check(CLI::Range(size_t{1}, size_t{1000000}));
  sub->add_option("--retain", o->retain,
                  "Keep each window's members (what /v1/ip answers) and report this long (at least --window); "
                  "older windows keep their run record, pattern counts and events. 'all': keep everything, and "
                  "the database grows by every window")
      ->default_val(o->retain);
  sub->add_option("--gt", o->gt, "Ground truth CSV 'ip,label' or 'cidr,label' (repeatable)")->allow_extra_args(false);
  sub->add_option("--label-map", o->label_map, "CSV 'from,to' normalising ground-truth labels");
  add_origin_dbs(sub, o->asn_db, o->geo_db);
  sub->add_option("--signatures", o->signatures,
                  "Signature catalog (docs/analyze.md); default: the shipped one, share/darklens/signatures.txt");
  add_threads(sub, o->threads);
  add_max_memory(sub, o->max_memory);
  add_quiet(sub, o->quiet);
  return {sub, [o]() {
            const int inputs = !o->dir.empty() + !o->interface.empty() + o->stdin_input;
            if (inputs != 1) throw ParamError("watch: give one input: --dir DIR, --interface IF or --stdin");
            if (o->once && o->dir.empty()) throw ParamError("--once is for --dir (standard input ends by itself)");
            if (!o->filter.empty() && !o->dir.empty()) {
              throw ParamError(
                  "--filter is applied while capturing (--interface, --stdin); for --dir, analyze "
                  "the model with --filter");
            }
            if (o->drain && !o->interface.empty()) throw ParamError("--drain is for an input that ends");
            if (!std::filesystem::exists(o->db)) throw IoError(o->db + ": no such pattern database");
            allocator_for_long_runs();
            auto duration = [](const std::string& flag, const std::string& text) {
              try {
                return features::parse_window(text).length_ns_;
              } catch (const ParamError& e) {
                throw ParamError(flag + ": " + e.what());
              }
            };
            watch::Options wo;
            wo.state_dir = o->state.empty() ? o->db + ".watch" : o->state;
            if (!o->window.empty()) wo.window_ns = duration("--window", o->window);
            if (!o->step.empty()) wo.step_ns = duration("--step", o->step);
            wo.model = o->model;
            wo.max_joined = o->max_joined;
            wo.min_group = o->min_group;
            if (o->retain != "all") wo.retain_ns = duration("--retain", o->retain);
            wo.threads = o->threads;
            wo.max_memory = parse_memory_size(o->max_memory);
            wo.delete_taken = o->dir.empty();
            const int64_t settle = parse_duration("--settle", o->settle, 0, 86400),
                          poll = parse_duration("--poll", o->poll, 0.01, 3600),
                          flush = parse_duration("--flush", o->flush, 0.01, 86400);
            const profile::Catalog catalog =
                profile::Catalog::load(o->signatures.empty() ? data_file("signatures.txt") : o->signatures);
            std::optional<ground_truth::GroundTruth> gt;
            if (!o->gt.empty()) {
              gt = ground_truth::load(o->gt, o->label_map.empty() ? std::map<std::string, std::string>{}
                                                                  : ground_truth::load_label_map(o->label_map));
            }
            wo.catalog = &catalog;
            wo.gt = gt ? &*gt : nullptr;
            const origin::Origins origins = origin::Origins::open(o->asn_db, o->geo_db);
            wo.origins = &origins;
            if (!o->quiet)
              wo.progress = [](const std::string& line) { std::cerr << "darklens watch: " << line << "\n"; };

            sigset_t stop_signals;
            sigemptyset(&stop_signals);
            sigaddset(&stop_signals, SIGINT);
            sigaddset(&stop_signals, SIGTERM);
            pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

            patterns::Store db(o->db);
            std::function<void()> emit_stored;  // set below: each window's events written once it is stored
            wo.stored = [&emit_stored] {
              if (emit_stored) emit_stored();
            };
            watch::Watcher w(db, wo);
            std::unique_ptr<EventsFile> file;
            if (!o->events.empty()) file = std::make_unique<EventsFile>(o->events);
            // Every sink gets the stored events after its own position.
            auto emit = [&] {
              const std::string sink = file ? "file" : "stdout";
              for (;;) {
                const int64_t from = file ? (file->has_last() ? file->last() : w.cursor("file")) : w.cursor("stdout");
                const auto batch = db.events(from, kEventBatch);
                if (batch.empty()) break;
                for (const auto& e : batch) {
                  const std::string line = dump_json(e.body) + "\n";
                  if (file) {
                    file->write(line, e.seq);
                  } else {
                    std::cout << line << std::flush;
                  }
                }
                if (!file) w.set_cursor(sink, batch.back().seq);
              }
              if (!o->exec.empty()) {
                for (;;) {
                  const auto batch = db.events(w.cursor("exec"), kEventBatch);
                  if (batch.empty()) break;
                  for (const auto& e : batch) {
                    const std::string why = run_exec(o->exec, dump_json(e.body) + "\n", e.kind, e.seq);
                    if (!why.empty() && !o->quiet) {
                      std::cerr << "darklens watch: --exec for event " << e.seq << " (" << e.kind << "): " << why
                                << "\n";
                    }
                    w.set_cursor("exec", e.seq);
                  }
                }
              }
            };
            emit();  // what a killed run stored but had not written out
            emit_stored = emit;

            std::atomic<bool> stop = false, done = false;
            std::mutex m;
            std::condition_variable wake;
            std::thread waiter([&] {
              const timespec tick{0, 100'000'000};
              while (!done) {
                if (sigtimedwait(&stop_signals, nullptr, &tick) > 0) {
                  {
                    const std::lock_guard<std::mutex> lock(m);
                    stop = true;
                  }
                  wake.notify_all();
                }
              }
            });
            struct Join {
              std::atomic<bool>& done;
              std::thread& t;
              ~Join() {
                done = true;
                t.join();
              }
            } join{done, waiter};
            // Woken early by a signal, or by the recorder when a segment is
            // complete (then it is taken now, not at the next --poll).
            bool arrived = false;  // guarded by m
            auto nudge = [&] {
              {
                const std::lock_guard<std::mutex> lock(m);
                arrived = true;
              }
              wake.notify_all();
            };
            auto sleep_for = [&](int64_t ns) {
              std::unique_lock<std::mutex> lock(m);
              wake.wait_for(lock, std::chrono::nanoseconds(ns), [&] { return stop.load() || arrived; });
              arrived = false;
            };

            if (!o->dir.empty()) {
              watch::DirScanner scanner(o->dir, o->once ? 0 : settle);
              while (!stop) {
                w.take(scanner.complete());
                emit();
                if (o->once) break;
                sleep_for(poll);
              }
              if (o->once && o->drain && !stop) w.drain();
              emit();
              return 0;
            }
            // An interface or standard input: a recorder thread spools
            // segments, this one takes them.
            watch::RecorderOptions ro;
            ro.interface = o->interface;
            ro.filter = o->filter;
            ro.dir = wo.state_dir + "/spool";
            ro.step_ns = w.step_ns();
            ro.flush_ns = flush;
            watch::Recorder recorder(ro);
            // From here on the kernel keeps what arrives: say so (a script
            // can start sending once it reads this line).
            if (wo.progress && !o->interface.empty()) wo.progress("capturing on " + terminal_text(o->interface));
            watch::DirScanner spool(ro.dir, 0);
            std::atomic<bool> recorded = false, stop_recording = false;
            std::string failure;
            std::thread rec([&] {
              try {
                recorder.run(stop_recording, nudge);
              } catch (const Error& e) {
                failure = e.what();
              }
              recorded = true;
              nudge();
            });
            while (!stop && !recorded) {
              w.take(spool.complete());
              emit();
              sleep_for(poll);
            }
            stop_recording = true;
            if (!recorded && o->interface.empty()) {
              // Standard input blocks in read(): what is spooled is kept,
              // the open segment is lost as by a kill.
              w.take(spool.complete());
              emit();
              if (!o->quiet) std::cerr << "darklens watch: stopped (the open segment of standard input is lost)\n";
              std::cout << std::flush;
              std::_Exit(0);
            }
            rec.join();
            w.take(spool.complete());
            if (o->drain && !stop) w.drain();
            emit();
            const auto rc = recorder.counters();
            if (!o->quiet) {
              std::cerr << "darklens watch: " << rc.packets << " packets recorded in " << rc.segments << " segments"
                        << (o->interface.empty() ? "" : ", " + std::to_string(rc.dropped) + " dropped by the kernel")
                        << "\n";
            }
            if (!failure.empty()) throw FormatError(failure);
            return 0;
          }};
}

}  // namespace darklens::cli
