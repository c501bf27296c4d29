// The temporal state: hourly counts, first and last packet, and the gaps
// between packets as exact integer sums. Read by the temporal family.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>

namespace darklens::features {

// Exact sums of squared nanosecond gaps need more than 64 bits (GCC/Clang).
__extension__ typedef unsigned __int128 Uint128;

/// Timing in integer nanoseconds. Gaps are between consecutive packets in
/// arrival order; a packet older than the previous one adds a gap of 0.
struct Temporal {
  static constexpr int64_t kNone = std::numeric_limits<int64_t>::min();
  std::array<uint64_t, 24> hourly{};
  int64_t first = std::numeric_limits<int64_t>::max();  // earliest
  int64_t last = kNone;                                 // latest
  int64_t first_arrival = kNone;                        // first packet read
  int64_t prev = kNone;                                 // latest so far in arrival order
  uint64_t gaps = 0;
  uint64_t gap_sum = 0;  // ns
  Uint128 gap_sq = 0;    // ns^2, exact

  static int hour_of(int64_t ts) {
    int64_t h = ts / 3'600'000'000'000 % 24;
    return static_cast<int>(h < 0 ? h + 24 : h);
  }
  void add_gap(int64_t g) {
    const uint64_t u = static_cast<uint64_t>(g);
    ++gaps;
    gap_sum += u;
    gap_sq += static_cast<Uint128>(u) * u;
  }
  void add(int64_t ts) {
    ++hourly[hour_of(ts)];
    first = std::min(first, ts);
    last = std::max(last, ts);
    if (first_arrival == kNone) {
      first_arrival = prev = ts;
      return;
    }
    add_gap(ts >= prev ? ts - prev : 0);
    prev = std::max(prev, ts);
  }
  void merge(const Temporal& o) {
    if (o.first_arrival == kNone) return;
    if (first_arrival == kNone) {
      *this = o;
      return;
    }
    for (int h = 0; h < 24; ++h) hourly[h] += o.hourly[h];
    first = std::min(first, o.first);
    last = std::max(last, o.last);
    // The gap across the boundary, as reading the parts in a row would see it.
    add_gap(o.first_arrival >= prev ? o.first_arrival - prev : 0);
    gaps += o.gaps;
    gap_sum += o.gap_sum;
    gap_sq += o.gap_sq;
    prev = std::max(prev, o.prev);
  }
};

}  // namespace darklens::features
