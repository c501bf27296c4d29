// Open-addressing hash sets for distinct counts taken once per packet,
// where std::unordered_set's node allocations and pointer chasing cost more
// than the rest of the work. IPv4 addresses live in a table of 4-byte keys
// (a /8 telescope's 16.7M addresses fit in 64 MiB); IPv6 in 16-byte keys.
// prefetch() lets a caller hide the cache miss of an insert it will make.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "darklens/types.hpp"

namespace darklens {

/// Linear probing, power-of-two table, load <= 1/2. `kEmpty` marks a free
/// slot; the key equal to it is tracked by a flag, so every key is allowed.
template <typename Key, typename Hash, Key kEmpty>
class FlatSet {
 public:
  FlatSet() : slots_(kInitial, kEmpty) {}

  bool insert(Key k) {
    if (k == kEmpty) {
      bool fresh = !has_empty_key_;
      has_empty_key_ = true;
      return fresh;
    }
    const size_t mask = slots_.size() - 1;
    for (size_t i = Hash{}(k) & mask;; i = (i + 1) & mask) {
      if (slots_[i] == k) return false;
      if (slots_[i] == kEmpty) {
        slots_[i] = k;
        if (++used_ * 2 > slots_.size()) grow();
        return true;
      }
    }
  }
  void prefetch(Key k) const {
    __builtin_prefetch(&slots_[Hash{}(k) & (slots_.size() - 1)]);
  }
  size_t size() const { return used_ + (has_empty_key_ ? 1 : 0); }

 private:
  static constexpr size_t kInitial = 1024;

  void grow() {
    std::vector<Key> old(slots_.size() * 2, kEmpty);
    old.swap(slots_);
    const size_t mask = slots_.size() - 1;
    for (Key k : old) {
      if (k == kEmpty) continue;
      size_t i = Hash{}(k) & mask;
      while (!(slots_[i] == kEmpty)) i = (i + 1) & mask;
      slots_[i] = k;
    }
  }

  std::vector<Key> slots_;
  size_t used_ = 0;
  bool has_empty_key_ = false;
};

struct U32Hash {
  size_t operator()(uint32_t x) const noexcept {
    uint64_t h = uint64_t{x} * 0x9e3779b97f4a7c15ULL;
    return static_cast<size_t>(h ^ (h >> 29));
  }
};

/// Distinct IPv4 and IPv6 addresses.
class IpSet {
 public:
  bool insert(const IpAddr& a) {
    return a.is_v4() ? v4_.insert(a.v4_value()) : v6_.insert(a);
  }
  void prefetch(const IpAddr& a) const {
    if (a.is_v4()) v4_.prefetch(a.v4_value());
  }
  size_t size() const { return v4_.size() + v6_.size(); }

 private:
  FlatSet<uint32_t, U32Hash, 0xffffffffu> v4_;
  FlatSet<IpAddr, IpAddrHash, IpAddr{~uint64_t{0}, ~uint64_t{0}}> v6_;
};

}  // namespace darklens
