// FlowTable against a std::map oracle that never forgets: every flow within
// the horizon is found with its time, flows past it may be forgotten (then
// they come back fresh), memory stays within a few horizons of flows, and a
// long silence empties the table. Few distinct destinations make probe runs
// long and wrap around; the inline form, the spill and many generations of
// the tables are all crossed.
#include "../../src/features/flow_table.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <tuple>

namespace darklens::features {
namespace {

using Tuple = std::tuple<uint32_t, uint16_t, uint16_t, uint8_t>;

Tuple tuple_of(const FlowKey& k) { return {k.dst, k.sport, k.dport, k.proto}; }
FlowKey key_of(const Tuple& t) { return {std::get<0>(t), std::get<1>(t), std::get<2>(t), std::get<3>(t)}; }

std::map<Tuple, int64_t> held(const FlowTable& t) {
  std::map<Tuple, int64_t> out;
  t.for_each([&](const FlowKey& k, int64_t ts) { EXPECT_TRUE(out.emplace(tuple_of(k), ts).second) << "twice"; });
  return out;
}

// What the table holds agrees with the oracle: flows within the horizon
// all there, nothing with a wrong time, at most `bound` entries.
void expect_agrees(const FlowTable& t, const std::map<Tuple, int64_t>& oracle, int64_t now, int64_t horizon,
                   int64_t disorder, int step) {
  const auto h = held(t);
  size_t recent = 0;
  for (const auto& [tuple, ts] : oracle) recent += now - ts < 3 * horizon + disorder;
  EXPECT_LE(h.size(), 2 + recent) << "step " << step;
  for (const auto& [tuple, ts] : h) {
    ASSERT_TRUE(oracle.contains(tuple)) << "step " << step;
    EXPECT_EQ(ts, oracle.at(tuple)) << "step " << step;
  }
  for (const auto& [tuple, ts] : oracle) {
    const int64_t* found = t.find(key_of(tuple));
    if (now - ts <= horizon) {
      ASSERT_NE(found, nullptr) << "step " << step;
      EXPECT_EQ(*found, ts) << "step " << step;
      EXPECT_TRUE(h.contains(tuple)) << "step " << step;
    } else if (found != nullptr) {
      EXPECT_EQ(*found, ts) << "step " << step;
    }
  }
}

TEST(FlowTable, KeepsEveryFlowWithinTheHorizonAndForgetsOldOnes) {
  for (uint32_t seed = 1; seed <= 30; ++seed) {
    std::mt19937 rng(seed);
    FlowTable t;
    std::map<Tuple, int64_t> oracle;
    int64_t now = 0;
    const uint32_t keys = 2 + rng() % 400;  // inline form up to thousands of slots
    const int64_t horizon = 5 + rng() % 60;
    const int64_t disorder = rng() % 3;  // packets up to this much older than the latest
    const int64_t pace = 1 + rng() % 8;  // mean gap x2: from dense to sparse flows
    for (int step = 0; step < 4000; ++step) {
      now += rng() % pace;
      if (rng() % 500 == 0) now += 3 * horizon;  // a silence: everything goes
      const int64_t ts = now - (disorder ? rng() % (disorder + 1) : 0);
      const FlowKey k{static_cast<uint32_t>(rng() % keys), static_cast<uint16_t>(rng() % 3), 23, 6};
      bool fresh = false;
      int64_t& seen = t.find_or_insert(k, ts, now, horizon, fresh);
      const auto it = oracle.find(tuple_of(k));
      if (it == oracle.end()) {
        ASSERT_TRUE(fresh) << "seed " << seed << " step " << step;
      } else if (now - it->second <= horizon) {
        ASSERT_FALSE(fresh) << "seed " << seed << " step " << step;  // may continue: kept
      }
      if (fresh) {
        EXPECT_EQ(seen, ts);
      } else {
        EXPECT_EQ(seen, it->second) << "seed " << seed << " step " << step;
      }
      seen = std::max(seen, ts);
      oracle[tuple_of(k)] = seen;
      if (step % 97 == 0) expect_agrees(t, oracle, now, horizon, disorder, step);
    }
    expect_agrees(t, oracle, now, horizon, disorder, -1);
    // After a silence, three new flows are all the table holds.
    now += 3 * horizon;
    for (uint16_t port = 1; port <= 3; ++port) {
      bool fresh = false;
      t.find_or_insert({99999, port, 23, 6}, now, now, horizon, fresh);
      EXPECT_TRUE(fresh);
    }
    EXPECT_EQ(held(t).size(), 3u) << "seed " << seed;
  }
}

}  // namespace
}  // namespace darklens::features
