// The events of one closed window (docs/watch.md "Events"): what changed
// since the window before, as documents with a stable schema.
#include <algorithm>
#include <chrono>
#include <unordered_map>

#include "darklens/types.hpp"
#include "darklens/watch/watch.hpp"

namespace darklens::watch {
namespace {

std::string wall_time() {
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return iso8601_utc(ns);
}

nlohmann::json pattern_ref(const PatternNow& p) {
  return {{"id", p.id}, {"name", p.name}, {"activity", profile::activity_of(p.profile)}};
}

}  // namespace

std::vector<patterns::Event> window_events(const WindowFacts& w, const std::map<std::string, int64_t>& before,
                                           const std::vector<PatternNow>& patterns_now,
                                           const std::vector<PatternNow>& patterns_before,
                                           const std::vector<SourceNow>& sources_now, size_t max_joined) {
  const std::string time = wall_time();
  std::vector<patterns::Event> out;
  auto add = [&](const std::string& kind, const nlohmann::json& body) {
    patterns::Event e;
    e.kind = kind;
    e.window_start_ns = w.start_ns;
    e.window_end_ns = w.end_ns;
    e.run = w.run;
    nlohmann::json head = {{"kind", kind},
                           {"window_start", iso8601_utc(w.start_ns)},
                           {"window_end", iso8601_utc(w.end_ns)},
                           {"run", w.run ? nlohmann::json(w.run) : nlohmann::json(nullptr)},
                           {"model", w.model},
                           {"time", time}};
    head.update(body);
    e.body = std::move(head);
    out.push_back(std::move(e));
  };
  std::unordered_map<int64_t, const PatternNow*> was;
  for (const auto& p : patterns_before) {
    if (p.sources > 0) was[p.id] = &p;
  }
  std::unordered_map<int64_t, const PatternNow*> now;
  for (const auto& p : patterns_now) {
    if (p.sources > 0) now[p.id] = &p;
  }
  size_t back = 0, absent = 0, groups = 0;
  for (const auto& p : patterns_now) {
    if (p.fresh || p.sources == 0 || was.count(p.id)) continue;
    ++back;
    add("pattern_back", {{"pattern", pattern_ref(p)}, {"sources", p.sources}, {"packets", p.packets}});
  }
  for (const auto& p : patterns_before) {
    if (p.sources == 0 || now.count(p.id)) continue;
    ++absent;
    add("pattern_absent", {{"pattern", pattern_ref(p)}, {"sources_before", p.sources}});
  }
  for (const auto& p : patterns_now) {
    if (!p.fresh) continue;
    ++groups;
    const bool explained = !p.profile.at("activities").empty();
    add(explained ? "new_group" : "unexplained_group",
        {{"pattern", pattern_ref(p)}, {"sources", p.sources}, {"packets", p.packets}, {"profile", p.profile}});
  }
  // Sources in a known pattern they were not in the window before: the
  // busiest first, ties by address.
  std::vector<const SourceNow*> joined;
  for (const auto& s : sources_now) {
    if (s.pattern == 0) continue;
    const auto p = now.find(s.pattern);
    if (p == now.end() || p->second->fresh) continue;
    const auto b = before.find(s.source);
    if (b != before.end() && b->second == s.pattern) continue;
    joined.push_back(&s);
  }
  std::sort(joined.begin(), joined.end(), [](const SourceNow* a, const SourceNow* b) {
    return a->packets != b->packets ? a->packets > b->packets : a->source < b->source;
  });
  for (size_t i = 0; i < joined.size() && i < max_joined; ++i) {
    const auto& s = *joined[i];
    const auto b = before.find(s.source);
    add("source_joined", {{"source", s.source},
                          {"pattern", pattern_ref(*now.at(s.pattern))},
                          {"packets", s.packets},
                          {"pattern_before",
                           b == before.end() || b->second == 0 ? nlohmann::json(nullptr) : nlohmann::json(b->second)}});
  }
  add("window_closed", {{"sources", w.sources},
                        {"packets", w.packets},
                        {"known_sources", w.known_sources},
                        {"new_sources", w.new_sources},
                        {"new_groups", groups},
                        {"patterns_back", back},
                        {"patterns_absent", absent},
                        {"sources_joined", joined.size()},
                        {"source_joined_events", std::min(joined.size(), max_joined)},
                        {"late_packets", w.late_packets},
                        {"inputs", w.inputs}});
  return out;
}

}  // namespace darklens::watch
