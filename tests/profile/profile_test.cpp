// Cluster profiles on packets whose every figure is worked out by hand, and
// the signature catalog: parsing (every error message), matching, and the
// shipped catalog.
#include "darklens/profile/profile.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "darklens/error.hpp"
#include "support/error_of.hpp"
#include "support/temp_dir.hpp"

using namespace darklens;

namespace {

constexpr int64_t kDay = 1'619'827'200'000'000'000LL;  // 2021-05-01T00:00:00Z
constexpr int64_t kHour = 3'600'000'000'000LL;
constexpr uint32_t kNet = 0xC6336400;  // 198.51.100.0

Packet tcp(uint32_t src, int64_t t, uint32_t dst, uint16_t dport, uint8_t flags, uint32_t seq) {
  Packet p;
  p.ts_ns_ = t;
  p.src_ = IpAddr::v4(src);
  p.dst_ = IpAddr::v4(dst);
  p.ip_version_ = 4;
  p.proto_ = ip_proto::kTcp;
  p.ttl_ = 64;
  p.ip_len_ = 40;
  p.sport_ = 40000;
  p.dport_ = dport;
  p.tcp_seq_ = seq;
  p.tcp_flags_ = flags;
  p.flags_ = Packet::kHasTransport;
  return p;
}

// Cluster 0: A = 1.1.1.1 (3 SYNs: .1:23 and .2:23 with seq == dst, i.e.
// Mirai, at 00:xx; .1:2323 at 01:xx) and B = 1.1.1.2 (one SYN-ACK from
// port 80 to .5:4444 at 05:xx, backscatter). Cluster 1: C = 2.2.2.2 (two
// UDP packets to .3:53 at 03:xx). D = 3.3.3.3 has no row.
std::vector<Packet> packets() {
  std::vector<Packet> v;
  v.push_back(tcp(0x01010101, kDay + 60'000'000'000LL, kNet + 1, 23, tcp_flag::kSyn, kNet + 1));
  v.push_back(tcp(0x01010101, kDay + 120'000'000'000LL, kNet + 2, 23, tcp_flag::kSyn, kNet + 2));
  v.push_back(tcp(0x01010101, kDay + kHour + 5, kNet + 1, 2323, tcp_flag::kSyn, 7));
  Packet b = tcp(0x01010102, kDay + 5 * kHour, kNet + 5, 4444, tcp_flag::kSyn | tcp_flag::kAck, 9);
  b.sport_ = 80;
  v.push_back(b);
  for (int i = 0; i < 2; ++i) {
    Packet u = tcp(0x02020202, kDay + 3 * kHour + i, kNet + 3, 53, 0, 0);
    u.proto_ = ip_proto::kUdp;
    u.ip_len_ = 60;
    v.push_back(u);
  }
  v.push_back(tcp(0x03030303, kDay, kNet + 9, 22, tcp_flag::kSyn, 1));
  return v;
}

std::vector<profile::ClusterProfile> profiles(const ground_truth::GroundTruth* gt = nullptr) {
  const std::vector<IpAddr> src = {IpAddr::v4(0x01010101), IpAddr::v4(0x01010102), IpAddr::v4(0x02020202)};
  profile::Profiler pr(src, {kDay, kDay, kDay}, {0, 0, 1}, features::WindowSpec{});
  for (const auto& p : packets()) pr.add(p);
  EXPECT_EQ(pr.skipped(), 1u);
  return pr.finish(gt);
}

double share(const std::vector<profile::Share>& v, const std::string& key) {
  for (const auto& s : v) {
    if (s.key == key) return s.share;
  }
  return -1;
}

}  // namespace

TEST(Profile, HandComputed) {
  ground_truth::GroundTruth gt;
  gt.labels_ = {"mirai"};
  gt.hosts_ = {{IpAddr::v4(0x01010101), 0}};
  const auto ps = profiles(&gt);
  ASSERT_EQ(ps.size(), 2u);
  const auto& a = ps[0];  // two sources: rank 1
  EXPECT_EQ(a.cluster_, 0);
  EXPECT_EQ(a.rank_, 1);
  EXPECT_EQ(a.sources_, 2u);
  EXPECT_EQ(a.packets_, 4u);
  EXPECT_EQ(a.bytes_, 160u);
  EXPECT_DOUBLE_EQ(share(a.protocols_, "tcp"), 1.0);
  EXPECT_DOUBLE_EQ(share(a.classes_, "scan"), 0.75);
  EXPECT_DOUBLE_EQ(share(a.classes_, "backscatter"), 0.25);
  ASSERT_EQ(a.ports_.size(), 3u);
  EXPECT_EQ(a.ports_[0].key, "tcp/23");
  EXPECT_DOUBLE_EQ(a.ports_[0].share, 0.5);
  EXPECT_DOUBLE_EQ(share(a.ports_, "tcp/2323"), 0.25);
  EXPECT_DOUBLE_EQ(share(a.ports_, "tcp/4444"), 0.25);
  EXPECT_DOUBLE_EQ(share(a.tcp_flags_, "SYN"), 0.75);
  EXPECT_DOUBLE_EQ(share(a.tcp_flags_, "SYN+ACK"), 0.25);
  // packets per source {1, 3}: quartiles by linear interpolation.
  EXPECT_DOUBLE_EQ(a.packets_per_source_[0], 1);
  EXPECT_DOUBLE_EQ(a.packets_per_source_[1], 1.5);
  EXPECT_DOUBLE_EQ(a.packets_per_source_[2], 2);
  EXPECT_DOUBLE_EQ(a.packets_per_source_[3], 2.5);
  EXPECT_DOUBLE_EQ(a.packets_per_source_[4], 3);
  EXPECT_EQ(a.destinations_, 3u);  // .1, .2, .5
  EXPECT_FALSE(a.destinations_capped_);
  EXPECT_EQ(a.source_blocks_, 1u);  // 1.1.1.0/24
  EXPECT_EQ(a.hourly_[0], 2u);
  EXPECT_EQ(a.hourly_[1], 1u);
  EXPECT_EQ(a.hourly_[5], 1u);
  EXPECT_EQ(a.syn_, 3u);
  EXPECT_DOUBLE_EQ(a.mirai_, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(a.zmap_, 0);
  ASSERT_EQ(a.ground_truth_.size(), 1u);
  EXPECT_EQ(a.ground_truth_[0].key, "mirai");
  EXPECT_DOUBLE_EQ(a.ground_truth_[0].share, 0.5);
  const auto& c = ps[1];
  EXPECT_EQ(c.cluster_, 1);
  EXPECT_EQ(c.sources_, 1u);
  EXPECT_EQ(c.bytes_, 120u);
  EXPECT_DOUBLE_EQ(share(c.protocols_, "udp"), 1.0);
  EXPECT_DOUBLE_EQ(share(c.ports_, "udp/53"), 1.0);
  EXPECT_TRUE(c.tcp_flags_.empty());
  EXPECT_EQ(c.hourly_[3], 2u);
  EXPECT_TRUE(c.ground_truth_.empty());
  // Bare port numbers count any protocol.
  EXPECT_DOUBLE_EQ(profile::port_share(a, {"23", "2323"}), 0.75);
  EXPECT_DOUBLE_EQ(profile::port_share(c, {"53"}), 1.0);
  EXPECT_DOUBLE_EQ(profile::port_share(c, {"tcp/53"}), 0.0);
}

TEST(Profile, DestinationCapAndJsonRoundTrip) {
  const std::vector<IpAddr> src = {IpAddr::v4(0x01010101), IpAddr::v4(0x01010102), IpAddr::v4(0x02020202)};
  profile::ProfileOptions po;
  po.destination_cap_ = 2;
  profile::Profiler pr(src, {kDay, kDay, kDay}, {0, 0, 1}, features::WindowSpec{}, po);
  for (const auto& p : packets()) pr.add(p);
  const auto ps = pr.finish(nullptr);
  EXPECT_EQ(ps[0].destinations_, 2u);
  EXPECT_TRUE(ps[0].destinations_capped_);
  const auto back = profile::from_json(profile::to_json(ps[0]));
  EXPECT_EQ(profile::to_json(back), profile::to_json(ps[0]));
  EXPECT_EQ(test::error_of<FormatError>([] {
              profile::from_json(nlohmann::json{{"cluster", 1}});
            }).substr(0, 9),
            "profile: ");
  EXPECT_EQ(test::error_of([&] {
              profile::Profiler(src, {kDay}, {0, 0, 1}, features::WindowSpec{});
            }),
            "profile: 3 sources, 1 window starts and 3 labels; they must be as many");
}

TEST(Signatures, MatchWithEvidence) {
  const auto cat = profile::Catalog::parse(R"(
# comment
[mirai]
activity = Mirai-like
reference = Antonakakis 2017
when = port tcp/23,tcp/2323 >= 0.5
when = fingerprint mirai >= 0.5

[telnet]
activity = any telnet
when = port 23 >= 0.5

[labelled]
activity = known by rDNS
when = label * >= 0.5
when = sources = 2

[dns]
activity = DNS
when = port udp/53 > 0.99
when = proto udp >= 1
)",
                                           "cat.txt");
  ASSERT_EQ(cat.signatures.size(), 4u);
  ground_truth::GroundTruth gt;
  gt.labels_ = {"mirai"};
  gt.hosts_ = {{IpAddr::v4(0x01010101), 0}};
  const auto ps = profiles(&gt);
  const auto m = profile::match(cat, ps[0]);
  // Most conditions first, then catalog order: mirai (2), labelled (2), telnet (1).
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].id, "mirai");
  EXPECT_EQ(m[0].reference, "Antonakakis 2017");
  ASSERT_EQ(m[0].evidence.size(), 2u);
  EXPECT_EQ(m[0].evidence[0], "port tcp/23,tcp/2323 = 0.75 (>= 0.5)");
  EXPECT_EQ(m[0].evidence[1], "fingerprint mirai = 0.6667 (>= 0.5)");
  EXPECT_EQ(m[1].id, "labelled");
  EXPECT_EQ(m[1].evidence[0], "label * = 0.5 (>= 0.5)");
  EXPECT_EQ(m[2].id, "telnet");
  const auto d = profile::match(cat, ps[1]);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].id, "dns");
  EXPECT_TRUE(profile::match(profile::Catalog{}, ps[0]).empty());  // no catalog: unexplained
}

