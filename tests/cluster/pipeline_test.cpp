// The pipeline spec (parsed in one place), k=auto, and reading matrices.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "darklens/error.hpp"
#include "support/error_of.hpp"
#include "darklens/features.hpp"
#include "darklens/pipeline.hpp"
#include "support/temp_dir.hpp"

using namespace darklens;

namespace {

cluster::Matrix three_blobs() {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> g(0.0, 0.5);
  cluster::Matrix X(300, 3);
  for (int i = 0; i < 300; ++i) {
    const int b = i % 3;
    for (int j = 0; j < 3; ++j) X(i, j) = (j == b ? 10.0 : 0.0) + g(rng);
  }
  return X;
}

std::string error_of(std::string_view spec) {
  try {
    pipeline::parse_spec(spec);
  } catch (const ParamError& e) {
    return e.what();
  }
  return "(none)";
}

}  // namespace

TEST(Pipeline, ParsesStagesAndArguments) {
  auto s = pipeline::parse_spec("zscore|pca:3|kmeans:k=auto,seed=7");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[1].name, "pca");
  EXPECT_EQ(s[1].args[0], (std::pair<std::string, std::string>{"", "3"}));
  EXPECT_EQ(s[2].args[1], (std::pair<std::string, std::string>{"seed", "7"}));
}

TEST(Pipeline, SpecErrors) {
  EXPECT_EQ(error_of("zscore|som:10x10|kmeans:k=3"),
            "pipeline: unknown stage 'som' (known: zscore, minmax, robust, log1p, pca, kmeans)");
  EXPECT_EQ(error_of("zscore|pca:2"),
            "pipeline 'zscore|pca:2': the last stage, and only it, must cluster (kmeans)");
  EXPECT_EQ(error_of("kmeans:k=3|zscore"),
            "pipeline 'kmeans:k=3|zscore': the last stage, and only it, must cluster (kmeans)");
  EXPECT_EQ(error_of("zscore||kmeans"), "pipeline 'zscore||kmeans': empty stage");
  EXPECT_EQ(error_of("kmeans:k=3,"), "pipeline stage 'kmeans': empty argument");
  auto run_error = [](std::string_view spec) -> std::string {
    try {
      pipeline::run(three_blobs(), spec);
    } catch (const ParamError& e) {
      return e.what();
    }
    return "(none)";
  };
  EXPECT_EQ(run_error("kmeans:k=three"), "pipeline stage 'kmeans': k 'three' is not a number");
  EXPECT_EQ(run_error("kmeans:clusters=3"),
            "pipeline stage 'kmeans': unknown argument 'clusters' (k, n_init, max_iter, seed, kmin, kmax)");
  EXPECT_EQ(run_error("pca|kmeans:k=2"),
            "pipeline stage 'pca': say how many components (pca:3) or how much variance (pca:variance=0.9)");
  EXPECT_EQ(run_error("zscore:1|kmeans:k=2"), "pipeline stage 'zscore' takes no arguments");
}

TEST(Pipeline, RunsAndChoosesKBySilhouette) {
  auto r = pipeline::run(three_blobs(), "zscore|pca:2|kmeans:k=auto,seed=3");
  EXPECT_EQ(r.centroids_.rows(), 3);  // three well separated blobs
  EXPECT_EQ(r.embedding_.cols(), 2);
  EXPECT_EQ(r.summary_["choice"]["candidates"].size(), 9u);  // k = 2..10
  EXPECT_EQ(r.fitted_.size(), 2u);
  EXPECT_GT(r.summary_["silhouette"].get<double>(), 0.8);
  // The reported silhouette is the one k was chosen on.
  double best = -2;
  for (const auto& c : r.summary_["choice"]["candidates"]) best = std::max(best, c["silhouette"].get<double>());
  EXPECT_EQ(r.summary_["silhouette"].get<double>(), best);
  for (int i = 3; i < 300; ++i) EXPECT_EQ(r.labels_[i], r.labels_[i % 3]);
  auto again = pipeline::run(three_blobs(), "zscore|pca:2|kmeans:k=auto,seed=3");
  EXPECT_EQ(again.labels_, r.labels_);
}

TEST(MatrixFiles, FeatureTableCsvAndNpy) {
  features::FeatureOptions o;
  features::Aggregator agg(o);
  agg.add_file(std::string(DARKLENS_SHARED_DATA) + "/greynoise_spoofed_storm_rawip.pcap");
  auto t = agg.table();
  test::TempDir dir;
  features::write_table(t, dir.file("f.csv"));
  features::write_table(t, dir.file("f.npy"));
  auto a = pipeline::read_matrix(dir.file("f.csv"));
  auto b = pipeline::read_matrix(dir.file("f.npy"));
  ASSERT_EQ(a.X.rows(), static_cast<Eigen::Index>(t.rows()));
  EXPECT_EQ(a.columns, t.columns_);
  EXPECT_EQ(b.columns, t.columns_);
  EXPECT_EQ(a.X, b.X);
  EXPECT_EQ(a.row_keys, b.row_keys);
  EXPECT_EQ(a.row_keys[0], t.source_[0].to_string() + ",2024-08-19T00:00:00Z");
}

TEST(MatrixFiles, Errors) {
  test::TempDir dir;
  auto msg = [](const std::string& path) { return test::error_of([&] { pipeline::read_matrix(path); }); };
  auto bad = dir.write("bad.csv", std::string("a,b\n1,2\n3,x\n"));
  EXPECT_EQ(msg(bad), bad + ":3: column 'b': 'x' is not a number");
  auto ragged = dir.write("ragged.csv", std::string("a,b\n1,2,3\n"));
  EXPECT_EQ(msg(ragged), ragged + ":2: expected 2 fields, got 3");
  auto keys_only = dir.write("keys.csv", std::string("source,window_start\n"));
  EXPECT_EQ(msg(keys_only), keys_only + ": no numeric columns");
  const std::string dict = "{'descr': '<i4'}";
  std::vector<uint8_t> bytes = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<uint8_t>(dict.size()), 0};
  bytes.insert(bytes.end(), dict.begin(), dict.end());
  auto npy = dir.write("x.npy", bytes);
  EXPECT_EQ(msg(npy), npy + ": .npy dtype must be little-endian float64 ('<f8')");
  auto junk = dir.write("j.npy", std::string("hello"));
  EXPECT_EQ(msg(junk), junk + ": not a NumPy .npy file");
  EXPECT_EQ(msg(dir.file("missing.csv")), dir.file("missing.csv") + ": cannot open: No such file or directory");
}
