// The real sample captures (tests/data/README.md gives their provenance and contents).
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "darklens/ingest/ingest.hpp"

using namespace darklens;

namespace {
std::string shared(const char* name) { return std::string(DARKLENS_TEST_DATA) + "/" + name; }
}  // namespace

TEST(SharedData, BbnOneScanner) {
  auto r = ingest::CaptureReader::open(shared("bbn_one_scanner_2021-09-26.pcap"));
  std::set<IpAddr> src, dst;
  std::set<uint16_t> ports;
  int syn = 0;
  Packet p;
  while (r->next(p)) {
    src.insert(p.src_);
    dst.insert(p.dst_);
    ports.insert(p.dport_);
    syn += p.proto_ == 6 && p.tcp_flags_ == 0x02;
  }
  EXPECT_EQ(r->counters().records_, 1022u);
  EXPECT_EQ(r->counters().weird_.total(), 0u);
  EXPECT_EQ(syn, 1022);
  EXPECT_EQ(src.size(), 1u);
  EXPECT_EQ(dst.size(), 256u);
  EXPECT_EQ(ports.size(), 4u);
}

TEST(SharedData, GreyNoiseRawIpLinktype101) {
  auto r = ingest::CaptureReader::open(shared("greynoise_spoofed_storm_rawip.pcap"));
  EXPECT_EQ(r->info().linktype_, 101);  // LINKTYPE_RAW, as the file says
  EXPECT_EQ(ingest::linktype_name(101), "RAW");
  std::set<IpAddr> syn_sources;
  int syn = 0, synack = 0;
  Packet p;
  while (r->next(p)) {
    if (p.proto_ != 6) continue;
    if (p.tcp_flags_ == 0x02 && p.dport_ == 443) ++syn, syn_sources.insert(p.src_);
    if (p.tcp_flags_ == 0x12) ++synack;
  }
  EXPECT_EQ(r->counters().records_, 5170u);
  EXPECT_EQ(r->counters().weird_.total(), 0u);
  EXPECT_EQ(syn, 2466);
  EXPECT_EQ(synack, 2685);
  EXPECT_EQ(syn_sources.size(), 1939u);
}
