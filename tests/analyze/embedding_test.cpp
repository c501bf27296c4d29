// The embedding as a feature family (docs/analyze.md, "Embeddings as
// features"): analyze joins each source's vector to its row, the same on
// any thread count; the model is stored with the run; classify continues
// from it on a later day. The vectors are checked against embed's own
// training on the same corpus (tests/embed/ checks that against gensim).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <unordered_map>

#include "darklens/analyze/analyze.hpp"
#include "darklens/analyze/track.hpp"
#include "darklens/error.hpp"
#include "darklens/filter/filter.hpp"
#include "darklens/synth/synth.hpp"
#include "support/error_of.hpp"
#include "support/temp_dir.hpp"

using namespace darklens;
using darklens::test::error_of;

namespace {

struct Days {
  test::TempDir dir;
  synth::SynthOutput out;
  Days() {
    synth::SynthParams p;
    p.days_ = 2;
    p.sources_ = 600;
    p.seed_ = 3;
    out = synth::generate(p, dir.file("s"));
  }
  std::string day(int i) const { return out.days_[static_cast<size_t>(i)].path_; }
};

const Days& days() {
  static const Days d;
  return d;
}

analyze::Options options(int threads) {
  analyze::Options o;
  o.features.families_ = features::parse_families(analyze::kDefaultFamilies);
  o.features.threads_ = threads;
  o.threads = threads;
  analyze::EmbedOptions e;
  e.params.dim_ = 8;
  e.params.epochs_ = 3;
  o.embed = e;
  o.pipeline = "zscore|pca:5|kmeans:k=6";
  return o;
}

// The window's model as embed trains it on the capture directly.
embed::Model trained(const std::string& capture, const analyze::Options& o, const embed::Model* init) {
  embed::CorpusOptions copt;
  copt.window_ns_ = o.features.window_.length_ns_;
  copt.bin_ns_ = o.embed->bin_ns;
  embed::CorpusBuilder b(embed::Services::read(""), copt);
  filter::for_each_used_packet(o.features.selection(), {capture}, [&](const Packet& p) { b.add(p); });
  const auto corpora = b.finish();
  EXPECT_EQ(corpora.size(), 1U);
  auto p = o.embed->params;
  p.threads_ = 1;
  return embed::train(corpora.at(0).second, p, init);
}

// Each row's dv_ columns are its source's vector in `m`.
void expect_rows_hold(const features::FeatureTable& t, const embed::Model& m) {
  std::unordered_map<IpAddr, size_t, IpAddrHash> at;
  for (size_t i = 0; i < m.words_.size(); ++i) at.emplace(m.words_[i], i);
  const size_t first = t.column("dv_0");
  ASSERT_EQ(first + static_cast<size_t>(m.dim_), t.columns_.size());
  for (size_t r = 0; r < t.rows(); ++r) {
    ASSERT_TRUE(at.count(t.source_[r])) << t.source_[r].to_string();
    const float* v = m.vector(at.at(t.source_[r]));
    for (int c = 0; c < m.dim_; ++c) ASSERT_EQ(t.at(r, first + static_cast<size_t>(c)), v[c]) << r << "," << c;
  }
}

}  // namespace

TEST(EmbedFamily, JoinsEachSourcesVectorToItsRowOnAnyThreadCount) {
  const auto one = analyze::analyze({days().day(0)}, options(1));
  const auto two = analyze::analyze({days().day(0)}, options(2));
  EXPECT_EQ(one.table.columns_, two.table.columns_);
  EXPECT_EQ(one.table.values_, two.table.values_);
  EXPECT_EQ(one.result.labels_, two.result.labels_);
  EXPECT_EQ(one.table.columns_.back(), "dv_7");
  EXPECT_EQ(one.table.kinds_.back(), features::ColumnKind::kNumber);
  EXPECT_EQ(one.summary["embedding"]["rows_without_vector"], 0);
  EXPECT_EQ(one.summary["embedding"]["continued"], false);
  expect_rows_hold(one.table, trained(days().day(0), options(1), nullptr));
}

