// Live flows of one source: flow tuple -> time of its last packet, kept
// while it may still continue. Callers give the latest packet time so far
// (`now`) and a horizon: a flow last seen more than `horizon` before `now`
// can no longer continue and may be forgotten at any time.
//
// The first two flows live inline (most darknet sources have one or two at
// a time; an inline flow past the horizon gives its place to a new one).
// More move to two open-addressing tables, generations: new and refreshed
// flows go to the current one; once `now` passes the current generation's
// end (one horizon after it began), the older table is dropped whole (every
// flow in it is past the horizon) and the current one becomes the older;
// a horizon later still, both go and the flows are inline again. No
// deletion, no purge pass: a table is cleared or reused in one sweep.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

namespace darklens::features {

struct FlowKey {
  uint32_t dst;
  uint16_t sport, dport;
  uint8_t proto;
  /// dst, sport and dport as one word (one comparison, one hash input).
  uint64_t word() const {
    uint64_t w;
    std::memcpy(&w, this, sizeof w);
    return w;
  }
  friend bool operator==(const FlowKey& a, const FlowKey& b) { return a.word() == b.word() && a.proto == b.proto; }
};
static_assert(offsetof(FlowKey, proto) == 8, "dst, sport, dport fill the first word");

class FlowTable {
 public:
  /// The last-packet time of k's flow, inserted with `ts` when absent
  /// (`fresh` is then true). `now`: the latest packet time so far.
  int64_t& find_or_insert(const FlowKey& k, int64_t ts, int64_t now, int64_t horizon, bool& fresh) {
    if (big_) {
      if (now - big_->current_end < horizon) return big_->find_or_insert(k, ts, now, horizon, fresh);
      big_.reset();  // every flow held is past the horizon: back to the inline form
    }
    for (uint8_t i = 0; i < n_inline_; ++i) {
      if (inline_[i].key == k) {
        fresh = false;
        return inline_[i].ts;
      }
    }
    fresh = true;
    if (n_inline_ == kInline) forget_inline(now, horizon);
    if (n_inline_ < kInline) {
      Slot& s = inline_[n_inline_++];
      s.key = k;
      s.used = true;
      s.ts = ts;
      return s.ts;
    }
    return spill(now, horizon).find_or_insert(k, ts, now, horizon, fresh);
  }

  /// k's last-packet time, or nullptr (also possible for a flow past the
  /// horizon).
  const int64_t* find(const FlowKey& k) const {
    if (!big_) {
      for (uint8_t i = 0; i < n_inline_; ++i) {
        if (inline_[i].key == k) return &inline_[i].ts;
      }
      return nullptr;
    }
    return big_->find(k);
  }

  /// Each flow held once, with its last-packet time.
  template <typename F>
  void for_each(F&& f) const {
    if (!big_) {
      for (uint8_t i = 0; i < n_inline_; ++i) f(inline_[i].key, inline_[i].ts);
      return;
    }
    for (const Slot& s : big_->current.slots) {
      if (s.used) f(s.key, s.ts);
    }
    if (big_->older.used == 0) return;
    for (const Slot& s : big_->older.slots) {
      if (s.used && !big_->current.holds(s.key)) f(s.key, s.ts);
    }
  }

 private:
  struct Slot {  // 24 bytes: the flag fills the key's padding
    FlowKey key{};
    bool used = false;
    int64_t ts = 0;
  };
  static_assert(sizeof(Slot) == 24);
  static constexpr uint8_t kInline = 2;

  struct Table {
    std::vector<Slot> slots;  // a power of two (or none), at most half full
    size_t used = 0;

    static size_t hash(const FlowKey& k) {
      const uint64_t x = (k.word() ^ k.proto) * 0x9e3779b97f4a7c15ULL;
      return static_cast<size_t>(x ^ (x >> 32));  // low bits from every input bit
    }
    // k's slot, or the free slot where it would go (needs slots).
    Slot& probe(const FlowKey& k) {
      const size_t mask = slots.size() - 1;
      for (size_t i = hash(k) & mask;; i = (i + 1) & mask) {
        if (!slots[i].used || slots[i].key == k) return slots[i];
      }
    }
    const Slot& probe(const FlowKey& k) const { return const_cast<Table*>(this)->probe(k); }
    bool holds(const FlowKey& k) const { return used != 0 && probe(k).used; }
    void rehash(size_t size) {
      std::vector<Slot> old(size);
      old.swap(slots);
      for (const auto& s : old) {
        if (s.used) probe(s.key) = s;
      }
    }
    // Empty with `size` slots, reusing the memory held when it is not far
    // too large.
    void reset(size_t size) {
      if (slots.size() < size || slots.size() > 4 * size) {
        std::vector<Slot>(size).swap(slots);
      } else {
        std::fill(slots.begin(), slots.end(), Slot{});
      }
      used = 0;
    }
  };

  struct Big {
    Table current, older;
    int64_t current_end = 0;  // `now` from which the current generation is done

    // Slots for a generation expected to take about as many flows as `n`.
    static size_t slots_for(size_t n) {
      size_t size = 8;
      while (size < 2 * n + 1) size *= 2;
      return size;
    }
    // Flows in `older` were last seen before the current generation began,
    // so more than one horizon before `now`: dropped. (When the current
    // generation itself ended a horizon ago, the caller dropped both.)
    void next_generation(int64_t now, int64_t horizon) {
      std::swap(current, older);
      current.reset(slots_for(older.used));
      current_end = now + horizon;
    }
    __attribute__((noinline)) int64_t& find_or_insert(const FlowKey& k, int64_t ts, int64_t now, int64_t horizon,
                                                      bool& fresh) {
      if (now >= current_end) next_generation(now, horizon);
      Slot& s = current.probe(k);
      if (s.used) {
        fresh = false;
        return s.ts;
      }
      // Absent from this generation: maybe in the older one (then moved over).
      const Slot* old = older.used ? &older.probe(k) : nullptr;
      fresh = old == nullptr || !old->used;
      s = {k, true, fresh ? ts : old->ts};
      if (++current.used * 2 > current.slots.size()) {
        current.rehash(current.slots.size() * 2);
        return current.probe(k).ts;
      }
      return s.ts;
    }
    const int64_t* find(const FlowKey& k) const {
      const Slot& s = current.probe(k);
      if (s.used) return &s.ts;
      if (older.used == 0) return nullptr;
      const Slot& o = older.probe(k);
      return o.used ? &o.ts : nullptr;
    }
  };

  void forget_inline(int64_t now, int64_t horizon) {
    uint8_t kept = 0;
    for (uint8_t i = 0; i < n_inline_; ++i) {
      if (now - inline_[i].ts <= horizon) inline_[kept++] = inline_[i];
    }
    n_inline_ = kept;
  }

  Big& spill(int64_t now, int64_t horizon) {
    big_ = std::make_unique<Big>();
    big_->current.slots.resize(8);
    for (uint8_t i = 0; i < n_inline_; ++i) big_->current.probe(inline_[i].key) = inline_[i];
    big_->current.used = n_inline_;
    big_->current_end = now + horizon;
    n_inline_ = 0;
    return *big_;
  }

  Slot inline_[kInline];
  uint8_t n_inline_ = 0;
  std::unique_ptr<Big> big_;
};

}  // namespace darklens::features
