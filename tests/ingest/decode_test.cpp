// Decoders on hand-built frames: every link type, VLAN/QinQ, IPv4 options
// and fragments, IPv6 extension headers, TCP options, and every per-packet
// Weird reason. Expected values are read off the bytes written here.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "darklens/ingest/ingest.hpp"
#include "darklens/synth/pcap_writer.hpp"

using namespace darklens;
using ingest::Weird;

namespace {

FrameSpec syn() {
  FrameSpec s;
  s.src = 0xC0000201;  // 192.0.2.1
  s.dst = 0xC6336407;  // 198.51.100.7
  s.proto = 6;
  s.ttl = 51;
  s.ip_id = 54321;
  s.sport = 40000;
  s.dport = 23;
  s.seq = 0xC6336407;
  s.tcp_flags = 0x02;
  s.window = 1024;
  // MSS 1460, SACK-permitted, timestamps, NOP, window scale 7
  s.tcp_options = {2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 42, 0, 0, 0, 0, 1, 3, 3, 7};
  return s;
}

Weird decode(int linktype, const std::vector<uint8_t>& f, Packet& p) {
  p = Packet{};
  return ingest::decode_frame(linktype, f.data(), f.size(), p);
}

std::vector<uint8_t> strip_ethernet(std::vector<uint8_t> f) {
  f.erase(f.begin(), f.begin() + 14);
  return f;
}

// IPv6 header + given payload, next header `next`.
std::vector<uint8_t> ipv6(uint8_t next, const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> v = {
      0x60, 0, 0, 0, static_cast<uint8_t>(payload.size() >> 8), static_cast<uint8_t>(payload.size()), next, 57};
  for (int i = 0; i < 16; ++i) v.push_back(i == 0 ? 0x20 : i == 1 ? 0x01 : i == 15 ? 1 : 0);
  for (int i = 0; i < 16; ++i) v.push_back(i == 0 ? 0x20 : i == 1 ? 0x01 : i == 15 ? 2 : 0);
  v.insert(v.end(), payload.begin(), payload.end());
  return v;
}

std::vector<uint8_t> tcp_header(uint16_t dport, uint8_t flags) {
  return {0x9c,
          0x40,
          static_cast<uint8_t>(dport >> 8),
          static_cast<uint8_t>(dport),
          0,
          0,
          0,
          1,
          0,
          0,
          0,
          0,
          0x50,
          flags,
          0x04,
          0x00,
          0,
          0,
          0,
          0};
}

}  // namespace

TEST(Decode, EthernetIpv4TcpSynAllFields) {
  Packet p;
  auto f = build_frame(syn());
  ASSERT_EQ(decode(1, f, p), Weird::kNone);
  EXPECT_EQ(p.ip_version_, 4);
  EXPECT_EQ(p.src_.to_string(), "192.0.2.1");
  EXPECT_EQ(p.dst_.to_string(), "198.51.100.7");
  EXPECT_EQ(p.proto_, 6);
  EXPECT_EQ(p.ttl_, 51);
  EXPECT_EQ(p.ip_id_, 54321);
  EXPECT_EQ(p.ip_len_, 20 + 20 + 20);
  EXPECT_EQ(p.sport_, 40000);
  EXPECT_EQ(p.dport_, 23);
  EXPECT_EQ(p.tcp_seq_, 0xC6336407u);
  EXPECT_EQ(p.tcp_flags_, 0x02);
  EXPECT_EQ(p.tcp_win_, 1024);
  EXPECT_TRUE(p.has(Packet::kHasTransport));
  EXPECT_TRUE(p.has(Packet::kHasMss));
  EXPECT_EQ(p.tcp_mss_, 1460);
  EXPECT_TRUE(p.has(Packet::kHasSackPerm));
  EXPECT_TRUE(p.has(Packet::kHasTimestamp));
  EXPECT_EQ(p.tcp_tsval_, 42u);
  EXPECT_TRUE(p.has(Packet::kHasWscale));
  EXPECT_EQ(p.tcp_wscale_, 7);
  EXPECT_EQ(p.tcp_opts_.to_string(), "MSS,SACKP,TS,NOP,WS");
  EXPECT_FALSE(p.has(Packet::kBadTcpOptions));
}

