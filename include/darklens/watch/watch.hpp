// Near-real-time: captures as they arrive -> rolling windows -> each closed
// window classified against the stored model (analyze::classify) -> the run
// and its events stored together in the pattern database (docs/watch.md).
//
//   darklens::patterns::Store db("patterns.db");
//   darklens::watch::Options o;  o.state_dir = "patterns.db.watch";
//   darklens::watch::Watcher w(db, o);               // the state, or a new one
//   darklens::watch::DirScanner dir("/captures");
//   for (;;) { for (auto& e : w.take(dir.complete())) print(e.body); sleep(1); }
//
// Where packets come from: a directory of rotating captures (DirScanner), or
// a live interface or standard input spooled by a Recorder into the state's
// own directory as step-long segments, which the Watcher takes like any
// other directory. The windows closed so far are the database's
// `window_closed` events; the files taken so far are the state file's. A
// window's run and events are one database transaction, so a run killed at
// any moment restarts where it stood and stores what an uninterrupted one
// would have.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "darklens/labels/ground_truth.hpp"
#include "darklens/labels/origin.hpp"
#include "darklens/patterns/patterns.hpp"
#include "darklens/profile/profile.hpp"

namespace darklens::watch {

struct Options {
  std::string state_dir;  // checkpoint (state.json) and, for a recorder, spool/
  int64_t window_ns = 0;  // 0: the model's window
  int64_t step_ns = 0;    // 0: the window (tumbling windows); must divide the window
  int64_t model = 0;      // 0: the newest analyze run
  const profile::Catalog* catalog = nullptr;
  const ground_truth::GroundTruth* gt = nullptr;
  const origin::Origins* origins = nullptr;  // optional: origin AS and country in the profiles
  /// source_joined events per window, the sources with most packets first
  /// (window_closed counts them all).
  size_t max_joined = 100;
  size_t min_new_to_cluster = 20;
  /// New groups of fewer sources are noise, not patterns: each window's
  /// small groups would otherwise pile up as patterns day after day.
  size_t min_group = 10;
  /// Keep the members and reports of the classify runs whose window ended
  /// at most this long before the window closing now; older ones are
  /// pruned (patterns::Store::prune) in the same transaction, so the
  /// database and each window's work stay flat over weeks. 0: keep all.
  /// At least the window.
  int64_t retain_ns = 0;
  int threads = 0;
  uint64_t max_memory = 0;
  uint64_t seed = 0;
  /// Files the watcher owns (the recorder's spool): deleted once no open
  /// window needs them.
  bool delete_taken = false;
  std::function<void(const std::string&)> progress;
  /// Called after each closed window's run and events are committed, so
  /// that they are written out then (darklens watch), not after the last
  /// of the windows one take() closes: a replay closes hundreds in one
  /// call, and nothing of a window is held once it is stored.
  std::function<void()> stored;
};

/// The rolling windows: [k*step, k*step + window), k integer, in ns since
/// the epoch. Throws ParamError unless 0 < step <= window and step divides
/// window.
void check_windows(int64_t window_ns, int64_t step_ns);

/// What watch knows of one capture it took.
struct TakenFile {
  std::string path;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint64_t records = 0;
  /// Packets per step (step start ns -> packets), at most kMaxStepsPerFile.
  std::map<int64_t, uint64_t> steps;
};
inline constexpr size_t kMaxStepsPerFile = 100000;

class Watcher {
 public:
  /// Reads the state in options.state_dir (created when missing). Throws
  /// ParamError when the state was made with another model, window or
  /// step, FormatError when it is damaged, IoError when it cannot be read.
  Watcher(patterns::Store& db, Options options);
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  /// Takes the complete captures among `paths` that are new (in the order
  /// given: name order), then closes every window their packets have
  /// passed. Returns the number of windows closed; their events are in the
  /// database (Store::events), each window's committed before the next
  /// closes (Options::stored). A capture that cannot be read is reported
  /// (progress) and skipped, never retried.
  size_t take(const std::vector<std::string>& paths);
  /// At the end of the input (--drain): closes the windows still open
  /// that hold packets. Returns the number closed.
  size_t drain();

