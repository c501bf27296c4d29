// parallel_for, produce_ahead and produce_and_share: every index or batch
// handled once, batches consumed in the order produced, the last one too;
// every task of a batch done before the next batch's; an exception from
// any thread or stage reaches the caller.
#include "../../src/core/parallel.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

namespace darklens {
namespace {

struct Batch {
  std::vector<int> values;
};

// A producer of the values 0 .. total - 1, four a batch, from `next` on.
auto counting_to(int total, int& next) {
  return [total, &next](Batch& b) {
    b.values.clear();
    for (int i = 0; i < 4 && next < total; ++i) b.values.push_back(next++);
    return next < total;
  };
}

// A producer whose third batch fails, as a damaged capture would.
auto fails_on_third(int& produced) {
  return [&produced](Batch&) {
    if (++produced == 3) throw std::runtime_error("bad capture");
    return true;
  };
}

TEST(ParallelFor, EveryIndexOnceAndTheFirstErrorReachesTheCaller) {
  for (int threads : {1, 2, 3}) {
    std::vector<std::atomic<int>> hits(1000);
    parallel_for(
        hits.size(), threads,
        [&](size_t b, size_t e) {
          for (size_t i = b; i < e; ++i) ++hits[i];
        },
        16);
    for (const auto& h : hits) ASSERT_EQ(h.load(), 1) << "threads " << threads;
    auto failing = [&](size_t b, size_t e) {
      if (b <= 40 && 40 < e) throw std::runtime_error("index 40");
    };
    try {
      parallel_for(hits.size(), threads, failing, 16);
      ADD_FAILURE() << "no exception, threads " << threads;
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "index 40");
    }
  }
}

TEST(ProduceAhead, ConsumesEveryBatchInOrder) {
  for (int total : {0, 1, 7, 8, 9, 100}) {
    int next = 0;
    auto produce = counting_to(total, next);
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
  auto produce = fails_on_third(produced);
  int consumed = 0;
  EXPECT_THROW(produce_ahead(true, x, y, produce, [&](const Batch&) { ++consumed; }), std::runtime_error);
  EXPECT_EQ(consumed, 2);  // the batches before the bad one
  produced = 0;
  auto failing = [&](const Batch&) { throw std::logic_error("consumer"); };
  EXPECT_THROW(produce_ahead(
                   true, x, y, [&](Batch&) { return ++produced < 100; }, failing),
               std::logic_error);
  EXPECT_LE(produced, 2);  // it stopped reading
}

TEST(ProduceAndShare, EveryTaskOfEveryBatchOnceAndBatchesInOrder) {
  constexpr size_t kTasks = 5;
  for (int threads : {1, 2, 3, 8}) {
    for (int total : {0, 1, 7, 8, 9, 100}) {
      int next = 0;
      auto produce = counting_to(total, next);
      // Task t of a batch takes the values v with v % kTasks == t; each
      // task appends to its own list, so the lists must come out sorted
      // (batches in order) and complete.
      std::vector<std::vector<int>> seen(kTasks);
      std::atomic<int> running{0};
      std::vector<int> done_batches;
      auto apply = [&](const Batch& b, size_t t) {
        ++running;
        for (int v : b.values) {
          if (static_cast<size_t>(v) % kTasks == t) seen[t].push_back(v);
        }
        --running;
      };
      auto done = [&](const Batch& b) {
        EXPECT_EQ(running.load(), 0);  // no task of this batch still running
        done_batches.push_back(b.values.empty() ? -1 : b.values.front());
      };
      Batch x, y;
      produce_and_share(threads, kTasks, x, y, produce, apply, done);
      for (size_t t = 0; t < kTasks; ++t) {
        std::vector<int> want;
        for (int v = 0; v < total; ++v) {
          if (static_cast<size_t>(v) % kTasks == t) want.push_back(v);
        }
        EXPECT_EQ(seen[t], want) << "threads " << threads << " total " << total << " task " << t;
      }
      EXPECT_EQ(done_batches.size(), total == 0 ? 1u : static_cast<size_t>((total + 3) / 4));
      if (threads == 1) {
        EXPECT_TRUE(y.values.empty());  // one thread: one batch only
      }
    }
  }
}

TEST(ProduceAndShare, ErrorsOfEitherStageReachTheCaller) {
  Batch x, y;
  int produced = 0;
  auto produce = fails_on_third(produced);
  int batches = 0;
  EXPECT_THROW(produce_and_share(
                   2, 3, x, y, produce, [](const Batch&, size_t) {}, [&](const Batch&) { ++batches; }),
               std::runtime_error);
  EXPECT_EQ(batches, 1);  // the batch before the one being read when it failed
  produced = 0;
  auto failing = [](const Batch&, size_t t) {
    if (t == 1) throw std::logic_error("consumer");
  };
  EXPECT_THROW(produce_and_share(
                   2, 4, x, y, [&](Batch&) { return ++produced < 100; }, failing, [](const Batch&) {}),
               std::logic_error);
  EXPECT_LE(produced, 2);  // it stopped reading
}

}  // namespace
}  // namespace darklens
