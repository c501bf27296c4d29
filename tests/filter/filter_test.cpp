// The filter stage: traffic classes, the prefix/class selection, and BPF
// expressions compiled with libpcap (checked on frames built by hand).
#include "darklens/filter/filter.hpp"

#include <gtest/gtest.h>

#include "darklens/error.hpp"
#include "darklens/synth/pcap_writer.hpp"
#include "support/error_of.hpp"

using namespace darklens;

namespace {

Packet tcp_syn() {
  Packet p;
  p.src_ = IpAddr::v4(0x01010101);
  p.dst_ = IpAddr::v4(0xC6336401);  // 198.51.100.1
  p.ip_version_ = 4;
  p.proto_ = ip_proto::kTcp;
  p.tcp_flags_ = tcp_flag::kSyn;
  p.flags_ = Packet::kHasTransport;
  return p;
}

}  // namespace

TEST(Filter, ClassesOfPackets) {
  Packet p = tcp_syn();
  EXPECT_EQ(filter::classify(p), filter::TrafficClass::kScan);
  p.tcp_flags_ = 0x12;
  EXPECT_EQ(filter::classify(p), filter::TrafficClass::kBackscatter);
  p.tcp_flags_ = 0x14;
  EXPECT_EQ(filter::classify(p), filter::TrafficClass::kBackscatter);
  p.tcp_flags_ = 0x18;
  EXPECT_EQ(filter::classify(p), filter::TrafficClass::kOther);
  p.proto_ = ip_proto::kIcmp;
  p.icmp_type_ = 8;
  EXPECT_EQ(filter::classify(p), filter::TrafficClass::kScan);
  p.icmp_type_ = 3;
  EXPECT_EQ(filter::classify(p), filter::TrafficClass::kBackscatter);
  p.proto_ = ip_proto::kGre;
  p.flags_ = 0;
  EXPECT_EQ(filter::classify(p), filter::TrafficClass::kOther);
}

TEST(Filter, ClassListsParse) {
  EXPECT_EQ(filter::parse_classes("scan"), 1);
  EXPECT_EQ(filter::parse_classes("backscatter,scan,"), 3);
  EXPECT_EQ(filter::parse_classes("other,scan,backscatter"), filter::kAllClasses);
  EXPECT_EQ(test::error_of<ParamError>([] { filter::parse_classes("scan,spam"); }),
            "unknown traffic class 'spam' (known: scan, backscatter, other)");
  EXPECT_EQ(test::error_of<ParamError>([] { filter::parse_classes(","); }), "no traffic class given");
}

TEST(Filter, SelectionOrder) {
  filter::Selection s;
  Packet p = tcp_syn();
  EXPECT_EQ(filter::select_packet(s, p), filter::Selected::kUsed);  // no prefix: all kept
  s.darknet_ = {*Cidr::parse("198.51.100.0/24")};
  EXPECT_EQ(filter::select_packet(s, p), filter::Selected::kUsed);
  p.dst_ = IpAddr::v4(0x0A000001);
  EXPECT_EQ(filter::select_packet(s, p), filter::Selected::kOutsidePrefix);
  // From inside the darknet: a responder, whatever its destination or class.
  p.src_ = IpAddr::v4(0xC6336405);
  p.tcp_flags_ = 0x12;
  EXPECT_EQ(filter::select_packet(s, p), filter::Selected::kResponder);
  p = tcp_syn();
  s.classes_ = filter::parse_classes("backscatter");
  EXPECT_EQ(filter::select_packet(s, p), filter::Selected::kClassFiltered);
  EXPECT_TRUE(filter::in_darknet({}, p.src_));
  EXPECT_FALSE(filter::in_darknet(s.darknet_, p.src_));
}

TEST(Filter, BpfMatchesFramesAsLibpcapCompilesThem) {
  FrameSpec f;
  f.src = 0x01010101;
  f.dst = 0xC6336401;
  f.sport = 40000;
  f.dport = 23;
  const auto frame = build_frame(f);
  const auto n = static_cast<uint32_t>(frame.size());
  EXPECT_TRUE(filter::compile_bpf("tcp dst port 23", 1)->match(frame.data(), n, n));
  EXPECT_TRUE(filter::compile_bpf("src host 1.1.1.1 and dst net 198.51.100.0/24", 1)->match(frame.data(), n, n));
  EXPECT_FALSE(filter::compile_bpf("tcp dst port 22", 1)->match(frame.data(), n, n));
  EXPECT_FALSE(filter::compile_bpf("udp", 1)->match(frame.data(), n, n));
  // The same bytes without the 14-byte Ethernet header, as raw IP (12).
  EXPECT_TRUE(filter::compile_bpf("tcp dst port 23", 12)->match(frame.data() + 14, n - 14, n - 14));
  EXPECT_EQ(test::error_of<ParamError>([] { filter::compile_bpf(std::string(4097, ' '), 1); }),
            "filter: the expression has 4097 characters; at most 4096 (libpcap's optimiser takes minutes on longer "
            "ones)");
  const std::string why = test::error_of<ParamError>([] { filter::compile_bpf("tcp dst prot 23", 1); });
  EXPECT_EQ(why.rfind("filter 'tcp dst prot 23': ", 0), 0u) << why;
}