TEST(Decode, EthernetPaddingIsNotTransportPayload) {
  FrameSpec s = syn();
  s.tcp_options.clear();
  auto f = build_frame(s);  // 54 bytes padded to 60
  ASSERT_EQ(f.size(), 60u);
  Packet p;
  ASSERT_EQ(decode(1, f, p), Weird::kNone);
  EXPECT_EQ(p.ip_len_, 40);
  EXPECT_EQ(p.tcp_opts_.count_, 0);
}

TEST(Decode, VlanAndQinQ) {
  FrameSpec s = syn();
  s.vlan = 100;
  auto f = build_frame(s);
  Packet p;
  ASSERT_EQ(decode(1, f, p), Weird::kNone);
  EXPECT_EQ(p.dport_, 23);
  // QinQ: insert an outer 802.1ad tag.
  std::vector<uint8_t> q(f.begin(), f.begin() + 12);
  q.insert(q.end(), {0x88, 0xa8, 0x00, 0x05});
  q.insert(q.end(), f.begin() + 12, f.end());
  ASSERT_EQ(decode(1, q, p), Weird::kNone);
  EXPECT_EQ(p.dport_, 23);
  EXPECT_EQ(p.src_.to_string(), "192.0.2.1");
}

TEST(Decode, TooManyVlanTagsAndTruncatedVlan) {
  std::vector<uint8_t> f(12, 0);
  for (int i = 0; i < 9; ++i) f.insert(f.end(), {0x81, 0x00, 0x00, 0x01});
  f.insert(f.end(), {0x81, 0x00});
  Packet p;
  EXPECT_EQ(decode(1, f, p), Weird::kTooManyVlanTags);
  std::vector<uint8_t> g(12, 0);
  g.insert(g.end(), {0x81, 0x00, 0x00});
  EXPECT_EQ(decode(1, g, p), Weird::kTruncatedVlan);
}

TEST(Decode, RawIpAliasesAndNullLoopback) {
  auto ip = strip_ethernet(build_frame(syn()));
  Packet p;
  for (int lt : {12, 14, 101, 228}) {
    ASSERT_EQ(decode(lt, ip, p), Weird::kNone) << "linktype " << lt;
    EXPECT_EQ(p.dport_, 23);
  }
  std::vector<uint8_t> null_le = {2, 0, 0, 0};
  null_le.insert(null_le.end(), ip.begin(), ip.end());
  ASSERT_EQ(decode(0, null_le, p), Weird::kNone);
  std::vector<uint8_t> loop_be = {0, 0, 0, 2};
  loop_be.insert(loop_be.end(), ip.begin(), ip.end());
  ASSERT_EQ(decode(108, loop_be, p), Weird::kNone);
  std::vector<uint8_t> unknown = {7, 0, 0, 0};
  unknown.insert(unknown.end(), ip.begin(), ip.end());
  EXPECT_EQ(decode(0, unknown, p), Weird::kUnknownNullFamily);
  EXPECT_EQ(decode(0, {2, 0}, p), Weird::kTruncatedNull);
}

TEST(Decode, LinuxCookedSllAndSll2) {
  auto ip = strip_ethernet(build_frame(syn()));
  std::vector<uint8_t> sll = {0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00};
  sll.insert(sll.end(), ip.begin(), ip.end());
  Packet p;
  ASSERT_EQ(decode(113, sll, p), Weird::kNone);
  EXPECT_EQ(p.dport_, 23);
  std::vector<uint8_t> sll2 = {0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0};
  sll2.insert(sll2.end(), ip.begin(), ip.end());
  ASSERT_EQ(decode(276, sll2, p), Weird::kNone);
  EXPECT_EQ(p.dport_, 23);
  EXPECT_EQ(decode(113, std::vector<uint8_t>(10, 0), p), Weird::kTruncatedSll);
  EXPECT_EQ(decode(276, std::vector<uint8_t>(19, 0), p), Weird::kTruncatedSll);
}

