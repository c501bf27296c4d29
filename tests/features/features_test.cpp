// Feature families on a tiny capture whose every value is worked out by
// hand in the comments, plus options parsing and selection.
#include "darklens/features/features.hpp"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "../../src/features/family.hpp"
#include "../../src/features/family_intensity.hpp"
#include "darklens/error.hpp"
#include "darklens/synth/pcap_writer.hpp"
#include "support/capture_bytes.hpp"
#include "support/error_of.hpp"
#include "support/temp_dir.hpp"

using namespace darklens;
using features::Family;

namespace {

constexpr int64_t kDay = 1'619'827'200'000'000'000LL;  // 2021-05-01T00:00:00Z
constexpr int64_t kSec = 1'000'000'000LL;

Packet tcp_syn(int64_t t, uint32_t dst, uint16_t sport, uint16_t dport, uint32_t seq, uint16_t win = 512) {
  Packet p;
  p.ts_ns_ = t;
  p.src_ = IpAddr::v4(0x01010101);
  p.dst_ = IpAddr::v4(dst);
  p.ip_version_ = 4;
  p.proto_ = ip_proto::kTcp;
  p.ttl_ = 50;
  p.ip_id_ = 7;
  p.ip_len_ = 40;
  p.sport_ = sport;
  p.dport_ = dport;
  p.tcp_seq_ = seq;
  p.tcp_flags_ = tcp_flag::kSyn;
  p.tcp_win_ = win;
  p.flags_ = Packet::kHasTransport;
  return p;
}

// Source 1.1.1.1, all in the window of 2021-05-01:
//   00:10:00 SYN  -> .1:23   sport 1000, seq == dst (Mirai)
//   00:10:10 SYN  -> .2:23   sport 1000, seq == dst (Mirai), window 1024
//   01:00:00 SYN  -> .1:2323 sport 1001
//   03:00:00 UDP  -> .3:53   sport 5000, IP length 28
// Source 2.2.2.2: one UDP packet on the next day.
std::vector<Packet> tiny() {
  const uint32_t net = 0xC6336400;  // 198.51.100.0
  std::vector<Packet> v;
  v.push_back(tcp_syn(kDay + 600 * kSec, net + 1, 1000, 23, net + 1));
  v.push_back(tcp_syn(kDay + 610 * kSec, net + 2, 1000, 23, net + 2, 1024));
  v.push_back(tcp_syn(kDay + 3600 * kSec, net + 1, 1001, 2323, 12345));
  Packet u = tcp_syn(kDay + 10800 * kSec, net + 3, 5000, 53, 0);
  u.proto_ = ip_proto::kUdp;
  u.tcp_flags_ = 0;
  u.tcp_seq_ = 0;
  u.tcp_win_ = 0;
  u.ip_len_ = 28;
  v.push_back(u);
  Packet other = u;
  other.src_ = IpAddr::v4(0x02020202);
  other.ts_ns_ = kDay + 86400 * kSec + 5 * kSec;
  v.push_back(other);
  return v;
}

features::FeatureTable table_of(const std::vector<Packet>& packets, features::FeatureOptions o) {
  features::Aggregator agg(std::move(o));
  for (const auto& p : packets) agg.add(p);
  return agg.table();
}

double cell(const features::FeatureTable& t, size_t row, const char* col) { return t.at(row, t.column(col)); }

}  // namespace

TEST(Features, AgmByHand) {
  features::FeatureOptions o;
  o.families_ = {Family::kAgm};
  auto t = table_of(tiny(), o);
  ASSERT_EQ(t.rows(), 2u);
  ASSERT_EQ(t.columns_.size(), 22u);
  EXPECT_EQ(t.source_[0].to_string(), "1.1.1.1");
  EXPECT_EQ(t.window_start_ns_[0], kDay);
  EXPECT_EQ(t.window_start_ns_[1], kDay + 86400 * kSec);
  EXPECT_EQ(cell(t, 0, "agm_packets"), 4);
  EXPECT_EQ(cell(t, 0, "agm_dst_ip_distinct"), 3);
  EXPECT_EQ(cell(t, 0, "agm_dst_ip_mode"), 0xC6336401);  // .1 twice
  EXPECT_EQ(cell(t, 0, "agm_dst_ip_mode_packets"), 2);
  EXPECT_EQ(cell(t, 0, "agm_src_port_distinct"), 3);
  EXPECT_EQ(cell(t, 0, "agm_src_port_mode"), 1000);
  EXPECT_EQ(cell(t, 0, "agm_dst_port_distinct"), 3);
  EXPECT_EQ(cell(t, 0, "agm_dst_port_mode"), 23);
  EXPECT_EQ(cell(t, 0, "agm_dst_port_mode_packets"), 2);
  EXPECT_EQ(cell(t, 0, "agm_proto_distinct"), 2);
  EXPECT_EQ(cell(t, 0, "agm_proto_mode"), 6);
  EXPECT_EQ(cell(t, 0, "agm_proto_mode_packets"), 3);
  EXPECT_EQ(cell(t, 0, "agm_ttl_distinct"), 1);
  EXPECT_EQ(cell(t, 0, "agm_ttl_mode_packets"), 4);
  EXPECT_EQ(cell(t, 0, "agm_tcp_flags_distinct"), 2);  // SYN, and 0 for UDP
  EXPECT_EQ(cell(t, 0, "agm_tcp_flags_mode"), 2);
  EXPECT_EQ(cell(t, 0, "agm_size_distinct"), 2);
  EXPECT_EQ(cell(t, 0, "agm_size_mode"), 40);
  EXPECT_EQ(cell(t, 0, "agm_size_mode_packets"), 3);
  EXPECT_EQ(cell(t, 1, "agm_packets"), 1);
}

