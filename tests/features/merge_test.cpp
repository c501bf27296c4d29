// Mergeable state: a capture split at random points into consecutive parts,
// aggregated part by part and merged, gives exactly the table of the whole;
// several files give the same table on any number of threads. Plus BPF
// filtering and the output formats.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "darklens/error.hpp"
#include "darklens/features/features.hpp"
#include "darklens/synth/pcap_writer.hpp"
#include "darklens/synth/synth.hpp"
#include "support/temp_dir.hpp"

using namespace darklens;

namespace {

const std::vector<features::Family> kAll = {features::Family::kAgm, features::Family::kAgmNum,
                                            features::Family::kTemporal, features::Family::kFingerprints,
                                            features::Family::kIntensity};

struct Day {
  test::TempDir dir;
  synth::SynthOutput out;
  std::vector<Packet> packets;
  Day() {
    synth::SynthParams p;
    p.days_ = 2;
    p.sources_ = 1500;
    p.seed_ = 5;
    out = synth::generate(p, dir.path().string());
    auto r = ingest::CaptureReader::open(out.days_[0].path_);
    Packet pk;
    while (r->next(pk)) packets.push_back(pk);
  }
};

const Day& day() {
  static Day d;
  return d;
}

void expect_same(const features::FeatureTable& a, const features::FeatureTable& b) {
  ASSERT_EQ(a.rows(), b.rows());
  ASSERT_EQ(a.columns_, b.columns_);
  EXPECT_EQ(a.source_, b.source_);
  EXPECT_EQ(a.window_start_ns_, b.window_start_ns_);
  EXPECT_EQ(a.top_ports_, b.top_ports_);
  for (size_t i = 0; i < a.values_.size(); ++i) {
    ASSERT_EQ(a.values_[i], b.values_[i]) << "column " << a.columns_[i / a.rows()] << " row " << i % a.rows();
  }
}

// The packets cut at `parts - 1` random points, each part aggregated on its
// own, the parts merged in order.
features::FeatureTable merged_in_parts(const std::vector<Packet>& packets, const features::FeatureOptions& o,
                                       std::mt19937_64& rng, size_t parts) {
  std::vector<size_t> cuts = {0, packets.size()};
  for (size_t i = 1; i < parts; ++i) cuts.push_back(rng() % packets.size());
  std::sort(cuts.begin(), cuts.end());
  features::Aggregator merged(o);
  for (size_t k = 0; k + 1 < cuts.size(); ++k) {
    features::Aggregator part(o);
    for (size_t i = cuts[k]; i < cuts[k + 1]; ++i) part.add(packets[i]);
    merged.merge(part);
  }
  return merged.table();
}

// One synthetic day of 800 sources whose darknet answers SYNs.
synth::SynthOutput responder_day(const test::TempDir& dir, uint64_t seed) {
  synth::SynthParams sp;
  sp.sources_ = 800;
  sp.seed_ = seed;
  sp.responder_ = true;
  return synth::generate(sp, dir.path().string());
}

// A classic pcap cut at `parts - 1` random record boundaries into
// consecutive files (each with the original file header).
std::vector<std::string> split_pcap(const std::string& path, size_t parts, std::mt19937_64& rng,
                                    const test::TempDir& dir) {
  const auto bytes = test::read_bytes(path);
  std::vector<size_t> starts;  // offset of every record
  for (size_t at = 24; at + 16 <= bytes.size();) {
    starts.push_back(at);
    uint32_t incl;
    std::memcpy(&incl, bytes.data() + at + 8, 4);  // written on this (little-endian) machine
    at += 16 + incl;
  }
  std::vector<size_t> cuts = {0, starts.size()};
  for (size_t i = 1; i < parts; ++i) cuts.push_back(rng() % starts.size());
  std::sort(cuts.begin(), cuts.end());
  std::vector<std::string> files;
  for (size_t k = 0; k + 1 < cuts.size(); ++k) {
    std::vector<uint8_t> part(bytes.begin(), bytes.begin() + 24);
    const size_t from = starts[cuts[k]];
    const size_t to = cuts[k + 1] == starts.size() ? bytes.size() : starts[cuts[k + 1]];
    part.insert(part.end(), bytes.begin() + static_cast<ptrdiff_t>(from), bytes.begin() + static_cast<ptrdiff_t>(to));
    files.push_back(dir.write("part" + std::to_string(k) + ".pcap", part));
  }
  return files;
}

}  // namespace