TEST(Decode, LinkLayerWeirds) {
  Packet p;
  EXPECT_EQ(decode(1, std::vector<uint8_t>(13, 0), p), Weird::kTruncatedEthernet);
  std::vector<uint8_t> arp(42, 0);
  arp[12] = 0x08, arp[13] = 0x06;
  EXPECT_EQ(decode(1, arp, p), Weird::kNonIp);
  EXPECT_EQ(decode(147, arp, p), Weird::kUnsupportedLinktype);
}

TEST(Decode, Ipv4Weirds) {
  auto ip = strip_ethernet(build_frame(syn()));
  Packet p;
  EXPECT_EQ(decode(101, {0x45, 0, 0}, p), Weird::kTruncatedIpv4Header);
  EXPECT_EQ(decode(101, {}, p), Weird::kTruncatedIpv4Header);
  auto bad_version = ip;
  bad_version[0] = 0x55;
  EXPECT_EQ(decode(101, bad_version, p), Weird::kBadIpVersion);
  auto bad_ihl = ip;
  bad_ihl[0] = 0x44;
  EXPECT_EQ(decode(101, bad_ihl, p), Weird::kBadIpv4HeaderLength);
  auto long_ihl = ip;
  long_ihl[0] = 0x4f;  // 60-byte header claimed, 60 bytes present, 20 TCP bytes left as options
  long_ihl.resize(40);
  EXPECT_EQ(decode(101, long_ihl, p), Weird::kTruncatedIpv4Header);
  auto bad_total = ip;
  bad_total[2] = 0, bad_total[3] = 10;
  EXPECT_EQ(decode(101, bad_total, p), Weird::kBadIpv4TotalLength);
}

TEST(Decode, Ipv4OptionsAreSkipped) {
  auto ip = strip_ethernet(build_frame(syn()));
  // Insert 4 bytes of options (NOP NOP NOP EOL), IHL 6, total length + 4.
  std::vector<uint8_t> v(ip.begin(), ip.begin() + 20);
  v[0] = 0x46;
  uint16_t total = static_cast<uint16_t>((v[2] << 8 | v[3]) + 4);
  v[2] = total >> 8, v[3] = total & 0xff;
  v.insert(v.end(), {1, 1, 1, 0});
  v.insert(v.end(), ip.begin() + 20, ip.end());
  Packet p;
  ASSERT_EQ(decode(101, v, p), Weird::kNone);
  EXPECT_EQ(p.dport_, 23);
  EXPECT_EQ(p.tcp_mss_, 1460);
}

TEST(Decode, FragmentsOnlyFirstCarriesTransport) {
  auto ip = strip_ethernet(build_frame(syn()));
  auto first = ip;
  first[6] = 0x20;  // MF set, offset 0
  Packet p;
  ASSERT_EQ(decode(101, first, p), Weird::kNone);
  EXPECT_TRUE(p.has(Packet::kHasTransport));
  EXPECT_FALSE(p.has(Packet::kFragment));
  auto later = ip;
  later[6] = 0x00, later[7] = 0x10;  // offset 16*8 bytes
  ASSERT_EQ(decode(101, later, p), Weird::kNone);
  EXPECT_TRUE(p.has(Packet::kFragment));
  EXPECT_FALSE(p.has(Packet::kHasTransport));
  EXPECT_EQ(p.dport_, 0);
  EXPECT_EQ(p.proto_, 6);
}