TEST(Features, ModeTiesGoToTheSmallestValue) {
  auto v = tiny();
  v.resize(3);  // ports 23, 23, 2323; add one more 2323 -> tie 2:2
  v.push_back(tcp_syn(kDay + 4000 * kSec, 0xC6336409, 1002, 2323, 1));
  features::FeatureOptions o;
  auto t = table_of(v, o);
  EXPECT_EQ(cell(t, 0, "agm_dst_port_mode"), 23);
  EXPECT_EQ(cell(t, 0, "agm_dst_port_mode_packets"), 2);
}

TEST(Features, AgmNumOverTcpByHand) {
  features::FeatureOptions o;
  o.families_ = {Family::kAgmNum};
  auto t = table_of(tiny(), o);
  ASSERT_EQ(t.columns_.size(), 29u);
  // TCP only: 3 packets, dst {.1 x2, .2}, sport {1000 x2, 1001}, dport {23 x2, 2323}.
  EXPECT_EQ(cell(t, 0, "num_packets"), 3);
  EXPECT_EQ(cell(t, 0, "num_dst_ip_distinct"), 2);
  EXPECT_EQ(cell(t, 0, "num_dst_ip_mode_packets"), 2);
  EXPECT_EQ(cell(t, 0, "num_src_port_distinct"), 2);
  EXPECT_EQ(cell(t, 0, "num_dst_port_mode_packets"), 2);
  // The window's TCP ports by packets: 23 (2), 2323 (1): mode 23 is top1.
  ASSERT_EQ(t.top_ports_.size(), 1u);  // the second window has no TCP
  EXPECT_EQ(t.top_ports_[0].second, (std::vector<uint16_t>{23, 2323}));
  EXPECT_EQ(cell(t, 0, "num_dst_port_top1"), 1);
  EXPECT_EQ(cell(t, 0, "num_dst_port_top2"), 0);
  EXPECT_EQ(cell(t, 0, "num_tcp_flags_is_syn"), 1);
  EXPECT_EQ(cell(t, 0, "num_tcp_flags_is_rst_ack"), 0);
  EXPECT_EQ(cell(t, 0, "num_size_mode"), 40);
  EXPECT_EQ(cell(t, 1, "num_packets"), 0);  // UDP only
}

TEST(Features, TemporalByHand) {
  features::FeatureOptions o;
  o.families_ = {Family::kTemporal};
  auto t = table_of(tiny(), o);
  ASSERT_EQ(t.columns_.size(), 30u);
  EXPECT_EQ(cell(t, 0, "tmp_hour_00"), 2);
  EXPECT_EQ(cell(t, 0, "tmp_hour_01"), 1);
  EXPECT_EQ(cell(t, 0, "tmp_hour_03"), 1);
  EXPECT_EQ(cell(t, 0, "tmp_active_hours"), 3);
  EXPECT_EQ(cell(t, 0, "tmp_first_seen_s"), 600);
  EXPECT_EQ(cell(t, 0, "tmp_last_seen_s"), 10800);
  // Gaps 10, 2990, 7200 s: mean 3400, sd = sqrt((10^2+2990^2+7200^2)/3 - 3400^2).
  const double mean = 3400, sd = std::sqrt((100.0 + 2990.0 * 2990 + 7200.0 * 7200) / 3 - mean * mean);
  EXPECT_NEAR(cell(t, 0, "tmp_iat_mean_s"), mean, 1e-9);
  EXPECT_NEAR(cell(t, 0, "tmp_iat_cv"), sd / mean, 1e-12);
  EXPECT_NEAR(cell(t, 0, "tmp_burstiness"), (sd - mean) / (sd + mean), 1e-12);
  EXPECT_EQ(cell(t, 1, "tmp_iat_mean_s"), 0);  // a single packet has no gap
  EXPECT_EQ(cell(t, 1, "tmp_first_seen_s"), 5);
}