TEST(FeatureMerge, RandomSplitsEqualTheWhole) {
  features::FeatureOptions o;
  o.families_ = kAll;
  o.window_ = features::parse_window("6h");  // several windows per day
  const auto& packets = day().packets;
  features::Aggregator whole(o);
  for (const auto& p : packets) whole.add(p);
  const auto expected = whole.table();
  ASSERT_GT(expected.rows(), 1000u);

  std::mt19937_64 rng(42);
  for (int trial = 0; trial < 5; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    expect_same(merged_in_parts(packets, o, rng, 2 + trial), expected);
  }
}

// A row of one packet is kept as that packet and gets its states when the
// table is built (block by block); with agm-num, which declares from every
// row, all states are built first. Both give the same columns, whole or
// merged from parts, for rows of one packet and of more.
TEST(FeatureMerge, RowsOfOnePacketGiveTheColumnsOfBuiltStates) {
  using F = features::Family;
  features::FeatureOptions lazy;
  lazy.families_ = {F::kAgm, F::kTemporal, F::kFingerprints, F::kIntensity};
  lazy.window_ = features::parse_window("6h");
  features::FeatureOptions built = lazy;
  built.families_.push_back(F::kAgmNum);
  const auto& packets = day().packets;
  features::Aggregator a(lazy), b(built);
  for (const auto& p : packets) a.add(p), b.add(p);
  const auto t = a.table(), reference = b.table();
  ASSERT_EQ(t.rows(), reference.rows());
  const size_t packets_col = t.column("agm_packets");
  size_t one = 0;
  for (size_t r = 0; r < t.rows(); ++r) one += t.at(r, packets_col) == 1;
  EXPECT_GT(one, 100u);            // rows of one packet...
  EXPECT_LT(one, t.rows() - 100);  // ...and of more
  for (size_t c = 0; c < t.columns_.size(); ++c) {
    const size_t rc = reference.column(t.columns_[c]);
    for (size_t r = 0; r < t.rows(); ++r) {
      ASSERT_EQ(t.at(r, c), reference.at(r, rc)) << t.columns_[c] << " row " << r;
    }
  }
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 4; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    expect_same(merged_in_parts(packets, lazy, rng, 2 + 3 * trial), t);
  }
}

TEST(FeatureMerge, ValidatedTcpAcrossRandomSplits) {
  test::TempDir dir;
  const auto out = responder_day(dir, 9);
  std::vector<Packet> packets;
  auto r = ingest::CaptureReader::open(out.days_[0].path_);
  Packet pk;
  while (r->next(pk)) packets.push_back(pk);
  features::FeatureOptions o;
  o.families_ = kAll;
  o.darknet_ = {*Cidr::parse("198.51.100.0/24")};
  features::Aggregator whole(o);
  for (const auto& p : packets) whole.add(p);
  const auto expected = whole.table();
  const size_t col = expected.column("fp_validated");
  double validated = 0;
  for (size_t i = 0; i < expected.rows(); ++i) validated += expected.at(i, col);
  EXPECT_GT(validated, 20);
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 4; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    expect_same(merged_in_parts(packets, o, rng, 4 + trial), expected);
  }
}

