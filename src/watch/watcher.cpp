// The Watcher: captures taken once, rolling windows closed in order, each
// one's run and events stored in one transaction (docs/watch.md).
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <unordered_map>

#include "darklens/analyze/analyze.hpp"
#include "darklens/core/atomic_file.hpp"
#include "darklens/core/output_set.hpp"
#include "darklens/core/text.hpp"
#include "darklens/error.hpp"
#include "darklens/ingest/ingest.hpp"
#include "darklens/watch/watch.hpp"

namespace darklens::watch {
namespace {

namespace fs = std::filesystem;
constexpr int kStateVersion = 1;
constexpr size_t kMaxStateBytes = 256 << 20;
// Packets stamped further ahead of this machine's clock do not move the
// windows on (a bogus time would otherwise close every window up to it).
constexpr int64_t kMaxAheadNs = 86'400'000'000'000;

int64_t floor_to(int64_t t, int64_t step) {
  const int64_t q = t / step;
  return (t % step < 0 ? q - 1 : q) * step;
}

std::string duration_text(int64_t ns) {
  const int64_t s = ns / 1'000'000'000;
  if (s % 86400 == 0) return std::to_string(s / 86400) + "d";
  if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

std::string identity(const std::string& path, uint64_t size, int64_t mtime_ns) {
  return path + "\t" + std::to_string(size) + "\t" + std::to_string(mtime_ns);
}

bool stat_file(const std::string& path, uint64_t& size, int64_t& mtime_ns) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  size = static_cast<uint64_t>(st.st_size);
  mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  return true;
}

int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void check_windows(int64_t window_ns, int64_t step_ns) {
  if (window_ns <= 0 || step_ns <= 0 || step_ns > window_ns || window_ns % step_ns != 0) {
    throw ParamError("--step " + duration_text(step_ns) + " with --window " + duration_text(window_ns) +
                     ": the step must be at most the window and divide it (e.g. --window 1h --step 10m)");
  }
}

Watcher::Watcher(patterns::Store& db, Options options) : db_(db), o_(std::move(options)) {
  model_ = o_.model ? o_.model : db_.latest_model();
  const patterns::RunRecord run = db_.run(model_);
  if (run.kind != "analyze") {
    throw ParamError(db_.path() + ": run " + std::to_string(model_) +
                     " is a classify run; give the id of an analyze run (darklens patterns list)");
  }
  int64_t model_window = 0;
  try {
    model_window = run.features.at("window_ns").get<int64_t>();
  } catch (const nlohmann::json::exception&) {
    throw FormatError(db_.path() + ": run " + std::to_string(model_) + " has no window length");
  }
  window_ = o_.window_ns ? o_.window_ns : model_window;
  step_ = o_.step_ns ? o_.step_ns : window_;
  check_windows(window_, step_);
  if (o_.retain_ns < 0 || (o_.retain_ns > 0 && o_.retain_ns < window_)) {
    throw ParamError("--retain " + duration_text(o_.retain_ns) + " is shorter than the window (" +
                     duration_text(window_) + "): each window is compared with the one before it");
  }
  if (o_.state_dir.empty()) throw ParamError("watch: no state directory");
  std::error_code ec;
  fs::create_directories(o_.state_dir, ec);
  if (ec || !fs::is_directory(o_.state_dir)) {
    throw IoError(o_.state_dir + ": cannot create the state directory: " + (ec ? ec.message() : "not a directory"));
  }
  load();
}

int64_t Watcher::next_window() const {
  int64_t next = started_ ? std::max(first_window_, skip_to_) : 0;
  if (const auto last = db_.last_event("window_closed", origin_seq_);
      last && last->body.value("model", int64_t{0}) == model_) {
    next = std::max(next, last->window_start_ns + step_);
  }
  return next;
}

int64_t Watcher::cursor(const std::string& sink) const {
  const auto it = cursors_.find(sink);
  return it == cursors_.end() ? origin_seq_ : it->second;
}

void Watcher::set_cursor(const std::string& sink, int64_t seq) {
  cursors_[sink] = seq;
  save();
}

void Watcher::load() {
  const std::string path = o_.state_dir + "/state.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (fs::exists(path)) throw IoError(path + ": cannot read the watch state");
    origin_seq_ = db_.last_seq();  // a new state
    save();
    return;
  }
  std::string text(kMaxStateBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxStateBytes) throw FormatError(path + ": larger than 256 MiB, not a watch state");
  try {
    const auto j = nlohmann::json::parse(text);
    if (j.at("darklens_watch_state").get<int>() != kStateVersion) {
      throw FormatError(path + ": a watch state of another version");
    }
    const auto model = j.at("model").get<int64_t>();
    const auto window = j.at("window_ns").get<int64_t>();
    const auto step = j.at("step_ns").get<int64_t>();
    if (model != model_ || window != window_ || step != step_) {
      throw ParamError(path + ": this state watches model " + std::to_string(model) + " with --window " +
                       duration_text(window) + " --step " + duration_text(step) + ", not model " +
                       std::to_string(model_) + " with --window " + duration_text(window_) + " --step " +
                       duration_text(step_) + "; give the same, or another --state to start afresh");
    }
    origin_seq_ = j.at("origin_seq").get<int64_t>();
    started_ = !j.at("first_window_ns").is_null();
    if (started_) first_window_ = j.at("first_window_ns").get<int64_t>();
    watermark_ = j.at("watermark_ns").get<int64_t>();
    skip_to_ = j.at("skip_to_ns").get<int64_t>();
    late_ = j.at("late_packets").get<uint64_t>();
    // Reported already when a window closed after they were counted.
    if (j.at("late_as_of_ns").get<int64_t>() < next_window()) late_ = 0;
    for (const auto& f : j.at("files")) {
      TakenFile t;
      t.path = f.at("path").get<std::string>();
      t.size = f.at("size").get<uint64_t>();
      t.mtime_ns = f.at("mtime_ns").get<int64_t>();
      t.records = f.at("records").get<uint64_t>();
      for (const auto& s : f.at("steps")) t.steps[s.at(0).get<int64_t>()] = s.at(1).get<uint64_t>();
      files_.push_back(std::move(t));
    }
    for (const auto& d : j.at("done")) done_.insert(d.get<std::string>());
    for (const auto& [k, v] : j.at("cursors").items()) cursors_[k] = v.get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path + ": a damaged watch state (" + std::string(e.what()) +
                      "); remove the state directory to start afresh");
  }
}

