// produce_ahead: batches consumed in the order produced, the last one too,
// and an exception from either stage reaches the caller.
#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "../../src/core/parallel.hpp"

namespace darklens {
namespace {

struct Batch {
  std::vector<int> values;
};

TEST(ProduceAhead, ConsumesEveryBatchInOrder) {
  for (int total : {0, 1, 7, 8, 9, 100}) {
    int next = 0;
    auto produce = [&](Batch& b) {
      b.values.clear();
      for (int i = 0; i < 4 && next < total; ++i) b.values.push_back(next++);
      return next < total;
    };
    std::vector<int> seen;
    auto consume = [&](const Batch& b) { seen.insert(seen.end(), b.values.begin(), b.values.end()); };
    std::vector<int> want;
    for (int i = 0; i < total; ++i) want.push_back(i);
    for (bool overlap : {true, false}) {
      Batch x, y;
      next = 0;
      seen.clear();
      produce_ahead(overlap, x, y, produce, consume);
      EXPECT_EQ(seen, want) << total << (overlap ? " overlapped" : " in turn");
      if (!overlap) {
        EXPECT_TRUE(y.values.empty());  // in turn: one batch only
      }
    }
  }
}

TEST(ProduceAhead, ErrorsOfEitherStageReachTheCaller) {
  Batch x, y;
  int produced = 0;
  auto produce = [&](Batch&) {
    if (++produced == 3) throw std::runtime_error("bad capture");
    return true;
  };
  int consumed = 0;
  EXPECT_THROW(produce_ahead(true, x, y, produce, [&](const Batch&) { ++consumed; }), std::runtime_error);
  EXPECT_EQ(consumed, 2);  // the batches before the bad one
  produced = 0;
  auto failing = [&](const Batch&) { throw std::logic_error("consumer"); };
  EXPECT_THROW(produce_ahead(true, x, y, [&](Batch&) { return ++produced < 100; }, failing), std::logic_error);
  EXPECT_LE(produced, 2);  // it stopped reading
}

}  // namespace
}  // namespace darklens
