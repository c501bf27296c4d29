// The capture summary on a capture whose answers are counted by hand.
#include "darklens/ingest/summary.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "darklens/synth/pcap_writer.hpp"
#include "support/capture_bytes.hpp"
#include "support/temp_dir.hpp"

using namespace darklens;

TEST(Summary, HandCountedCapture) {
  // 3 sources; 5 TCP (4 SYN to 23 / 1 SYN-ACK from 80), 2 UDP to 53, 1 ICMP,
  // 1 ARP (not IP), 1 truncated IPv4 header.
  std::vector<test::Frame> frames;
  int64_t t = 1'700'000'000'000'000'000LL;
  auto add = [&](uint32_t src, uint32_t dst, uint8_t proto, uint16_t dport, uint8_t flags) {
    FrameSpec s;
    s.src = src, s.dst = dst, s.proto = proto, s.dport = dport, s.tcp_flags = flags;
    frames.push_back({t, build_frame(s)});
    t += 500'000'000;
  };
  add(0x01010101, 0xC6336401, 6, 23, 0x02);
  add(0x01010101, 0xC6336402, 6, 23, 0x02);
  add(0x01010101, 0xC6336403, 6, 23, 0x02);
  add(0x02020202, 0xC6336401, 6, 23, 0x02);
  add(0x02020202, 0xC6336404, 6, 5555, 0x12);
  add(0x03030303, 0xC6336401, 17, 53, 0);
  add(0x03030303, 0xC6336405, 17, 53, 0);
  add(0x03030303, 0xC6336405, 1, 0, 0);
  std::vector<uint8_t> arp(42, 0);
  arp[12] = 0x08, arp[13] = 0x06;
  frames.push_back({t, arp});
  std::vector<uint8_t> cut(14 + 10, 0);
  cut[12] = 0x08, cut[14] = 0x45;
  frames.push_back({t + 1, cut});

  test::TempDir dir;
  auto path = dir.write("h.pcap", test::pcap_file(frames));
  ingest::SummaryBuilder b;
  b.add_file(path);
  auto s = b.finish(10);
  EXPECT_EQ(s.records_, 10u);
  EXPECT_EQ(s.wire_bytes_, 8u * 60 + 42 + 24);
  EXPECT_EQ(s.decoded_, 8u);
  EXPECT_EQ(s.first_ts_ns_, 1'700'000'000'000'000'000LL);
  EXPECT_EQ(s.last_ts_ns_, t);  // microsecond pcap: t + 1 ns is stored as t
  EXPECT_EQ(s.distinct_sources_, 3u);
  EXPECT_EQ(s.distinct_destinations_, 5u);
  EXPECT_EQ(s.protocols_.at(6), 5u);
  EXPECT_EQ(s.protocols_.at(17), 2u);
  EXPECT_EQ(s.protocols_.at(1), 1u);
  ASSERT_EQ(s.top_dst_ports_.size(), 3u);
  EXPECT_EQ(s.top_dst_ports_[0].port_, 23);
  EXPECT_EQ(s.top_dst_ports_[0].packets_, 4u);
  EXPECT_EQ(s.top_dst_ports_[1].port_, 53);  // udp/53 (2) before tcp/5555 (1)
  EXPECT_EQ(s.top_dst_ports_[2].port_, 5555);
  EXPECT_EQ(s.tcp_flags_.at(0x02), 4u);
  EXPECT_EQ(s.tcp_flags_.at(0x12), 1u);
  EXPECT_EQ(s.weird_[ingest::Weird::kNonIp], 1u);
  EXPECT_EQ(s.weird_[ingest::Weird::kTruncatedIpv4Header], 1u);

  auto j = ingest::to_json(s);
  EXPECT_EQ(j["packets"], 10);
  EXPECT_EQ(j["anomalies"]["non_ip"], 1);
  EXPECT_EQ(j["top_dst_ports"][0]["proto"], "tcp");
  EXPECT_EQ(j["tcp_flags"][1]["names"], "SYN,ACK");
}

TEST(Summary, SeveralFilesMerge) {
  test::TempDir dir;
  FrameSpec s;
  s.src = 0x01010101, s.dst = 0xC6336401, s.dport = 22;
  auto a = dir.write("a.pcap", test::pcap_file({{2'000'000'000'000'000'000LL, build_frame(s)}}));
  s.src = 0x02020202;
  auto b = dir.write("b.pcap", test::pcap_file({{1'000'000'000'000'000'000LL, build_frame(s)}}));
  ingest::SummaryBuilder builder;
  builder.add_file(a);
  builder.add_file(b);
  auto sum = builder.finish();
  EXPECT_EQ(sum.files_.size(), 2u);
  EXPECT_EQ(sum.records_, 2u);
  EXPECT_EQ(sum.distinct_sources_, 2u);
  EXPECT_EQ(sum.distinct_destinations_, 1u);
  EXPECT_EQ(sum.first_ts_ns_, 1'000'000'000'000'000'000LL);
  EXPECT_EQ(sum.last_ts_ns_, 2'000'000'000'000'000'000LL);
}