TEST(FeatureMerge, IntensityColumnsDoNotDependOnOtherFamilies) {
  // With agm selected, intensity reads its distinct destinations from agm's
  // map; alone, it keeps its own. Both must give the same columns.
  features::FeatureOptions alone, with_agm;
  alone.families_ = {features::Family::kIntensity};
  with_agm.families_ = {features::Family::kAgm, features::Family::kIntensity};
  features::Aggregator a(alone), b(with_agm);
  for (const auto& p : day().packets) a.add(p), b.add(p);
  const auto ta = a.table(), tb = b.table();
  ASSERT_EQ(ta.rows(), tb.rows());
  for (size_t c = 0; c < ta.columns_.size(); ++c) {
    const size_t cb = tb.column(ta.columns_[c]);
    for (size_t r = 0; r < ta.rows(); ++r) ASSERT_EQ(ta.at(r, c), tb.at(r, cb)) << ta.columns_[c];
  }
}

// Sources that mix TCP/UDP with ICMP and GRE, the first other packet
// anywhere in their traffic (or never). With agm, intensity's destination
// ports live in agm's map until such a packet; those packets' own port
// values (0 in a pcap, anything in a DarkVec log) must never count.
struct MixedDay {
  test::TempDir dir;
  std::string path;
  std::vector<Packet> packets;
  MixedDay() {
    std::mt19937_64 rng(21);
    struct Send {
      uint32_t src;
      int kind;
      uint16_t dport;
    };  // kind 0 TCP, 1 UDP, 2 ICMP, 3 GRE
    std::vector<Send> sends;
    for (uint32_t s = 0; s < 60; ++s) {
      const uint32_t src = 0x0a000001 + s * 7;
      const size_t n = 1 + rng() % 200;
      const uint16_t ports = static_cast<uint16_t>(1 + rng() % 40);  // past a small cap for some
      const size_t other_at = s % 4 == 0 ? n : rng() % n;            // index of the first other packet
      for (size_t i = 0; i < n; ++i) {
        const int kind = i < other_at    ? static_cast<int>(rng() % 2)
                         : i == other_at ? 2 + static_cast<int>(rng() % 2)
                                         : static_cast<int>(rng() % 4);
        sends.push_back({src, kind, static_cast<uint16_t>(1 + rng() % ports)});
      }
    }
    // Sources interleaved at random, each keeping its own order: a source's
    // sends are consecutive above, so whose turn it is picks its next one.
    std::vector<uint32_t> turns;
    std::map<uint32_t, size_t> next;  // index of each source's next send
    for (size_t i = sends.size(); i-- > 0;) turns.push_back(sends[i].src), next[sends[i].src] = i;
    std::shuffle(turns.begin(), turns.end(), rng);
    path = dir.file("mixed.pcap");
    PcapWriter w(path, 1);
    int64_t ts = 1'620'000'000'000'000'000;
    for (uint32_t src : turns) {
      const Send& e = sends[next[src]++];
      FrameSpec f;
      f.src = e.src;
      f.dst = 0xc6336400 + e.dport % 200;
      f.proto = e.kind == 0 ? 6 : e.kind == 1 ? 17 : e.kind == 2 ? 1 : 47;
      f.sport = 40000;
      f.dport = e.dport;
      w.write(ts += 1'000'000'000, build_frame(f));
    }
    w.commit();
    auto r = ingest::CaptureReader::open(path);
    Packet pk;
    while (r->next(pk)) {
      if (pk.proto_ == 1) pk.dport_ = static_cast<uint16_t>(1 + rng() % 500);  // as a log may give
      packets.push_back(pk);
    }
  }
};

TEST(FeatureMerge, IntensityPortsOfSourcesMixingProtocols) {
  const MixedDay d;
  // The oracle: distinct destination ports of each source's TCP/UDP packets.
  std::map<uint32_t, std::set<uint16_t>> ports;
  for (const Packet& p : d.packets) {
    auto& set = ports[p.src_.v4_value()];
    if (p.proto_ == 6 || p.proto_ == 17) set.insert(p.dport_);
  }
  for (uint32_t cap : {4096u, 8u}) {
    SCOPED_TRACE("cap " + std::to_string(cap));
    features::FeatureOptions alone, with_agm;
    alone.families_ = {features::Family::kIntensity};
    with_agm.families_ = {features::Family::kAgm, features::Family::kIntensity};
    alone.exact_cap_ = with_agm.exact_cap_ = cap;
    features::Aggregator a(alone), b(with_agm);
    for (const auto& p : d.packets) a.add(p), b.add(p);
    const auto ta = a.table(), tb = b.table();
    ASSERT_EQ(ta.rows(), 60u);
    ASSERT_EQ(ta.source_, tb.source_);
    const size_t col = ta.column("int_dst_port_distinct");
    for (size_t r = 0; r < ta.rows(); ++r) {
      EXPECT_EQ(ta.at(r, col), tb.at(r, tb.column("int_dst_port_distinct"))) << "row " << r;
      const auto n = ports[ta.source_[r].v4_value()].size();
      if (n <= cap) {
        EXPECT_EQ(ta.at(r, col), static_cast<double>(n)) << "row " << r;
      }
    }
    for (size_t c = 0; c < ta.columns_.size(); ++c) {
      for (size_t r = 0; r < ta.rows(); ++r) ASSERT_EQ(ta.at(r, c), tb.at(r, tb.column(ta.columns_[c])));
    }
    // Merged in parts, and files read on several threads (later files'
    // new sources adopted as they are): the whole's table. (Past the cap,
    // agm's modes are bounded summaries that merging may change: then the
    // intensity columns only, whose distinct counts stay exact.)
    auto same = [&](const features::FeatureTable& got, const features::FeatureTable& want) {
      if (cap > 200) return expect_same(got, want);
      ASSERT_EQ(got.source_, want.source_);
      for (size_t c = 0; c < want.columns_.size(); ++c) {
        if (want.columns_[c].rfind("int_", 0) != 0) continue;
        for (size_t r = 0; r < want.rows(); ++r) {
          ASSERT_EQ(got.at(r, c), want.at(r, c)) << want.columns_[c] << " row " << r;
        }
      }
    };
    std::mt19937_64 rng(cap);
    for (int trial = 0; trial < 4; ++trial) {
      SCOPED_TRACE("trial " + std::to_string(trial));
      same(merged_in_parts(d.packets, with_agm, rng, 2 + 2 * trial), tb);
    }
    features::Aggregator file_whole(with_agm);
    file_whole.add_file(d.path);
    const auto expected = file_whole.table();
    for (int trial = 0; trial < 3; ++trial) {
      test::TempDir parts_dir;
      const auto files = split_pcap(d.path, 3 + 2 * trial, rng, parts_dir);
      for (int threads : {1, 2, 3}) {
        SCOPED_TRACE("threads " + std::to_string(threads));
        features::FeatureOptions o = with_agm;
        o.threads_ = threads;
        features::Aggregator many(o);
        many.add_files(files);
        same(many.table(), expected);
      }
    }
  }
}

TEST(FeatureMerge, SameTableOnAnyThreadCount) {
  features::FeatureOptions o;
  o.families_ = kAll;
  std::vector<std::string> files = {day().out.days_[0].path_, day().out.days_[1].path_};
  o.threads_ = 1;
  features::Aggregator one(o);
  one.add_files(files);
  o.threads_ = 2;
  features::Aggregator two(o);
  two.add_files(files);
  expect_same(one.table(), two.table());
  EXPECT_EQ(two.counters().files_.size(), 2u);
}

// Progress: the records and input bytes read so far, summed over files
// read on any number of threads, never going back, ending at every record
// and the inputs' whole size on disk (compressed bytes for a .gz).
TEST(FeatureMerge, ProgressCountsEveryRecordAndByteOfTheInputs) {
  test::TempDir dir;
  // More records than a chunk (2^19), so that one file reports several times.
  const std::string big = dir.file("big.pcap"), gz = dir.file("big.pcap.gz");
  for (auto [path, compression] :
       {std::pair{big, ingest::Compression::kNone}, std::pair{gz, ingest::Compression::kGzip}}) {
    PcapWriter w(path, 1, compression);
    FrameSpec f;
    f.src = 0x01020304;
    f.dst = 0xC6336401;
    f.dport = 23;
    const auto frame = build_frame(f);
    for (int i = 0; i < (1 << 19) + 1000; ++i) w.write(int64_t{i} * 1'000'000, frame);
    w.commit();
  }
  const std::vector<std::string> files = {day().out.days_[0].path_, big, gz, day().out.days_[1].path_};
  uint64_t total = 0;
  for (const auto& f : files) total += std::filesystem::file_size(f);
  for (int threads : {1, 2, 3}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    features::FeatureOptions o;
    o.threads_ = threads;
    features::Aggregator agg(o);
    std::vector<features::ReadProgress> seen;
    agg.add_files(files, [&](const features::ReadProgress& p) { seen.push_back(p); });
    uint64_t records = 0;
    for (const auto& [path, rc] : agg.counters().files_) records += rc.records_;
    ASSERT_GE(seen.size(), 6u);  // two or more for each big file, one for each day
    for (size_t i = 1; i < seen.size(); ++i) {
      EXPECT_GE(seen[i].records, seen[i - 1].records) << i;
      EXPECT_GE(seen[i].bytes, seen[i - 1].bytes) << i;
    }
    for (const auto& p : seen) EXPECT_EQ(p.total_bytes, total);
    EXPECT_EQ(seen.back().records, records);
    EXPECT_EQ(seen.back().bytes, total);
  }
  // One file, its sources split across threads.
  features::FeatureOptions o;
  o.threads_ = 2;
  features::Aggregator one(o);
  std::vector<features::ReadProgress> seen;
  one.add_file(gz, [&](const features::ReadProgress& p) { seen.push_back(p); });
  ASSERT_GE(seen.size(), 2u);
  EXPECT_EQ(seen.back().bytes, std::filesystem::file_size(gz));
  EXPECT_EQ(seen.back().records, (1u << 19) + 1000);
  // A pipe has no size: the total is unknown (0), the bytes still counted.
  const std::string fifo = dir.file("pipe.pcap");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const auto bytes = test::read_bytes(day().out.days_[0].path_);
  std::thread writer([&] {
    std::ofstream out(fifo, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  });
  features::Aggregator piped(features::FeatureOptions{});
  seen.clear();
  piped.add_files({fifo, day().out.days_[1].path_}, [&](const features::ReadProgress& p) { seen.push_back(p); });
  writer.join();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].total_bytes, 0u);
  EXPECT_EQ(seen[0].bytes, bytes.size());
  EXPECT_EQ(seen[1].bytes, bytes.size() + std::filesystem::file_size(day().out.days_[1].path_));
}

