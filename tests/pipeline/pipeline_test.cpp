// The pipeline spec (parsed in one place), k=auto, and reading matrices.
#include "darklens/pipeline/pipeline.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <random>

#include "darklens/error.hpp"
#include "darklens/features/features.hpp"
#include "support/error_of.hpp"
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
  EXPECT_EQ(error_of("zscore|tsne:2|kmeans:k=3"),
            "pipeline: unknown stage 'tsne' (known: zscore, minmax, robust, log1p, pca, som, kmeans, dbscan, "
            "meanshift, hac, leiden)");
  EXPECT_EQ(
      error_of("zscore|pca:2"),
      "pipeline 'zscore|pca:2': the last stage, and only it, must cluster (kmeans, dbscan, meanshift, hac, leiden)");
  EXPECT_EQ(error_of("kmeans:k=3|zscore"),
            "pipeline 'kmeans:k=3|zscore': the last stage, and only it, must cluster (kmeans, dbscan, meanshift, hac, "
            "leiden)");
  // Arguments are checked when the spec is parsed, before any data is read.
  EXPECT_EQ(error_of("kmeans:k=three"), "pipeline stage 'kmeans': k 'three' is not a number");
  EXPECT_EQ(error_of("som:20by20|kmeans"), "pipeline stage 'som': grid '20by20' is not ROWSxCOLS (som:20x20)");
  EXPECT_EQ(error_of("kmeans:k=3,k=4"), "pipeline stage 'kmeans': k is given twice");
  EXPECT_EQ(error_of("hac:distance=nan"), "pipeline stage 'hac': distance 'nan' is not a finite number");
  EXPECT_EQ(error_of("hac:distance=-1"), "pipeline stage 'hac': distance must be positive");
  EXPECT_EQ(error_of("dbscan:eps=inf"), "pipeline stage 'dbscan': eps 'inf' is not a finite number");
  EXPECT_EQ(error_of("som:46341x46341|kmeans:k=2"),
            "pipeline stage 'som': grid '46341x46341' has 2147488281 units; at most 4,096 (64x64)");
  EXPECT_EQ(error_of("som:topology=tri|kmeans"), "pipeline stage 'som': topology 'tri' is not one of rect, hex");
  EXPECT_EQ(error_of("hac:linkage=median"),
            "pipeline stage 'hac': linkage 'median' is not one of ward, average, complete, single");
  EXPECT_EQ(error_of("hac:k=3,distance=2"), "pipeline stage 'hac': give k or distance, not both");
  EXPECT_EQ(error_of("dbscan:radius=2"),
            "pipeline stage 'dbscan': unknown argument 'radius' (eps, min_samples, algorithm)");
  EXPECT_EQ(error_of("dbscan:algorithm=ball_tree"),
            "pipeline stage 'dbscan': algorithm 'ball_tree' is not one of auto, kd_tree, brute");
  EXPECT_EQ(error_of("dbscan:eps=-1"), "pipeline stage 'dbscan': eps must be positive, or auto");
  EXPECT_EQ(error_of("meanshift:bin_seeding=maybe"),
            "pipeline stage 'meanshift': bin_seeding 'maybe' is not 0/1 or true/false");
  EXPECT_EQ(error_of("kmeans:k=auto,kmin=5,kmax=3"), "pipeline stage 'kmeans': need 2 <= kmin <= kmax");
  EXPECT_EQ(error_of("zscore||kmeans"), "pipeline 'zscore||kmeans': empty stage");
  // Stated limits (docs/cluster.md, "Limits").
  EXPECT_EQ(error_of("kmeans:k=auto,kmax=200"),
            "pipeline stage 'kmeans': kmax 200 is out of range: 2 to 100 (k=auto tries every k up to kmax; give k "
            "for more clusters)");
  EXPECT_EQ(error_of("kmeans:k=0"),
            "pipeline stage 'kmeans': k 0 is out of range: 1 to 10,000 (one centre or merge level per cluster; more "
            "is one cluster per source)");
  EXPECT_EQ(error_of("kmeans:n_init=1000"),
            "pipeline stage 'kmeans': n_init 1000 is out of range: 1 to 100 (each is a full fit from new seeds)");
  EXPECT_EQ(error_of("som:iterations=5000|kmeans:k=2"),
            "pipeline stage 'som': iterations 5000 is out of range: 0 to 1,000 (batch epochs, each over every row "
            "and unit; 0 = 10)");
  EXPECT_EQ(error_of("som:training=online,iterations=-1|kmeans:k=2"),
            "pipeline stage 'som': iterations -1 is out of range: 0 to 100,000,000 (online steps; 0 = 10 per row)");
  EXPECT_EQ(error_of("som:learning_rate=2|kmeans:k=2"),
            "pipeline stage 'som': learning_rate 2 is out of range: 0.000001 to 1");
  EXPECT_EQ(error_of("hac:max_rows=100000"),
            "pipeline stage 'hac': max_rows 100000 is out of range: 2 to 50,000 (pairwise distances: 8 bytes a "
            "pair, 10 GB at 50,000 rows)");
  EXPECT_EQ(error_of("meanshift:quantile=1.5"), "pipeline stage 'meanshift': quantile 1.5 is out of range: 0 to 1");
  EXPECT_EQ(error_of("dbscan:eps=1,min_samples=0"),
            "pipeline stage 'dbscan': min_samples 0 is out of range: 1 to 100,000");
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
            "pipeline stage 'kmeans': unknown argument 'clusters' (k, n_init, max_iter, seed, kmin, kmax, algorithm, "
            "search, select)");
  EXPECT_EQ(run_error("pca|kmeans:k=2"),
            "pipeline stage 'pca': say how many components (pca:3) or how much variance (pca:variance=0.9)");
  EXPECT_EQ(run_error("zscore:1|kmeans:k=2"), "pipeline stage 'zscore' takes no arguments");
}