TEST(Decode, TransportWeirds) {
  Packet p;
  FrameSpec s = syn();
  s.tcp_options.clear();
  auto ip = strip_ethernet(build_frame(s));
  ip.resize(40);
  auto short_tcp = ip;
  short_tcp.resize(30);
  EXPECT_EQ(decode(101, short_tcp, p), Weird::kTruncatedTcpHeader);
  auto bad_off = ip;
  bad_off[20 + 12] = 0x40;
  EXPECT_EQ(decode(101, bad_off, p), Weird::kBadTcpDataOffset);
  s.proto = 17;
  auto udp = strip_ethernet(build_frame(s));
  udp.resize(25);
  udp[2] = 0, udp[3] = 25;
  EXPECT_EQ(decode(101, udp, p), Weird::kTruncatedUdpHeader);
  s.proto = 1;
  auto icmp = strip_ethernet(build_frame(s));
  icmp.resize(22);
  icmp[2] = 0, icmp[3] = 22;
  EXPECT_EQ(decode(101, icmp, p), Weird::kTruncatedIcmpHeader);
}

TEST(Decode, SnapTruncatedTcpOptionsKeepPacket) {
  auto ip = strip_ethernet(build_frame(syn()));
  ip.resize(20 + 20 + 6);  // MSS + SACKP only
  Packet p;
  ASSERT_EQ(decode(101, ip, p), Weird::kNone);
  EXPECT_EQ(p.tcp_mss_, 1460);
  EXPECT_TRUE(p.has(Packet::kHasSackPerm));
  EXPECT_FALSE(p.has(Packet::kHasTimestamp));
}

TEST(Decode, MalformedTcpOptionIsFlagged) {
  FrameSpec s = syn();
  s.tcp_options = {2, 4, 5, 180, 8, 1, 0, 0};  // TS with length 1
  Packet p;
  ASSERT_EQ(decode(1, build_frame(s), p), Weird::kNone);
  EXPECT_TRUE(p.has(Packet::kBadTcpOptions));
  EXPECT_EQ(p.tcp_mss_, 1460);
}

TEST(Decode, UdpIcmpGre) {
  FrameSpec s = syn();
  s.proto = 17;
  s.dport = 53;
  Packet p;
  ASSERT_EQ(decode(1, build_frame(s), p), Weird::kNone);
  EXPECT_EQ(p.proto_, 17);
  EXPECT_EQ(p.dport_, 53);
  EXPECT_EQ(p.tcp_flags_, 0);
  s.proto = 1;
  s.icmp_type = 3;
  s.icmp_code = 13;
  ASSERT_EQ(decode(1, build_frame(s), p), Weird::kNone);
  EXPECT_EQ(p.icmp_type_, 3);
  EXPECT_EQ(p.icmp_code_, 13);
  EXPECT_EQ(p.dport_, 0);
  s.proto = 47;
  s.payload = {0, 0, 8, 0};
  ASSERT_EQ(decode(1, build_frame(s), p), Weird::kNone);
  EXPECT_EQ(p.proto_, 47);
  EXPECT_FALSE(p.has(Packet::kHasTransport));
}