TEST(FeatureMerge, FilesCutAtRandomGiveTheWholeOnAnyThreadCount) {
  // On several threads each file has its own aggregator, merged in order:
  // a source first seen in a later file takes that file's state as it is,
  // one seen before is merged. Both must give the table of the whole.
  test::TempDir dir;
  const auto out = responder_day(dir, 11);
  features::FeatureOptions o;
  o.families_ = kAll;
  o.families_.push_back(features::Family::kAgmExt);
  o.darknet_ = {*Cidr::parse("198.51.100.0/24")};
  o.window_ = features::parse_window("1h");
  o.flow_timeout_ns_ = 5'000'000'000;
  features::Aggregator whole(o);
  whole.add_file(out.days_[0].path_);
  const auto expected = whole.table();
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 3; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    test::TempDir parts_dir;
    const auto files = split_pcap(out.days_[0].path_, 3 + 2 * trial, rng, parts_dir);
    for (int threads : {1, 2, 3}) {
      SCOPED_TRACE("threads " + std::to_string(threads));
      o.threads_ = threads;
      features::Aggregator many(o);
      many.add_files(files);
      expect_same(many.table(), expected);
      EXPECT_EQ(many.counters().used_, whole.counters().used_);
    }
  }
}

TEST(FeatureMerge, PacketsRoutedToOwnersGiveTheWholeTable) {
  // darklens-mpi's scheme without MPI: readers take consecutive files,
  // each routes its packets to owners by hash in rounds of a few records;
  // each owner applies what each reader sent to that reader's aggregator,
  // merges them in the readers' order and builds the table of its rows with
  // agm-num's top ports counted over every owner's rows; the owners'
  // tables merged are the table of one aggregator reading every file.
  test::TempDir dir;
  const auto out = responder_day(dir, 13);
  features::FeatureOptions o;
  o.families_ = kAll;
  o.darknet_ = {*Cidr::parse("198.51.100.0/24")};
  o.window_ = features::parse_window("2h");
  o.flow_timeout_ns_ = 5'000'000'000;
  features::Aggregator whole(o);
  whole.add_file(out.days_[0].path_);
  const auto expected = whole.table();
  std::mt19937_64 rng(17);
  test::TempDir parts_dir;
  const auto files = split_pcap(out.days_[0].path_, 5, rng, parts_dir);
  for (size_t readers : {1, 2, 3}) {
    for (size_t owners : {1, 2, 4}) {
      SCOPED_TRACE(std::to_string(readers) + " readers, " + std::to_string(owners) + " owners");
      std::vector<features::PacketRouter> routers;
      for (size_t r = 0; r < readers; ++r) {
        routers.emplace_back(o,
                             std::vector<std::string>(files.begin() + r * files.size() / readers,
                                                      files.begin() + (r + 1) * files.size() / readers),
                             owners);
      }
      std::vector<std::vector<features::Aggregator>> from(owners);  // [owner][reader]
      for (auto& f : from) {
        for (size_t r = 0; r < readers; ++r) f.emplace_back(o);
      }
      for (bool more = true; more;) {
        more = false;
        for (size_t r = 0; r < readers; ++r) {
          std::vector<std::string> sent(owners);
          more |= routers[r].next(sent, 997);
          for (size_t w = 0; w < owners; ++w) from[w][r].apply_routed(sent[w]);
        }
      }
      std::vector<features::Aggregator::PortCount> counts;
      for (auto& f : from) {
        for (size_t r = 1; r < readers; ++r) f[0].merge(f[r]);
        for (const auto& c : f[0].agm_num_port_counts()) counts.push_back(c);
      }
      features::FeatureOptions with_ports = o;
      with_ports.agm_num_top_ports_ = features::agm_num_top_ports(counts);
      std::vector<features::FeatureTable> tables;
      tables.reserve(owners);
      for (auto& f : from) tables.push_back(f[0].table(with_ports));
      expect_same(features::merge_tables(std::move(tables)), expected);
      uint64_t used = 0, packets = 0;
      size_t read = 0;
      for (const auto& router : routers) {
        used += router.counters().used_;
        packets += router.counters().packets_;
        read += router.counters().files_.size();
      }
      EXPECT_EQ(used, whole.counters().used_);
      EXPECT_EQ(packets, whole.counters().packets_);
      EXPECT_EQ(read, files.size());
    }
  }
  // What a reader sent cut short, and tables of other options.
  features::Aggregator a(o);
  try {
    a.apply_routed(std::string(57, 'x'));
    ADD_FAILURE() << "57 bytes applied";
  } catch (const FormatError& e) {
    EXPECT_STREQ(e.what(), "routed packets: 57 bytes is not a whole number of 56-byte records");
  }
  features::FeatureOptions agm_only = o;
  agm_only.families_ = {features::Family::kAgm};
  auto fewer = whole.table(agm_only);
  const std::string message = "tables to merge have different columns (" + std::to_string(fewer.columns_.size()) +
                              " and " + std::to_string(expected.columns_.size()) + ")";
  std::vector<features::FeatureTable> unlike;
  unlike.push_back(expected);
  unlike.push_back(std::move(fewer));
  try {
    features::merge_tables(std::move(unlike));
    ADD_FAILURE() << "tables of other columns merged";
  } catch (const ParamError& e) {
    EXPECT_EQ(std::string(e.what()), message);
  }
}

