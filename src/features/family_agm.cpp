// agm: the AGM counts (Ahmed, Gupta, Mercier): per field, the distinct
// values, the mode and its packets (docs/features.md).
#include <string>

#include "family.hpp"

namespace darklens::features {
namespace {

void columns(Builder& b, const TableInput& in, Range range) {
  const std::vector<RowRef>& rows = in.rows;
  auto packets = b.column("agm_packets", ColumnKind::kCount);
  Col c[kAgmFields][3];
  for (int f = 0; f < kAgmFields; ++f) {
    const std::string n = std::string("agm_") + kAgmFieldNames[f];
    c[f][0] = b.column(n + "_distinct", ColumnKind::kCount);
    c[f][1] = b.column(n + "_mode", f == 0 ? ColumnKind::kAddress : ColumnKind::kCategory);
    c[f][2] = b.column(n + "_mode_packets", ColumnKind::kCount);
  }
  for (size_t r = range.begin; r < range.end; ++r) {
    const AgmCounts& a = *rows[r].state.all;
    packets[r] = static_cast<double>(a.packets);
    for (int f = 0; f < kAgmFields; ++f) {
      const auto mode = a.fields[f].mode();
      c[f][0][r] = static_cast<double>(a.fields[f].distinct());
      c[f][1][r] = mode.value;
      c[f][2][r] = static_cast<double>(mode.count);
    }
  }
}

}  // namespace

const char* const kAgmFieldNames[7] = {"dst_ip", "src_port", "dst_port", "proto", "ttl", "tcp_flags", "size"};

extern const FamilyDef kAgmFamily{Family::kAgm, "agm", kStateAgm, false, false, columns};

}  // namespace darklens::features
