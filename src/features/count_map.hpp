// Value -> packet count for one field of one source, exact up to a cap of
// distinct values and bounded beyond it. Below the cap, distinct(), mode()
// and merge() are exact. Past it (a source touching more than `cap`
// distinct values, e.g. a scanner sweeping a /8), the map becomes a
// Misra-Gries summary of `cap` counters (every value with more than n/cap
// packets keeps a counter; counts are lower bounds) and distinct values are
// estimated by a HyperLogLog sketch (2^12 registers, ~1.6% standard error).
// Both are mergeable summaries. docs/features.md explains the choice.
//
// Most sources send a handful of packets: the first two values live inline
// (no allocation), up to 16 in one small heap array of 32-bit (value,
// count) pairs, and only more (or a count past 2^32 - 1) move to the
// general heap part. The pair of the last add is kept apart, in a fixed
// place: a packet repeating it (the common case) is one comparison.
// Per-source state is most of darklens's memory, and fresh memory is what
// costs most on the machines it runs on.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

namespace darklens::features {

class CountMap {
 public:
  struct Mode {
    uint32_t value = 0;
    uint64_t count = 0;
    /// v, counted c times, becomes the mode when it beats it: more
    /// packets, or as many and a smaller value.
    void offer(uint32_t v, uint64_t c) {
      if (c > count || (c == count && v < value)) *this = {v, c};
    }
  };
  using Entry = std::pair<uint32_t, uint64_t>;

  CountMap() = default;
  CountMap(const CountMap&) = delete;
  CountMap& operator=(const CountMap&) = delete;
  CountMap(CountMap&& o) noexcept { take(o); }
  CountMap& operator=(CountMap&& o) noexcept {
    if (this != &o) {
      release();
      take(o);
    }
    return *this;
  }
  ~CountMap() { release(); }

  /// Adds n packets with value v; `cap` bounds the exact values kept.
  [[gnu::always_inline]] void add(uint32_t v, uint32_t cap, uint64_t n = 1) {
    // Inline: the value of the previous add again (a source's packets
    // mostly repeat their protocol, TTL, flags, size, ports, options).
    if (hot_.count != 0 && hot_.value == v && n <= kPairMax - hot_.count) {
      hot_.count += static_cast<uint32_t>(n);
      return;
    }
    add_any(v, cap, n);
  }

  void merge(const CountMap& o, uint32_t cap) {
    if (o.big_) {
      spill(cap);
      big_->merge(*o.big_);
      return;
    }
    o.for_each([&](uint32_t v, uint64_t n) { add(v, cap, n); });
  }

  uint64_t distinct() const { return big_ ? big_->distinct() : size_; }

  /// Most frequent value, ties broken by the smallest value.
  Mode mode() const {
    if (big_) return big_->mode;
    Mode m;
    for_each([&](uint32_t v, uint64_t n) { m.offer(v, n); });
    return m;
  }

  template <typename F>
  void for_each(F&& f) const {
    if (big_) {
      for (const auto& slot : big_->slots) {
        if (slot.count != 0) f(slot.value, big_->count(slot));
      }
    } else if (size_ != 0) {
      f(hot_.value, uint64_t{hot_.count});
      const Pair* p = others();
      for (uint8_t i = 0; i + 1 < size_; ++i) f(p[i].value, uint64_t{p[i].count});
    }
  }

 private:
  struct Pair {
    uint32_t value;
    uint32_t count;
  };
  static constexpr uint64_t kPairMax = std::numeric_limits<uint32_t>::max();
  static constexpr uint8_t kInline = 2, kSmallMax = 16;

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
      double e = 0.7213 / (1 + 1.079 / m) * m * m / sum;
      if (e <= 2.5 * m && zeros) e = m * std::log(m / zeros);  // linear counting
      return static_cast<uint64_t>(std::llround(e));
    }

