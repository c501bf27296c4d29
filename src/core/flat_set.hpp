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
    for (size_t i = Hash{}(k)&mask;; i = (i + 1) & mask) {
      if (slots_[i] == k) return false;
      if (slots_[i] == kEmpty) {
        slots_[i] = k;
        if (++used_ * 2 > slots_.size()) grow();
        return true;
      }
    }
  }
  void prefetch(Key k) const { __builtin_prefetch(&slots_[Hash{}(k) & (slots_.size() - 1)]); }
  size_t size() const { return used_ + (has_empty_key_ ? 1 : 0); }

  template <typename F>
  void for_each(F&& f) const {
    if (has_empty_key_) f(kEmpty);
    for (Key k : slots_) {
      if (!(k == kEmpty)) f(k);
    }
  }

 private:
  static constexpr size_t kInitial = 1024;

  void grow() {
    std::vector<Key> old(slots_.size() * 2, kEmpty);
    old.swap(slots_);
    const size_t mask = slots_.size() - 1;
    for (Key k : old) {
      if (k == kEmpty) continue;
      size_t i = Hash{}(k)&mask;
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
  bool insert(const IpAddr& a) { return a.is_v4() ? v4_.insert(a.v4_value()) : v6_.insert(a); }
  void prefetch(const IpAddr& a) const {
    if (a.is_v4()) v4_.prefetch(a.v4_value());
  }
  size_t size() const { return v4_.size() + v6_.size(); }

  /// Every address, in no particular order.
  template <typename F>
  void for_each(F&& f) const {
    v4_.for_each([&](uint32_t v) { f(IpAddr::v4(v)); });
    v6_.for_each(f);
  }

 private:
  FlatSet<uint32_t, U32Hash, 0xffffffffu> v4_;
  FlatSet<IpAddr, IpAddrHash, IpAddr{~uint64_t{0}, ~uint64_t{0}}> v6_;
};

/// uint32 key -> count, for counters taken once per packet (a cluster's
/// destination ports, say). Same probing as FlatSet; a count of 0 marks a
/// free slot.
class FlatCounts {
 public:
  FlatCounts() : slots_(kInitial) {}

  void add(uint32_t k, uint64_t n = 1) {
    if (n == 0) return;
    const size_t mask = slots_.size() - 1;
    for (size_t i = U32Hash{}(k)&mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.count != 0 && s.key == k) {
        s.count += n;
        return;
      }
      if (s.count == 0) {
        s = {k, n};
        if (++used_ * 2 > slots_.size()) grow();
        return;
      }
    }
  }
  size_t size() const { return used_; }

  /// Every (key, count), in no particular order.
  template <typename F>
  void for_each(F&& f) const {
    for (const Slot& s : slots_) {
      if (s.count != 0) f(s.key, s.count);
    }
  }

 private:
  static constexpr size_t kInitial = 64;
  struct Slot {
    uint32_t key = 0;
    uint64_t count = 0;
  };

  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    const size_t mask = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.count == 0) continue;
      size_t i = U32Hash{}(s.key) & mask;
      while (slots_[i].count != 0) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  size_t used_ = 0;
};

}  // namespace darklens