void Watcher::save() const {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : files_) {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& [s, n] : f.steps) steps.push_back({s, n});
    files.push_back(
        {{"path", f.path}, {"size", f.size}, {"mtime_ns", f.mtime_ns}, {"records", f.records}, {"steps", steps}});
  }
  const nlohmann::json j = {{"darklens_watch_state", kStateVersion},
                            {"database", db_.path()},
                            {"model", model_},
                            {"window_ns", window_},
                            {"step_ns", step_},
                            {"first_window_ns", started_ ? nlohmann::json(first_window_) : nlohmann::json(nullptr)},
                            {"watermark_ns", watermark_},
                            {"skip_to_ns", skip_to_},
                            {"late_packets", late_},
                            {"late_as_of_ns", next_window()},
                            {"files", files},
                            {"done", done_},
                            {"cursors", cursors_},
                            {"origin_seq", origin_seq_}};
  AtomicFile f(o_.state_dir + "/state.json");
  f.write(dump_json(j) + "\n");
  f.commit();
  crash_point();
}

bool Watcher::taken(const std::string& path, uint64_t size, int64_t mtime_ns) const {
  if (done_.count(identity(path, size, mtime_ns))) return true;
  return std::any_of(files_.begin(), files_.end(), [&](const TakenFile& f) { return f.path == path; });
}