TEST(Features, FingerprintsByHand) {
  features::FeatureOptions o;
  o.families_ = {Family::kFingerprints};
  auto v = tiny();
  v[2].ip_id_ = 54321;                                      // one ZMap-like packet of 4
  v[2].tcp_opts_.count_ = 1, v[2].tcp_opts_.kinds_[0] = 2;  // MSS 1460
  v[2].tcp_mss_ = 1460, v[2].flags_ |= Packet::kHasMss;
  auto t = table_of(v, o);
  EXPECT_NEAR(cell(t, 0, "fp_mirai"), 2.0 / 3, 1e-15);     // 2 of 3 SYNs
  EXPECT_NEAR(cell(t, 0, "fp_zmap"), 1.0 / 4, 1e-15);      // of all packets
  EXPECT_NEAR(cell(t, 0, "fp_win_1024"), 1.0 / 3, 1e-15);  // of TCP packets
  EXPECT_NEAR(cell(t, 0, "fp_no_tcp_options"), 2.0 / 3, 1e-15);
  EXPECT_EQ(cell(t, 0, "fp_ttl_ge_200"), 0);
  EXPECT_EQ(cell(t, 0, "fp_masscan"), 0);
  EXPECT_EQ(cell(t, 0, "fp_syn_mss_mode"), 0);  // 0 (no MSS) twice
  EXPECT_EQ(cell(t, 0, "fp_syn_win_mode"), 512);
  // Masscan: IP ID = (dst ^ dport ^ seq) & 0xffff.
  v[0].ip_id_ = static_cast<uint16_t>((v[0].dst_.v4_value() ^ v[0].dport_ ^ v[0].tcp_seq_) & 0xffff);
  t = table_of(v, o);
  EXPECT_NEAR(cell(t, 0, "fp_masscan"), 1.0 / 3, 1e-15);
}

TEST(Features, IntensityByHand) {
  features::FeatureOptions o;
  o.families_ = {Family::kIntensity};
  auto v = tiny();
  // A second packet of the first flow (.1:23 from 1000) 30 s later: same
  // flow; another 61 s after that: a new flow (idle timeout 60 s).
  v.insert(v.begin() + 2, tcp_syn(kDay + 640 * kSec, 0xC6336401, 1000, 23, 1));
  v.insert(v.begin() + 3, tcp_syn(kDay + 701 * kSec, 0xC6336401, 1000, 23, 1));
  auto t = table_of(v, o);
  ASSERT_EQ(t.columns_.size(), 56u);
  // Packets: SYN .1:23 x3 (t 600, 640, 701), SYN .2:23, SYN .1:2323, UDP .3:53.
  EXPECT_EQ(cell(t, 0, "int_packets"), 6);
  EXPECT_EQ(cell(t, 0, "int_bytes"), 5 * 40 + 28);
  // Flows: .1:23 (600-640), .1:23 again (701), .2:23, .1:2323, .3:53/udp.
  EXPECT_EQ(cell(t, 0, "int_flows"), 5);
  EXPECT_EQ(cell(t, 0, "int_syn_packets"), 5);
  EXPECT_EQ(cell(t, 0, "int_syn_flows"), 4);
  EXPECT_EQ(cell(t, 0, "int_tcp_packets"), 5);
  EXPECT_EQ(cell(t, 0, "int_udp_flows"), 1);
  EXPECT_EQ(cell(t, 0, "int_svc_telnet_packets"), 5);  // 23 and 2323
  EXPECT_EQ(cell(t, 0, "int_svc_telnet_flows"), 4);
  EXPECT_EQ(cell(t, 0, "int_svc_dns_packets"), 1);
  EXPECT_EQ(cell(t, 0, "int_svc_ssh_packets"), 0);
  EXPECT_EQ(cell(t, 0, "int_dst_distinct"), 3);
  EXPECT_EQ(cell(t, 0, "int_dst_port_distinct"), 3);
  EXPECT_EQ(cell(t, 0, "int_dst24_distinct"), 1);
  o.flow_timeout_ns_ = 100 * kSec;  // now 640 -> 701 continues the flow
  EXPECT_EQ(cell(table_of(v, o), 0, "int_flows"), 4);
}