TEST(Pipeline, PcaOfMoreComponentsThanTheTableHasKeepsAllAndSaysSo) {
  // The default analyze pipeline (pca:10) on a capture of 5 sources.
  cluster::Matrix X(5, 12);
  for (Eigen::Index i = 0; i < 5; ++i) {
    for (Eigen::Index j = 0; j < 12; ++j) X(i, j) = static_cast<double>((i * 7 + j * 3) % 11) + (i == j ? 5 : 0);
  }
  const auto r = pipeline::run(X, "zscore|pca:10|kmeans:k=2");
  EXPECT_EQ(r.embedding_.cols(), 5);
  ASSERT_EQ(r.summary_.notes.size(), 1u);
  EXPECT_EQ(r.summary_.notes[0], "pca:10 kept 5 components: the table has 5 rows and 12 columns");
  EXPECT_EQ(pipeline::to_json(r.summary_)["notes"][0], r.summary_.notes[0]);
  EXPECT_FALSE(pipeline::to_json(pipeline::run(X, "zscore|pca:3|kmeans:k=2").summary_).contains("notes"));
}

TEST(Pipeline, RunsAndChoosesKBySilhouette) {
  auto r = pipeline::run(three_blobs(), "zscore|pca:2|kmeans:k=auto,seed=3");
  EXPECT_EQ(r.centroids_.rows(), 3);  // three well separated blobs
  EXPECT_EQ(r.embedding_.cols(), 2);
  EXPECT_EQ(r.summary_.choice.candidates.size(), 9u);  // k = 2..10
  EXPECT_EQ(r.fitted_.size(), 2u);
  EXPECT_GT(r.summary_.silhouette.value(), 0.8);
  // The reported silhouette is the one k was chosen on.
  double best = -2;
  for (const auto& c : r.summary_.choice.candidates) best = std::max(best, c.silhouette.value());
  EXPECT_EQ(r.summary_.silhouette.value(), best);
  for (int i = 3; i < 300; ++i) EXPECT_EQ(r.labels_[i], r.labels_[i % 3]);
  auto again = pipeline::run(three_blobs(), "zscore|pca:2|kmeans:k=auto,seed=3");
  EXPECT_EQ(again.labels_, r.labels_);
}