void Watcher::scan(const std::string& path, uint64_t size, int64_t mtime_ns) {
  TakenFile t{path, size, mtime_ns, 0, {}};
  const int64_t ahead = wall_ns() + kMaxAheadNs;
  uint64_t future = 0, late = 0;
  try {
    auto reader = ingest::CaptureReader::open(path);
    Packet p;
    while (reader->next(p)) {
      if (p.ts_ns_ > ahead) {
        ++future;
        continue;
      }
      auto& n = t.steps[floor_to(p.ts_ns_, step_)];
      ++n;
      if (t.steps.size() > kMaxStepsPerFile) {
        throw FormatError(path + ": packets stamped over more than " + std::to_string(kMaxStepsPerFile) +
                          " steps; not a rotating capture");
      }
    }
    t.records = reader->counters().records_;
    if (!reader->counters().stop_message_.empty() && o_.progress) {
      o_.progress(terminal_text(reader->counters().stop_message_));
    }
  } catch (const Error& e) {
    // Unreadable: reported once, never retried (its identity is done).
    if (o_.progress) o_.progress("skipped " + terminal_text(path) + ": " + terminal_text(e.what()));
    done_.insert(identity(path, size, mtime_ns));
    return;
  }
  if (!started_ && !t.steps.empty()) {
    started_ = true;
    first_window_ = t.steps.begin()->first;
  }
  const int64_t next = next_window();
  for (auto it = t.steps.begin(); it != t.steps.end() && it->first < next;) {
    late += it->second;
    it = t.steps.erase(it);
  }
  late_ += late;
  if (!t.steps.empty()) watermark_ = std::max(watermark_, t.steps.rbegin()->first);
  uint64_t packets = 0;
  for (const auto& [s, n] : t.steps) packets += n;
  if (o_.progress) {
    o_.progress("took " + terminal_text(path) + ": " + std::to_string(packets) + " packets" +
                (late ? ", " + std::to_string(late) + " late (their windows had closed)" : "") +
                (future ? ", " + std::to_string(future) + " stamped more than a day ahead (ignored)" : ""));
  }
  if (t.steps.empty()) {
    done_.insert(identity(path, size, mtime_ns));
    if (o_.delete_taken) fs::remove(path);
  } else {
    files_.push_back(std::move(t));
  }
}

size_t Watcher::take(const std::vector<std::string>& paths) {
  for (const auto& path : paths) {
    uint64_t size = 0;
    int64_t mtime = 0;
    if (!stat_file(path, size, mtime) || taken(path, size, mtime)) continue;
    scan(path, size, mtime);
    save();
  }
  return close_ready(false);
}

size_t Watcher::drain() { return close_ready(true); }

size_t Watcher::close_ready(bool drain) {
  size_t closed = 0;
  if (!started_) return closed;
  auto inputs_of = [&](int64_t s) {
    std::vector<std::string> in;
    for (const auto& f : files_) {
      const auto it = f.steps.lower_bound(s);
      if (it != f.steps.end() && it->first < s + window_) in.push_back(f.path);
    }
    return in;
  };
  for (;;) {
    const int64_t next = next_window();
    const bool ready = drain ? next <= watermark_ : next + window_ <= watermark_;
    if (!ready) break;
    if (!inputs_of(next).empty()) {
      close(next);
      ++closed;
      continue;
    }
    // No packets: the first such window after one with sources closes (its
    // patterns are absent); the windows after it, as empty, are skipped.
    const auto last = db_.last_event("window_closed", origin_seq_);
    if (last && last->window_start_ns + step_ == next && last->body.value("sources", uint64_t{0}) > 0) {
      close(next);
      ++closed;
      continue;
    }
    int64_t data = std::numeric_limits<int64_t>::max();
    for (const auto& f : files_) {
      const auto it = f.steps.lower_bound(next);
      if (it != f.steps.end()) data = std::min(data, it->first);
    }
    if (data == std::numeric_limits<int64_t>::max()) break;
    skip_to_ = std::max(next + step_, data - window_ + step_);
    save();
  }
  forget_old();
  return closed;
}

