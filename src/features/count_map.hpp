// Value -> packet count for one field of one source, exact up to `cap`
// distinct values and bounded beyond it. Below the cap, distinct(), mode()
// and merge() are exact. Past it (a source touching more than `cap` distinct
// values, e.g. a scanner sweeping a /8), the map becomes a Misra-Gries
// summary of `cap` counters (every value with more than n/cap packets keeps
// a counter; counts are lower bounds) and distinct values are estimated by
// a HyperLogLog sketch (2^12 registers, ~1.6% standard error). Both are
// mergeable summaries. docs/features.md explains the choice.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

namespace darklens::features {

class CountMap {
 public:
  struct Mode {
    uint32_t value = 0;
    uint64_t count = 0;
  };

  void add(uint32_t v, uint64_t n = 1) {
    if (auto* e = find(v)) {
      e->second += n;
      return;
    }
    if (entries_.size() < cap_) {
      push(v, n);
      if (hll_) hll_->add(v);
      return;
    }
    saturate();
    hll_->add(v);
    push(v, n);
    shrink_to_cap();
  }

  /// Makes this map hold at most `cap` exact values (call before add).
  void set_cap(uint32_t cap) { cap_ = cap; }

  void merge(const CountMap& o) {
    if (!o.hll_ && !hll_ && entries_.size() + o.entries_.size() <= cap_) {
      for (const auto& [v, n] : o.entries_) add(v, n);
      return;
    }
    // At least one side is (or becomes) a summary: union of the sketches,
    // then the Agarwal et al. merge of Misra-Gries counters.
    saturate();
    if (o.hll_) {
      hll_->merge(*o.hll_);
    } else {
      for (const auto& e : o.entries_) hll_->add(e.first);
    }
    for (const auto& [v, n] : o.entries_) {
      if (auto* e = find(v)) {
        e->second += n;
      } else {
        push(v, n);
      }
    }
    shrink_to_cap();
  }

  uint64_t distinct() const {
    return hll_ ? hll_->estimate() : entries_.size();
  }
  bool exact() const { return !hll_; }

  /// Most frequent value, ties broken by the smallest value.
  Mode mode() const {
    Mode m;
    for (const auto& [v, n] : entries_) {
      if (n > m.count || (n == m.count && v < m.value)) m = {v, n};
    }
    return m;
  }
  uint64_t count_of(uint32_t v) const {
    const auto* e = const_cast<CountMap*>(this)->find(v);
    return e ? e->second : 0;
  }
  const std::vector<std::pair<uint32_t, uint64_t>>& entries() const { return entries_; }

 private:
  class Hll {
   public:
    static constexpr int kBits = 12;
    static constexpr size_t kRegisters = size_t{1} << kBits;
    void add(uint32_t v) {
      uint64_t h = uint64_t{v} * 0x9e3779b97f4a7c15ULL;
      h ^= h >> 31;
      h *= 0xbf58476d1ce4e5b9ULL;
      h ^= h >> 29;
      const size_t idx = h >> (64 - kBits);
      const uint64_t rest = (h << kBits) | (uint64_t{1} << (kBits - 1));
      const uint8_t rank = static_cast<uint8_t>(__builtin_clzll(rest) + 1);
      reg_[idx] = std::max(reg_[idx], rank);
    }
    void merge(const Hll& o) {
      for (size_t i = 0; i < kRegisters; ++i) reg_[i] = std::max(reg_[i], o.reg_[i]);
    }
    uint64_t estimate() const {
      double sum = 0;
      size_t zeros = 0;
      for (uint8_t r : reg_) {
        sum += std::ldexp(1.0, -r);
        zeros += r == 0;
      }
      const double m = kRegisters;
      const double alpha = 0.7213 / (1 + 1.079 / m);
      double e = alpha * m * m / sum;
      if (e <= 2.5 * m && zeros) e = m * std::log(m / zeros);  // linear counting
      return static_cast<uint64_t>(std::llround(e));
    }

   private:
    std::array<uint8_t, kRegisters> reg_{};
  };

  void saturate() {
    if (hll_) return;
    hll_ = std::make_unique<Hll>();
    for (const auto& e : entries_) hll_->add(e.first);
  }

  // Few values per source: a linear scan wins; past kIndexFrom values a
  // hash index keeps heavy sources (scanners) at O(1) per packet.
  static constexpr size_t kIndexFrom = 16;

  std::pair<uint32_t, uint64_t>* find(uint32_t v) {
    if (index_) {
      auto it = index_->find(v);
      return it == index_->end() ? nullptr : &entries_[it->second];
    }
    for (auto& e : entries_) {
      if (e.first == v) return &e;
    }
    return nullptr;
  }

  void push(uint32_t v, uint64_t n) {
    entries_.emplace_back(v, n);
    if (index_) {
      index_->emplace(v, static_cast<uint32_t>(entries_.size() - 1));
    } else if (entries_.size() > kIndexFrom) {
      reindex();
    }
  }

  void reindex() {
    index_ = std::make_unique<std::unordered_map<uint32_t, uint32_t>>();
    index_->reserve(entries_.size() * 2);
    for (size_t i = 0; i < entries_.size(); ++i) {
      index_->emplace(entries_[i].first, static_cast<uint32_t>(i));
    }
  }

  // Keep at most cap_ counters: subtract the (cap_+1)-th largest count from
  // all and drop those left at zero (Misra-Gries / Agarwal et al. merge).
  void shrink_to_cap() {
    if (entries_.size() <= cap_) return;
    std::vector<uint64_t> counts;
    counts.reserve(entries_.size());
    for (const auto& e : entries_) counts.push_back(e.second);
    std::nth_element(counts.begin(), counts.begin() + cap_, counts.end(), std::greater<>());
    const uint64_t cut = counts[cap_];
    std::vector<std::pair<uint32_t, uint64_t>> kept;
    for (const auto& [v, n] : entries_) {
      if (n > cut) kept.emplace_back(v, n - cut);
    }
    entries_ = std::move(kept);
    index_.reset();
    if (entries_.size() > kIndexFrom) reindex();
  }

  std::vector<std::pair<uint32_t, uint64_t>> entries_;
  std::unique_ptr<std::unordered_map<uint32_t, uint32_t>> index_;
  std::unique_ptr<Hll> hll_;
  uint32_t cap_ = 4096;
};

}  // namespace darklens::features
