// Static-chunked parallel loop over [0, n): each index is handled by
// exactly one thread and writes only its own outputs, so results do not
// depend on the number of threads. The first exception thrown by a worker
// is rethrown after all threads have joined.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace darklens {

/// 0 = the hardware's concurrency.
inline unsigned resolve_threads(int threads) {
  if (threads > 0) return static_cast<unsigned>(threads);
  return std::max(1u, std::thread::hardware_concurrency());
}

/// The first exception of the calls several threads make through run(),
/// kept for the caller to rethrow once they have all stopped.
class FirstError {
 public:
  /// f(); false when it threw (the exception is kept if it is the first).
  template <typename F>
  bool run(F&& f) {
    try {
      f();
      return true;
    } catch (...) {
      std::lock_guard lock(m_);
      if (!error_) error_ = std::current_exception();
      return false;
    }
  }
  void rethrow() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::mutex m_;
  std::exception_ptr error_;
};

/// Calls fn(begin, end) on disjoint contiguous ranges covering [0, n),
/// interleaved in blocks of `grain` so uneven work spreads over threads.
template <typename Fn>
void parallel_for(size_t n, int threads, Fn&& fn, size_t grain = 256) {
  const unsigned t = std::min<size_t>(resolve_threads(threads), (n + grain - 1) / std::max<size_t>(grain, 1));
  if (t <= 1) {
    if (n) fn(size_t{0}, n);
    return;
  }
  FirstError error;
  std::vector<std::thread> pool;
  for (unsigned w = 0; w < t; ++w) {
    pool.emplace_back([&, w] {
      error.run([&] {
        for (size_t b = size_t{w} * grain; b < n; b += size_t{t} * grain) fn(b, std::min(n, b + grain));
      });
    });
  }
  for (auto& th : pool) th.join();
  error.rethrow();
}

/// Two-stage pipeline over alternating batches: while consume(batch) runs
/// on the calling thread, produce(other batch) fills the next one on a
/// second thread. produce returns false after the last batch (which is
/// still consumed). Batches are produced and consumed strictly in order, so
/// results are those of the plain loop `while (more) { more =
/// produce(b); consume(b); }`, which is what runs (on `first` alone, on the
/// calling thread) when `overlap` is false. An exception from either stage
/// is rethrown once both have stopped.
template <typename Batch, typename Produce, typename Consume>
void produce_ahead(bool overlap, Batch& first, Batch& second, Produce&& produce, Consume&& consume) {
  if (!overlap) {
    for (bool more = true; more;) {
      more = produce(first);
      consume(first);
    }
    return;
  }
  Batch* cur = &first;
  Batch* next = &second;
  bool more = produce(*cur);
  for (;;) {
    bool next_more = false;
    std::exception_ptr produce_error;
    std::thread ahead;
    if (more) {
      ahead = std::thread([&] {
        try {
          next_more = produce(*next);
        } catch (...) {
          produce_error = std::current_exception();
        }
      });
    }
    try {
      consume(*cur);
    } catch (...) {
      if (ahead.joinable()) ahead.join();
      throw;
    }
    if (ahead.joinable()) ahead.join();
    if (produce_error) std::rethrow_exception(produce_error);
    if (!more) return;
    more = next_more;
    std::swap(cur, next);
  }
}

/// produce_ahead with the consuming split into `tasks` independent pieces,
/// apply(batch, task), shared by `threads` threads: while one of them
/// produces the next batch the others take the current batch's tasks, and
/// it joins them when done, so no core idles while the producer works.
/// Every task of a batch ends before any task of the next one starts;
/// within a batch tasks run in any order on any thread, so each must touch
/// only its own state. done(batch) follows each batch on the calling
/// thread. One thread: the plain loop on `first` alone. The first
/// exception is rethrown once every thread has stopped.
template <typename Batch, typename Produce, typename Apply, typename Done>
void produce_and_share(int threads, size_t tasks, Batch& first, Batch& second, Produce&& produce, Apply&& apply,
                       Done&& done) {
  if (threads <= 1) {
    for (bool more = true; more;) {
      more = produce(first);
      for (size_t t = 0; t < tasks; ++t) apply(first, t);
      done(first);
    }
    return;
  }
  Batch* cur = &first;
  Batch* next = &second;
  bool more = produce(*cur);
  for (;;) {
    const bool ahead = more;
    bool next_more = false;
    std::atomic<size_t> taken{0};
    FirstError error;
    auto guarded = [&](auto&& f) {
      if (!error.run(f)) taken = tasks;  // nobody takes more
    };
    auto take = [&] {
      for (size_t t; (t = taken.fetch_add(1)) < tasks;) apply(*cur, t);
    };
    std::vector<std::thread> pool;
    for (int w = 1; w < threads; ++w) pool.emplace_back([&] { guarded(take); });
    guarded([&] {
      if (ahead) next_more = produce(*next);
    });
    guarded(take);
    for (auto& th : pool) th.join();
    error.rethrow();
    done(*cur);
    if (!ahead) return;
    more = next_more;
    std::swap(cur, next);
  }
}

}  // namespace darklens