// Three blobs of 100 rows and a handful of 4 rows far away (heavy sources
// unlike the rest): the silhouette alone splits off the handful.
cluster::Matrix blobs_and_a_far_handful() {
  cluster::Matrix X = three_blobs();
  cluster::Matrix Y(304, 3);
  Y.topRows(300) = X;
  for (int i = 0; i < 4; ++i) Y.row(300 + i) << 1000.0 + i, 1000.0, 1000.0;
  return Y;
}

TEST(Pipeline, StableChoiceIgnoresAFarHandful) {
  const cluster::Matrix Y = blobs_and_a_far_handful();
  // Computed by hand: at k = 2 every blob row's nearest other cluster is
  // the handful ~1,700 away, so its silhouette is ~1: k = 2 wins alone.
  const auto sil = pipeline::run(Y, "kmeans:k=auto,select=silhouette,seed=1");
  EXPECT_EQ(sil.summary_.clusters, 2);
  EXPECT_EQ(sil.summary_.choice.rule.substr(0, 29), "best silhouette over k = 2..1");
  // The default: the handful (below the floor of 5 rows) does not count;
  // k = 2 has one cluster that counts, so it is out; the three blobs and
  // the handful (k = 4) are as stable as can be and the best over the
  // large clusters.
  const auto stable = pipeline::run(Y, "kmeans:k=auto,seed=1");
  EXPECT_EQ(stable.summary_.clusters, 4);
  EXPECT_EQ(stable.summary_.choice.size_floor.value(), 5u);
  const auto& c = stable.summary_.choice.candidates;
  ASSERT_EQ(c.size(), 9u);
  EXPECT_EQ(c[0].large_clusters.value(), 1);
  EXPECT_FALSE(c[0].silhouette_large.has_value());
  EXPECT_EQ(c[0].smallest.value(), 4u);
  EXPECT_NEAR(c[2].stability.value(), 1.0, 1e-12);  // k = 4: every half finds the same four groups
  EXPECT_GT(c[2].silhouette_large.value(), 0.8);
  for (const auto& x : c) EXPECT_LE(x.silhouette_large.value_or(0), c[2].silhouette_large.value());
  const auto j = pipeline::to_json(stable.summary_)["choice"];
  EXPECT_EQ(j["size_floor"], 5);
  EXPECT_EQ(j["candidates"][0]["silhouette_large"], nullptr);
  EXPECT_EQ(j["candidates"][2]["stability"], 1.0);
  EXPECT_EQ(j["rule"].get<std::string>().substr(0, 117),
            "best silhouette over clusters of at least 5 rows, among the candidates k = 2..10 at least as stable as "
            "the median one");
  // The more stable half: k = 4 among them.
  EXPECT_GE(c[2].stability.value(), stable.summary_.choice.stability_median.value());
  // The same with a dendrogram (each half's own, cut at every k).
  EXPECT_EQ(pipeline::run(Y, "hac:k=auto,select=silhouette").summary_.clusters, 2);
  EXPECT_EQ(pipeline::run(Y, "hac:k=auto").summary_.clusters, 4);
  // The same on any thread count.
  EXPECT_EQ(pipeline::run(Y, "kmeans:k=auto,seed=1", 1).labels_, pipeline::run(Y, "kmeans:k=auto,seed=1", 2).labels_);
  EXPECT_EQ(error_of("kmeans:select=best"), "pipeline stage 'kmeans': select 'best' is not one of stable, silhouette");
}