TEST(Signatures, ParseErrors) {
  auto err = [](const std::string& text) {
    return test::error_of<FormatError>([&] { profile::Catalog::parse(text, "c.txt"); });
  };
  EXPECT_EQ(
      err("[a]\nactivity = x\nwhen = prot tcp >= 1\n"),
      "c.txt:3: unknown metric 'prot' (known: port, proto, class, flag, fingerprint, label, asn, country, sources, "
      "packets_per_source, destinations, distinct_ports, source_blocks, blocks_per_source)");
  EXPECT_EQ(err("[a]\nactivity = x\nwhen = port 23 0.5\n"),
            "c.txt:3: 'port 23 0.5' should read 'port ITEM,ITEM OP VALUE' (OP one of >=, <=, >, <, =)");
  EXPECT_EQ(err("[a]\nactivity = x\nwhen = sources 3\n"),
            "c.txt:3: 'sources 3' should read 'sources OP VALUE' (OP one of >=, <=, >, <, =)");
  EXPECT_EQ(err("[a]\nactivity = x\nwhen = port 23 => 0.5\n"), "c.txt:3: unknown comparison '=>' (>=, <=, >, <, =)");
  EXPECT_EQ(err("[a]\nactivity = x\nwhen = port 23 >= half\n"), "c.txt:3: 'half' is not a number");
  EXPECT_EQ(err("[a]\nactivity = x\nwhen = fingerprint zgrab >= 0.5\n"),
            "c.txt:3: unknown fingerprint 'zgrab' (mirai, zmap, masscan)");
  EXPECT_EQ(err("[a]\nactivity = x\nwhen =\n"), "c.txt:3: empty condition");
  EXPECT_EQ(err("[a]\nactivity = x\nwhen = asn ASX >= 0.5\n"),
            "c.txt:3: 'ASX' is not an AS number (13335 or AS13335: 1 to 4294967295)");
  EXPECT_EQ(err("[a]\nactivity = x\nwhen = asn 0 >= 0.5\n"),
            "c.txt:3: '0' is not an AS number (13335 or AS13335: 1 to 4294967295)");
  EXPECT_EQ(err("[a]\nactivity = x\nwhen = country us >= 0.5\n"),
            "c.txt:3: 'us' is not a country code (two capital letters, ISO 3166-1: US, CN)");
  // Conditions that could never match are mistakes, refused with the line.
  EXPECT_EQ(err("[a]\nactivity = x\nwhen = port tcp/99999 >= 0.5\n"),
            "c.txt:3: 'tcp/99999' is not a port (23, tcp/23, udp/53: 0 to 65535)");
  EXPECT_EQ(err("[a]\nactivity = x\nwhen = port tpc/23 >= 0.5\n"),
            "c.txt:3: 'tpc/23' is not a port (23, tcp/23, udp/53: 0 to 65535)");
  EXPECT_EQ(err("[a]\nactivity = x\nwhen = flag BOGUS >= 0.5\n"),
            "c.txt:3: unknown TCP flags 'BOGUS' (SYN, SYN+ACK, RST, RST+ACK, ACK, PSH+ACK, ...)");
  EXPECT_EQ(err("[a]\nactivity = x\nwhen = proto x >= 0.5\n"),
            "c.txt:3: unknown protocol 'x' (tcp, udp, icmp, icmpv6, gre, ... as darklens stats names them)");
  EXPECT_EQ(err("[a]\nactivity = x\nwhen = class spam >= 0.5\n"),
            "c.txt:3: unknown traffic class 'spam' (scan, backscatter, other)");
  EXPECT_EQ(err("[a]\nactivity = x\nwhen = sources > nan\n"), "c.txt:3: 'nan' is not a number");
  EXPECT_EQ(err("[a]\nactivity = x\nwhen = sources > inf\n"), "c.txt:3: 'inf' is not a number");
  EXPECT_EQ(err("[a]\nwhen = sources > 1\n[b]\n"), "c.txt:1: signature [a] has no 'activity ='");
  EXPECT_EQ(err("[a]\nactivity = x\n"), "c.txt:1: signature [a] has no 'when =' condition");
  EXPECT_EQ(err("[a]\nactivity = x\nwhen = sources > 1\n[a]\n"), "c.txt:4: signature [a] is defined twice");
  EXPECT_EQ(err("activity = x\n"), "c.txt:1: 'activity = x' comes before the first [id]");
  EXPECT_EQ(err("[a]\ncolour = red\n"), "c.txt:2: unknown key 'colour' (activity, reference, when)");
  EXPECT_EQ(err("[a]\njust words\n"), "c.txt:2: expected 'key = value' or '[id]'");
  EXPECT_EQ(err("[]\n"), "c.txt:1: expected '[id]'");
  EXPECT_EQ(err("[a]\nactivity = " + std::string(5000, 'x') + "\n"), "c.txt:2: line longer than 4096 characters");
  EXPECT_EQ(test::error_of<IoError>([] { profile::Catalog::load("/nonexistent/sig.txt"); }),
            "/nonexistent/sig.txt: cannot open the signature catalog");
  test::TempDir dir;
  EXPECT_EQ(test::error_of<IoError>([&] { profile::Catalog::load(dir.path().string()); }),
            dir.path().string() + ": is a directory, not a signature catalog");
  const std::string huge = dir.write("huge.txt", std::string(17u << 20, '#'));
  EXPECT_EQ(test::error_of<FormatError>([&] { profile::Catalog::load(huge); }),
            huge + ": larger than 16 MiB; not a signature catalog");
}

