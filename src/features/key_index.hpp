// (source, window) -> row: the index the aggregator fills and the profiler
// looks packets up in.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "darklens/types.hpp"

namespace darklens::features {

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

/// Open addressing over 8-byte slots holding a 32-bit hash tag and the row
/// index + 1, so most probes touch one cache line; rows are numbered in
/// order of insertion.
class KeyIndex {
 public:
  KeyIndex() : slots_(1024, 0) {}
  size_t size() const { return keys_.size(); }
  const SourceKey& key(size_t i) const { return keys_[i]; }

  void prefetch(uint64_t h) const { __builtin_prefetch(&slots_[h & (slots_.size() - 1)]); }

  /// Row of k, inserting it when new (`fresh` tells which).
  uint32_t find_or_insert(const SourceKey& k, uint64_t h, bool& fresh) {
    uint64_t& s = slots_[probe(k, h)];
    fresh = s == 0;
    if (!fresh) return static_cast<uint32_t>((s & 0xffffffff) - 1);
    keys_.push_back(k);
    s = ((h >> 32) << 32) | keys_.size();
    if (keys_.size() * 2 > slots_.size()) grow();
    return static_cast<uint32_t>(keys_.size() - 1);
  }

  /// Row of k, if present.
  std::optional<uint32_t> find(const SourceKey& k, uint64_t h) const {
    const uint64_t s = slots_[probe(k, h)];
    if (s == 0) return std::nullopt;
    return static_cast<uint32_t>((s & 0xffffffff) - 1);
  }

 private:
  // The slot holding k, or the free slot where it would go.
  size_t probe(const SourceKey& k, uint64_t h) const {
    const size_t mask = slots_.size() - 1;
    const uint64_t tag = h >> 32;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const uint64_t s = slots_[i];
      if (s == 0 || ((s >> 32) == tag && keys_[(s & 0xffffffff) - 1] == k)) return i;
    }
  }

  void grow() {
    std::vector<uint64_t> old(slots_.size() * 2, 0);
    old.swap(slots_);
    const size_t mask = slots_.size() - 1;
    for (uint64_t s : old) {
      if (s == 0) continue;
      size_t i = hash_of(keys_[(s & 0xffffffff) - 1]) & mask;
      while (slots_[i] != 0) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }

  std::vector<uint64_t> slots_;
  std::vector<SourceKey> keys_;
};

}  // namespace darklens::features
