// A feature family: the columns it writes from the per-(source, window)
// states it reads. Each family is one file, family_<name>.cpp (its columns
// and its FamilyDef; a state only it reads sits in family_<name>.hpp), and
// is registered once, in families.cpp. docs/features.md defines the
// columns; change both together. Adding a family: a Family value
// (features.hpp), the file, its row in families.cpp, its section of
// docs/features.md. A new kind of state also needs its array in the
// aggregator (add, merge, adopt, view: aggregator.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "darklens/features/features.hpp"
#include "source_state.hpp"

namespace darklens::features {

/// One row to build: its key and its states.
struct RowRef {
  IpAddr source;
  int64_t window;
  SourceView state;
};

// Each family is written in two passes over the same code: one declares
// its columns (names, in order; no rows), then, with the column-major
// buffer allocated once, others fill disjoint ranges of rows, on as many
// threads (each cell depends on its row only: the same table on any
// number). A family asks for its columns in the same order in every pass.
struct Builder;
struct Col {
  Builder* b;
  size_t index;
  double& operator[](size_t row) const;
};
struct Builder {
  FeatureTable& t;
  size_t rows;
  bool declaring;
  size_t next = 0;  // the index of the next column asked for
  Builder(FeatureTable& table, size_t n, bool declare) : t(table), rows(n), declaring(declare) {}
  Col column(std::string name, ColumnKind kind) {
    if (declaring) {
      t.columns_.push_back(std::move(name));
      t.kinds_.push_back(kind);
    }
    return {this, next++};
  }
};
inline double& Col::operator[](size_t row) const { return b->t.values_[index * b->rows + row]; }

/// The rows one pass fills.
struct Range {
  size_t begin, end;
};

/// What a family's columns are computed from.
struct TableInput {
  const FeatureOptions& options;
  /// The table's rows (those with at least --min-packets, and validated
  /// when asked), in the order their states are in memory.
  const std::vector<RowRef>& rows;
  /// Every row aggregated, also those left out of the table (filled only
  /// when a selected family has `reads_every_row`).
  const std::vector<RowRef>& every_row;
};

/// The per-(source, window) states a family reads (bits): the aggregator
/// keeps those of the selected families only.
enum StateBits : uint8_t {
  kStateAgm = 1,           // AgmCounts over every packet (family_agm.hpp)
  kStateAgmTcp = 2,        // AgmCounts over TCP segments only
  kStateTemporal = 4,      // Temporal (family_temporal.hpp)
  kStateFingerprints = 8,  // Fingerprints (family_fingerprints.hpp)
  kStateIntensity = 16,    // Intensity (family_intensity.hpp)
};

/// One row's states held together: how a row kept as its one packet's
/// Facts (SourceView::only) gets its states when they are read.
struct RowStates {
  AgmCounts all, tcp;
  Temporal time;
  Fingerprints fp;
  Intensity intensity;

  /// Where the states of `states` (StateBits) are.
  StatePtrs ptrs(uint8_t states) {
    return {states & kStateAgm ? &all : nullptr, states & kStateAgmTcp ? &tcp : nullptr,
            states & kStateTemporal ? &time : nullptr, states & kStateFingerprints ? &fp : nullptr,
            states & kStateIntensity ? &intensity : nullptr};
  }
  /// The states of `states` from one packet.
  void build(const Facts& f, uint8_t states, uint32_t cap, int64_t timeout) {
    add_packet(ptrs(states), f, cap, timeout);
  }
  /// `v` reading these states (its other fields kept).
  SourceView view(SourceView v, uint8_t states) const {
    v.all = states & kStateAgm ? &all : nullptr;
    v.tcp = states & kStateAgmTcp ? &tcp : nullptr;
    v.time = states & kStateTemporal ? &time : nullptr;
    v.fp = states & kStateFingerprints ? &fp : nullptr;
    v.intensity = states & kStateIntensity ? &intensity : nullptr;
    v.only = nullptr;
    return v;
  }
};

struct FamilyDef {
  Family id;
  const char* name;  // as --families spells it
  uint8_t states;    // StateBits it reads
  bool reads_every_row;
  /// Reads rows' states while declaring (e.g. a vocabulary over every
  /// row): the aggregator then builds every row's states before the table.
  bool declares_from_rows;
  /// Declares (b.declaring: on the empty table, once, before any filling;
  /// it may also set the table's side data, e.g. a vocabulary) or fills
  /// rows [range) of its columns.
  void (*columns)(Builder& b, const TableInput& in, Range range);
};

/// Every family, in the order of Family (families.cpp).
const std::vector<const FamilyDef*>& registered_families();
const FamilyDef& family_def(Family f);

/// The StateBits the families read.
inline uint8_t states_of(const std::vector<Family>& families) {
  uint8_t s = 0;
  for (Family f : families) s |= family_def(f).states;
  return s;
}

/// agm-num's counts behind its top ports, over `rows` (family_agm_num.cpp).
std::vector<Aggregator::PortCount> agm_num_port_counts(const std::vector<RowRef>& rows);

}  // namespace darklens::features
