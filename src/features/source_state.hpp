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
};

}  // namespace darklens::features