TEST(Signatures, ShippedCatalogParsesAndExplainsMirai) {
  const auto cat = profile::Catalog::load(std::string(DARKLENS_TESTS_DIR) + "/../data/signatures.txt");
  EXPECT_GE(cat.signatures.size(), 15u);
  for (const auto& s : cat.signatures) EXPECT_FALSE(s.reference.empty()) << s.id;
  const auto m = profile::match(cat, profiles()[0]);
  ASSERT_FALSE(m.empty());
  EXPECT_EQ(m[0].id, "mirai-telnet");
}

TEST(Profile, ForksMergeToTheSameProfiles) {
  const std::vector<IpAddr> src = {IpAddr::v4(0x01010101), IpAddr::v4(0x01010102), IpAddr::v4(0x02020202)};
  const auto all = packets();
  for (uint64_t cap : {uint64_t{1} << 20, uint64_t{2}}) {
    profile::ProfileOptions po;
    po.destination_cap_ = cap;
    profile::Profiler one(src, {kDay, kDay, kDay}, {0, 0, 1}, features::WindowSpec{}, po);
    for (const auto& p : all) one.add(p);
    profile::Profiler split(src, {kDay, kDay, kDay}, {0, 0, 1}, features::WindowSpec{}, po);
    auto a = split.fork(), b = split.fork();
    for (size_t i = 0; i < all.size(); ++i) (i % 3 == 0 ? split : i % 3 == 1 ? a : b).add(all[i]);
    split.merge(b);
    split.merge(a);
    const auto x = one.finish(nullptr), y = split.finish(nullptr);
    ASSERT_EQ(x.size(), y.size());
    for (size_t c = 0; c < x.size(); ++c) EXPECT_EQ(profile::to_json(x[c]), profile::to_json(y[c])) << cap;
    EXPECT_EQ(split.skipped(), 1u);
    // Packets added as a span (lookups prefetched in groups of 16): the
    // same as one by one, across group boundaries.
    std::vector<Packet> many;
    for (int r = 0; r < 7; ++r) many.insert(many.end(), all.begin(), all.end());
    profile::Profiler each(src, {kDay, kDay, kDay}, {0, 0, 1}, features::WindowSpec{}, po);
    for (const auto& p : many) each.add(p);
    profile::Profiler spans(src, {kDay, kDay, kDay}, {0, 0, 1}, features::WindowSpec{}, po);
    spans.add(std::span<const Packet>(many).first(5));
    spans.add(std::span<const Packet>(many).subspan(5));
    const auto e = each.finish(nullptr), f = spans.finish(nullptr);
    ASSERT_EQ(e.size(), f.size());
    for (size_t c = 0; c < e.size(); ++c) EXPECT_EQ(profile::to_json(e[c]), profile::to_json(f[c])) << cap;
    EXPECT_EQ(spans.skipped(), 7u);
    EXPECT_EQ(e[0].packets_, 7 * x[0].packets_);
  }
  profile::Profiler other(src, {kDay, kDay, kDay}, {0, 0, 1}, features::WindowSpec{});
  profile::Profiler mine(src, {kDay, kDay, kDay}, {0, 0, 1}, features::WindowSpec{});
  EXPECT_EQ(test::error_of<ParamError>([&] { mine.merge(other); }),
            "profile: merge() takes a fork of the same profiler");
  // One row per (source, window): a source listed twice in one window is refused.
  EXPECT_EQ(test::error_of<ParamError>([&] {
              profile::Profiler twice({src[0], src[1], src[0]}, {kDay, kDay, kDay}, {0, 0, 1}, features::WindowSpec{});
            }),
            "profile: source 1.1.1.1 has two rows in one window");
  profile::Profiler two_days({src[0], src[0]}, {kDay, kDay + 24 * kHour}, {0, 1},
                             features::WindowSpec{});  // two windows: fine
}