TEST(EmbedFamily, ClassifyContinuesFromTheStoredModel) {
  test::TempDir dir;
  const auto o = options(2);
  auto a = analyze::analyze({days().day(0)}, o);
  patterns::Store db(dir.file("p.db"));
  const int64_t run = analyze::store(db, a, {days().day(0)}, o);
  // The stored model is the one the next window starts from.
  embed::ModelBytes b{*db.blob(run, "embed.words"), *db.blob(run, "embed.input"), *db.blob(run, "embed.output")};
  const auto back = embed::from_bytes(b, 8, "p.db");
  EXPECT_EQ(back.words_, a.embedding.words_);
  EXPECT_EQ(back.input_, a.embedding.input_);
  EXPECT_EQ(back.output_, a.embedding.output_);

  analyze::ClassifyOptions co;
  co.threads = 2;
  const auto c = analyze::classify(db, {days().day(1)}, co);
  EXPECT_EQ(c.table.columns_, a.table.columns_);
  EXPECT_EQ(c.summary["embedding"]["continued"], true);
  expect_rows_hold(c.table, trained(days().day(1), o, &a.embedding));
}

TEST(EmbedFamily, AMissingOrDamagedStoredModelIsRefused) {
  test::TempDir dir;
  const auto o = options(2);
  auto a = analyze::analyze({days().day(0)}, o);
  const std::string path = dir.file("p.db");
  {
    patterns::Store db(path);
    analyze::store(db, a, {days().day(0)}, o);
  }
  auto sql = [&](const char* statement) {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &h), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(h, statement, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(h);
  };
  auto classify = [&] {
    patterns::Store db(path);
    analyze::classify(db, {days().day(1)}, {});
  };
  sql("UPDATE blobs SET data = x'000000' WHERE name = 'embed.input'");
  EXPECT_EQ(error_of<FormatError>(classify), path + ": model 1: the embedding's input vectors hold 3 bytes; " +
                                                 std::to_string(a.embedding.words_.size() * 8 * 4) + " expected");
  sql("DELETE FROM blobs WHERE name = 'embed.input'");
  EXPECT_EQ(error_of<FormatError>(classify),
            path + ": model 1 uses the embed family but its stored embed.input is missing");
}

TEST(EmbedFamily, TheFamilyListNamesIt) {
  auto [families, embed] = analyze::parse_families("agm, embed,intensity");
  EXPECT_TRUE(embed);
  EXPECT_EQ(families.size(), 2U);
  EXPECT_FALSE(analyze::parse_families("agm").second);
  EXPECT_EQ(error_of<ParamError>([] { analyze::parse_families("embed"); }),
            "--family embed: the embedding joins other feature families (e.g. agm,intensity,fingerprints,embed); "
            "to cluster embeddings alone, run darklens embed, then darklens cluster on its table");
  const std::string unknown = error_of<ParamError>([] { analyze::parse_families("agm,bogus"); });
  EXPECT_EQ(unknown.rfind("unknown feature family 'bogus' (known: agm, ", 0), 0U) << unknown;
  EXPECT_EQ(unknown.substr(unknown.size() - 8), ", embed)") << unknown;
}

TEST(EmbedFamily, TrackContinuesDayAfterDay) {
  ground_truth::GroundTruth gt = ground_truth::load({days().out.ground_truth_path_}, {});
  analyze::TrackOptions o;
  o.families = "agm,intensity,fingerprints,embed";
  o.embed.params.dim_ = 8;
  o.embed.params.epochs_ = 3;
  o.pipeline = "zscore|pca:5|kmeans:k=6";
  const auto t = analyze::track({days().day(0), days().day(1)}, gt, o);
  ASSERT_EQ(t.days.size(), 2U);
  EXPECT_GT(*t.days[1].knn_accuracy, 0.5);
  EXPECT_EQ(t.days[1].clusters, 6);
}
