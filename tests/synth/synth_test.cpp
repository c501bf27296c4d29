// The synthetic darknet: determinism, the published shape of a darknet day
// (heavy tails, few multi-port sources), the planted fingerprints, and
// day-to-day churn. Everything is measured by reading the written pcaps back.
#include "darklens/synth/synth.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <unordered_map>

#include "darklens/error.hpp"
#include "darklens/ingest/ingest.hpp"
#include "darklens/types.hpp"
#include "support/temp_dir.hpp"

using namespace darklens;

namespace {

std::map<IpAddr, std::string> load_gt(const std::string& path) {
  std::map<IpAddr, std::string> gt;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "ip,label");
  while (std::getline(in, line)) {
    auto comma = line.find(',');
    gt[*IpAddr::parse(line.substr(0, comma))] = line.substr(comma + 1);
  }
  return gt;
}

std::vector<Packet> read_packets(const std::string& path) {
  auto r = ingest::CaptureReader::open(path);
  std::vector<Packet> v;
  Packet p;
  while (r->next(p)) v.push_back(p);
  EXPECT_EQ(r->counters().weird_.total(), 0u);
  return v;
}

class SynthDays : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    synth::SynthParams p;
    p.days_ = 3;
    p.sources_ = 6000;
    p.seed_ = 7;
    out_ = new synth::SynthOutput(synth::generate(p, dir_->path().string()));
    gt_ = new std::map<IpAddr, std::string>(load_gt(out_->ground_truth_path_));
    day0_ = new std::vector<Packet>(read_packets(out_->days_[0].path_));
  }
  static void TearDownTestSuite() {
    delete day0_;
    delete gt_;
    delete out_;
    delete dir_;
  }
  static test::TempDir* dir_;
  static synth::SynthOutput* out_;
  static std::map<IpAddr, std::string>* gt_;
  static std::vector<Packet>* day0_;
};
test::TempDir* SynthDays::dir_;
synth::SynthOutput* SynthDays::out_;
std::map<IpAddr, std::string>* SynthDays::gt_;
std::vector<Packet>* SynthDays::day0_;

}  // namespace

TEST_F(SynthDays, FilesAndDates) {
  ASSERT_EQ(out_->days_.size(), 3u);
  EXPECT_EQ(out_->days_[0].date_, "2021-05-01");
  EXPECT_EQ(out_->days_[2].date_, "2021-05-03");
  EXPECT_EQ(out_->days_[1].path_, (dir_->path() / "darknet-2021-05-02.pcap").string());
  EXPECT_NEAR(static_cast<double>(out_->days_[0].sources_), 6000, 60);
  // Every packet of day 1 falls inside that UTC day and is sorted.
  const int64_t start = 1619827200LL * 1'000'000'000;
  EXPECT_GE(day0_->front().ts_ns_, start);
  EXPECT_LT(day0_->back().ts_ns_, start + 86'400'000'000'000LL);
  EXPECT_TRUE(std::is_sorted(day0_->begin(), day0_->end(),
                             [](const Packet& a, const Packet& b) { return a.ts_ns_ < b.ts_ns_; }));
  for (const auto& p : *day0_) {
    ASSERT_EQ(p.dst_.v4_value() >> 8, 0xC63364u) << "destination outside 198.51.100.0/24";
  }
}

TEST_F(SynthDays, LooksLikeAPublishedDarknetDay) {
  std::unordered_map<IpAddr, uint64_t, IpAddrHash> packets;
  std::unordered_map<IpAddr, std::set<uint16_t>, IpAddrHash> ports;
  for (const auto& p : *day0_) {
    ++packets[p.src_];
    if (p.has(Packet::kHasTransport) && p.proto_ != 1) ports[p.src_].insert(p.dport_);
  }
  std::vector<uint64_t> counts;
  for (auto& [ip, n] : packets) counts.push_back(n);
  std::sort(counts.rbegin(), counts.rend());
  uint64_t total = 0, top = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    total += counts[i];
    if (i < counts.size() / 100) top += counts[i];
  }
  const double mean = static_cast<double>(total) / counts.size();
  EXPECT_GT(mean, 10.0);
  EXPECT_LT(mean, 40.0);
  EXPECT_LE(counts[counts.size() / 2], 4u) << "median source sends a handful";
  EXPECT_GT(static_cast<double>(top) / total, 0.25) << "top 1% carry a large share";
  size_t multi = 0;
  for (auto& [ip, s] : ports) multi += s.size() > 1;
  const double multi_share = static_cast<double>(multi) / packets.size();
  EXPECT_GT(multi_share, 0.04);
  EXPECT_LT(multi_share, 0.25);
}