TEST(Profile, PassOverCapturesIsTheSameOnAnyThreadCount) {
  // profile_clusters on a real capture (tests/data, the GreyNoise storm):
  // the feature table's rows labelled by a rule, profiled on 1, 2 and 3
  // threads, equal profiles; every used packet counted once; the shipped
  // catalog matched.
  features::FeatureOptions fo;
  fo.threads_ = 1;
  const std::vector<std::string> captures = {std::string(DARKLENS_TEST_DATA) + "/greynoise_spoofed_storm_rawip.pcap"};
  features::Aggregator agg(fo);
  agg.add_files(captures);
  const auto table = agg.table();
  std::vector<int> labels(table.rows());
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int>(table.source_[i].lo_ % 3) - 1;  // noise too
  const auto catalog = profile::Catalog::load(std::string(DARKLENS_TESTS_DIR) + "/../data/signatures.txt");
  std::vector<nlohmann::json> first;
  for (int threads : {1, 2, 3}) {
    fo.threads_ = threads;
    const auto profiles = profile::profile_clusters(fo, captures, table, labels, nullptr, &catalog);
    std::vector<nlohmann::json> docs;
    uint64_t packets = 0, sources = 0;
    for (const auto& p : profiles) docs.push_back(profile::to_json(p)), packets += p.packets_, sources += p.sources_;
    EXPECT_EQ(packets, agg.counters().used_) << threads;
    EXPECT_EQ(sources, table.rows()) << threads;
    if (first.empty()) {
      first = docs;
      EXPECT_EQ(first.size(), 3u);  // clusters -1, 0, 1
    } else {
      EXPECT_EQ(docs, first) << threads;
    }
  }
}