TEST(Pipeline, StableChoiceOnATinyTableSaysWhatItDropped) {
  // Two pairs of rows: no cluster reaches the floor of 5 rows, and a half
  // of 2 rows cannot hold k = 3: the best silhouette, said so.
  cluster::Matrix X(4, 2);
  X << 0, 0, 0, 0.1, 10, 10, 10, 10.1;
  const auto r = pipeline::run(X, "kmeans:k=auto");
  EXPECT_EQ(r.summary_.clusters, 2);
  EXPECT_EQ(r.summary_.choice.note.value_or(""),
            "no candidate gave two clusters of at least 5 rows: the best silhouette over all clusters was kept");
  ASSERT_EQ(r.summary_.choice.candidates.size(), 2u);  // k = 2, 3
  EXPECT_TRUE(r.summary_.choice.candidates[0].stability.has_value());
  EXPECT_FALSE(r.summary_.choice.candidates[1].stability.has_value());
  EXPECT_EQ(pipeline::run(X, "hac:k=auto").summary_.clusters, 2);
}

TEST(Pipeline, LeidenChoosesItsResolution) {
  // Three blobs and a far handful: resolution=auto tries 2^-6..2^1 on the
  // same graph and keeps the blobs (the handful's 4 rows are under the
  // floor), with the curves; the same on any thread count.
  const cluster::Matrix Y = blobs_and_a_far_handful();
  const auto r = pipeline::run(Y, "leiden:resolution=auto,neighbours=10,seed=2", 2);
  const auto& c = r.summary_.choice.candidates;
  ASSERT_EQ(c.size(), 8u);
  EXPECT_EQ(c.front().resolution.value(), 1.0 / 64);
  EXPECT_EQ(c.back().resolution.value(), 2.0);
  for (const auto& x : c) EXPECT_TRUE(x.stability.has_value());
  EXPECT_GE(r.summary_.clusters, 3);
  // Every blob in one community of its own.
  for (int i = 3; i < 300; ++i) EXPECT_EQ(r.labels_[i], r.labels_[i % 3]);
  EXPECT_NE(r.labels_[0], r.labels_[1]);
  EXPECT_NE(r.labels_[1], r.labels_[2]);
  EXPECT_NE(r.summary_.choice.rule.find("chosen: best silhouette over clusters of at least 5 rows, among the "
                                        "candidates resolution = 0.015625..2"),
            std::string::npos)
      << r.summary_.choice.rule;
  EXPECT_EQ(r.labels_, pipeline::run(Y, "leiden:resolution=auto,neighbours=10,seed=2", 1).labels_);
  const auto j = pipeline::to_json(r.summary_);
  EXPECT_EQ(j["choice"]["candidates"][0]["resolution"], 1.0 / 64);
  EXPECT_EQ(error_of("leiden:resolution=best"), "pipeline stage 'leiden': resolution 'best' is not a number");
}

TEST(Pipeline, AdjustedRandIndexAlone) {
  // By hand: {0,0,1,1} vs {0,0,1,2}: 1 agreeing pair of 6, ARI = 4/7.
  EXPECT_NEAR(evaluate::adjusted_rand_index({0, 0, 1, 1}, {0, 0, 1, 2}), 4.0 / 7.0, 1e-15);
  const std::vector<int> a = {0, 0, 1, 1, 2, 2, 2, 0}, b = {1, 1, 0, 2, 2, 2, 0, 1};
  EXPECT_EQ(evaluate::adjusted_rand_index(a, b), evaluate::compare_labelings(a, b).ari);
  EXPECT_EQ(evaluate::adjusted_rand_index({}, {}), 1.0);
}