TEST_F(SynthDays, PlantedFingerprints) {
  std::map<std::string, std::pair<uint64_t, uint64_t>> hit;  // label -> (matching, all)
  for (const auto& p : *day0_) {
    auto it = gt_->find(p.src_);
    if (it == gt_->end()) continue;
    const std::string& label = it->second;
    bool ok = true;
    if (label == "mirai" || label == "mirai-iot") {
      ok = p.tcp_seq_ == p.dst_.v4_value();
    } else if (label == "scanorg-alpha") {
      ok = p.ip_id_ == 54321;
    } else if (label == "masscan") {
      ok = p.ip_id_ == ((p.dst_.v4_value() ^ p.dport_ ^ p.tcp_seq_) & 0xffff) && p.tcp_win_ == 1024;
    } else if (label == "ssh-bruteforce") {
      ok = p.dport_ == 22 && p.tcp_flags_ == 0x02;
    } else if (label == "mssql-scan") {
      ok = p.dport_ == 1433;
    } else if (label == "rdp-scan") {
      ok = p.dport_ == 3389;
    } else if (label == "backscatter") {
      ok = p.proto_ == 1 ? p.icmp_type_ == 3 : (p.tcp_flags_ == 0x12 || p.tcp_flags_ == 0x04 || p.tcp_flags_ == 0x14);
    } else if (label == "gre") {
      ok = p.proto_ == 47;
    } else if (label == "sip-scan") {
      ok = p.proto_ == 17 && p.dport_ == 5060;
    }
    auto& h = hit[label];
    h.first += ok;
    ++h.second;
  }
  for (const auto& label : synth::group_labels()) {
    ASSERT_GT(hit[label].second, 0u) << label << " sent nothing";
    EXPECT_EQ(hit[label].first, hit[label].second) << label;
  }
  // Scanning organisations live in a few /24 blocks.
  std::set<uint32_t> blocks;
  for (const auto& [ip, label] : *gt_) {
    if (label == "scanorg-alpha") blocks.insert(ip.v4_value() >> 8);
  }
  EXPECT_EQ(blocks.size(), 3u);
}

TEST_F(SynthDays, GroupsPersistWithChurn) {
  auto members = [&](int day, const std::string& label) {
    std::set<IpAddr> s;
    for (const auto& p : read_packets(out_->days_[day].path_)) {
      auto it = gt_->find(p.src_);
      if (it != gt_->end() && it->second == label) s.insert(p.src_);
    }
    return s;
  };
  auto overlap = [](const std::set<IpAddr>& a, const std::set<IpAddr>& b) {
    size_t both = 0;
    for (const auto& x : a) both += b.count(x);
    return static_cast<double>(both) / a.size();
  };
  auto m0 = members(0, "mirai"), m1 = members(1, "mirai");
  EXPECT_GT(overlap(m0, m1), 0.45);
  EXPECT_LT(overlap(m0, m1), 0.75);
  // Scanning organisations are far more stable than bots (p_stay 0.95 vs
  // 0.6; only 24 members here, so the bound leaves room for chance).
  auto s0 = members(0, "scanorg-alpha"), s1 = members(1, "scanorg-alpha");
  EXPECT_GT(overlap(s0, s1), 0.7);
  EXPECT_GT(overlap(s0, s1), overlap(m0, m1));
}

