// CountMap against a std::map oracle below its cap: through the inline,
// small-array and general forms, counts past 32 bits, merges of every pair
// of forms, and moves.
#include "../../src/features/count_map.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

namespace darklens::features {
namespace {

using Oracle = std::map<uint32_t, uint64_t>;

CountMap::Mode mode_of(const Oracle& o) {
  CountMap::Mode want;
  for (const auto& [v, n] : o) {
    if (n > want.count) want = {v, n};  // ascending values: the first of the largest
  }
  return want;
}

void expect_equal(const CountMap& m, const Oracle& o, const char* what) {
  Oracle seen;
  m.for_each([&](uint32_t v, uint64_t n) { EXPECT_TRUE(seen.emplace(v, n).second) << what << " value " << v; });
  EXPECT_EQ(seen, o) << what;
  EXPECT_EQ(m.distinct(), o.size()) << what;
  const CountMap::Mode want = mode_of(o);
  EXPECT_EQ(m.mode().value, want.value) << what;
  EXPECT_EQ(m.mode().count, want.count) << what;
}

// A map with `values` distinct values (one of them huge when `wide`).
void fill(CountMap& m, Oracle& o, uint32_t values, bool wide, std::mt19937& rng) {
  constexpr uint32_t kCap = 4096;
  for (uint32_t i = 0; i < 3 * values; ++i) {
    const uint32_t v = rng() % values * 7919;
    const uint64_t n = 1 + rng() % 3;
    m.add(v, kCap, n);
    o[v] += n;
  }
  if (wide) {
    const uint64_t n = (uint64_t{1} << 32) + 5;
    m.add(7919, kCap, n);
    o[7919] += n;
  }
}

TEST(CountMap, EveryFormAgreesWithAMap) {
  std::mt19937 rng(11);
  for (uint32_t values : {1u, 2u, 3u, 5u, 16u, 17u, 40u, 300u}) {
    for (bool wide : {false, true}) {
      CountMap m;
      Oracle o;
      fill(m, o, values, wide, rng);
      expect_equal(m, o, "filled");
    }
  }
  // One value's count crossing 2^32 - 1 by single additions of large n.
  CountMap m;
  Oracle o;
  for (int i = 0; i < 3; ++i) m.add(42, 4096, 0x7fffffffu), o[42] += 0x7fffffffu;
  m.add(43, 4096);
  ++o[43];
  expect_equal(m, o, "wide by sums");

  // Ties at every step, larger values first (the general form keeps its
  // mode as counts grow: the smallest of the most frequent must win).
  for (uint32_t values : {3u, 40u, 300u}) {
    CountMap t;
    Oracle ot;
    for (int round = 0; round < 3; ++round) {
      for (uint32_t v = values; v-- > 0;) {
        t.add(v * 13, 4096);
        ++ot[v * 13];
        if (v % 7 == 0) expect_equal(t, ot, "ties");
      }
    }
  }
}

TEST(CountMap, MergesOfEveryPairOfForms) {
  std::mt19937 rng(5);
  const uint32_t sizes[] = {1, 2, 4, 16, 100};
  for (uint32_t a : sizes) {
    for (uint32_t b : sizes) {
      for (bool wide : {false, true}) {
        CountMap x, y;
        Oracle ox, oy;
        fill(x, ox, a, false, rng);
        fill(y, oy, b, wide, rng);
        x.merge(y, 4096);
        for (const auto& [v, n] : oy) ox[v] += n;
        expect_equal(x, ox, "merged");
        expect_equal(y, oy, "merged from");
      }
    }
  }
}

TEST(CountMap, MovesKeepTheValues) {
  std::mt19937 rng(2);
  for (uint32_t values : {2u, 9u, 200u}) {
    CountMap m;
    Oracle o;
    fill(m, o, values, false, rng);
    CountMap moved(std::move(m));
    expect_equal(moved, o, "move-constructed");
    CountMap assigned;
    fill(assigned, o, 3, false, rng);  // replaced: its values go
    o.clear();
    moved.for_each([&](uint32_t v, uint64_t n) { o[v] = n; });
    assigned = std::move(moved);
    expect_equal(assigned, o, "move-assigned");
    // What was moved from is empty and can be filled again.
    Oracle again;
    expect_equal(m, again, "moved from");
    for (const auto& [v, n] : o) m.add(v, 4096), ++again[v];  // its old values too
    expect_equal(m, again, "moved from, refilled");
  }
}

// Misra-Gries as docs/features.md states it, on a std::map: a new value
// past the cap is counted, then the (cap+1)-th largest count is taken from
// every value and those at zero are dropped.
struct MisraGries {
  std::map<uint32_t, uint64_t> counts;
  size_t cap;
  void add(uint32_t v, uint64_t n) {
    if (auto it = counts.find(v); it != counts.end()) {
      it->second += n;
      return;
    }
    counts[v] = n;
    if (counts.size() <= cap) return;
    std::vector<uint64_t> sorted;
    for (const auto& [value, c] : counts) sorted.push_back(c);
    std::sort(sorted.begin(), sorted.end(), std::greater<>());
    const uint64_t cut = sorted[cap];
    std::map<uint32_t, uint64_t> kept;
    for (const auto& [value, c] : counts) {
      if (c > cut) kept[value] = c - cut;
    }
    counts = std::move(kept);
  }
};

TEST(CountMap, PastTheCapIsMisraGries) {
  for (uint32_t cap : {2u, 5u, 16u, 17u, 40u}) {
    for (uint32_t seed = 1; seed <= 5; ++seed) {
      std::mt19937 rng(seed * 100 + cap);
      CountMap m;
      MisraGries ref{{}, cap};
      for (int i = 0; i < 3000; ++i) {
        // Skewed: one value in half the adds (past the n/(cap+1) that
        // Misra-Gries keeps, for every cap here), the rest rare.
        uint32_t v = rng() % 2 == 0 ? 7 : rng() % 500;
        uint64_t n = 1 + rng() % 3;
        if (i % 700 == 350) {  // now and then a count past 32 bits, kept beside the slots
          v = i % 1400 == 350 ? 7 : v;
          n = (uint64_t{1} << 32) + rng() % 5;
        }
        m.add(v, cap, n);
        ref.add(v, n);
        if (i % 97 == 0 || i == 2999) {
          Oracle seen;
          m.for_each([&](uint32_t value, uint64_t c) { seen[value] = c; });
          ASSERT_EQ(seen, ref.counts) << "cap " << cap << " seed " << seed << " after " << i + 1 << " adds";
          ASSERT_EQ(m.mode().value, mode_of(ref.counts).value) << "cap " << cap << " after " << i + 1;
          ASSERT_EQ(m.mode().count, mode_of(ref.counts).count) << "cap " << cap << " after " << i + 1;
        }
      }
      EXPECT_EQ(m.mode().value, 7u) << "cap " << cap;
    }
  }
}

TEST(CountMap, SmallCapsStillSummarise) {
  // A cap below the small array's size: past it the general part takes
  // over (Misra-Gries), as with larger caps.
  CountMap m;
  for (uint32_t v = 0; v < 10; ++v) m.add(v, 4, v == 3 ? 100 : 1);
  EXPECT_EQ(m.mode().value, 3u);
  uint64_t kept = 0;
  m.for_each([&](uint32_t, uint64_t) { ++kept; });
  EXPECT_LE(kept, 4u);
}

}  // namespace
}  // namespace darklens::features