TEST(Features, AgmExtVocabularyFromModesAndFrozen) {
  // Sources 1..100: source k sends to port 23 when k <= 60, 22 when
  // k <= 99, and source 100 to 443. With a 1% threshold all three ports
  // are the mode of >= 1 source; with 2% only 22 and 23.
  std::vector<Packet> v;
  for (uint32_t k = 1; k <= 100; ++k) {
    Packet p = tcp_syn(kDay, 0xC6336401, 1000, k <= 60 ? 23 : k <= 99 ? 22 : 443, 0);
    p.src_ = IpAddr::v4(0x0a000000 + k);
    v.push_back(p);
  }
  features::FeatureOptions o;
  o.families_ = {Family::kAgmExt};
  auto t = table_of(v, o);
  EXPECT_EQ(t.agm_ext_vocab_[2], (std::vector<uint32_t>{22, 23, 443}));
  EXPECT_EQ(t.columns_.size(), 15u + 3 + 1 + 1 + 1 + 1 + 1 + 1);  // counts + dummies of each field
  EXPECT_EQ(cell(t, 0, "ext_dst_port_mode_is_23"), 1);
  EXPECT_EQ(cell(t, 0, "ext_dst_port_mode_is_22"), 0);
  EXPECT_EQ(cell(t, 99, "ext_dst_port_mode_is_443"), 1);
  o.agm_ext_min_share_ = 0.02;
  EXPECT_EQ(table_of(v, o).agm_ext_vocab_[2], (std::vector<uint32_t>{22, 23}));
  // Frozen: the earlier vocabulary, whatever today's modes are.
  features::AgmExtVocab frozen;
  frozen[2] = {80};
  o.agm_ext_vocab_ = frozen;
  auto f = table_of(v, o);
  EXPECT_EQ(f.columns_.size(), 16u);
  EXPECT_EQ(cell(f, 0, "ext_dst_port_mode_is_80"), 0);
}

TEST(Features, ValidatedTcpByHand) {
  features::FeatureOptions o;
  o.families_ = {Family::kFingerprints};
  o.darknet_ = {*Cidr::parse("198.51.100.0/24")};
  auto with = [&](std::vector<Packet> v) { return table_of(v, o); };
  // 1.1.1.1:1000 -> .1:23 SYN; the responder's SYN-ACK back; the ACK.
  Packet syn = tcp_syn(kDay, 0xC6336401, 1000, 23, 100);
  Packet synack = syn;
  synack.src_ = syn.dst_, synack.dst_ = syn.src_;
  synack.sport_ = 23, synack.dport_ = 1000;
  synack.tcp_flags_ = tcp_flag::kSyn | tcp_flag::kAck;
  synack.ts_ns_ = kDay + kSec / 10;
  Packet ack = syn;
  ack.tcp_flags_ = tcp_flag::kAck;
  ack.ts_ns_ = kDay + 2 * kSec / 10;
  auto t = with({syn, synack, ack});
  ASSERT_EQ(t.rows(), 1u);  // the responder is never a source
  EXPECT_EQ(cell(t, 0, "fp_validated"), 1);
  features::Aggregator agg(o);
  for (const auto& p : {syn, synack, ack}) agg.add(p);
  EXPECT_EQ(agg.counters().responder_, 1u);
  EXPECT_EQ(agg.table().rows(), 1u);
  EXPECT_EQ(agg.counters().validated_rows_, 1u);

  Packet rst = ack;
  rst.tcp_flags_ = tcp_flag::kRst;
  EXPECT_EQ(cell(with({syn, synack, rst}), 0, "fp_validated"), 0);  // a stateless scanner
  Packet late = ack;
  late.ts_ns_ = kDay + 61 * kSec;
  EXPECT_EQ(cell(with({syn, synack, late}), 0, "fp_validated"), 0);  // after the timeout
  Packet other_port = ack;
  other_port.sport_ = 1001;
  EXPECT_EQ(cell(with({syn, synack, other_port}), 0, "fp_validated"), 0);
  EXPECT_EQ(cell(with({syn, ack}), 0, "fp_validated"), 0);  // no SYN-ACK seen

  o.validated_only_ = true;
  EXPECT_EQ(table_of({syn, synack, rst}, o).rows(), 0u);
  EXPECT_EQ(table_of({syn, synack, ack}, o).rows(), 1u);
  o.darknet_.clear();
  try {
    features::Aggregator bad(o);
    FAIL();
  } catch (const ParamError& e) {
    EXPECT_EQ(std::string(e.what()),
              "validated TCP needs the darknet prefix (--prefix): the responder's SYN-ACKs come from it");
  }
}