// The telescope profile: the shape of a real /24 day, not of planted groups.
TEST(Synth, TelescopeProfileLooksLikeARealTelescope) {
  test::TempDir dir;
  synth::SynthParams p;
  p.sources_ = 8000;
  p.seed_ = 4;
  p.profile_ = synth::Profile::kTelescope;
  const auto out = synth::generate(p, dir.path().string());
  const auto gt = load_gt(out.ground_truth_path_);
  const auto day = read_packets(out.days_[0].path_);
  std::unordered_map<IpAddr, uint64_t, IpAddrHash> packets;
  std::map<std::string, std::map<uint16_t, size_t>> ports_of;  // label -> port -> packets
  for (const auto& q : day) {
    ++packets[q.src_];
    auto it = gt.find(q.src_);
    if (it != gt.end() && it->second.starts_with("org-")) ++ports_of[it->second][q.dport_];
  }
  size_t small = 0;
  uint64_t most = 0;
  for (const auto& [ip, n] : packets) small += n <= 2, most = std::max(most, n);
  EXPECT_GT(static_cast<double>(small) / packets.size(), 0.6) << "most sources send one or two packets";
  EXPECT_GT(most, 1000u) << "heavy hitters";
  // The labelled sources: organisations and Mirai; one organisation holds
  // about half of those active on the day; the unlabelled groups are not there.
  std::map<std::string, size_t> members;
  size_t labelled = 0;
  for (const auto& [ip, n] : packets) {
    auto it = gt.find(ip);
    if (it != gt.end()) ++members[it->second], ++labelled;
  }
  EXPECT_EQ(members.count("ssh-bruteforce") + members.count("smb-scan") + members.count("backscatter"), 0u);
  EXPECT_EQ(synth::group_labels(synth::Profile::kTelescope).size(), members.size());
  EXPECT_GT(static_cast<double>(members["org-stretch"]) / labelled, 0.4);
  EXPECT_LT(static_cast<double>(members["org-stretch"]) / labelled, 0.6);
  EXPECT_GE(members["org-small"], 5u);
  // Organisations share ports: each of the three largest probes port 80 and 22.
  for (const char* org : {"org-stretch", "org-census", "org-edge"}) {
    EXPECT_GT(ports_of[org][80], 0u) << org;
    EXPECT_GT(ports_of[org][22], 0u) << org;
  }
  EXPECT_EQ(synth::parse_profile("telescope"), synth::Profile::kTelescope);
  EXPECT_THROW(synth::parse_profile("easy"), ParamError);
}

TEST(Synth, SameSeedSameBytesOtherSeedOtherBytes) {
  test::TempDir a, b, c;
  synth::SynthParams p;
  p.sources_ = 500;
  p.compression_ = ingest::Compression::kZstd;
  auto oa = synth::generate(p, a.path().string());
  auto ob = synth::generate(p, b.path().string());
  p.seed_ = 2;
  auto oc = synth::generate(p, c.path().string());
  EXPECT_EQ(test::read_bytes(oa.days_[0].path_), test::read_bytes(ob.days_[0].path_));
  EXPECT_EQ(test::read_bytes(oa.ground_truth_path_), test::read_bytes(ob.ground_truth_path_));
  EXPECT_NE(test::read_bytes(oa.days_[0].path_), test::read_bytes(oc.days_[0].path_));
  EXPECT_EQ(oa.days_[0].path_.substr(oa.days_[0].path_.size() - 9), ".pcap.zst");
}

// Regression: a group living in /24 blocks used to spin forever once it
// needed more members than its blocks hold (0.4% of 200k sources > 3 x 254).
TEST(Synth, BlockGroupsGrowInsteadOfHanging) {
  test::TempDir d;
  synth::SynthParams p;
  p.sources_ = 200000;
  auto out = synth::generate(p, d.path().string());
  std::set<uint32_t> blocks;
  size_t members = 0;
  for (const auto& [ip, label] : load_gt(out.ground_truth_path_)) {
    if (label == "scanorg-alpha") blocks.insert(ip.v4_value() >> 8), ++members;
  }
  EXPECT_EQ(members, 800u);
  EXPECT_GE(blocks.size(), 4u);
  EXPECT_LE(blocks.size(), 6u);
}

