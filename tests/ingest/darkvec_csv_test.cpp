// DarkVec CSV reader, on the real sample (tests/data/darknet01_20210501.csv.gz,
// counts taken with awk over the decompressed file) and on hostile rows.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "../../src/ingest/readers.hpp"
#include "darklens/error.hpp"
#include "darklens/ingest/ingest.hpp"
#include "support/temp_dir.hpp"

using namespace darklens;
using ingest::Weird;

namespace {
const std::string kHeader =
    "0,ts,ethtype,src_ip,src_port,dst_ip,dst_port,proto,pck_len,tcp_flags,mirai,"
    "tcp_seq,ttl,t_mss,t_win,t_ts,t_sack,t_sackp\n";
}

TEST(DarkVecCsv, RealSampleCounts) {
  auto r = ingest::CaptureReader::open(std::string(DARKLENS_TEST_DATA) + "/darknet01_20210501.csv.gz");
  EXPECT_EQ(r->info().format_, ingest::Format::kDarkVecCsv);
  EXPECT_EQ(r->info().compression_, ingest::Compression::kGzip);
  std::map<int, int> protos, flags;
  std::set<IpAddr> sources;
  int mirai = 0, with_mss = 0;
  Packet p;
  while (r->next(p)) {
    ++protos[p.proto_];
    if (p.proto_ == 6) ++flags[p.tcp_flags_];
    if (p.has(Packet::kMiraiMarked)) ++mirai;
    if (p.has(Packet::kHasMss)) ++with_mss;
    sources.insert(p.src_);
  }
  EXPECT_TRUE(r->info().anonymised_addresses_);
  EXPECT_EQ(r->counters().records_, 3000u);
  EXPECT_EQ(r->counters().weird_.total(), 0u);
  EXPECT_EQ(protos[6], 2889);
  EXPECT_EQ(protos[17], 107);
  EXPECT_EQ(protos[1], 4);
  EXPECT_EQ(flags[2], 2869);
  EXPECT_EQ(flags[18], 15);
  EXPECT_EQ(flags[4], 4);
  EXPECT_EQ(flags[194], 1);
  EXPECT_EQ(mirai, 76);
  EXPECT_EQ(with_mss, 419);
  EXPECT_EQ(sources.size(), 509u);
}

TEST(DarkVecCsv, FirstRowFieldByField) {
  test::TempDir dir;
  auto path = dir.write("a.csv", kHeader +
                                     "2021-05-01 00:00:00.664321280,1619827200.6643212,2048,src_ipaddr8,41062,"
                                     "dst_ipaddr12,22,6,74,2,0,423849382,35,1460,7,1081342183,-,1\n");
  auto r = ingest::CaptureReader::open(path);
  Packet p;
  ASSERT_TRUE(r->next(p));
  EXPECT_EQ(p.ts_ns_, 1619827200'664321200LL);  // exact decimal, no float rounding
  EXPECT_EQ(p.src_.to_string(), "240.0.0.8");
  EXPECT_EQ(p.dst_.to_string(), "241.0.0.12");
  EXPECT_EQ(p.sport_, 41062);
  EXPECT_EQ(p.dport_, 22);
  EXPECT_EQ(p.proto_, 6);
  EXPECT_EQ(p.wire_len_, 74u);
  EXPECT_EQ(p.ip_len_, 60);
  EXPECT_EQ(p.tcp_flags_, 2);
  EXPECT_EQ(p.tcp_seq_, 423849382u);
  EXPECT_EQ(p.ttl_, 35);
  EXPECT_EQ(p.tcp_mss_, 1460);
  EXPECT_EQ(p.tcp_wscale_, 7);
  EXPECT_EQ(p.tcp_tsval_, 1081342183u);
  EXPECT_TRUE(p.has(Packet::kHasSackPerm));
  EXPECT_FALSE(p.has(Packet::kMiraiMarked));
  EXPECT_FALSE(r->next(p));
  EXPECT_EQ(r->counters().anonymised_tokens_, 2u);
}

TEST(DarkVecCsv, RealAddressesAndIcmpWithoutPorts) {
  test::TempDir dir;
  auto path =
      dir.write("b.csv", kHeader + "x,1619827226.05845,2048,203.0.113.9,-,198.51.100.4,-,1,98,-,-,-,47,-,-,-,-,-\n");
  auto r = ingest::CaptureReader::open(path);
  Packet p;
  ASSERT_TRUE(r->next(p));
  EXPECT_EQ(p.src_.to_string(), "203.0.113.9");
  EXPECT_EQ(p.proto_, 1);
  EXPECT_FALSE(p.has(Packet::kHasTransport));
  EXPECT_FALSE(r->info().anonymised_addresses_);
}

TEST(DarkVecCsv, BadRowsAndLongLinesAreCountedAndSkipped) {
  test::TempDir dir;
  std::string good = "x,1619827200.5,2048,1.2.3.4,1,5.6.7.8,23,6,60,2,1,5,200,-,-,-,-,-\n";
  std::string text = kHeader + good + "x,notatime,2048,1.2.3.4,1,5.6.7.8,23,6,60,2,1,5,200,-,-,-,-,-\n" +
                     "x,1619827200.5,2048,1.2.3.4,99999,5.6.7.8,23,6,60,2,1,5,200,-,-,-,-,-\n" + "too,few,fields\n" +
                     std::string(200000, 'z') + "\n" + good;
  auto path = dir.write("bad.csv", text);
  auto r = ingest::CaptureReader::open(path);
  Packet p;
  int n = 0;
  while (r->next(p)) ++n;
  EXPECT_EQ(n, 2);
  EXPECT_EQ(r->counters().weird_[Weird::kCsvBadRow], 3u);
  EXPECT_EQ(r->counters().weird_[Weird::kCsvLineTooLong], 1u);
  EXPECT_EQ(r->counters().records_, 6u);
}

TEST(DarkVecCsv, MissingRequiredColumn) {
  test::TempDir dir;
  auto path = dir.write("nocol.csv", std::string("ts,src_ip,dst_ip,protocol\n1,1.2.3.4,5.6.7.8,6\n"));
  try {
    ingest::CaptureReader::open(path);
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": DarkVec CSV header lacks column 'proto'");
  }
}

TEST(DarkVecCsv, HeaderLineTooLong) {
  test::TempDir dir;
  auto path = dir.write("long.csv", "ts,src_ip,dst_ip,proto" + std::string(70000, 'x') + "\n");
  try {
    ingest::CaptureReader::open(path);
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": cannot read DarkVec CSV header: first line longer than 65536 bytes");
  }
}

TEST(DarkVecCsv, SyntheticAddressesAreStableAndDistinct) {
  EXPECT_EQ(ingest::synthetic_address("src_ipaddr0").to_string(), "240.0.0.0");
  EXPECT_EQ(ingest::synthetic_address("src_ipaddr70000").to_string(), "240.1.17.112");
  EXPECT_EQ(ingest::synthetic_address("dst_ipaddr3").to_string(), "241.0.0.3");
  auto a = ingest::synthetic_address("host-alpha");
  EXPECT_EQ(a, ingest::synthetic_address("host-alpha"));
  EXPECT_NE(a, ingest::synthetic_address("host-beta"));
  EXPECT_FALSE(a.is_v4());
  EXPECT_EQ(a.hi_ >> 56, 0xfdu);
}
