// Everything darklens remembers about one (source, window): exact integer
// accumulators only, so merging the states of consecutive parts of a
// capture gives bit-identical features to reading it whole.
#pragma once

#include <array>
#include <cstdint>
#include <limits>

#include "count_map.hpp"
#include "darklens/features/features.hpp"
#include "darklens/types.hpp"
#include "handshakes.hpp"
#include "intensity.hpp"
#include "packet_facts.hpp"

namespace darklens::features {

// Exact sums of squared nanosecond gaps need more than 64 bits (GCC/Clang).
__extension__ typedef unsigned __int128 Uint128;

/// The seven AGM fields, in column order.
enum AgmField { kDstIp, kSrcPort, kDstPort, kProto, kTtl, kTcpFlags, kSize, kAgmFields };

struct AgmCounts {
  uint64_t packets = 0;
  std::array<CountMap, kAgmFields> fields;

  [[gnu::always_inline]] void add(const Facts& p, uint32_t cap) {
    ++packets;
    fields[kDstIp].add(p.addr, cap);
    fields[kSrcPort].add(p.sport, cap);
    fields[kDstPort].add(p.dport, cap);
    fields[kProto].add(p.proto, cap);
    fields[kTtl].add(p.ttl, cap);
    fields[kTcpFlags].add(p.proto == ip_proto::kTcp ? p.tcp_flags : 0, cap);
    fields[kSize].add(p.ip_len, cap);
  }
  void merge(const AgmCounts& o, uint32_t cap) {
    packets += o.packets;
    for (int i = 0; i < kAgmFields; ++i) fields[i].merge(o.fields[i], cap);
  }
};

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

struct Fingerprints {
  uint64_t packets = 0, tcp = 0, syn = 0;
  uint64_t mirai = 0, zmap = 0, masscan = 0, no_options = 0, ttl_ge_200 = 0, win_1024 = 0;
  CountMap syn_mss, syn_win, syn_layout;

  void add(const Facts& p, uint32_t cap) {
    ++packets;
    zmap += p.has(Facts::kZmap);
    ttl_ge_200 += p.ttl >= 200;
    if (!p.has(Facts::kTcp)) return;
    ++tcp;
    win_1024 += p.tcp_win == 1024;
    masscan += p.has(Facts::kMasscan);
    if (!p.has(Facts::kSyn)) return;
    ++syn;
    mirai += p.has(Facts::kMirai);
    no_options += p.has(Facts::kNoOptions);
    syn_mss.add(p.tcp_mss, cap);
    syn_win.add(p.tcp_win, cap);
    syn_layout.add(p.layout, cap);
  }
  void merge(const Fingerprints& o, uint32_t cap) {
    packets += o.packets, tcp += o.tcp, syn += o.syn;
    mirai += o.mirai, zmap += o.zmap, masscan += o.masscan;
    no_options += o.no_options, ttl_ge_200 += o.ttl_ge_200, win_1024 += o.win_1024;
    syn_mss.merge(o.syn_mss, cap);
    syn_win.merge(o.syn_win, cap);
    syn_layout.merge(o.syn_layout, cap);
  }
};

/// What the table builder reads for one row: the parts of the selected
/// families (others are null).
struct SourceView {
  uint64_t packets = 0;
  const AgmCounts* all = nullptr;    // agm
  const AgmCounts* tcp = nullptr;    // agm-num: the source's TCP packets
  const Temporal* time = nullptr;    // temporal
  const Fingerprints* fp = nullptr;  // fingerprints
  const Intensity* intensity = nullptr;
  bool validated = false;  // completed a handshake (needs --prefix)
};

}  // namespace darklens::features