   private:
    std::array<uint8_t, kRegisters> reg_{};
  };

  // The heap part: one open-addressing table of (value, count) pairs, so
  // that a lookup is one cache miss; then a Misra-Gries summary +
  // HyperLogLog past the cap. Iteration order is the table's; nothing
  // computed from a map depends on it.
  struct Big {
    // 8 bytes: a count that reaches 2^32 - 1 moves to `wide` (the slot
    // then holds kWide), so 32 bits serve every count there is in practice.
    struct Slot {
      uint32_t value = 0;
      uint32_t count = 0;  // 0: free
    };
    using Wide = std::vector<Entry>;
    static constexpr uint32_t kWide = std::numeric_limits<uint32_t>::max();
    static constexpr size_t kMinSlots = 64;
    uint32_t cap = 4096;
    std::vector<Slot> slots = std::vector<Slot>(kMinSlots);  // at most 5/8 full
    size_t used = 0;
    Wide wide;  // counts of the kWide slots
    std::unique_ptr<Hll> hll;
    // Offered every count as it grows (only shrink_to_cap lowers counts,
    // and it refills an empty table), so that reading it is not a pass
    // over the slots.
    Mode mode;

    static size_t slot_of(uint32_t v, size_t mask) {
      return static_cast<size_t>((uint64_t{v} * 0x9e3779b97f4a7c15ULL) >> 32) & mask;
    }
    template <typename W>  // Wide or const Wide
    static auto* find_wide(W& w, uint32_t v) {
      decltype(&w.front()) found = nullptr;
      for (auto& e : w) {
        if (e.first == v) {
          found = &e;
          break;
        }
      }
      return found;
    }
    static uint64_t count_in(const Slot& s, const Wide& w) {
      if (s.count != kWide) return s.count;
      const auto* e = find_wide(w, s.value);
      return e ? e->second : 0;  // every kWide slot has its entry
    }
    uint64_t count(const Slot& s) const { return count_in(s, wide); }
    Slot& probe(uint32_t v) {
      const size_t mask = slots.size() - 1;
      for (size_t i = slot_of(v, mask);; i = (i + 1) & mask) {
        if (slots[i].count == 0 || slots[i].value == v) return slots[i];
      }
    }
    // Adds n to the count of a used slot.
    void add_to(Slot& s, uint64_t n) {
      if (s.count != kWide && n < kWide - s.count) {
        s.count += static_cast<uint32_t>(n);
        mode.offer(s.value, s.count);
        return;
      }
      if (s.count == kWide) {
        auto* e = find_wide(wide, s.value);
        e->second += n;
        mode.offer(s.value, e->second);
      } else {
        wide.emplace_back(s.value, uint64_t{s.count} + n);
        s.count = kWide;
        mode.offer(s.value, wide.back().second);
      }
    }
    // Adds n to v's count, inserting v if new.
    void insert(uint32_t v, uint64_t n) {
      Slot& s = probe(v);
      if (s.count != 0) {
        add_to(s, n);
      } else {
        fill(s, v, n);
      }
    }
    // A free slot (from probe(v)) gets v.
    void fill(Slot& s, uint32_t v, uint64_t n) {
      s.value = v;
      if (n < kWide) {
        s.count = static_cast<uint32_t>(n);
      } else {
        s.count = kWide;
        wide.emplace_back(v, n);
      }
      mode.offer(v, n);
      if (++used * 8 > slots.size() * 5) rehash(slots.size() * 2);
    }
    void rehash(size_t size) {
      std::vector<Slot> old(size);
      old.swap(slots);
      for (const Slot& s : old) {
        if (s.count != 0) probe(s.value) = s;
      }
    }
    void saturate() {
      if (hll) return;
      hll = std::make_unique<Hll>();
      for (const Slot& s : slots) {
        if (s.count != 0) hll->add(s.value);
      }
    }
    void add(uint32_t v, uint64_t n) {
      Slot& s = probe(v);
      if (s.count != 0) {
        add_to(s, n);
        return;
      }
      if (used >= cap) saturate();  // neither moves the slots
      if (hll) hll->add(v);
      fill(s, v, n);
      shrink_to_cap();
    }
    void merge(const Big& o) {
      if (o.hll || (hll == nullptr && used + o.used > cap)) saturate();
      if (hll) {
        if (o.hll) {
          hll->merge(*o.hll);
        } else {
          for (const Slot& s : o.slots) {
            if (s.count != 0) hll->add(s.value);
          }
        }
      }
      for (const Slot& s : o.slots) {
        if (s.count != 0) insert(s.value, o.count(s));
      }
      shrink_to_cap();
    }
    uint64_t distinct() const { return hll ? hll->estimate() : used; }
    // At most `cap` counters: subtract the (cap+1)-th largest count from all
    // and drop what reaches zero (Misra-Gries; Agarwal et al. for merges).
    void shrink_to_cap() {
      if (used <= cap) return;
      std::vector<uint64_t> counts;
      counts.reserve(used);
      for (const Slot& s : slots) {
        if (s.count != 0) counts.push_back(count(s));
      }
      std::nth_element(counts.begin(), counts.begin() + cap, counts.end(), std::greater<>());
      const uint64_t cut = counts[cap];
      std::vector<Slot> old(slots.size());
      old.swap(slots);
      Wide old_wide;
      old_wide.swap(wide);
      used = 0;
      mode = {};
      for (const Slot& s : old) {
        if (s.count == 0) continue;
        const uint64_t c = count_in(s, old_wide);
        if (c > cut) insert(s.value, c - cut);
      }
    }
  };

  // Any add but a repeat of the hot pair: a search of the other pairs (the
  // one found trades places with the hot pair), a new pair, or the general
  // part.
  __attribute__((noinline)) void add_any(uint32_t v, uint32_t cap, uint64_t n) {
    if (!big_) {
      if (size_ != 0) {
        Pair* p = others();
        bool found = hot_.value == v;
        for (uint8_t i = 0; !found && i + 1 < size_; ++i) {
          if (p[i].value == v) {
            std::swap(hot_, p[i]);
            found = true;
          }
        }
        if (found) {  // now the hot pair
          if (n <= kPairMax - hot_.count) {
            hot_.count += static_cast<uint32_t>(n);
            return;
          }
          spill(cap);  // the count outgrows 32 bits
          big_->add(v, n);
          return;
        }
      }
      // At most 16 pairs, and never more values than the cap kept exactly.
      if (n <= kPairMax && size_ < std::max<uint32_t>(kInline, std::min<uint32_t>(kSmallMax, cap))) {
        if (size_ != 0) {
          if (size_ - 1 == others_capacity()) grow();
          others()[size_ - 1] = hot_;
        }
        hot_ = {v, static_cast<uint32_t>(n)};
        ++size_;
        return;
      }
      spill(cap);
    }
    big_->add(v, n);
  }

  // The pairs other than the hot one: one inline (heap_capacity_ 0), or a
  // heap array of heap_capacity_ (4, 8 or 16) pairs.
  uint8_t others_capacity() const { return heap_capacity_ ? heap_capacity_ : uint8_t{1}; }
  Pair* others() { return heap_capacity_ ? rest_.heap : &rest_.local; }
  const Pair* others() const { return heap_capacity_ ? rest_.heap : &rest_.local; }

  void grow() {
    const uint8_t next = heap_capacity_ ? static_cast<uint8_t>(2 * heap_capacity_) : uint8_t{4};
    Pair* bigger = new Pair[next];
    std::copy(others(), others() + (size_ - 1), bigger);
    if (heap_capacity_) delete[] rest_.heap;
    rest_.heap = bigger;
    heap_capacity_ = next;
  }

  // Pairs -> the general heap part.
  void spill(uint32_t cap) {
    if (big_) return;
    auto big = std::make_unique<Big>();
    big->cap = cap;
    for_each([&](uint32_t v, uint64_t n) { big->insert(v, n); });  // the pairs, while big_ is null
    release_pairs();
    big_ = std::move(big);
  }

  void release_pairs() {
    if (heap_capacity_) delete[] rest_.heap;
    heap_capacity_ = 0;
    size_ = 0;
    hot_ = {};
  }
  void release() {
    release_pairs();
    big_.reset();
  }
  void take(CountMap& o) {
    hot_ = o.hot_;
    rest_ = o.rest_;
    size_ = o.size_;
    heap_capacity_ = o.heap_capacity_;
    big_ = std::move(o.big_);
    o.heap_capacity_ = 0;
    o.size_ = 0;
    o.hot_ = {};
  }

  Pair hot_{0, 0};  // the pair of the last add; count 0: none (empty, or the general part)
  union Rest {
    Pair local;
    Pair* heap;
  } rest_{};
  uint8_t size_ = 0;           // pairs in the small form, hot_ included (0 once in the general part)
  uint8_t heap_capacity_ = 0;  // 0: the other pair inline
  std::unique_ptr<Big> big_;
};

static_assert(sizeof(CountMap) == 32, "one per field per source: keep it small");

}  // namespace darklens::features
