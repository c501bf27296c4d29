// Turning SourceStates into feature columns, family by family. The column
// definitions are documented in docs/features.md; change both together.
#pragma once

#include <vector>

#include "darklens/features/features.hpp"
#include "source_state.hpp"

namespace darklens::features {

struct RowRef {
  IpAddr source;
  int64_t window;
  SourceView state;
};

/// A window's most used TCP destination ports (most packets first, ties by
/// the smaller port), the vocabulary of agm-num's port dummies.
struct WindowTraffic {
  int64_t window;
  std::vector<uint16_t> top_ports;
};
std::vector<WindowTraffic> top_tcp_ports(const std::vector<RowRef>& rows, size_t k);

/// The table of `rows` (best given in the order of their states in memory,
/// which the builder then reads nearly in sequence), its rows sorted by
/// window, then source.
FeatureTable build_table(const FeatureOptions& options, const std::vector<RowRef>& rows,
                         const std::vector<WindowTraffic>& windows);

}  // namespace darklens::features
