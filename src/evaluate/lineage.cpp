// Cluster lineage between consecutive windows by member overlap (Jaccard).
#include <map>
#include <unordered_map>

#include "darklens/evaluate/evaluate.hpp"

namespace darklens::evaluate {

Lineage lineage(const std::vector<std::pair<std::string, int>>& first,
                const std::vector<std::pair<std::string, int>>& second, double link) {
  std::map<int, size_t> size_a, size_b;
  std::unordered_map<std::string, int> of_a;
  for (const auto& [key, c] : first) {
    if (c < 0) continue;
    ++size_a[c];
    of_a[key] = c;
  }
  std::map<std::pair<int, int>, size_t> shared;
  for (const auto& [key, c] : second) {
    if (c < 0) continue;
    ++size_b[c];
    auto it = of_a.find(key);
    if (it != of_a.end()) ++shared[{it->second, c}];
  }
  Lineage l;
  std::map<int, std::vector<int>> out, in;
  for (const auto& [ab, n] : shared) {
    const double j = static_cast<double>(n) / static_cast<double>(size_a[ab.first] + size_b[ab.second] - n);
    if (j < link) continue;
    l.links_.push_back({ab.first, ab.second, n, j});
    out[ab.first].push_back(ab.second);
    in[ab.second].push_back(ab.first);
  }
  for (const auto& [a, n] : size_a) {
    const auto& to = out[a];
    std::string e = "vanished";
    if (to.size() > 1) {
      e = "split";
    } else if (to.size() == 1) {
      e = in[to[0]].size() > 1 ? "merged" : "continued";
    }
    l.from_events_.emplace_back(a, e);
  }
  for (const auto& [b, n] : size_b) {
    const auto& from = in[b];
    std::string e = "new";
    if (from.size() > 1) {
      e = "merged";
    } else if (from.size() == 1) {
      e = out[from[0]].size() > 1 ? "split" : "continued";
    }
    l.to_events_.emplace_back(b, e);
  }
  return l;
}

}  // namespace darklens::evaluate
