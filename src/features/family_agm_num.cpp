// agm-num: the numerical AGM over a source's TCP segments, with dummies
// of the window's top ports and of common flag combinations
// (docs/features.md).
#include <algorithm>
#include <map>
#include <string>

#include "family.hpp"

namespace darklens::features {
namespace {

// The 29 columns of the numerical AGM (docs/features.md), over TCP packets.
void columns(Builder& b, const TableInput& in, Range range) {
  const std::vector<RowRef>& rows = in.rows;
  // The dummies' ports: each window's top TCP destination ports over every
  // source of the window (also those below --min-packets); integer sums,
  // so the order of the rows does not matter. Kept with the table.
  if (b.declaring) {
    b.t.top_ports_ = in.options.agm_num_top_ports_ ? *in.options.agm_num_top_ports_
                                                   : agm_num_top_ports(agm_num_port_counts(in.every_row));
  }
  const auto& windows = b.t.top_ports_;
  auto packets = b.column("num_packets", ColumnKind::kCount);
  auto dst_distinct = b.column("num_dst_ip_distinct", ColumnKind::kCount);
  auto dst_mode_pk = b.column("num_dst_ip_mode_packets", ColumnKind::kCount);
  auto sport_distinct = b.column("num_src_port_distinct", ColumnKind::kCount);
  auto sport_mode_pk = b.column("num_src_port_mode_packets", ColumnKind::kCount);
  auto dport_distinct = b.column("num_dst_port_distinct", ColumnKind::kCount);
  auto dport_mode_pk = b.column("num_dst_port_mode_packets", ColumnKind::kCount);
  std::vector<Col> top;
  for (int k = 1; k <= 10; ++k) top.push_back(b.column("num_dst_port_top" + std::to_string(k), ColumnKind::kShare));
  auto ttl_distinct = b.column("num_ttl_distinct", ColumnKind::kCount);
  auto ttl_mode = b.column("num_ttl_mode", ColumnKind::kCategory);
  auto ttl_mode_pk = b.column("num_ttl_mode_packets", ColumnKind::kCount);
  auto flags_distinct = b.column("num_tcp_flags_distinct", ColumnKind::kCount);
  auto flags_mode_pk = b.column("num_tcp_flags_mode_packets", ColumnKind::kCount);
  constexpr uint8_t kFlagDummies[4] = {0x02, 0x10, 0x18, 0x14};
  std::vector<Col> flag_cols = {b.column("num_tcp_flags_is_syn", ColumnKind::kShare),
                                b.column("num_tcp_flags_is_ack", ColumnKind::kShare),
                                b.column("num_tcp_flags_is_psh_ack", ColumnKind::kShare),
                                b.column("num_tcp_flags_is_rst_ack", ColumnKind::kShare)};
  auto size_distinct = b.column("num_size_distinct", ColumnKind::kCount);
  auto size_mode = b.column("num_size_mode", ColumnKind::kCategory);
  auto size_mode_pk = b.column("num_size_mode_packets", ColumnKind::kCount);

  for (size_t r = range.begin; r < range.end; ++r) {
    const AgmCounts& a = *rows[r].state.tcp;
    if (a.packets == 0) continue;  // no TCP: all zero
    packets[r] = static_cast<double>(a.packets);
    auto fill = [&](AgmField f, Col distinct, const Col* mode, Col mode_pk) {
      const auto m = a.fields[f].mode();
      distinct[r] = static_cast<double>(a.fields[f].distinct());
      if (mode) (*mode)[r] = m.value;
      mode_pk[r] = static_cast<double>(m.count);
      return m.value;
    };
    fill(kDstIp, dst_distinct, nullptr, dst_mode_pk);
    fill(kSrcPort, sport_distinct, nullptr, sport_mode_pk);
    const uint32_t port = fill(kDstPort, dport_distinct, nullptr, dport_mode_pk);
    for (const auto& [window, ports] : windows) {
      if (window != rows[r].window) continue;
      for (size_t k = 0; k < ports.size(); ++k) top[k][r] = port == ports[k];
    }
    fill(kTtl, ttl_distinct, &ttl_mode, ttl_mode_pk);
    const uint32_t flags = fill(kTcpFlags, flags_distinct, nullptr, flags_mode_pk);
    for (int k = 0; k < 4; ++k) flag_cols[k][r] = flags == kFlagDummies[k];
    fill(kSize, size_distinct, &size_mode, size_mode_pk);
  }
}

}  // namespace

std::vector<Aggregator::PortCount> agm_num_port_counts(const std::vector<RowRef>& rows) {
  std::vector<Aggregator::PortCount> out;
  for (const auto& r : rows) {
    if (r.state.tcp->packets == 0) continue;
    r.state.tcp->fields[kDstPort].for_each([&](uint32_t port, uint64_t n) { out.push_back({r.window, port, n}); });
  }
  return out;
}

std::vector<std::pair<int64_t, std::vector<uint16_t>>> agm_num_top_ports(
    const std::vector<Aggregator::PortCount>& counts) {
  constexpr size_t kTop = 10;
  std::map<int64_t, std::map<uint32_t, uint64_t>> per_window;
  for (const auto& c : counts) per_window[c.window][c.port] += c.packets;
  std::vector<std::pair<int64_t, std::vector<uint16_t>>> out;
  for (const auto& [window, ports] : per_window) {
    std::vector<std::pair<uint32_t, uint64_t>> v(ports.begin(), ports.end());
    std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    std::vector<uint16_t> top;
    for (size_t i = 0; i < std::min(kTop, v.size()); ++i) top.push_back(static_cast<uint16_t>(v[i].first));
    out.emplace_back(window, std::move(top));
  }
  return out;
}

extern const FamilyDef kAgmNumFamily{Family::kAgmNum, "agm-num", kStateAgmTcp, true, true, columns};

}  // namespace darklens::features