TEST(FeatureMerge, OneFileSplitAcrossThreadsGivesTheSameTable) {
  // A single file's sources are partitioned across the threads by hash.
  for (bool prefix : {false, true}) {
    features::FeatureOptions o;
    o.families_ = kAll;
    if (prefix) o.darknet_ = {*Cidr::parse("198.51.100.0/24")};
    o.threads_ = 1;
    features::Aggregator one(o);
    one.add_file(day().out.days_[0].path_);
    const auto reference = one.table();
    for (int threads : {2, 3, 5}) {
      o.threads_ = threads;
      features::Aggregator many(o);
      many.add_file(day().out.days_[0].path_);
      expect_same(reference, many.table());
      EXPECT_EQ(many.counters().used_, one.counters().used_);
      EXPECT_EQ(many.counters().packets_, one.counters().packets_);
      EXPECT_EQ(many.counters().files_.size(), 1u);
    }
  }
}

TEST(FeatureMerge, PartitionsFoldWhenMoreIsAdded) {
  // After a multi-threaded add_file, adding the next day's packets one by
  // one, or merging the aggregator of the next day, gives the
  // single-threaded table.
  std::vector<Packet> next;
  auto r = ingest::CaptureReader::open(day().out.days_[1].path_);
  for (Packet pk; r->next(pk);) next.push_back(pk);
  features::FeatureOptions o;
  o.families_ = kAll;
  o.threads_ = 1;
  features::Aggregator ref(o);
  ref.add_file(day().out.days_[0].path_);
  for (const auto& p : next) ref.add(p);
  o.threads_ = 3;
  features::Aggregator a(o);
  a.add_file(day().out.days_[0].path_);
  for (const auto& p : next) a.add(p);
  expect_same(ref.table(), a.table());
  features::Aggregator b(o), c(o);
  b.add_file(day().out.days_[0].path_);
  c.add_file(day().out.days_[1].path_);
  b.merge(c);
  expect_same(ref.table(), b.table());
}