// Every port and every flag byte against the rules of docs/features.md,
// written out again here (the code keeps them as lookup tables).
TEST(Features, ServiceAndFlagGroupsOfEveryValue) {
  const std::map<uint16_t, features::ServiceGroup> listed = {
      {23, features::kSvTelnet},  {2323, features::kSvTelnet}, {22, features::kSvSsh},    {2222, features::kSvSsh},
      {80, features::kSvHttp},    {81, features::kSvHttp},     {8000, features::kSvHttp}, {8008, features::kSvHttp},
      {8080, features::kSvHttp},  {8081, features::kSvHttp},   {8888, features::kSvHttp}, {443, features::kSvHttps},
      {8443, features::kSvHttps}, {139, features::kSvSmb},     {445, features::kSvSmb},   {1433, features::kSvSql},
      {1434, features::kSvSql},   {1521, features::kSvSql},    {3306, features::kSvSql},  {5432, features::kSvSql},
      {3389, features::kSvRdp},   {53, features::kSvDns},      {123, features::kSvNtp},   {5060, features::kSvSip},
      {5061, features::kSvSip}};
  for (uint32_t port = 0; port < 65536; ++port) {
    const auto it = listed.find(static_cast<uint16_t>(port));
    const auto want = it != listed.end() ? it->second
                      : port < 1024      ? features::kSvOtherSystem
                      : port < 49152     ? features::kSvOtherUser
                                         : features::kSvEphemeral;
    ASSERT_EQ(features::service_of(static_cast<uint16_t>(port)), want) << "port " << port;
  }
  const std::map<int, features::FlagGroup> combos = {
      {0x02, features::kFlSyn}, {0x12, features::kFlSynAck}, {0x10, features::kFlAck},   {0x18, features::kFlPshAck},
      {0x04, features::kFlRst}, {0x14, features::kFlRstAck}, {0x11, features::kFlFinAck}};
  for (int flags = 0; flags < 256; ++flags) {
    features::Facts f;
    f.proto = ip_proto::kTcp;
    f.bits = features::Facts::kTransport;
    f.tcp_flags = static_cast<uint8_t>(flags);
    f.dport = 22;
    const auto it = combos.find(flags & 0x3f);  // ECN bits ignored
    const auto g = features::Intensity::groups_of(f);
    EXPECT_EQ(g.flag, it != combos.end() ? it->second : features::kFlOtherTcp) << "flags " << flags;
    EXPECT_EQ(g.service, features::kSvSsh);
    f.bits = 0;  // no TCP header: no flag group, no service
    EXPECT_EQ(features::Intensity::groups_of(f).flag, features::Intensity::kNoGroup);
    EXPECT_EQ(features::Intensity::groups_of(f).service, features::Intensity::kNoGroup);
  }
}

TEST(Features, ServiceGroups) {
  using features::service_of;
  EXPECT_EQ(service_of(2323), features::kSvTelnet);
  EXPECT_EQ(service_of(8080), features::kSvHttp);
  EXPECT_EQ(service_of(1433), features::kSvSql);
  EXPECT_EQ(service_of(5061), features::kSvSip);
  EXPECT_EQ(service_of(1023), features::kSvOtherSystem);
  EXPECT_EQ(service_of(1024), features::kSvOtherUser);
  EXPECT_EQ(service_of(49152), features::kSvEphemeral);
}

TEST(Features, PrefixClassAndMinPackets) {
  features::FeatureOptions o;
  o.darknet_ = {*Cidr::parse("198.51.100.0/30")};  // .0-.3: all of tiny()
  auto v = tiny();
  v[0].dst_ = IpAddr::v4(0x0a000001);  // 10.0.0.1: outside
  features::Aggregator agg(o);
  for (const auto& p : v) agg.add(p);
  EXPECT_EQ(agg.counters().outside_prefix_, 1u);
  EXPECT_EQ(agg.counters().used_, 4u);
  o.classes_ = filter::parse_classes("backscatter");
  features::Aggregator none(o);
  for (const auto& p : v) none.add(p);
  EXPECT_EQ(none.table().rows(), 0u);
  EXPECT_EQ(none.counters().class_filtered_, 4u);
  o.classes_ = 0x7;
  o.min_packets_ = 2;
  EXPECT_EQ(table_of(v, o).rows(), 1u);
}

