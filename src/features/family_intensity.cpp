// intensity: packets, bytes and flows per TCP flag combination, protocol
// and service group; distinct destinations, ports and /24s. The state and
// its flows: family_intensity.hpp.
#include "family_intensity.hpp"

#include <array>
#include <string>

#include "family.hpp"

namespace darklens::features {

const char* const kFlagGroupNames[kFlagGroups] = {"syn", "syn_ack", "ack",     "psh_ack",
                                                  "rst", "rst_ack", "fin_ack", "other_tcp"};
const char* const kProtoGroupNames[kProtoGroups] = {"tcp", "udp", "icmp", "other"};
const char* const kServiceGroupNames[kServiceGroups] = {"telnet",       "ssh",        "http",     "https", "smb",
                                                        "sql",          "rdp",        "dns",      "ntp",   "sip",
                                                        "other_system", "other_user", "ephemeral"};

namespace {

// Service groups and flag combinations as tables built at compile time:
// one load per packet instead of a chain of unpredictable branches on a
// scanner's random ports (docs/features.md lists the same ports).
struct ListedPort {
  uint16_t port;
  ServiceGroup group;
};
constexpr ListedPort kListedPorts[] = {
    {23, kSvTelnet}, {2323, kSvTelnet}, {22, kSvSsh},     {2222, kSvSsh},  {80, kSvHttp},
    {81, kSvHttp},   {8000, kSvHttp},   {8008, kSvHttp},  {8080, kSvHttp}, {8081, kSvHttp},
    {8888, kSvHttp}, {443, kSvHttps},   {8443, kSvHttps}, {139, kSvSmb},   {445, kSvSmb},
    {1433, kSvSql},  {1434, kSvSql},    {1521, kSvSql},   {3306, kSvSql},  {5432, kSvSql},
    {3389, kSvRdp},  {53, kSvDns},      {123, kSvNtp},    {5060, kSvSip},  {5061, kSvSip}};

// The port ranges, then the listed ports over them (one plain loop a range:
// within clang's limit on compile-time steps, which a switch a port is not).
constexpr std::array<uint8_t, 65536> service_table() {
  std::array<uint8_t, 65536> t{};
  for (size_t port = 0; port < 1024; ++port) t[port] = kSvOtherSystem;
  for (size_t port = 1024; port < 49152; ++port) t[port] = kSvOtherUser;
  for (size_t port = 49152; port < t.size(); ++port) t[port] = kSvEphemeral;
  for (const ListedPort& l : kListedPorts) t[l.port] = l.group;
  return t;
}

// TCP flags & 0x3f (the ECN bits ignored) -> group.
constexpr std::array<uint8_t, 256> flag_table() {
  std::array<uint8_t, 256> t{};
  for (size_t flags = 0; flags < t.size(); ++flags) {
    switch (flags & 0x3f) {
      case 0x02:
        t[flags] = kFlSyn;
        break;
      case 0x12:
        t[flags] = kFlSynAck;
        break;
      case 0x10:
        t[flags] = kFlAck;
        break;
      case 0x18:
        t[flags] = kFlPshAck;
        break;
      case 0x04:
        t[flags] = kFlRst;
        break;
      case 0x14:
        t[flags] = kFlRstAck;
        break;
      case 0x11:
        t[flags] = kFlFinAck;
        break;
      default:
        t[flags] = kFlOtherTcp;
        break;
    }
  }
  return t;
}

constexpr auto kServiceByPort = service_table();
constexpr auto kFlagGroupByFlags = flag_table();

}  // namespace

ServiceGroup service_of(uint16_t port) { return static_cast<ServiceGroup>(kServiceByPort[port]); }

Intensity::Groups Intensity::groups_of(const Facts& p) {
  Groups g;
  const bool l4 = p.has(Facts::kTransport);
  if (p.proto == ip_proto::kTcp) {
    g.proto = kPrTcp;
    if (l4) g.flag = kFlagGroupByFlags[p.tcp_flags];
  } else if (p.proto == ip_proto::kUdp) {
    g.proto = kPrUdp;
  } else if (p.proto == ip_proto::kIcmp || p.proto == ip_proto::kIcmpV6) {
    g.proto = kPrIcmp;
  } else {
    g.proto = kPrOther;
  }
  if (l4 && (p.proto == ip_proto::kTcp || p.proto == ip_proto::kUdp)) g.service = service_of(p.dport);
  return g;
}

void Intensity::own_dports(const CountMap* agm_dports, uint32_t cap) {
  if (!dport_in_agm) return;
  if (agm_dports != nullptr) dport.merge(*agm_dports, cap);  // into the empty map: a copy
  dport_in_agm = false;
}

void Intensity::count_flow(const Groups& g, int sign) {
  const uint64_t d = static_cast<uint64_t>(sign);  // +1 or -1 (wraps)
  flows += d;
  proto_flows[g.proto] += d;
  if (g.flag != kNoGroup) flag_flows[g.flag] += d;
  if (g.service != kNoGroup) service_flows[g.service] += d;
}

namespace {
// Flows are kept a second past the timeout, so that packets up to 1 s out
// of order still find theirs.
int64_t horizon_of(int64_t timeout) { return timeout + 1'000'000'000; }
}  // namespace

void Intensity::add(const Facts& p, int64_t timeout, uint32_t cap, const CountMap* agm_dports) {
  const Groups g = groups_of(p);
  if (packets == 0) first = last = p.ts;
  ++packets;
  bytes += p.ip_len;
  proto_packets[g.proto]++;
  if (g.flag != kNoGroup) flag_packets[g.flag]++;
  if (g.service != kNoGroup) service_packets[g.service]++;
  if (agm_dports == nullptr) dst.add(p.addr, cap);
  // A service group exactly when TCP or UDP with its header: a port counted.
  const bool ported = g.service != kNoGroup;
  // Without agm, or from a packet agm counts and this does not: own counts.
  if (agm_dports == nullptr || !ported) own_dports(agm_dports, cap);
  if (ported && !dport_in_agm) dport.add(p.dport, cap);
  dst24.add(p.has(Facts::kV4) ? p.addr >> 8 : p.addr, cap);

  last = std::max(last, p.ts);
  // The table forgets flows that can no longer continue as time goes on:
  // it stays near rate x timeout entries, not the packet count.
  const FlowKey key{p.addr, p.sport, p.dport, p.proto};
  bool fresh = false;
  int64_t& seen = live.find_or_insert(key, p.ts, last, horizon_of(timeout), fresh);
  if (!fresh && p.ts - seen <= timeout) {
    seen = std::max(seen, p.ts);  // the flow goes on
  } else {
    seen = p.ts;
    count_flow(g, +1);
    if (p.ts - first <= timeout) head.push_back({key, p.ts, g});
  }
}

void Intensity::merge(const Intensity& o, int64_t timeout, uint32_t cap, const CountMap* agm_dports,
                      const CountMap* later_agm_dports) {
  if (o.packets == 0) return;
  // Ports: unless both parts keep them in agm's maps (merged there), this
  // part takes its own counts and adds the later part's, wherever they are.
  if (!(dport_in_agm && o.dport_in_agm && agm_dports != nullptr)) {
    own_dports(agm_dports, cap);
    dport.merge(o.dports(later_agm_dports), cap);
  }
  if (packets == 0) first = last = o.first;  // then everything below applies as is
  // A flow the later part started near its beginning may be the
  // continuation of one still live at the end of this part.
  std::vector<Head> kept;
  auto continues = [&](const Head& h) {
    const int64_t* seen = live.find(h.key);
    return seen != nullptr && h.start - *seen <= timeout;
  };
  for (const Head& h : o.head) {
    if (!continues(h) && h.start - first <= timeout) kept.push_back(h);
  }
  flows += o.flows;
  for (int i = 0; i < kFlagGroups; ++i) flag_packets[i] += o.flag_packets[i], flag_flows[i] += o.flag_flows[i];
  for (int i = 0; i < kProtoGroups; ++i) proto_packets[i] += o.proto_packets[i], proto_flows[i] += o.proto_flows[i];
  for (int i = 0; i < kServiceGroups; ++i)
    service_packets[i] += o.service_packets[i], service_flows[i] += o.service_flows[i];
  for (const Head& h : o.head) {
    if (continues(h)) count_flow(h.groups, -1);
  }
  packets += o.packets;
  bytes += o.bytes;
  dst.merge(o.dst, cap);
  dst24.merge(o.dst24, cap);
  head.insert(head.end(), kept.begin(), kept.end());
  first = std::min(first, o.first);
  last = std::max(last, o.last);
  o.live.for_each([&](const FlowKey& key, int64_t t) {
    bool fresh = false;
    int64_t& seen = live.find_or_insert(key, t, last, horizon_of(timeout), fresh);
    seen = std::max(seen, t);
  });
}

void Intensity::adopt(Intensity&& o, int64_t timeout) {
  if (o.packets == 0) return;  // as merge(): nothing to take
  // merge() into an empty state keeps the heads within one timeout of o's
  // first packet: the same here.
  *this = std::move(o);
  std::erase_if(head, [&](const Head& h) { return h.start - first > timeout; });
}

namespace {

void columns(Builder& b, const TableInput& in, Range range) {
  const std::vector<RowRef>& rows = in.rows;
  auto packets = b.column("int_packets", ColumnKind::kCount);
  auto bytes = b.column("int_bytes", ColumnKind::kCount);
  auto flows = b.column("int_flows", ColumnKind::kCount);
  std::vector<Col> fp, ff, pp, pf, sp, sf;
  for (auto* name : kFlagGroupNames)
    fp.push_back(b.column(std::string("int_") + name + "_packets", ColumnKind::kCount));
  for (auto* name : kFlagGroupNames) ff.push_back(b.column(std::string("int_") + name + "_flows", ColumnKind::kCount));
  for (auto* name : kProtoGroupNames)
    pp.push_back(b.column(std::string("int_") + name + "_packets", ColumnKind::kCount));
  for (auto* name : kProtoGroupNames) pf.push_back(b.column(std::string("int_") + name + "_flows", ColumnKind::kCount));
  for (auto* name : kServiceGroupNames)
    sp.push_back(b.column(std::string("int_svc_") + name + "_packets", ColumnKind::kCount));
  for (auto* name : kServiceGroupNames)
    sf.push_back(b.column(std::string("int_svc_") + name + "_flows", ColumnKind::kCount));
  auto dsts = b.column("int_dst_distinct", ColumnKind::kCount);
  auto ports = b.column("int_dst_port_distinct", ColumnKind::kCount);
  auto nets = b.column("int_dst24_distinct", ColumnKind::kCount);
  for (size_t r = range.begin; r < range.end; ++r) {
    const Intensity& t = *rows[r].state.intensity;
    packets[r] = static_cast<double>(t.packets);
    bytes[r] = static_cast<double>(t.bytes);
    flows[r] = static_cast<double>(t.flows);
    for (int i = 0; i < kFlagGroups; ++i) {
      fp[i][r] = static_cast<double>(t.flag_packets[i]);
      ff[i][r] = static_cast<double>(t.flag_flows[i]);
    }
    for (int i = 0; i < kProtoGroups; ++i) {
      pp[i][r] = static_cast<double>(t.proto_packets[i]);
      pf[i][r] = static_cast<double>(t.proto_flows[i]);
    }
    for (int i = 0; i < kServiceGroups; ++i) {
      sp[i][r] = static_cast<double>(t.service_packets[i]);
      sf[i][r] = static_cast<double>(t.service_flows[i]);
    }
    const AgmCounts* agm = rows[r].state.all;
    dsts[r] = static_cast<double>((agm ? agm->fields[kDstIp] : t.dst).distinct());
    ports[r] = static_cast<double>(t.dports(agm ? &agm->fields[kDstPort] : nullptr).distinct());
    nets[r] = static_cast<double>(t.dst24.distinct());
  }
}

}  // namespace

extern const FamilyDef kIntensityFamily{Family::kIntensity, "intensity", kStateIntensity, false, false, columns};

}  // namespace darklens::features