TEST(FeatureMerge, FilesOfOtherWindowsAreKeptWholeAndFoldLater) {
  // Several files on several threads: a file whose (source, window) keys
  // are all new is kept whole beside the others (nothing merged or moved);
  // one sharing keys is merged; adding more folds everything. And one file
  // read on several threads into an aggregator that already holds keys
  // (its partitions are disjoint from each other, not from those keys: a
  // key split across them was a duplicate row before). A day cut in two
  // around the next day: [first half, next day, second half].
  test::TempDir dir;
  std::mt19937_64 rng(17);
  const auto halves = split_pcap(day().out.days_[0].path_, 2, rng, dir);
  const std::vector<std::string> files = {halves[0], day().out.days_[1].path_, halves[1]};
  features::FeatureOptions o;
  o.families_ = kAll;
  o.threads_ = 1;
  features::Aggregator ref(o);
  ref.add_files(files);
  const auto expected = ref.table();
  for (int threads : {2, 3}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    o.threads_ = threads;
    features::Aggregator all(o), later(o);
    all.add_files(files);
    expect_same(all.table(), expected);
    EXPECT_EQ(all.counters().used_, ref.counters().used_);
    EXPECT_EQ(all.counters().files_.size(), 3u);
    later.add_files({files[0], files[1]});
    later.add_files({files[2]});
    expect_same(later.table(), expected);
    EXPECT_EQ(later.counters().used_, ref.counters().used_);
    EXPECT_EQ(later.counters().packets_, ref.counters().packets_);
  }
}