TEST(Pipeline, SaysWhenTheBestKIsTheLargestTried) {
  // Three blobs searched over k = 2..2: the best k is the top of the range.
  auto capped = pipeline::run(three_blobs(), "zscore|kmeans:k=auto,kmax=2,select=silhouette");
  EXPECT_EQ(capped.summary_.choice.note.value_or(""),
            "the best k is the largest tried; a larger kmax (e.g. kmeans:k=auto,kmax=4) may fit better");
  // k = 2 on three blobs merges two of them, and a refit on half the rows
  // often another two: not stable, though the only candidate.
  auto unstable = pipeline::run(three_blobs(), "zscore|kmeans:k=auto,kmax=2");
  EXPECT_LT(unstable.summary_.choice.candidates[0].stability.value(), 0.8);
  EXPECT_EQ(unstable.summary_.choice.stability_median, unstable.summary_.choice.candidates[0].stability);
  EXPECT_EQ(unstable.summary_.choice.note, capped.summary_.choice.note);
  auto hac = pipeline::run(three_blobs(), "zscore|hac:k=auto,kmax=2");
  EXPECT_TRUE(hac.summary_.choice.note.has_value());
  auto free = pipeline::run(three_blobs(), "zscore|kmeans:k=auto,kmax=6");
  EXPECT_FALSE(free.summary_.choice.note.has_value());  // k = 3 inside the range
}

TEST(Pipeline, EveryAlgorithmFindsThreeBlobsWithItsHeuristic) {
  // Each heuristic (k by silhouette, eps by the k-distance knee, bandwidth
  // by quantile) on three well separated blobs: three clusters, the same on
  // any number of threads.
  for (const char* spec :
       {"zscore|kmeans:k=auto", "zscore|dbscan:eps=auto,min_samples=5", "zscore|meanshift:bandwidth=auto",
        "zscore|meanshift:bin_seeding=1", "zscore|hac:linkage=ward,k=auto", "zscore|hac:linkage=single,k=auto",
        "zscore|hac:linkage=average", "zscore|hac:linkage=complete,k=auto", "zscore|som:6x6,seed=1|kmeans:k=auto",
        "zscore|som:training=online,topology=hex|hac"}) {
    auto r = pipeline::run(three_blobs(), spec, 1);
    EXPECT_EQ(r.summary_.clusters, 3) << spec;
    // (The knee of DBSCAN's k-distance curve sits inside Gaussian blobs:
    // their sparsest rows are left as noise.)
    const bool dbscan = std::string(spec).find("dbscan") != std::string::npos;
    EXPECT_LE(r.summary_.noise, dbscan ? 30u : 0u) << spec;
    std::map<int, int> blob_of;
    for (int i = 0; i < 300; ++i) {
      if (r.labels_[i] == cluster::kNoise) continue;
      ASSERT_EQ(blob_of.emplace(r.labels_[i], i % 3).first->second, i % 3) << spec << " row " << i;
    }
    // (On a SOM the blobs become groups of grid cells: less separated.)
    const bool som = std::string(spec).find("som") != std::string::npos;
    EXPECT_GT(r.summary_.silhouette.value(), som ? 0.5 : 0.8) << spec;
    EXPECT_EQ(r.centroids_.rows(), 3) << spec;
    EXPECT_FALSE(r.summary_.choice.rule.empty()) << spec;
    auto again = pipeline::run(three_blobs(), spec, 3);
    EXPECT_EQ(again.labels_, r.labels_) << spec;
    EXPECT_EQ(again.centroids_, r.centroids_) << spec;
  }
}