TEST(Features, WindowsAlignToUtcMidnight) {
  auto w = features::parse_window("6h");
  EXPECT_EQ(w.length_ns_, 6 * 3600 * kSec);
  EXPECT_EQ(w.start_of(kDay + 7 * 3600 * kSec), kDay + 6 * 3600 * kSec);
  EXPECT_EQ(w.start_of(-1), -6 * 3600 * kSec);  // before the epoch: floor
  EXPECT_EQ(features::parse_window("7d").length_ns_, 7 * 86400 * kSec);
  EXPECT_EQ(features::parse_window("30m").length_ns_, 1800 * kSec);
  features::FeatureOptions o;
  o.window_ = features::parse_window("1h");
  auto t = table_of(tiny(), o);
  EXPECT_EQ(t.rows(), 4u);  // 1.1.1.1 in hours 0, 1, 3; 2.2.2.2 in one hour
}

// Rows come by window, then source (IPv4 before IPv6, as IpAddr orders
// them), whatever order the packets came in: checked against a map of
// (window, source) -> packets, on IPv4 sources (radix-sorted keys) and on a
// mix with IPv6 ones, over windows before and after the epoch.
TEST(Features, RowsComeByWindowThenSource) {
  for (bool with_v6 : {false, true}) {
    std::mt19937_64 rng(with_v6 ? 7 : 3);
    features::FeatureOptions o;
    o.window_ = features::parse_window("1h");
    std::map<std::pair<int64_t, IpAddr>, uint64_t> oracle;
    std::vector<Packet> packets;
    for (int i = 0; i < 5000; ++i) {
      Packet p = tcp_syn(0, 0xC6336401, 1000, 23, 1);
      // Addresses from the whole space (high bits too), a few repeated.
      const uint32_t a = i % 7 == 0 ? 0x0a000001u + (rng() % 20) : static_cast<uint32_t>(rng());
      if (with_v6 && rng() % 3 == 0) {
        uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8};
        for (int k = 12; k < 16; ++k) b[k] = static_cast<uint8_t>(a >> (8 * (15 - k)));
        p.src_ = IpAddr::v6(b);
      } else {
        p.src_ = IpAddr::v4(a);
      }
      // 40 hours around the epoch and around 2021-05-01.
      const int64_t base = rng() % 2 ? kDay : 0;
      p.ts_ns_ = base + (static_cast<int64_t>(rng() % (40 * 3600)) - 20 * 3600) * kSec;
      packets.push_back(p);
      ++oracle[{o.window_.start_of(p.ts_ns_), p.src_}];
    }
    const auto t = table_of(packets, o);
    ASSERT_EQ(t.rows(), oracle.size());
    size_t r = 0;
    for (const auto& [key, n] : oracle) {
      ASSERT_EQ(t.window_start_ns_[r], key.first) << "row " << r;
      ASSERT_EQ(t.source_[r], key.second) << "row " << r;
      ASSERT_EQ(cell(t, r, "agm_packets"), static_cast<double>(n)) << "row " << r;
      ++r;
    }
  }
}

TEST(Features, EveryFamilyIsRegisteredOnce) {
  // The registry is what --families, stored options and the table builder
  // read: every Family value once, in order, its name parsing back to it,
  // reading some state, and writing columns under its own prefix.
  const auto& all = features::registered_families();
  ASSERT_EQ(all.size(), 6u);
  const std::map<std::string, std::string> prefix = {{"agm", "agm_"},         {"agm-ext", "ext_"},
                                                     {"agm-num", "num_"},     {"temporal", "tmp_"},
                                                     {"fingerprints", "fp_"}, {"intensity", "int_"}};
  for (size_t i = 0; i < all.size(); ++i) {
    const auto& d = *all[i];
    EXPECT_EQ(static_cast<size_t>(d.id), i) << d.name;
    EXPECT_EQ(features::family_name(d.id), d.name);
    EXPECT_EQ(features::parse_families(d.name), std::vector<features::Family>{d.id});
    EXPECT_NE(d.states, 0) << d.name;
    features::FeatureOptions o;
    o.families_ = {d.id};
    const auto t = table_of(tiny(), o);
    ASSERT_FALSE(t.columns_.empty()) << d.name;
    for (const auto& c : t.columns_) EXPECT_EQ(c.rfind(prefix.at(d.name), 0), 0u) << d.name << ": " << c;
  }
}

