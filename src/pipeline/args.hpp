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

// A k range for the "best silhouette" heuristics.
struct KRange {
  bool automatic = true;
  int k = 0, kmin = 2, kmax = 10;
};
inline KRange k_range(const Stage& s, const Args& a) {
  KRange r;
  r.automatic = a.is_auto("k");
  if (!r.automatic) r.k = a.num<int>("k", 0);
  r.kmin = a.num<int>("kmin", 2);
  r.kmax = a.num<int>("kmax", 10);
  if (!r.automatic && r.k < 1) throw ParamError("pipeline stage '" + s.name + "': k must be at least 1");
  if (r.automatic && (r.kmin < 2 || r.kmin > r.kmax)) {
    throw ParamError("pipeline stage '" + s.name + "': need 2 <= kmin <= kmax");
  }
  return r;
}

}  // namespace darklens::pipeline::detail