TEST(Decode, Ipv6TcpAndExtensionHeaders) {
  Packet p;
  auto plain = ipv6(6, tcp_header(22, 0x02));
  ASSERT_EQ(decode(229, plain, p), Weird::kNone);
  EXPECT_EQ(p.ip_version_, 6);
  EXPECT_EQ(p.src_.to_string(), "2001::1");
  EXPECT_EQ(p.dst_.to_string(), "2001::2");
  EXPECT_EQ(p.ttl_, 57);
  EXPECT_EQ(p.dport_, 22);
  EXPECT_EQ(p.ip_len_, 60);
  // hop-by-hop (8 bytes) then destination options (16 bytes) then TCP
  std::vector<uint8_t> ext = {60, 0, 1, 4, 0, 0, 0, 0, 6, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  auto t = tcp_header(443, 0x12);
  ext.insert(ext.end(), t.begin(), t.end());
  ASSERT_EQ(decode(229, ipv6(0, ext), p), Weird::kNone);
  EXPECT_EQ(p.proto_, 6);
  EXPECT_EQ(p.dport_, 443);
  EXPECT_EQ(p.tcp_flags_, 0x12);
  // ICMPv6 echo request
  ASSERT_EQ(decode(229, ipv6(58, {128, 0, 0, 0, 0, 0, 0, 0}), p), Weird::kNone);
  EXPECT_EQ(p.proto_, 58);
  EXPECT_EQ(p.icmp_type_, 128);
}

TEST(Decode, Ipv6FragmentsAndWeirds) {
  Packet p;
  // Fragment header, offset 0 (first): transport decoded.
  std::vector<uint8_t> first = {17, 0, 0, 1, 0, 0, 0x12, 0x34};
  first.insert(first.end(), {0, 53, 0, 53, 0, 8, 0, 0});
  ASSERT_EQ(decode(229, ipv6(44, first), p), Weird::kNone);
  EXPECT_EQ(p.proto_, 17);
  EXPECT_EQ(p.dport_, 53);
  EXPECT_EQ(p.ip_id_, 0x1234);
  std::vector<uint8_t> later = {17, 0, 0, 0x10, 0, 0, 0, 9, 1, 2, 3, 4};
  ASSERT_EQ(decode(229, ipv6(44, later), p), Weird::kNone);
  EXPECT_TRUE(p.has(Packet::kFragment));
  EXPECT_EQ(p.proto_, 17);
  EXPECT_EQ(decode(229, std::vector<uint8_t>(39, 0x60), p), Weird::kTruncatedIpv6Header);
  EXPECT_EQ(decode(229, ipv6(0, {6, 2, 0, 0, 0, 0, 0, 0}), p), Weird::kTruncatedIpv6ExtensionHeader);
  std::vector<uint8_t> chain;
  for (int i = 0; i < 17; ++i) chain.insert(chain.end(), {60, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(decode(229, ipv6(60, chain), p), Weird::kTooManyIpv6ExtensionHeaders);
}

TEST(Decode, EveryWeirdHasADistinctName) {
  std::set<std::string_view> names;
  for (size_t i = 0; i < ingest::kWeirdCount; ++i) {
    auto n = ingest::weird_name(static_cast<Weird>(i));
    EXPECT_NE(n, "unknown");
    EXPECT_TRUE(names.insert(n).second) << n;
  }
  EXPECT_EQ(ingest::weird_name(Weird::kTruncatedIpv4Header), "truncated_ipv4_header");
  EXPECT_EQ(ingest::weird_name(Weird::kBadIpVersion), "bad_ip_version");
  EXPECT_EQ(ingest::weird_name(Weird::kUnsupportedLinktype), "unsupported_linktype");
}

TEST(Types, AddressesAndNames) {
  auto a = IpAddr::parse("10.1.2.3");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->is_v4());
  EXPECT_EQ(a->v4_value(), 0x0a010203u);
  auto b = IpAddr::parse("2001:db8::1");
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->is_v4());
  EXPECT_EQ(b->to_string(), "2001:db8::1");
  EXPECT_FALSE(IpAddr::parse("10.1.2"));
  EXPECT_FALSE(IpAddr::parse("src_ipaddr0"));
  EXPECT_LT(*IpAddr::parse("10.0.0.1"), *IpAddr::parse("10.0.0.2"));
  EXPECT_EQ(tcp_flag::names(0x12), "SYN,ACK");
  EXPECT_EQ(tcp_flag::names(0), "none");
  EXPECT_EQ(ip_proto::name(47), "gre");
  EXPECT_EQ(ip_proto::name(200), "200");
}

TEST(Types, Ipv4TextAsInetNtop) {
  // IPv4 text is written by hand: the same as the C library's, and it reads back.
  std::mt19937 rng(5);
  std::vector<uint32_t> values = {0, 0xffffffffu, 0x0a000001u, 0x01020304u, 0xc0a80a64u};
  for (int i = 0; i < 20000; ++i) values.push_back(static_cast<uint32_t>(rng()));
  for (uint32_t v : values) {
    char buf[INET_ADDRSTRLEN];
    const in_addr a{htonl(v)};
    ASSERT_NE(inet_ntop(AF_INET, &a, buf, sizeof buf), nullptr);
    const std::string text = IpAddr::v4(v).to_string();
    EXPECT_EQ(text, buf);
    EXPECT_EQ(IpAddr::parse(text), IpAddr::v4(v));
  }
}