void Watcher::close(int64_t start) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const int64_t end = start + window_;
  std::vector<std::string> inputs;
  for (const auto& f : files_) {
    const auto it = f.steps.lower_bound(start);
    if (it == f.steps.end() || it->first >= end) continue;
    if (fs::exists(f.path)) {
      inputs.push_back(f.path);
    } else if (o_.progress) {
      o_.progress(terminal_text(f.path) + " is gone before its windows closed; window " + iso8601_utc(start) +
                  " goes without it");
    }
  }
  // What the sources were in the window before: the last closed one, or
  // the model's own for the first.
  const auto last = db_.last_event("window_closed", origin_seq_);
  const int64_t before_run = last ? last->run : model_;
  std::map<std::string, int64_t> before;
  std::unordered_map<int64_t, uint64_t> count_before;
  if (before_run) {
    for (const auto& m : db_.members(before_run)) {
      before[m.source] = m.pattern;
      if (m.pattern) ++count_before[m.pattern];
    }
  }
  std::vector<patterns::Pattern> known = db_.patterns(model_);
  std::vector<PatternNow> patterns_before;
  for (const auto& p : known) {
    const auto it = count_before.find(p.id);
    if (it != count_before.end()) patterns_before.push_back({p.id, p.name, false, it->second, 0, p.profile});
  }

  WindowFacts w;
  w.start_ns = start;
  w.end_ns = end;
  w.model = model_;
  w.late_packets = late_;
  w.inputs = inputs;
  std::optional<analyze::Classification> c;
  if (!inputs.empty()) {
    analyze::ClassifyOptions co;
    co.model = model_;
    co.gt = o_.gt;
    co.catalog = o_.catalog;
    co.origins = o_.origins;
    co.threads = o_.threads;
    co.max_memory = o_.max_memory;
    co.min_new_to_cluster = o_.min_new_to_cluster;
    co.min_group = o_.min_group;
    co.seed = o_.seed;
    co.span = std::pair{start, end};
    try {
      c = analyze::classify(db_, inputs, co);
    } catch (const ParamError& e) {
      // Packets, but none the model's selection keeps: an empty window.
      if (std::string(e.what()).find("no source left") == std::string::npos) throw;
    }
  }
  std::vector<PatternNow> patterns_now;
  std::vector<SourceNow> sources_now;
  patterns::Store::Batch batch(db_);
  if (c) {
    w.run = analyze::store(
        db_, *c, inputs,
        "watch:" + std::to_string(origin_seq_) + ":" + std::to_string(model_) + ":" + std::to_string(start));
    w.sources = c->table.rows();
    w.packets = c->summary.value("packets_used", uint64_t{0});
    w.known_sources = c->summary.value("sources_in_known_patterns", uint64_t{0});
    w.new_sources = c->summary.value("new_sources", uint64_t{0});
    std::unordered_map<int64_t, std::pair<uint64_t, uint64_t>> seen;  // pattern -> sources, packets
    for (const auto& m : db_.members(w.run)) {
      sources_now.push_back({m.source, m.pattern, m.packets.value_or(0)});
    }
    for (const auto& p : c->profiles) {
      if (p.cluster_ >= 0 && p.cluster_ < static_cast<int>(c->known.size())) {
        seen[c->known[static_cast<size_t>(p.cluster_)].id] = {p.sources_, p.packets_};
      }
    }
    for (const auto& k : c->known) {
      const auto it = seen.find(k.id);
      if (it != seen.end())
        patterns_now.push_back({k.id, k.name, false, it->second.first, it->second.second, k.profile});
    }
    for (const auto& f : c->fresh) patterns_now.push_back({f.id, f.name, true, f.sources, f.packets, f.profile});
  }
  auto events = window_events(w, before, patterns_now, patterns_before, sources_now, o_.max_joined);
  db_.append_events(events);
  // --retain: older windows' members and reports go in the same
  // transaction, so a restart after a kill prunes exactly as a run that
  // was never stopped. The window before this one always stays.
  if (o_.retain_ns > 0) db_.prune(end - o_.retain_ns);
  crash_point();  // the kill test: stored nothing yet
  batch.commit();
  late_ = 0;
  if (o_.progress) {
    const auto& s = events.back().body;
    o_.progress("window " + iso8601_utc(start) + " .. " + iso8601_utc(end) + ": " + std::to_string(w.sources) +
                " sources, " + std::to_string(w.known_sources) + " in known patterns (" + s["patterns_back"].dump() +
                " back, " + s["patterns_absent"].dump() + " absent), " + s["new_groups"].dump() + " new groups, " +
                std::to_string(events.size()) + " events (" +
                std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - t0).count()) +
                " ms)");
  }
  if (o_.stored) o_.stored();
}

void Watcher::forget_old() {
  const int64_t next = next_window();
  bool changed = false;
  for (auto it = files_.begin(); it != files_.end();) {
    if (!it->steps.empty() && it->steps.rbegin()->first >= next) {
      ++it;
      continue;
    }
    if (o_.delete_taken) {
      std::error_code ec;
      fs::remove(it->path, ec);
    } else {
      done_.insert(identity(it->path, it->size, it->mtime_ns));
    }
    it = files_.erase(it);
    changed = true;
  }
  // Files the rotation has removed need no remembering.
  for (auto it = done_.begin(); it != done_.end();) {
    const std::string path = it->substr(0, it->find('\t'));
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      it = done_.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }
  if (changed) save();
}

}  // namespace darklens::watch
