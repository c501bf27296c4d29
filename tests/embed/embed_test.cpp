// The embed stage: services, the corpus built from packets, and word2vec
// training (determinism on any thread count, planted groups found, the
// incremental start from a previous model). gensim's Word2Vec on the same
// corpus is the reference in tests/embed/gensim_reference.py.
#include "darklens/embed/embed.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "../src/core/rng.hpp"
#include "darklens/error.hpp"

namespace darklens::embed {
namespace {

constexpr int64_t kDay = 1'619'827'200'000'000'000LL;  // 2021-05-01T00:00:00Z
constexpr int64_t kSec = 1'000'000'000LL;

Packet packet(int64_t t, uint32_t src, uint8_t proto, uint16_t dport) {
  Packet p;
  p.ts_ns_ = t;
  p.src_ = IpAddr::v4(src);
  p.dst_ = IpAddr::v4(0xc6336401);
  p.ip_version_ = 4;
  p.proto_ = proto;
  p.dport_ = dport;
  p.flags_ = proto == ip_proto::kIcmp ? 0 : Packet::kHasTransport;
  return p;
}

std::string message(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Services, NamedPortsFirstThenTheCatchAlls) {
  auto s = Services::parse("# comment\ntelnet  tcp/23,tcp/2323\nweb 80, tcp/8080-8081 # both\n", "s.txt");
  const auto& n = s.names();
  ASSERT_EQ(n.size(), 7u);
  EXPECT_EQ(n[s.of(packet(0, 1, ip_proto::kTcp, 23))], "telnet");
  EXPECT_EQ(n[s.of(packet(0, 1, ip_proto::kTcp, 2323))], "telnet");
  EXPECT_EQ(n[s.of(packet(0, 1, ip_proto::kUdp, 23))], "other-system");  // tcp/ only
  EXPECT_EQ(n[s.of(packet(0, 1, ip_proto::kUdp, 80))], "web");           // both protocols
  EXPECT_EQ(n[s.of(packet(0, 1, ip_proto::kTcp, 8081))], "web");
  EXPECT_EQ(n[s.of(packet(0, 1, ip_proto::kTcp, 8082))], "other-user");
  EXPECT_EQ(n[s.of(packet(0, 1, ip_proto::kTcp, 1023))], "other-system");
  EXPECT_EQ(n[s.of(packet(0, 1, ip_proto::kTcp, 1024))], "other-user");
  EXPECT_EQ(n[s.of(packet(0, 1, ip_proto::kUdp, 49152))], "other-dynamic");
  EXPECT_EQ(n[s.of(packet(0, 1, ip_proto::kIcmp, 0))], "icmp");
  EXPECT_EQ(n[s.of(packet(0, 1, ip_proto::kGre, 0))], "other");
  auto frag = packet(0, 1, ip_proto::kTcp, 23);
  frag.flags_ = Packet::kFragment;  // no transport header: no port
  EXPECT_EQ(n[s.of(frag)], "other");
}

TEST(Services, APortNamedTwiceKeepsItsFirstService) {
  auto s = Services::parse("a tcp/22\nb 22\n", "s.txt");
  EXPECT_EQ(s.names()[s.of(packet(0, 1, ip_proto::kTcp, 22))], "a");
  EXPECT_EQ(s.names()[s.of(packet(0, 1, ip_proto::kUdp, 22))], "b");
  // Overlapping ranges: each port to the first range that names it.
  auto r = Services::parse("a tcp/10-20,tcp/40\nb tcp/15-45\nc tcp/0-65535\n", "s.txt");
  for (uint16_t port : {10, 15, 20, 40}) EXPECT_EQ(r.names()[r.of(packet(0, 1, ip_proto::kTcp, port))], "a") << port;
  for (uint16_t port : {21, 39, 41, 45}) EXPECT_EQ(r.names()[r.of(packet(0, 1, ip_proto::kTcp, port))], "b") << port;
  for (uint16_t port : {0, 9, 46, 65535}) EXPECT_EQ(r.names()[r.of(packet(0, 1, ip_proto::kTcp, port))], "c") << port;
  EXPECT_EQ(r.names()[r.of(packet(0, 1, ip_proto::kUdp, 15))], "other-system");
}

TEST(Services, RefusalsNameTheFileAndTheLine) {
  EXPECT_EQ(message([] { Services::parse("ok 1\nweb tcp/99999\n", "s.txt"); }),
            "s.txt:2: 'tcp/99999' is not a port spec (tcp/23, udp/53, 23, tcp/137-139; ports 0-65535)");
  EXPECT_EQ(message([] { Services::parse("web\n", "s.txt"); }), "s.txt:1: a service needs a name and its ports");
  EXPECT_EQ(message([] { Services::parse("a 1\na 2\n", "s.txt"); }), "s.txt:2: service 'a' is named twice");
  EXPECT_EQ(message([] { Services::parse("w\xff 1\n", "s.txt"); }),
            "s.txt:1: service name 'w\xff' may hold only letters, digits, - _ .");
  EXPECT_EQ(message([] { Services::parse("x tcp/9-3\n", "s.txt"); }),
            "s.txt:1: 'tcp/9-3' is not a port spec (tcp/23, udp/53, 23, tcp/137-139; ports 0-65535)");
  EXPECT_EQ(message([] { Services::parse("icmp 1\n", "s.txt"); }),
            "s.txt: 'icmp' is a built-in catch-all; name it otherwise");
  EXPECT_EQ(message([] { Services::read("/nonexistent/services.txt"); }),
            "/nonexistent/services.txt: cannot open the services file");
}

TEST(Services, TheShippedFileParses) {
  auto s = Services::read(DARKLENS_TESTS_DIR "/../data/services.txt");
  EXPECT_EQ(s.names()[s.of(packet(0, 1, ip_proto::kTcp, 2323))], "telnet");
  EXPECT_EQ(s.names()[s.of(packet(0, 1, ip_proto::kTcp, 22))], "ssh");
  EXPECT_EQ(s.names()[s.of(packet(0, 1, ip_proto::kTcp, 3389))], "rdp");
}

TEST(Corpus, OneSentencePerBinAndServiceInArrivalOrder) {
  CorpusOptions o;
  o.bin_ns_ = 3600 * kSec;
  CorpusBuilder b(Services::parse("telnet tcp/23\nssh tcp/22\n", "s"), o);
  b.add(packet(kDay + 10 * kSec, 3, ip_proto::kTcp, 22));
  b.add(packet(kDay + 11 * kSec, 1, ip_proto::kTcp, 23));
  b.add(packet(kDay + 12 * kSec, 2, ip_proto::kTcp, 23));
  b.add(packet(kDay + 13 * kSec, 1, ip_proto::kTcp, 23));
  b.add(packet(kDay + 3700 * kSec, 2, ip_proto::kTcp, 23));  // the next bin
  b.add(packet(kDay + 14 * kSec, 3, ip_proto::kIcmp, 0));
  auto corpora = b.finish();
  ASSERT_EQ(corpora.size(), 1u);
  EXPECT_EQ(corpora[0].first, kDay);
  const Corpus& c = corpora[0].second;
  // Words in order of first appearance: 3, 1, 2.
  ASSERT_EQ(c.words_.size(), 3u);
  EXPECT_EQ(c.words_[0], IpAddr::v4(3));
  EXPECT_EQ(c.counts_, (std::vector<uint64_t>{2, 2, 2}));
  // Bin 0: telnet (service 0) 1 2 1, ssh 3, icmp 3; bin 1: telnet 2.
  EXPECT_EQ(corpus_text(c), "0.0.0.1 0.0.0.2 0.0.0.1\n0.0.0.3\n0.0.0.3\n0.0.0.2\n");
  EXPECT_EQ(c.sentences(), 4u);
}

TEST(Corpus, WindowsInTimeOrderAndLongSentencesCut) {
  CorpusOptions o;
  o.max_sentence_ = 2;
  CorpusBuilder b(Services::parse("telnet tcp/23\n", "s"), o);
  for (uint32_t i = 1; i <= 5; ++i) b.add(packet(kDay + 86400 * kSec + i * kSec, i, ip_proto::kTcp, 23));
  b.add(packet(kDay, 9, ip_proto::kTcp, 23));  // an earlier day, read last
  auto corpora = b.finish();
  ASSERT_EQ(corpora.size(), 2u);
  EXPECT_EQ(corpora[0].first, kDay);
  EXPECT_EQ(corpus_text(corpora[0].second), "0.0.0.9\n");
  EXPECT_EQ(corpora[1].first, kDay + 86400 * kSec);
  EXPECT_EQ(corpus_text(corpora[1].second), "0.0.0.1 0.0.0.2\n0.0.0.3 0.0.0.4\n0.0.0.5\n");
}

// Groups of sources that always appear together: group g's sources, in a
// random order with repeats, are each bin's sentence of service g.
Corpus planted(size_t groups, size_t members, size_t bins, uint64_t seed) {
  CorpusBuilder b(Services::parse("a tcp/1\nb tcp/2\nc tcp/3\nd tcp/4\n", "s"), CorpusOptions{});
  Rng rng(seed);
  for (size_t bin = 0; bin < bins; ++bin) {
    for (size_t i = 0; i < groups * members * 3; ++i) {
      const size_t g = rng.between(0, groups - 1), m = rng.between(0, members - 1);
      const int64_t t = kDay + static_cast<int64_t>(bin) * 3600 * kSec + static_cast<int64_t>(i);
      b.add(packet(t, static_cast<uint32_t>(100 * (g + 1) + m), ip_proto::kTcp, static_cast<uint16_t>(g + 1)));
    }
  }
  return b.finish().at(0).second;
}

double cosine(const Model& m, size_t a, size_t b) {
  double ab = 0, aa = 0, bb = 0;
  for (int d = 0; d < m.dim_; ++d) {
    ab += m.vector(a)[d] * m.vector(b)[d];
    aa += m.vector(a)[d] * m.vector(a)[d];
    bb += m.vector(b)[d] * m.vector(b)[d];
  }
  return ab / std::sqrt(aa * bb);
}

TEST(Word2Vec, TheSameBitsOnAnyThreadCount) {
  const Corpus c = planted(4, 30, 24, 7);  // ~8,600 tokens: several rounds of blocks
  Word2VecParams p;
  p.dim_ = 16;
  p.epochs_ = 3;
  p.threads_ = 1;
  const Model one = train(c, p);
  for (int t : {2, 3, 8}) {
    p.threads_ = t;
    const Model many = train(c, p);
    EXPECT_EQ(many.words_, one.words_);
    EXPECT_EQ(many.input_, one.input_) << t << " threads";
    EXPECT_EQ(many.output_, one.output_) << t << " threads";
  }
  p.seed_ = 2;
  EXPECT_NE(train(c, p).input_, one.input_);
}

TEST(Word2Vec, SourcesThatActTogetherLandClose) {
  const Corpus c = planted(4, 30, 24, 7);
  Word2VecParams p;
  p.dim_ = 16;
  p.epochs_ = 5;
  p.threads_ = 2;
  const Model m = train(c, p);
  ASSERT_EQ(m.words_.size(), 120u);
  auto group = [&](size_t i) { return m.words_[i].v4_value() / 100; };
  size_t right = 0;
  for (size_t i = 0; i < m.words_.size(); ++i) {
    size_t best = i == 0 ? 1 : 0;
    for (size_t j = 0; j < m.words_.size(); ++j) {
      if (j != i && cosine(m, i, j) > cosine(m, i, best)) best = j;
    }
    right += group(best) == group(i);
  }
  EXPECT_GE(right, 118u) << "sources whose nearest neighbour is in their own group";
}

TEST(Word2Vec, MinCountLeavesRareSourcesOut) {
  CorpusBuilder b(Services::parse("a tcp/1\n", "s"), CorpusOptions{});
  for (int i = 0; i < 6; ++i) b.add(packet(kDay + i, 1 + static_cast<uint32_t>(i % 2), ip_proto::kTcp, 1));
  b.add(packet(kDay + 10, 3, ip_proto::kTcp, 1));
  const Corpus c = b.finish().at(0).second;
  Word2VecParams p;
  p.min_count_ = 2;
  const Model m = train(c, p);
  EXPECT_EQ(m.words_, (std::vector<IpAddr>{IpAddr::v4(1), IpAddr::v4(2)}));
  EXPECT_EQ(m.input_.size(), 2u * 50);
}

TEST(Word2Vec, StartsFromThePreviousWindowsVectors) {
  const Corpus c = planted(2, 5, 2, 3);
  Model previous;
  previous.dim_ = 4;
  previous.words_ = {IpAddr::v4(101), IpAddr::v4(999)};
  previous.input_ = {1, 2, 3, 4, 5, 6, 7, 8};
  previous.output_ = {0.5F, 0.5F, 0.5F, 0.5F, 0, 0, 0, 0};
  Word2VecParams p;
  p.dim_ = 4;
  p.alpha_ = 1e-12;  // (almost) no training: what it started from shows
  p.min_alpha_ = 0;
  const Model m = train(c, p, &previous);
  size_t known = 0;
  for (size_t i = 0; i < m.words_.size(); ++i) {
    if (m.words_[i] == IpAddr::v4(101)) {
      ++known;
      for (int d = 0; d < 4; ++d) EXPECT_NEAR(m.vector(i)[d], 1.0 + d, 1e-6);
    } else {
      for (int d = 0; d < 4; ++d) EXPECT_LT(std::abs(m.vector(i)[d]), 0.125 + 1e-6);  // random in +-0.5/dim
    }
  }
  EXPECT_EQ(known, 1u);
}

TEST(Word2Vec, ParametersOutOfRangeAreRefused) {
  Word2VecParams p;
  p.dim_ = 0;
  EXPECT_EQ(message([&] { check(p); }), "dim must be 1..1000 (got 0)");
  p = {};
  p.context_ = 101;
  EXPECT_EQ(message([&] { check(p); }), "context must be 1..100 (got 101)");
  p = {};
  p.sample_ = std::nan("");
  EXPECT_EQ(message([&] { check(p); }), "sample must be in [0, 1)");
  p = {};
  p.min_alpha_ = 1;
  EXPECT_EQ(message([&] { check(p); }), "min-alpha must be 0..alpha");
  EXPECT_EQ(train(Corpus{}, Word2VecParams{}).words_.size(), 0u);
}

TEST(Windows, EachWindowStartsFromTheOneBeforeCarriedOver) {
  // Window 1 sees 101 and 999's vectors come from `init`; window 2 sees
  // neither: the carried model still holds both.
  Model init;
  init.dim_ = 4;
  init.words_ = {IpAddr::v4(101), IpAddr::v4(999)};
  init.input_ = {1, 2, 3, 4, 5, 6, 7, 8};
  init.output_ = {0, 0, 0, 0, 1, 1, 1, 1};
  Word2VecParams p;
  p.dim_ = 4;
  p.epochs_ = 2;
  std::vector<std::pair<int64_t, Corpus>> corpora = {{0, planted(2, 5, 2, 3)}, {1, planted(1, 3, 1, 1)}};
  for (auto& w : corpora[1].second.words_) w = IpAddr::v4(w.v4_value() + 5000);  // new sources only
  std::vector<size_t> before;
  Model last;
  const auto out = train_windows(
      corpora, p, &init, [&](size_t i) { before.push_back(i); }, {}, &last);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(before, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(out[0].model.words_.size(), corpora[0].second.words_.size());
  EXPECT_EQ(out[0].model.input_, train(corpora[0].second, p, &init).input_);
  Model carried = out[0].model;
  carry_over(carried, init);
  EXPECT_EQ(out[1].model.input_, train(corpora[1].second, p, &carried).input_);
  // The last model: window 2's words, then window 1's, then 999 from init.
  EXPECT_EQ(last.words_.size(), out[1].model.words_.size() + out[0].model.words_.size() + 1);
  EXPECT_EQ(last.words_.back(), IpAddr::v4(999));
  EXPECT_EQ(std::vector<float>(last.input_.end() - 4, last.input_.end()), (std::vector<float>{5, 6, 7, 8}));
  EXPECT_EQ(std::vector<float>(last.output_.end() - 4, last.output_.end()), (std::vector<float>{1, 1, 1, 1}));
}

TEST(Windows, AModelAsBytesAndBack) {
  Model m;
  m.dim_ = 2;
  m.words_ = {IpAddr::v4(0x0a000001), *IpAddr::parse("2001:db8::1")};
  m.input_ = {0.5F, -1.25F, 3e-8F, 7};
  m.output_ = {0, 1, 2, -0.0F};
  const auto b = to_bytes(m);
  EXPECT_EQ(b.words, "10.0.0.1\n2001:db8::1\n");
  EXPECT_EQ(b.input.size(), 16u);
  EXPECT_EQ(b.input.substr(0, 4), std::string("\0\0\0\x3f", 4));  // 0.5, little-endian float32
  const Model back = from_bytes(b, 2, "db");
  EXPECT_EQ(back.words_, m.words_);
  EXPECT_EQ(back.input_, m.input_);
  EXPECT_EQ(back.output_, m.output_);

  auto bad = b;
  bad.words = "10.0.0.1\nnot-an-address\n";
  EXPECT_EQ(message([&] { from_bytes(bad, 2, "db"); }), "db: the embedding's word 2 is not an address");
  bad.words = "10.0.0.1";
  EXPECT_EQ(message([&] { from_bytes(bad, 2, "db"); }), "db: the embedding's word list does not end with a newline");
  bad = b;
  bad.output.pop_back();
  EXPECT_EQ(message([&] { from_bytes(bad, 2, "db"); }),
            "db: the embedding's output vectors hold 15 bytes; 16 expected");
  bad = b;
  bad.input.replace(0, 4, std::string("\0\0\xc0\x7f", 4));  // NaN
  EXPECT_EQ(message([&] { from_bytes(bad, 2, "db"); }),
            "db: the embedding's input vectors hold a value that is not finite");
  EXPECT_EQ(message([&] { from_bytes(b, 0, "db"); }), "db: the embedding's vector size is 0; 1 to 1000 expected");
}

}  // namespace
}  // namespace darklens::embed