TEST(Profile, OriginsCountedPerSourceAndMatchedBySignatures) {
  // Cluster 0 holds 1.1.1.1 and 1.1.1.2 (AS 13335 Cloudflare, AU; the
  // second outside the country file), cluster 1 holds 2.2.2.2 (in neither).
  test::TempDir dir;
  const auto asn = dir.write("asn.csv", std::string("1.1.1.0,1.1.1.255,13335,\"Cloudflare, Inc.\"\n"));
  const auto geo = dir.write("geo.csv", std::string("1.1.1.1,1.1.1.1,AU\n"));
  const auto origins = origin::Origins::open(asn, geo);
  auto ps = profiles();
  const std::vector<IpAddr> src = {IpAddr::v4(0x01010101), IpAddr::v4(0x01010102), IpAddr::v4(0x02020202)};
  profile::add_origins(ps, src, {0, 0, 1}, origins);
  ASSERT_EQ(ps[0].cluster_, 0);
  const auto& o0 = *ps[0].origin_;
  ASSERT_EQ(o0.asns.size(), 1u);
  EXPECT_EQ(o0.asns[0].asn, 13335u);
  EXPECT_EQ(o0.asns[0].org, "Cloudflare, Inc.");
  EXPECT_EQ(o0.asns[0].sources, 2u);
  EXPECT_DOUBLE_EQ(o0.asns[0].share, 1.0);
  ASSERT_EQ(o0.countries.size(), 1u);
  EXPECT_EQ(o0.countries[0].key, "AU");
  EXPECT_DOUBLE_EQ(o0.countries[0].share, 0.5);
  EXPECT_EQ(o0.without_asn, 0u);
  EXPECT_EQ(o0.without_country, 1u);
  const auto& o1 = *ps[1].origin_;
  EXPECT_TRUE(o1.asns.empty() && o1.countries.empty());
  EXPECT_EQ(o1.without_asn, 1u);
  EXPECT_EQ(o1.without_country, 1u);
  // The JSON keeps it, and reads it back.
  const auto j = profile::to_json(ps[0]);
  EXPECT_EQ(j["origin"]["asns"][0]["asn"], 13335);
  EXPECT_EQ(j["origin"]["countries"][0]["key"], "AU");
  EXPECT_EQ(profile::to_json(profile::from_json(j)), j);
  EXPECT_FALSE(profile::to_json(profiles()[0]).contains("origin"));  // none asked: no key
  // Signatures on origins: share of sources.
  const auto cat = profile::Catalog::parse(
      "[cf]\nactivity = from Cloudflare\nwhen = asn AS13335 >= 1\n"
      "[au]\nactivity = half Australian\nwhen = country AU,NZ >= 0.5\n"
      "[known]\nactivity = origin known\nwhen = asn * > 0\n",
      "o.txt");
  const auto m0 = profile::match(cat, ps[0]);
  ASSERT_EQ(m0.size(), 3u);
  EXPECT_EQ(m0[0].evidence[0], "asn AS13335 = 1 (>= 1)");
  EXPECT_TRUE(profile::match(cat, ps[1]).empty());
  EXPECT_TRUE(profile::match(cat, profiles()[0]).empty());  // without the databases nothing matches
}