TEST(Features, VocabularyFilesAreBounded) {
  test::TempDir dir;
  nlohmann::json j;
  for (const char* f : features::kAgmFieldNames) j["agm_ext_vocab"][f] = nlohmann::json::array({1, 2});
  const auto ok = dir.write("ok.meta.json", j.dump());
  EXPECT_EQ(features::read_vocab(ok)[2], (std::vector<uint32_t>{1, 2}));
  std::vector<uint32_t> many(features::kMaxVocab + 1);
  for (size_t i = 0; i < many.size(); ++i) many[i] = static_cast<uint32_t>(i);
  j["agm_ext_vocab"]["dst_port"] = many;
  const auto big = dir.write("big.meta.json", j.dump());
  EXPECT_EQ(test::error_of<FormatError>([&] { features::read_vocab(big); }),
            big + ": agm_ext_vocab.dst_port holds 4097 values; at most 4096 (each is a column of every row)");
  j["agm_ext_vocab"]["ttl"] = {-1};
  j["agm_ext_vocab"]["dst_port"] = {1};
  const auto neg = dir.write("neg.meta.json", j.dump());
  EXPECT_EQ(test::error_of<FormatError>([&] { features::read_vocab(neg); }),
            neg + ": agm_ext_vocab.ttl holds a value that is not a 32-bit unsigned number");
  EXPECT_EQ(test::error_of<FormatError>([&] { features::read_vocab(dir.write("x.json", std::string("{"))); }),
            dir.file("x.json") + ": not JSON");
}

TEST(Features, OptionErrors) {
  auto msg = [](auto f) { return test::error_of<ParamError>(f); };
  EXPECT_EQ(msg([] { features::parse_families("agm,pca"); }),
            "unknown feature family 'pca' (known: agm, agm-ext, agm-num, temporal, fingerprints, intensity)");
  EXPECT_EQ(msg([] { features::parse_families(","); }), "no feature family given");
  EXPECT_EQ(msg([] { features::parse_window("24x"); }),
            "window '24x': expected a length such as 30m, 1h, 6h, 24h or 7d (1s to 366d)");
  EXPECT_EQ(msg([] { features::parse_window("400d"); }),
            "window '400d': expected a length such as 30m, 1h, 6h, 24h or 7d (1s to 366d)");
  EXPECT_EQ(msg([] { features::write_table({}, "out.parquet"); }),
            "out.parquet: unknown output format; use a .csv, .jsonl or .npy file name");
  features::FeatureTable t;
  EXPECT_EQ(msg([&] { t.column("nope"); }), "feature table has no column 'nope'");
  EXPECT_EQ(features::parse_families("temporal,agm,temporal"), (std::vector<Family>{Family::kTemporal, Family::kAgm}));
}

TEST(Features, CidrParsing) {
  auto c = Cidr::parse("198.51.100.77/24");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->to_string(), "198.51.100.0/24");
  EXPECT_TRUE(c->contains(*IpAddr::parse("198.51.100.255")));
  EXPECT_FALSE(c->contains(*IpAddr::parse("198.51.101.0")));
  EXPECT_FALSE(c->contains(*IpAddr::parse("2001:db8::1")));
  auto v6 = Cidr::parse("2001:db8::/32");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains(*IpAddr::parse("2001:db8:ffff::1")));
  EXPECT_FALSE(v6->contains(*IpAddr::parse("2001:db9::1")));
  EXPECT_TRUE(Cidr::parse("0.0.0.0/0")->contains(*IpAddr::parse("8.8.8.8")));
  EXPECT_FALSE(Cidr::parse("0.0.0.0/0")->contains(*IpAddr::parse("::1")));
  EXPECT_TRUE(Cidr::parse("10.0.0.1")->contains(*IpAddr::parse("10.0.0.1")));
  EXPECT_FALSE(Cidr::parse("10.0.0.0/33"));
  EXPECT_FALSE(Cidr::parse("nonsense/8"));
}

TEST(Features, OptionsJsonRoundTrip) {
  features::FeatureOptions o;
  o.families_ = features::parse_families("agm-ext,intensity");
  o.window_ = features::parse_window("6h");
  o.darknet_ = {*Cidr::parse("198.51.100.0/24"), *Cidr::parse("2001:db8::/32")};
  o.classes_ = filter::parse_classes("scan");
  o.bpf_ = "tcp";
  o.min_packets_ = 3;
  o.flow_timeout_ns_ = 5 * kSec;
  features::AgmExtVocab v;
  v[2] = {23, 2323};
  o.agm_ext_vocab_ = v;
  const auto j = features::options_to_json(o);
  const auto back = features::options_from_json(j);
  EXPECT_EQ(features::options_to_json(back), j);
  EXPECT_EQ(back.darknet_.size(), 2u);
  EXPECT_EQ((*back.agm_ext_vocab_)[2], (std::vector<uint32_t>{23, 2323}));
  EXPECT_EQ(back.window_.length_ns_, 6 * 3600 * kSec);
  auto broken = j;
  broken.erase("min_packets");
  EXPECT_EQ(test::error_of<FormatError>([&] { features::options_from_json(broken); }).substr(0, 56),
            "feature options: 'min_packets' is missing or malformed (");
  broken = j;
  broken["prefix"] = {"not-a-prefix"};
  EXPECT_EQ(test::error_of<FormatError>([&] { features::options_from_json(broken); }),
            "feature options: prefix 'not-a-prefix' is not a prefix");
  broken = j;
  broken["window_ns"] = 0;
  EXPECT_EQ(test::error_of<FormatError>([&] { features::options_from_json(broken); }),
            "feature options: window_ns must be positive");
}