TEST(Pipeline, DbscanReportsNoiseAndTheKDistanceCurve) {
  auto X = three_blobs();
  X.conservativeResize(302, 3);
  X.row(300) << 50, 50, 50;  // two far outliers
  X.row(301) << -50, 50, -50;
  auto r = pipeline::run(X, "dbscan:min_samples=4");
  EXPECT_EQ(r.summary_.noise, 2u);
  EXPECT_EQ(r.labels_[300], cluster::kNoise);
  EXPECT_EQ(r.summary_.sizes, std::vector<size_t>({100, 100, 100}));
  // The evidence as summary.json carries it.
  const auto doc = pipeline::to_json(r.summary_);
  EXPECT_EQ(doc["noise"], 2);
  EXPECT_EQ(doc["sizes"], nlohmann::json({100, 100, 100}));
  EXPECT_EQ(doc["algorithm"], "dbscan");
  EXPECT_EQ(doc["choice"]["knee_rank"], r.summary_.choice.knee_rank.value());
  const auto& curve = doc["choice"]["k_distance_curve"];
  EXPECT_EQ(curve.size(), 201u);
  const double eps = doc["parameters"]["eps"].get<double>();
  EXPECT_EQ(doc["parameters"]["min_samples"], 4);
  EXPECT_EQ(doc["parameters"]["algorithm"], "kd_tree");  // 3 columns: the tree, not counted
  EXPECT_FALSE(doc["parameters"].contains("kd_tree_share"));
  const auto brute = pipeline::to_json(pipeline::run(X, "dbscan:min_samples=4,algorithm=brute").summary_);
  EXPECT_EQ(brute["parameters"]["algorithm"], "brute");
  EXPECT_EQ(brute["sizes"], doc["sizes"]);
  EXPECT_GT(eps, curve[0]["distance"].get<double>());
  EXPECT_LT(eps, curve[200]["distance"].get<double>());  // the outliers' k-distance is far above the knee
  const auto som = pipeline::run(three_blobs(), "som:4x5|kmeans:k=3");
  EXPECT_EQ(som.embedding_.cols(), 2);
  EXPECT_EQ(som.summary_.som.value().hit_map.rows(), 4);
  const auto som_doc = pipeline::to_json(som.summary_)["som"];
  EXPECT_EQ(som_doc["hit_map"].size(), 4u);
  EXPECT_EQ(som_doc["u_matrix"][0].size(), 5u);
  EXPECT_EQ(som_doc["topology"], "rectangular");
  EXPECT_LT(som_doc["topographic_error"].get<double>(), 0.5);
}

TEST(MatrixFiles, FeatureTableCsvAndNpy) {
  features::FeatureOptions o;
  features::Aggregator agg(o);
  agg.add_file(std::string(DARKLENS_TEST_DATA) + "/greynoise_spoofed_storm_rawip.pcap");
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
  // Found by the table fuzz target: a dimension past 2^64 ended the process.
  const std::string huge = "{'descr': '<f8', 'fortran_order': True, 'shape': (61, 23333333333333333333333), }";
  std::vector<uint8_t> big = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<uint8_t>(huge.size()), 0};
  big.insert(big.end(), huge.begin(), huge.end());
  auto huge_npy = dir.write("h.npy", big);
  EXPECT_EQ(msg(huge_npy), huge_npy + ": .npy shape holds 23-digit dimension; too large");
  auto junk = dir.write("j.npy", std::string("hello"));
  EXPECT_EQ(msg(junk), junk + ": not a NumPy .npy file");
  EXPECT_EQ(msg(dir.file("missing.csv")), dir.file("missing.csv") + ": cannot open: No such file or directory");
}

TEST(Pipeline, LeidenStageReportsItsGraph) {
  const auto r = pipeline::run(three_blobs(), "zscore|leiden:neighbours=10,seed=2", 2);
  EXPECT_EQ(r.summary_.algorithm, "leiden");
  EXPECT_GE(r.summary_.clusters, 3);
  const auto j = pipeline::to_json(r.summary_);
  EXPECT_EQ(j["choice"]["rule"].get<std::string>().substr(0, 57),
            "communities of the 10-nearest-neighbour graph by Leiden, ");
  EXPECT_EQ(r.labels_, pipeline::run(three_blobs(), "zscore|leiden:neighbours=10,seed=2", 1).labels_);
  EXPECT_EQ(error_of("leiden:neighbours=0"),
            "pipeline stage 'leiden': neighbours 0 is out of range: 1 to 1,000 (each row's links in the graph)");
}