TEST(FeatureMerge, BeyondTheExactCapCountsStayBounded) {
  // One source touching 3000 destinations with a cap of 256: distinct is
  // estimated (HyperLogLog, ~1.6% error), the mode keeps the heavy value.
  features::FeatureOptions o;
  o.exact_cap_ = 256;
  features::Aggregator agg(o);
  Packet p;
  p.src_ = IpAddr::v4(0x01020304);
  p.proto_ = ip_proto::kTcp;
  p.flags_ = Packet::kHasTransport;
  for (uint32_t i = 0; i < 3000; ++i) {
    p.dst_ = IpAddr::v4(0x0a000000 + i);
    p.ts_ns_ = i;
    agg.add(p);
    if (i % 3 == 0) {  // 0x0a000000 is the heavy hitter: 1000 extra packets
      p.dst_ = IpAddr::v4(0x0a000000);
      agg.add(p);
    }
  }
  auto t = agg.table();
  EXPECT_NEAR(t.at(0, t.column("agm_dst_ip_distinct")), 3000, 3000 * 0.05);
  EXPECT_EQ(t.at(0, t.column("agm_dst_ip_mode")), 0x0a000000);
}

TEST(FeatureFilter, BpfOnPcapAndOnDarkVecCsv) {
  features::FeatureOptions o;
  o.bpf_ = "tcp dst port 23";
  features::Aggregator agg(o);
  agg.add_file(day().out.days_[0].path_);
  auto t = agg.table();
  ASSERT_GT(t.rows(), 0u);
  for (size_t r = 0; r < t.rows(); ++r) {
    ASSERT_EQ(t.at(r, t.column("agm_dst_port_mode")), 23);
    ASSERT_EQ(t.at(r, t.column("agm_dst_port_distinct")), 1);
  }
  EXPECT_GT(agg.counters().files_[0].second.filtered_, 0u);

  // DarkVec CSV rows are matched as rebuilt IP packets: the sample has 85
  // TCP packets to port 23 (awk over the decompressed file).
  features::Aggregator csv(o);
  csv.add_file(std::string(DARKLENS_TEST_DATA) + "/darknet01_20210501.csv.gz");
  EXPECT_EQ(csv.counters().used_, 85u);

  o.bpf_ = "tcp dst prot 23";
  features::Aggregator bad(o);
  try {
    bad.add_file(day().out.days_[0].path_);
    FAIL() << "expected ParamError";
  } catch (const ParamError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("filter 'tcp dst prot 23': ", 0), 0u) << e.what();
  }
}

