// The feature table from the aggregated states: each selected family's
// columns (family.hpp, registered in families.cpp), rows in output order.
#pragma once

#include <vector>

#include "darklens/features/features.hpp"
#include "family.hpp"

namespace darklens::features {

/// The table of `rows` (best given in the order of their states in memory,
/// which the builder then reads nearly in sequence), its rows sorted by
/// window, then source. `every_row`: every row aggregated (see TableInput).
/// Rows kept as their one packet (SourceView::only) get their states
/// built a block at a time, except for families that declare from rows
/// (the aggregator builds every row's states for those first).
FeatureTable build_table(const FeatureOptions& options, std::vector<RowRef> rows, const std::vector<RowRef>& every_row);

}  // namespace darklens::features
