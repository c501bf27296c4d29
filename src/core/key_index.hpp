// (source, window) -> row: the index the aggregator fills and the profiler
// looks packets up in.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "darklens/types.hpp"

namespace darklens {

struct SourceKey {
  IpAddr src;
  int64_t window;
  friend bool operator==(const SourceKey&, const SourceKey&) = default;
};

inline uint64_t hash_of(const SourceKey& k) {
  uint64_t x = IpAddrHash{}(k.src) ^ (static_cast<uint64_t>(k.window) * 0x9e3779b97f4a7c15ULL);
  x ^= x >> 29;
  return x * 0xbf58476d1ce4e5b9ULL;
}

/// Open addressing over 32-byte slots holding the key itself and its row
/// index + 1, so a lookup touches one cache line: with the key elsewhere,
/// checking it was a second, random miss for most packets. Rows are
/// numbered in order of insertion. Every `h` passed in is hash_of(k)
/// (computed once by the caller, which also prefetches with it).
class KeyIndex {
 public:
  KeyIndex() : slots_(512) {}
  size_t size() const { return keys_.size(); }
  const SourceKey& key(size_t i) const { return keys_[i]; }

  void prefetch(uint64_t h) const { __builtin_prefetch(&slots_[h & (slots_.size() - 1)]); }

  /// Row of k, inserting it when new (`fresh` tells which).
  uint32_t find_or_insert(const SourceKey& k, uint64_t h, bool& fresh) {
    Slot& s = slots_[probe(k, h)];
    fresh = s.row == 0;
    if (!fresh) return s.row - 1;
    keys_.push_back(k);
    s = {k, static_cast<uint32_t>(keys_.size())};
    if (keys_.size() * 2 > slots_.size()) grow();
    return static_cast<uint32_t>(keys_.size() - 1);
  }

  /// Row of k, if present.
  std::optional<uint32_t> find(const SourceKey& k, uint64_t h) const {
    const Slot& s = slots_[probe(k, h)];
    if (s.row == 0) return std::nullopt;
    return s.row - 1;
  }

 private:
  struct Slot {
    SourceKey key{};
    uint32_t row = 0;  // row + 1; 0: free
  };
  static_assert(sizeof(Slot) == 32, "two slots a cache line");

  // The slot holding k, or the free slot where it would go.
  size_t probe(const SourceKey& k, uint64_t h) const {
    const size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.row == 0 || s.key == k) return i;
    }
  }

  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    const size_t mask = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.row == 0) continue;
      size_t i = hash_of(s.key) & mask;
      while (slots_[i].row != 0) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  std::vector<SourceKey> keys_;
};

}  // namespace darklens
