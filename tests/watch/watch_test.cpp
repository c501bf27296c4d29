// darklens watch as a library: the events of a window computed by hand,
// the window grid, the directory scanner, and the Watcher over synthetic
// days — its windows against classify on the same span, and a watcher
// stopped and restarted between captures against one that never stopped.
// The CLI, kill -9 at many points, standard input and a live interface:
// tests/cli/watch_test.py.
#include "darklens/watch/watch.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "darklens/analyze/analyze.hpp"
#include "darklens/error.hpp"
#include "darklens/synth/synth.hpp"
#include "support/error_of.hpp"
#include "support/temp_dir.hpp"

using namespace darklens;
using nlohmann::json;

namespace {

json profile_with(const std::string& activity) {
  json acts = json::array();
  if (!activity.empty()) acts.push_back({{"activity", activity}});
  return {{"activities", acts}};
}

std::vector<std::string> kinds(const std::vector<patterns::Event>& ev) {
  std::vector<std::string> k;
  for (const auto& e : ev) k.push_back(e.kind);
  return k;
}

TEST(WatchEvents, WhatChangedSinceTheWindowBefore) {
  // Before: pattern 1 (2 sources), pattern 2 (1 source). Now: pattern 1
  // still, pattern 3 back, pattern 2 gone, a new group 7 (Mirai) and an
  // unexplained one 8; source d joins 1 (from 2), e joins 3 (from none).
  const std::map<std::string, int64_t> before = {{"a", 1}, {"b", 1}, {"c", 2}, {"d", 2}};
  const std::vector<watch::PatternNow> was = {{1, "scanner", false, 2, 0, profile_with("SSH brute force")},
                                              {2, "", false, 2, 0, profile_with("")}};
  const std::vector<watch::PatternNow> now = {{1, "scanner", false, 3, 30, profile_with("SSH brute force")},
                                              {3, "", false, 1, 5, profile_with("RDP")},
                                              {7, "", true, 4, 40, profile_with("Mirai telnet")},
                                              {8, "", true, 2, 2, profile_with("")}};
  const std::vector<watch::SourceNow> sources = {{"a", 1, 10}, {"b", 1, 10}, {"d", 1, 10},
                                                 {"e", 3, 5},  {"f", 7, 10}, {"g", 0, 1}};
  watch::WindowFacts w;
  w.start_ns = 3600'000'000'000;
  w.end_ns = 7200'000'000'000;
  w.run = 9;
  w.model = 1;
  w.sources = 6;
  w.late_packets = 4;
  const auto ev = watch::window_events(w, before, now, was, sources, 100);
  EXPECT_EQ(kinds(ev), (std::vector<std::string>{"pattern_back", "pattern_absent", "new_group", "unexplained_group",
                                                 "source_joined", "source_joined", "window_closed"}));
  EXPECT_EQ(ev[0].body["pattern"], (json{{"id", 3}, {"name", ""}, {"activity", "RDP"}}));
  EXPECT_EQ(ev[1].body["pattern"]["id"], 2);
  EXPECT_EQ(ev[1].body["sources_before"], 2);
  EXPECT_EQ(ev[2].body["pattern"]["activity"], "Mirai telnet");
  EXPECT_EQ(ev[3].body["pattern"]["activity"], "unexplained");
  // The busiest first: d (10 packets, was in 2), then e (5, was in none).
  EXPECT_EQ(ev[4].body["source"], "d");
  EXPECT_EQ(ev[4].body["pattern_before"], 2);
  EXPECT_EQ(ev[5].body["source"], "e");
  EXPECT_TRUE(ev[5].body["pattern_before"].is_null());
  const json& closed = ev.back().body;
  EXPECT_EQ(closed["window_start"], "1970-01-01T01:00:00Z");
  EXPECT_EQ(closed["window_end"], "1970-01-01T02:00:00Z");
  EXPECT_EQ(closed["run"], 9);
  EXPECT_EQ(closed["patterns_back"], 1);
  EXPECT_EQ(closed["patterns_absent"], 1);
  EXPECT_EQ(closed["new_groups"], 2);
  EXPECT_EQ(closed["sources_joined"], 2);
  EXPECT_EQ(closed["late_packets"], 4);
  for (const auto& e : ev) {
    EXPECT_EQ(e.window_start_ns, w.start_ns);
    EXPECT_EQ(e.run, 9);
    EXPECT_EQ(e.body["kind"], e.kind);
  }
  // The cap keeps the busiest; window_closed still counts them all.
  const auto capped = watch::window_events(w, before, now, was, sources, 1);
  EXPECT_EQ(capped.size(), ev.size() - 1);
  EXPECT_EQ(capped.back().body["sources_joined"], 2);
  EXPECT_EQ(capped.back().body["source_joined_events"], 1);
}

TEST(WatchEvents, AnEmptyWindowAfterOneWithSourcesHasItsPatternsAbsent) {
  const std::vector<watch::PatternNow> was = {{1, "", false, 2, 0, profile_with("")}};
  watch::WindowFacts w;
  const auto ev = watch::window_events(w, {{"a", 1}, {"b", 1}}, {}, was, {}, 100);
  EXPECT_EQ(kinds(ev), (std::vector<std::string>{"pattern_absent", "window_closed"}));
  EXPECT_TRUE(ev.back().body["run"].is_null());
}

TEST(WatchWindows, TheStepDividesTheWindow) {
  constexpr int64_t kMin = 60'000'000'000;
  EXPECT_NO_THROW(watch::check_windows(60 * kMin, 10 * kMin));
  EXPECT_NO_THROW(watch::check_windows(60 * kMin, 60 * kMin));
  EXPECT_EQ(test::error_of([&] { watch::check_windows(60 * kMin, 7 * kMin); }),
            "--step 7m with --window 1h: the step must be at most the window and divide it (e.g. --window 1h "
            "--step 10m)");
  EXPECT_FALSE(test::error_of([&] { watch::check_windows(60 * kMin, 120 * kMin); }).empty());
}

TEST(WatchDirScanner, TakesCompleteFilesInNameOrder) {
  test::TempDir dir;
  dir.write("b.pcap", "x");
  dir.write("a.pcap", "x");
  dir.write(".hidden.pcap", "x");
  dir.write("c.pcap.part", "x");
  dir.write("d.pcap.tmp-12-0", "x");
  std::filesystem::create_directory(dir.file("sub"));
  watch::DirScanner now(dir.path().string(), 0);
  EXPECT_EQ(now.complete(), (std::vector<std::string>{dir.file("a.pcap"), dir.file("b.pcap")}));
  // Settling: a file is complete once it was seen unchanged and is old enough.
  watch::DirScanner settled(dir.path().string(), 1);
  EXPECT_TRUE(settled.complete().empty());  // first sight
  EXPECT_EQ(settled.complete().size(), 2u);
  dir.write("b.pcap", "xy");  // grew: seen anew
  EXPECT_EQ(settled.complete(), (std::vector<std::string>{dir.file("a.pcap")}));
  EXPECT_EQ(test::error_of([&] { watch::DirScanner(dir.file("none"), 0).complete(); }).substr(0, 0), "");
  EXPECT_NE(test::error_of([&] { watch::DirScanner(dir.file("none"), 0).complete(); }).find("cannot list"),
            std::string::npos);
}

// Three synthetic days: day 1 analysed with 6 h windows is the model; the
// watcher takes days 2 and 3 with 6 h windows every 3 h.
struct Days {
  test::TempDir dir;
  synth::SynthOutput out;
  std::string model_db;
  profile::Catalog catalog =
      profile::Catalog::parse("[telnet]\nactivity = telnet scanning\nwhen = port tcp/23,tcp/2323 >= 0.5\n", "test");
  Days() {
    synth::SynthParams p;
    p.sources_ = 300;
    p.days_ = 3;
    p.seed_ = 5;
    out = synth::generate(p, dir.file("s"));
    analyze::Options o;
    o.features.families_ = features::parse_families(analyze::kDefaultFamilies);
    o.features.window_ = features::parse_window("6h");
    o.pipeline = "log1p|zscore|pca:5|kmeans:k=5";
    o.catalog = &catalog;
    const auto a = analyze::analyze({out.days_[0].path_}, o);
    model_db = dir.file("model.db");
    patterns::Store store(model_db);
    analyze::store(store, a, {out.days_[0].path_}, o);
  }
  // A copy of the model's database.
  std::string copy(const std::string& name) const {
    std::filesystem::copy_file(model_db, dir.file(name));
    return dir.file(name);
  }
  watch::Options options(const std::string& state) const {
    watch::Options o;
    o.state_dir = dir.file(state);
    o.step_ns = 3 * 3600'000'000'000LL;
    o.catalog = &catalog;
    o.threads = 1;
    return o;
  }
};

const Days& days() {
  static const Days d;
  return d;
}

json without_time(const patterns::Event& e) {
  json b = e.body;
  b.erase("time");
  return b;
}

TEST(Watcher, EachWindowIsWhatClassifyFindsOnItsSpan) {
  const auto& d = days();
  const std::string db_path = d.copy("w1.db");
  patterns::Store db(db_path);
  auto options = d.options("w1.state");
  // Each window is committed, its window_closed event last, before the next one closes.
  size_t stored = 0;
  options.stored = [&] {
    ++stored;
    const auto last = db.last_event("window_closed", 0);
    ASSERT_TRUE(last.has_value());
    EXPECT_EQ(last->seq, db.last_seq());
  };
  watch::Watcher w(db, options);
  EXPECT_EQ(w.window_ns(), 6 * 3600'000'000'000LL);  // the model's
  EXPECT_EQ(w.take({d.out.days_[1].path_}), 6u);
  EXPECT_EQ(stored, 6u);
  const auto ev = db.events(0, 100000);
  // Day 2's steps start at 00:00 .. 21:00; a window closes once a packet at
  // or after its end was taken: 00-06 .. 15-21, six windows.
  std::vector<const patterns::Event*> closed;
  for (const auto& e : ev) {
    if (e.kind == "window_closed") closed.push_back(&e);
  }
  ASSERT_EQ(closed.size(), 6u);
  EXPECT_EQ(closed[0]->body["window_start"], d.out.days_[1].date_ + "T00:00:00Z");
  EXPECT_EQ(closed[5]->body["window_end"], d.out.days_[1].date_ + "T21:00:00Z");
  // The first window, classified alone on a copy of the model's database.
  const std::string ref_path = d.copy("ref.db");
  patterns::Store ref(ref_path);
  analyze::ClassifyOptions co;
  co.catalog = &d.catalog;
  co.threads = 1;
  co.span = std::pair{closed[0]->window_start_ns, closed[0]->window_end_ns};
  const auto c = analyze::classify(ref, {d.out.days_[1].path_}, co);
  EXPECT_EQ(closed[0]->body["sources"], c.table.rows());
  EXPECT_EQ(closed[0]->body["known_sources"], c.summary["sources_in_known_patterns"]);
  EXPECT_EQ(closed[0]->body["packets"], c.summary["packets_used"]);
  for (size_t i = 0; i < c.table.rows(); ++i) ASSERT_EQ(c.table.window_start_ns_[i], closed[0]->window_start_ns);
  // Stored: one classify run per window, its members those sources.
  const auto run = db.run(closed[0]->run);
  EXPECT_EQ(run.kind, "classify");
  EXPECT_EQ(run.window_start_ns, closed[0]->window_start_ns);
  EXPECT_EQ(db.members(closed[0]->run).size(), c.table.rows());
  // The stored events are numbered in order, each window's closed by its
  // window_closed event.
  for (size_t i = 1; i < ev.size(); ++i) EXPECT_EQ(ev[i].seq, ev[i - 1].seq + 1);
  EXPECT_EQ(ev.back().kind, "window_closed");
  // Taking the same file again changes nothing.
  EXPECT_EQ(w.take({d.out.days_[1].path_}), 0u);
  EXPECT_EQ(db.events(0, 100000).size(), ev.size());
  // Drained at the end of the input, the last two windows close too.
  EXPECT_EQ(w.drain(), 2u);
  const auto rest = db.events(ev.back().seq, 100000);
  EXPECT_EQ(std::count_if(rest.begin(), rest.end(), [](const auto& e) { return e.kind == "window_closed"; }), 2);
}

TEST(Watcher, SmallNewGroupsAreNoiseNotPatterns) {
  const auto& d = days();
  patterns::Store db(d.copy("min.db"));
  analyze::ClassifyOptions co;
  co.catalog = &d.catalog;
  co.threads = 1;
  co.min_new_to_cluster = 3;
  const auto all = analyze::classify(db, {d.out.days_[1].path_}, co);
  ASSERT_GE(all.fresh.size(), 2u);
  size_t smallest = SIZE_MAX;
  for (const auto& f : all.fresh) smallest = std::min<size_t>(smallest, f.sources);
  co.min_group = smallest + 1;
  const auto some = analyze::classify(db, {d.out.days_[1].path_}, co);
  EXPECT_LT(some.fresh.size(), all.fresh.size());
  for (const auto& f : some.fresh) EXPECT_GE(f.sources, co.min_group);
  // The same sources are new; the small groups' are noise.
  EXPECT_EQ(some.summary["new_sources"], all.summary["new_sources"]);
  EXPECT_EQ(some.summary["new_groups"], some.fresh.size());
}

TEST(Watcher, StoppedAndRestartedItStoresWhatAnUninterruptedOneDoes) {
  const auto& d = days();
  std::vector<json> whole, pieces;
  {
    patterns::Store db(d.copy("a.db"));
    watch::Watcher w(db, d.options("a.state"));
    w.take({d.out.days_[1].path_, d.out.days_[2].path_});
    for (const auto& e : db.events(0, 100000)) whole.push_back(without_time(e));
  }
  {
    const std::string path = d.copy("b.db");
    {
      patterns::Store db(path);
      watch::Watcher w(db, d.options("b.state"));
      w.take({d.out.days_[1].path_});
    }
    patterns::Store db(path);
    watch::Watcher w(db, d.options("b.state"));
    w.take({d.out.days_[1].path_, d.out.days_[2].path_});
    for (const auto& e : db.events(0, 100000)) pieces.push_back(without_time(e));
  }
  EXPECT_GT(whole.size(), 14u);
  EXPECT_EQ(whole, pieces);
}

TEST(Watcher, PacketsOfClosedWindowsAreLateAndCounted) {
  const auto& d = days();
  patterns::Store db(d.copy("late.db"));
  watch::Watcher w(db, d.options("late.state"));
  w.take({d.out.days_[2].path_});
  const std::string again = d.dir.file("day2-again.pcap");
  std::filesystem::copy_file(d.out.days_[1].path_, again);
  const int64_t seen = db.events(0, 100000).back().seq;
  w.take({again});  // every packet is a day older than the open windows
  // The next window to close reports them, once.
  w.drain();
  const auto ev = db.events(seen, 100000);
  std::vector<json> closed;
  for (const auto& e : ev) {
    if (e.kind == "window_closed") closed.push_back(e.body);
  }
  ASSERT_EQ(closed.size(), 2u);
  EXPECT_EQ(closed[0]["late_packets"], d.out.days_[1].packets_);
  EXPECT_EQ(closed[1]["late_packets"], 0);
}

TEST(Watcher, RefusesAStateMadeWithOtherWindows) {
  const auto& d = days();
  patterns::Store db(d.copy("s.db"));
  { watch::Watcher w(db, d.options("s.state")); }
  auto o = d.options("s.state");
  o.step_ns = 2 * 3600'000'000'000LL;
  EXPECT_EQ(test::error_of([&] { watch::Watcher w(db, o); }),
            d.dir.file("s.state") +
                "/state.json: this state watches model 1 with --window 6h --step 3h, not model 1 with --window 6h "
                "--step 2h; give the same, or another --state to start afresh");
}

}  // namespace