TEST(Profile, HeaviestSourcesSummedOverTheirWindowsByHand) {
  // Hourly windows: A = 1.1.1.1 has two rows in cluster 0 (2 packets at
  // 00:xx, 1 at 01:xx: 3 in all), B = 1.1.1.2 one (1 packet), C = 2.2.2.2
  // is cluster 1 (2 packets).
  const IpAddr a = IpAddr::v4(0x01010101), b = IpAddr::v4(0x01010102), c = IpAddr::v4(0x02020202);
  features::WindowSpec hourly;
  hourly.length_ns_ = kHour;
  profile::ProfileOptions po;
  po.heaviest_ = 1;
  profile::Profiler pr({a, a, b, c}, {kDay, kDay + kHour, kDay + 5 * kHour, kDay + 3 * kHour}, {0, 0, 0, 1}, hourly,
                       po);
  for (const auto& p : packets()) pr.add(p);
  auto ps = pr.finish(nullptr);
  ASSERT_EQ(ps.size(), 2u);
  ASSERT_EQ(ps[0].heaviest_.size(), 1u);  // N = 1
  EXPECT_EQ(ps[0].heaviest_[0].source, a);
  EXPECT_EQ(ps[0].heaviest_[0].packets, 3u);
  EXPECT_FALSE(ps[0].heaviest_[0].ptr);
  ASSERT_EQ(ps[1].heaviest_.size(), 1u);
  EXPECT_EQ(ps[1].heaviest_[0].source, c);
  EXPECT_EQ(ps[1].heaviest_[0].packets, 2u);
  // Ties go to the lower address: B alone in a cluster with a 1-packet row of A.
  po.heaviest_ = 5;
  profile::Profiler tie({a, a, b, c}, {kDay, kDay + kHour, kDay + 5 * kHour, kDay + 3 * kHour}, {0, 1, 1, 2}, hourly,
                        po);
  for (const auto& p : packets()) tie.add(p);
  for (const auto& p : tie.finish(nullptr)) {
    if (p.cluster_ != 1) continue;
    ASSERT_EQ(p.heaviest_.size(), 2u);
    EXPECT_EQ(p.heaviest_[0].source, a);  // 1 packet each: 1.1.1.1 < 1.1.1.2
    EXPECT_EQ(p.heaviest_[1].source, b);
  }
  // The JSON keeps them (with a name once looked up) and reads them back.
  ps[0].heaviest_[0].ptr = "scanner.example.net";
  const auto j = profile::to_json(ps[0]);
  EXPECT_EQ(j["heaviest_sources"][0]["source"], "1.1.1.1");
  EXPECT_EQ(j["heaviest_sources"][0]["packets"], 3);
  EXPECT_EQ(j["heaviest_sources"][0]["ptr"], "scanner.example.net");
  EXPECT_EQ(profile::to_json(profile::from_json(j)), j);
  EXPECT_FALSE(profile::to_json(profiles()[0]).contains("heaviest_sources"));  // not asked: no key
}
