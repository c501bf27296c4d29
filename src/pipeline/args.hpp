// A stage's arguments, checked against the keys it knows (a positional
// value stands for the first key), and the k range of the k heuristics.
// Private to src/pipeline/.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "darklens/error.hpp"
#include "darklens/pipeline/pipeline.hpp"

namespace darklens::pipeline::detail {

class Args {
 public:
  Args(const Stage& s, std::vector<std::string> known) : s_(s), known_(std::move(known)) {
    for (const auto& [k, v] : s.args) {
      const std::string key = k.empty() && !known_.empty() ? known_[0] : k;
      if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
        if (known_.empty()) throw ParamError("pipeline stage '" + s.name + "' takes no arguments");
        std::string list;
        for (const auto& n : known_) list += (list.empty() ? "" : ", ") + n;
        throw ParamError("pipeline stage '" + s.name + "': unknown argument '" + k + "' (" + list + ")");
      }
      if (get(key)) throw ParamError("pipeline stage '" + s.name + "': " + key + " is given twice");
      values_.emplace_back(key, v);
    }
  }
  const std::string* get(const std::string& key) const {
    for (const auto& [k, v] : values_) {
      if (k == key) return &v;
    }
    return nullptr;
  }
  bool is_auto(const std::string& key) const { return !get(key) || *get(key) == "auto"; }
  template <typename T>
  T num(const std::string& key, T fallback) const {
    const std::string* text = get(key);
    if (!text) return fallback;
    T v{};
    auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
    if (ec != std::errc() || p != text->data() + text->size()) {
      throw ParamError("pipeline stage '" + s_.name + "': " + key + " '" + *text + "' is not a number");
    }
    if constexpr (std::is_floating_point_v<T>) {
      if (!std::isfinite(v)) {
        throw ParamError("pipeline stage '" + s_.name + "': " + key + " '" + *text + "' is not a finite number");
      }
    }
    return v;
  }
  /// num(), refused outside [lo, hi] with the stated limit and why.
  template <typename T>
  T num_in(const std::string& key, T fallback, T lo, T hi, const std::string& why = "") const {
    const T v = num<T>(key, fallback);
    if (get(key) && !(v >= lo && v <= hi)) {
      throw ParamError("pipeline stage '" + s_.name + "': " + key + " " + *get(key) + " is out of range: " +
                       number_text(lo) + " to " + number_text(hi) + (why.empty() ? "" : " (" + why + ")"));
    }
    return v;
  }
  template <typename T>
  static std::string number_text(T v) {
    std::string s = std::to_string(v);
    if constexpr (std::is_floating_point_v<T>) {
      s.erase(s.find_last_not_of('0') + 1);
      if (s.back() == '.') s.pop_back();
    } else {
      for (int i = static_cast<int>(s.size()) - 3; i > (s[0] == '-' ? 1 : 0); i -= 3)
        s.insert(static_cast<size_t>(i), ",");
    }
    return s;
  }
  bool flag(const std::string& key, bool fallback) const {
    const std::string* text = get(key);
    if (!text) return fallback;
    if (*text == "1" || *text == "true" || *text == "yes") return true;
    if (*text == "0" || *text == "false" || *text == "no") return false;
    throw ParamError("pipeline stage '" + s_.name + "': " + key + " '" + *text + "' is not 0/1 or true/false");
  }
  std::string choice(const std::string& key, const std::vector<std::string>& options) const {
    const std::string* text = get(key);
    if (!text) return options[0];
    if (std::find(options.begin(), options.end(), *text) != options.end()) return *text;
    std::string list;
    for (const auto& o : options) list += (list.empty() ? "" : ", ") + o;
    throw ParamError("pipeline stage '" + s_.name + "': " + key + " '" + *text + "' is not one of " + list);
  }

 private:
  const Stage& s_;
  std::vector<std::string> known_;
  std::vector<std::pair<std::string, std::string>> values_;
};

// Stated limits of the k options (docs/cluster.md, "Limits").
inline constexpr int kMaxK = 10000;
inline constexpr int kMaxAutoK = 100;

// A k range for the "best silhouette" heuristics.
struct KRange {
  bool automatic = true;
  int k = 0, kmin = 2, kmax = 10;
};
inline KRange k_range(const Stage& s, const Args& a) {
  KRange r;
  r.automatic = a.is_auto("k");
  if (!r.automatic)
    r.k = a.num_in<int>("k", 0, 1, kMaxK, "one centre or merge level per cluster; more is one cluster per source");
  // Every k tried is a full fit and a silhouette: the search states its size.
  r.kmin = a.num_in<int>("kmin", 2, 2, kMaxAutoK, "k=auto tries every k up to kmax; give k for more clusters");
  r.kmax = a.num_in<int>("kmax", 10, 2, kMaxAutoK, "k=auto tries every k up to kmax; give k for more clusters");
  if (r.automatic && (r.kmin < 2 || r.kmin > r.kmax)) {
    throw ParamError("pipeline stage '" + s.name + "': need 2 <= kmin <= kmax");
  }
  return r;
}

}  // namespace darklens::pipeline::detail
