// FlowTable against a std::map oracle: inserts, updates and purges (the
// in-place deletion of the open-addressing form) in random order, with few
// distinct destinations so that probe runs are long and wrap around.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <tuple>

#include "../../src/features/flow_table.hpp"

namespace darklens::features {
namespace {

using Tuple = std::tuple<uint32_t, uint16_t, uint16_t, uint8_t>;

Tuple tuple_of(const FlowKey& k) { return {k.dst, k.sport, k.dport, k.proto}; }

void expect_equal(const FlowTable& t, const std::map<Tuple, int64_t>& oracle, int step) {
  ASSERT_EQ(t.size(), oracle.size()) << "step " << step;
  std::map<Tuple, int64_t> seen;
  t.for_each([&](const FlowKey& k, int64_t ts) { EXPECT_TRUE(seen.emplace(tuple_of(k), ts).second); });
  ASSERT_EQ(seen, oracle) << "step " << step;
  for (const auto& [tuple, ts] : oracle) {
    const FlowKey k{std::get<0>(tuple), std::get<1>(tuple), std::get<2>(tuple), std::get<3>(tuple)};
    const int64_t* found = t.find(k);
    ASSERT_NE(found, nullptr) << "step " << step;
    EXPECT_EQ(*found, ts);
  }
}

TEST(FlowTable, MatchesAMapThroughInsertsAndPurges) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    FlowTable t;
    std::map<Tuple, int64_t> oracle;
    int64_t now = 0;
    const uint32_t keys = 8 + rng() % 400;  // inline form up to thousands of slots
    for (int step = 0; step < 3000; ++step) {
      now += rng() % 5;
      if (rng() % 50 == 0) {
        const int64_t timeout = rng() % 40;
        t.purge(now, timeout);
        std::erase_if(oracle, [&](const auto& e) { return now - e.second > timeout; });
        expect_equal(t, oracle, step);
        continue;
      }
      const FlowKey k{static_cast<uint32_t>(rng() % keys), static_cast<uint16_t>(rng() % 3), 23, 6};
      bool fresh = false;
      int64_t& ts = t.find_or_insert(k, now, fresh);
      auto [it, inserted] = oracle.emplace(tuple_of(k), now);
      ASSERT_EQ(fresh, inserted) << "seed " << seed << " step " << step;
      ts = now;
      it->second = now;
    }
    expect_equal(t, oracle, -1);
    // Everything idle: the table empties and takes new flows again.
    t.purge(now + 1000, 10);
    EXPECT_EQ(t.size(), 0u);
    bool fresh = false;
    t.find_or_insert({1, 2, 3, 6}, now, fresh);
    EXPECT_TRUE(fresh);
    EXPECT_EQ(t.size(), 1u);
  }
}

}  // namespace
}  // namespace darklens::features