TEST(Synth, ResponderAnswersEverySynAndClientsCompleteHandshakes) {
  test::TempDir d;
  synth::SynthParams p;
  p.sources_ = 600;
  p.responder_ = true;
  auto out = synth::generate(p, d.path().string());
  auto gt = load_gt(out.ground_truth_path_);
  auto prefix = *Cidr::parse("198.51.100.0/24");
  uint64_t syn = 0, responder_synack = 0;
  std::map<std::string, std::pair<uint64_t, uint64_t>> answers;  // label -> (ACK, RST)
  for (const auto& pk : read_packets(out.days_[0].path_)) {
    if (pk.proto_ != ip_proto::kTcp) continue;
    if (prefix.contains(pk.src_)) {
      responder_synack += pk.tcp_flags_ == 0x12;
      continue;
    }
    syn += pk.tcp_flags_ == 0x02;
    auto it = gt.find(pk.src_);
    const std::string label = it == gt.end() ? "background" : it->second;
    if (pk.tcp_flags_ == 0x10) ++answers[label].first;
    if (pk.tcp_flags_ == 0x04 && label != "backscatter") ++answers[label].second;
  }
  EXPECT_EQ(responder_synack, syn);
  for (const char* client : {"ssh-bruteforce", "rdp-scan", "mssql-scan", "smb-scan"}) {
    EXPECT_GT(answers[client].first, 0u) << client;
    EXPECT_EQ(answers[client].second, 0u) << client;
  }
  for (const char* stateless : {"mirai", "masscan", "scanorg-alpha"}) {
    EXPECT_EQ(answers[stateless].first, 0u) << stateless;
    EXPECT_GT(answers[stateless].second, 0u) << stateless;
  }
  EXPECT_EQ(answers["background"].first + answers["background"].second, 0u);
}

TEST(Synth, ParameterErrors) {
  test::TempDir d;
  synth::SynthParams p;
  auto message = [&]() -> std::string {
    try {
      synth::generate(p, d.path().string());
    } catch (const ParamError& e) {
      return e.what();
    }
    return "(none)";
  };
  p.prefix_ = "198.51.100.0";
  EXPECT_EQ(message(), "prefix '198.51.100.0': expected a.b.c.d/len");
  p.prefix_ = "2001:db8::/64";
  EXPECT_EQ(message(), "prefix '2001:db8::/64': not an IPv4 address");
  p.prefix_ = "10.0.0.0/4";
  EXPECT_EQ(message(), "prefix '10.0.0.0/4': prefix length must be between 8 and 30");
  p.prefix_ = "10.0.0.0/x";
  EXPECT_EQ(message(), "prefix '10.0.0.0/x': bad prefix length");
  p.prefix_ = "198.51.100.0/24";
  p.start_date_ = "2021-13-01";
  EXPECT_EQ(message(), "start date '2021-13-01' is not a date YYYY-MM-DD (1970..2100)");
  p.start_date_ = "2021-02-30";
  EXPECT_EQ(message(), "start date '2021-02-30' is not a date: that month has no day 30");
  p.start_date_ = "2021-04-31";
  EXPECT_EQ(message(), "start date '2021-04-31' is not a date: that month has no day 31");
  p.start_date_ = "2021-05-01";
  p.days_ = 0;
  EXPECT_EQ(message(), "days must be between 1 and 366");
  p.days_ = 1;
  p.sources_ = 0;
  EXPECT_EQ(message(), "sources must be between 1 and 20000000");
}

TEST(Synth, PrefixParsing) {
  auto p = synth::parse_prefix4("10.20.30.40/16");
  EXPECT_EQ(p.base_, 0x0a140000u);
  EXPECT_EQ(p.size(), 65536u);
  EXPECT_TRUE(p.contains(0x0a14ffffu));
  EXPECT_FALSE(p.contains(0x0a150000u));
}