TEST(FeatureOutput, CsvJsonlNpy) {
  features::FeatureOptions o;
  features::Aggregator agg(o);
  agg.add_file(std::string(DARKLENS_TEST_DATA) + "/bbn_one_scanner_2021-09-26.pcap");
  auto t = agg.table();
  ASSERT_EQ(t.rows(), 1u);
  test::TempDir dir;
  features::write_table(t, dir.file("f.csv"));
  std::ifstream csv(dir.file("f.csv"));
  std::string header, row;
  std::getline(csv, header);
  std::getline(csv, row);
  EXPECT_EQ(header.rfind("source,window_start,agm_packets,agm_dst_ip_distinct,", 0), 0u);
  EXPECT_EQ(row.rfind(t.source_[0].to_string() + ",2021-09-26T00:00:00Z,1022,256,", 0), 0u) << row;

  features::write_table(t, dir.file("f.jsonl"));
  std::ifstream jl(dir.file("f.jsonl"));
  std::getline(jl, row);
  EXPECT_NE(row.find("\"agm_packets\":1022"), std::string::npos) << row;

  features::write_table(t, dir.file("f.npy"));
  auto npy = test::read_bytes(dir.file("f.npy"));
  ASSERT_GT(npy.size(), 128u);
  EXPECT_EQ(std::string(npy.begin() + 1, npy.begin() + 6), "NUMPY");
  const size_t header_len = npy[8] | (npy[9] << 8);
  EXPECT_EQ((10 + header_len) % 64, 0u);
  EXPECT_EQ(npy.size(), 10 + header_len + 22 * sizeof(double));
  double first;
  std::memcpy(&first, npy.data() + 10 + header_len, sizeof first);
  EXPECT_EQ(first, 1022);
  EXPECT_EQ(test::read_bytes(dir.file("f.columns.txt")).size() > 0, true);
  std::ifstream rows(dir.file("f.rows.csv"));
  std::getline(rows, row);
  EXPECT_EQ(row, "source,window_start");
}
