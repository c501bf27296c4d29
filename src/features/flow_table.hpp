// Live flows of one source: flow tuple -> time of its last packet. The
// first two flows live inline (most darknet sources have one or two); more
// move to a flat open-addressing table, rebuilt when it grows or purges.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace darklens::features {

struct FlowKey {
  uint32_t dst;
  uint16_t sport, dport;
  uint8_t proto;
  friend bool operator==(const FlowKey&, const FlowKey&) = default;
};

class FlowTable {
 public:
  /// The last-packet time of k's flow, inserted with `ts` when absent
  /// (`fresh` is then true).
  int64_t& find_or_insert(const FlowKey& k, int64_t ts, bool& fresh) {
    if (!big_) {
      for (uint8_t i = 0; i < n_inline_; ++i) {
        if (inline_[i].key == k) {
          fresh = false;
          return inline_[i].ts;
        }
      }
      fresh = true;
      if (n_inline_ < 2) {
        inline_[n_inline_] = {k, true, ts};
        return inline_[n_inline_++].ts;
      }
      spill();
    }
    Slot& s = big_->probe(k);
    fresh = !s.used;
    if (fresh) {
      s = {k, true, ts};
      if (++big_->used * 2 > big_->slots.size()) {
        big_->rehash(big_->slots.size() * 2);
        return big_->probe(k).ts;
      }
    }
    return s.ts;
  }

  /// k's last-packet time, or nullptr.
  const int64_t* find(const FlowKey& k) const {
    if (!big_) {
      for (uint8_t i = 0; i < n_inline_; ++i) {
        if (inline_[i].key == k) return &inline_[i].ts;
      }
      return nullptr;
    }
    const Slot& s = big_->probe(k);
    return s.used ? &s.ts : nullptr;
  }

  size_t size() const { return big_ ? big_->used : n_inline_; }

  /// Drops flows idle for more than `timeout` at time `now`.
  void purge(int64_t now, int64_t timeout) {
    if (!big_) {
      uint8_t kept = 0;
      for (uint8_t i = 0; i < n_inline_; ++i) {
        if (now - inline_[i].ts <= timeout) inline_[kept++] = inline_[i];
      }
      n_inline_ = kept;
      return;
    }
    big_->purge(now, timeout);
  }

  template <typename F>
  void for_each(F&& f) const {
    if (!big_) {
      for (uint8_t i = 0; i < n_inline_; ++i) f(inline_[i].key, inline_[i].ts);
      return;
    }
    for (const auto& s : big_->slots) {
      if (s.used) f(s.key, s.ts);
    }
  }

 private:
  struct Slot {  // 24 bytes: the flag fills the key's padding
    FlowKey key{};
    bool used = false;
    int64_t ts = 0;
  };
  static_assert(sizeof(Slot) == 24);
  struct Big {
    std::vector<Slot> slots;
    size_t used = 0;
    static size_t hash(const FlowKey& k) {
      uint64_t x = (uint64_t{k.dst} << 32) ^ (uint64_t{k.sport} << 16) ^ k.dport ^ (uint64_t{k.proto} << 56);
      x *= 0x9e3779b97f4a7c15ULL;
      return static_cast<size_t>(x ^ (x >> 31));
    }
    Slot& probe(const FlowKey& k) {
      const size_t mask = slots.size() - 1;
      for (size_t i = hash(k) & mask;; i = (i + 1) & mask) {
        if (!slots[i].used || slots[i].key == k) return slots[i];
      }
    }
    const Slot& probe(const FlowKey& k) const { return const_cast<Big*>(this)->probe(k); }
    // In place: one pass around the table from a free slot (so that no
    // run of used slots wraps past where the pass starts), closing each
    // hole by shifting back the later entries of its run that may move
    // into it (linear probing's deletion; no tombstones, no reallocation).
    void purge(int64_t now, int64_t timeout) {
      const size_t mask = slots.size() - 1;
      size_t start = 0;
      while (slots[start].used) ++start;  // at most half full: one is free
      for (size_t k = 1; k <= slots.size(); ++k) {
        const size_t i = (start + k) & mask;
        // The entry shifted into i is one the pass has not seen yet.
        while (slots[i].used && now - slots[i].ts > timeout) erase(i);
      }
      // A burst of flows gone idle: shrink, so that later purges (each a
      // pass over the slots) stay in proportion to the flows still live.
      if (slots.size() > 64 && used * 8 < slots.size()) {
        size_t size = 8;
        while (size < used * 4) size *= 2;
        rehash(size);
      }
    }
    void erase(size_t hole) {
      const size_t mask = slots.size() - 1;
      --used;
      for (size_t j = hole;;) {
        slots[hole].used = false;
        for (;;) {
          j = (j + 1) & mask;
          if (!slots[j].used) return;
          // slots[j] may fill the hole unless its home lies cyclically in (hole, j].
          const size_t home = hash(slots[j].key) & mask;
          const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
          if (!stays) break;
        }
        slots[hole] = slots[j];
        hole = j;
      }
    }
    void rehash(size_t size) {
      while (size < 8 || used * 2 > size) size *= 2;
      std::vector<Slot> old(size);
      old.swap(slots);
      for (const auto& s : old) {
        if (s.used) probe(s.key) = s;
      }
    }
  };

  void spill() {
    big_ = std::make_unique<Big>();
    big_->slots.resize(8);
    for (uint8_t i = 0; i < n_inline_; ++i) big_->probe(inline_[i].key) = inline_[i];
    big_->used = n_inline_;
    n_inline_ = 0;
  }

  Slot inline_[2];
  uint8_t n_inline_ = 0;
  std::unique_ptr<Big> big_;
};

}  // namespace darklens::features
