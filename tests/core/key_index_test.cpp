// KeyIndex against a std::map oracle: rows numbered in order of first
// insertion, found again after the table grows, IPv4 and IPv6 keys, keys
// that differ only in their window.
#include "../../src/core/key_index.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

namespace darklens {
namespace {

struct Less {
  bool operator()(const SourceKey& a, const SourceKey& b) const {
    return a.window != b.window ? a.window < b.window : a.src < b.src;
  }
};

TEST(KeyIndex, AgreesWithAMapThroughGrowth) {
  for (uint64_t seed : {4, 9}) {
    std::mt19937_64 rng(seed);
    KeyIndex index;
    std::map<SourceKey, uint32_t, Less> oracle;
    std::vector<SourceKey> inserted;
    for (int i = 0; i < 20000; ++i) {
      SourceKey k;
      const uint64_t r = rng();
      k.src = r % 3 == 0 ? IpAddr{0x20010db800000000ULL, r % 300} : IpAddr::v4(static_cast<uint32_t>(r % 700));
      k.window = static_cast<int64_t>(r >> 60) * 3'600'000'000'000;  // 16 windows
      bool fresh = false;
      const uint32_t row = index.find_or_insert(k, hash_of(k), fresh);
      auto [it, added] = oracle.try_emplace(k, static_cast<uint32_t>(oracle.size()));
      ASSERT_EQ(fresh, added) << i;
      ASSERT_EQ(row, it->second) << i;
      if (added) inserted.push_back(k);
    }
    ASSERT_EQ(index.size(), oracle.size());
    for (uint32_t row = 0; row < inserted.size(); ++row) {
      EXPECT_EQ(index.key(row), inserted[row]);
      EXPECT_EQ(index.find(inserted[row], hash_of(inserted[row])), row);
    }
    SourceKey absent{IpAddr::v4(0x0a000001), 5};
    EXPECT_FALSE(index.find(absent, hash_of(absent)).has_value());
  }
}

}  // namespace
}  // namespace darklens