  int64_t window_ns() const { return window_; }
  int64_t step_ns() const { return step_; }
  int64_t model() const { return model_; }
  /// The start of the next window to close (0 before any packet).
  int64_t next_window() const;
  /// The sinks' positions in the event sequence, kept in the state
  /// ("stdout", "exec"): the last event each has had; for a sink new to
  /// the state, the database's last event when the state was made (a new
  /// state's sinks get the events from then on).
  int64_t cursor(const std::string& sink) const;
  void set_cursor(const std::string& sink, int64_t seq);

 private:
  void load();
  void save() const;
  bool taken(const std::string& path, uint64_t size, int64_t mtime_ns) const;
  void scan(const std::string& path, uint64_t size, int64_t mtime_ns);
  size_t close_ready(bool drain);
  void close(int64_t start);
  void forget_old();

  patterns::Store& db_;
  Options o_;
  int64_t window_ = 0, step_ = 0, model_ = 0;
  int64_t first_window_ = 0;  // set by the first packet
  int64_t watermark_ = 0;     // the latest step with packets taken (valid once first_window_ is)
  int64_t skip_to_ = 0;       // windows before it held no packets and were passed over
  bool started_ = false;
  uint64_t late_ = 0;             // packets taken after their windows closed, not yet reported
  std::vector<TakenFile> files_;  // taken, still needed by an open window
  std::set<std::string> done_;    // taken earlier (path + size + mtime), no longer needed
  std::map<std::string, int64_t> cursors_;
  int64_t origin_seq_ = 0;  // the database's last event when the state was made
};

/// The events of one closed window (docs/watch.md), from what the sources
/// were in the window before (`before`: source -> pattern id, 0 none) and
/// the classification stored as `run`. Pure: the tests call it directly.
struct WindowFacts {
  int64_t start_ns = 0, end_ns = 0, run = 0, model = 0;
  uint64_t sources = 0, packets = 0, known_sources = 0, new_sources = 0, late_packets = 0;
  std::vector<std::string> inputs;
};
struct SourceNow {
  std::string source;
  int64_t pattern = 0;  // 0 none
  uint64_t packets = 0;
};
struct PatternNow {
  int64_t id = 0;
  std::string name;
  bool fresh = false;  // found in this window
  uint64_t sources = 0, packets = 0;
  nlohmann::json profile;  // profile::to_json
};
std::vector<patterns::Event> window_events(const WindowFacts& w, const std::map<std::string, int64_t>& before,
                                           const std::vector<PatternNow>& patterns_now,
                                           const std::vector<PatternNow>& patterns_before,
                                           const std::vector<SourceNow>& sources_now, size_t max_joined);

/// The complete captures of a directory of rotating captures: regular
/// files, not hidden, not *.tmp / *.part / *~, whose size and time have
/// not changed for `settle_ns` (0: every file is complete). Sorted by name.
class DirScanner {
 public:
  DirScanner(std::string dir, int64_t settle_ns);
  /// Throws IoError naming the directory when it cannot be listed.
  std::vector<std::string> complete();

 private:
  std::string dir_;
  int64_t settle_ns_;
  std::map<std::string, std::pair<uint64_t, int64_t>> seen_;  // path -> size, mtime at the last call
};

/// Spools packets from a live interface (libpcap) or standard input (a
/// pcap or pcapng stream) into `dir` as segment files, one per step (and
/// at most `flush_ns` of wall time each), each written whole then renamed
/// into place, so that a Watcher over `dir` only ever sees complete ones.
struct RecorderOptions {
  std::string interface;  // "" = standard input
  std::string filter;     // libpcap expression ("" none)
  std::string dir;
  int64_t step_ns = 0;
  int64_t flush_ns = 10'000'000'000;
  int snaplen = 262144;
  // The kernel's buffer between the interface and the reader: what a burst
  // or a slow moment of this process may fill before the kernel drops.
  int buffer_bytes = 32 << 20;
};
struct RecorderCounters {
  uint64_t packets = 0, segments = 0, dropped = 0;  // dropped: by the kernel (pcap_stats; on lo each
                                                    // packet is seen twice, both copies counted)
};
class Recorder {
 public:
  /// Opens the interface or standard input. Throws IoError with libpcap's
  /// reason (naming the interface), ParamError for a bad filter.
  explicit Recorder(RecorderOptions options);
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;
  /// Records until the input ends or `stop` is set (checked at least every
  /// 100 ms on an interface); commits the open segment before returning.
  /// `segment` is called after each segment is in place.
  void run(const std::atomic<bool>& stop, const std::function<void()>& segment);
  RecorderCounters counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace darklens::watch