TEST(Features, ForEachUsedPacketSelectsAsTheAggregation) {
  // The same selection as the table: a packet outside the prefix and one of
  // an unselected class are skipped.
  test::TempDir dir;
  const std::string path = dir.file("c.pcap");
  {
    PcapWriter w(path, 1);  // Ethernet
    auto v = tiny();
    Packet outside = v[0];
    outside.dst_ = IpAddr::v4(0x0A000001);
    v.push_back(outside);
    for (const auto& p : v) {
      FrameSpec f;
      f.src = p.src_.v4_value();
      f.dst = p.dst_.v4_value();
      f.proto = p.proto_;
      f.sport = p.sport_;
      f.dport = p.dport_;
      f.seq = p.tcp_seq_;
      f.tcp_flags = p.tcp_flags_;
      w.write(p.ts_ns_, build_frame(f));
    }
    w.commit();
  }
  features::FeatureOptions o;
  o.darknet_ = {*Cidr::parse("198.51.100.0/24")};
  o.classes_ = filter::parse_classes("scan");
  size_t n = 0;
  filter::for_each_used_packet(o.selection(), {path}, [&](const Packet& p) {
    ++n;
    EXPECT_EQ(filter::select_packet(o.selection(), p), filter::Selected::kUsed);
  });
  EXPECT_EQ(n, 5u);
  Packet p = tiny()[0];
  EXPECT_EQ(filter::select_packet(o.selection(), p), filter::Selected::kUsed);
  p.dst_ = IpAddr::v4(0x0A000001);
  EXPECT_EQ(filter::select_packet(o.selection(), p), filter::Selected::kOutsidePrefix);
  p.src_ = IpAddr::v4(0xC6336405);
  EXPECT_EQ(filter::select_packet(o.selection(), p), filter::Selected::kResponder);
  p = tiny()[0];
  p.tcp_flags_ = tcp_flag::kRst;
  EXPECT_EQ(filter::select_packet(o.selection(), p), filter::Selected::kClassFiltered);
}

TEST(Features, CsvNumbersAreShortestRoundTrips) {
  // Every value is written as std::to_chars(double) writes it (the shortest
  // text that reads back the same), on both sides of the integer fast path.
  const std::vector<double> values = {3,    -0.0, 0,       99999,  -99999, 100000, -100000,
                                      0.25, 1e20, 1234567, 120000, -7,     1e-7};
  features::FeatureTable t;
  t.source_ = {*IpAddr::parse("192.0.2.1"), *IpAddr::parse("2001:db8::1")};
  t.window_start_ns_ = {0, 86'400'000'000'000};
  for (size_t c = 0; c < values.size(); ++c) {
    t.columns_.push_back(std::to_string(c));
    t.columns_.back().insert(0, 1, 'c');
    t.values_.push_back(values[c]);
    t.values_.push_back(values[c] == 0 ? 1.5 : -values[c]);
  }
  test::TempDir dir;
  features::write_table(t, dir.file("t.csv"));
  std::ifstream in(dir.file("t.csv"));
  std::string header, row[2];
  std::getline(in, header);
  std::getline(in, row[0]);
  std::getline(in, row[1]);
  for (int r = 0; r < 2; ++r) {
    std::string want =
        t.source_[static_cast<size_t>(r)].to_string() + (r == 0 ? ",1970-01-01T00:00:00Z" : ",1970-01-02T00:00:00Z");
    for (size_t c = 0; c < values.size(); ++c) {
      char buf[32];
      want += ',';
      want.append(buf, std::to_chars(buf, buf + sizeof buf, t.at(static_cast<size_t>(r), c)).ptr);
    }
    EXPECT_EQ(row[r], want);
  }
  EXPECT_NE(row[0].find(",-0,0,99999,-99999,1e+05,-1e+05,0.25,1e+20,1234567,120000,-7,1e-07"), std::string::npos)
      << row[0];
}
