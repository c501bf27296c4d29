// Everything darklens remembers about one (source, window): exact integer
// accumulators only, so merging the states of consecutive parts of a
// capture gives bit-identical features to reading it whole. Each state is
// defined beside the family that reads it (family_*.hpp).
#pragma once

#include <cstdint>

#include "darklens/filter/handshakes.hpp"
#include "family_agm.hpp"
#include "family_fingerprints.hpp"
#include "family_intensity.hpp"
#include "family_temporal.hpp"

namespace darklens::features {

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
  /// Set for a row of one packet whose states were never built (the
  /// aggregator keeps such a row as its Facts, 32 bytes instead of
  /// ~1.3 KiB of states): every pointer above is null until build_table
  /// builds them (RowStates).
  const Facts* only = nullptr;
};

/// Where one row's states are, to add to them (null: not kept).
struct StatePtrs {
  AgmCounts* all = nullptr;
  AgmCounts* tcp = nullptr;
  Temporal* time = nullptr;
  Fingerprints* fp = nullptr;
  Intensity* intensity = nullptr;
};

/// Adds one packet to a row's states, always in this order: intensity
/// before agm (it may copy agm's ports as they were before f).
[[gnu::always_inline]] inline void add_packet(const StatePtrs& s, const Facts& f, uint32_t cap, int64_t timeout) {
  if (s.intensity) s.intensity->add(f, timeout, cap, s.all ? &s.all->fields[kDstPort] : nullptr);
  if (s.all) s.all->add(f, cap);
  if (s.tcp && f.is_tcp_segment()) s.tcp->add(f, cap);
  if (s.time) s.time->add(f.ts);
  if (s.fp) s.fp->add(f, cap);
}

/// Merges a later part's states of the same row into `s` (the states both
/// keep), in add_packet's order.
inline void merge_states(const StatePtrs& s, const SourceView& later, uint32_t cap, int64_t timeout) {
  // Before agm's: intensity may take agm's ports as they were.
  if (s.intensity) {
    s.intensity->merge(*later.intensity, timeout, cap, s.all ? &s.all->fields[kDstPort] : nullptr,
                       later.all ? &later.all->fields[kDstPort] : nullptr);
  }
  if (s.all) s.all->merge(*later.all, cap);
  if (s.tcp) s.tcp->merge(*later.tcp, cap);
  if (s.time) s.time->merge(*later.time);
  if (s.fp) s.fp->merge(*later.fp, cap);
}

}  // namespace darklens::features
