// The open-addressing sets and counters against std::map / std::set
// oracles, through growth and with the keys that mark free slots.
#include "../../src/core/flat_set.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

namespace darklens {
namespace {

TEST(FlatCounts, EqualsAMapThroughGrowth) {
  FlatCounts c;
  std::map<uint32_t, uint64_t> oracle;
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    // Few keys at first (collisions, repeats), then many (growth).
    const uint32_t k = i < 5000 ? rng() % 40 : rng() % 9000;
    const uint64_t n = rng() % 3;  // 0 adds nothing
    c.add(k, n);
    if (n) oracle[k] += n;
  }
  c.add(0xffffffffu);
  c.add(0);
  ++oracle[0xffffffffu], ++oracle[0];
  std::map<uint32_t, uint64_t> seen;
  c.for_each([&](uint32_t k, uint64_t n) { EXPECT_TRUE(seen.emplace(k, n).second) << k; });
  EXPECT_EQ(seen, oracle);
  EXPECT_EQ(c.size(), oracle.size());
}

TEST(IpSet, DistinctAddressesOfBothFamiliesAndForEach) {
  IpSet s;
  std::set<IpAddr> oracle;
  std::mt19937 rng(3);
  for (int i = 0; i < 30000; ++i) {
    const IpAddr a = rng() % 4 ? IpAddr::v4(rng() % 20000) : IpAddr{rng() % 50u + 1, rng() % 7u};
    EXPECT_EQ(s.insert(a), oracle.insert(a).second);
  }
  // The free-slot markers are addresses too.
  for (const IpAddr a : {IpAddr::v4(0xffffffffu), IpAddr{~uint64_t{0}, ~uint64_t{0}}}) {
    EXPECT_TRUE(s.insert(a));
    EXPECT_FALSE(s.insert(a));
    oracle.insert(a);
  }
  EXPECT_EQ(s.size(), oracle.size());
  std::set<IpAddr> seen;
  s.for_each([&](const IpAddr& a) { EXPECT_TRUE(seen.insert(a).second); });
  EXPECT_EQ(seen, oracle);
}

}  // namespace
}  // namespace darklens
