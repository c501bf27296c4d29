// Every error message of the clustering, SOM and evaluation calls that the
// algorithm tests do not already reach, asserted word for word.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "darklens/cluster/cluster.hpp"
#include "darklens/error.hpp"
#include "darklens/evaluate/evaluate.hpp"
#include "darklens/labels/rdns.hpp"
#include "darklens/pipeline/pipeline.hpp"
#include "darklens/transform/transform.hpp"
#include "support/error_of.hpp"

using namespace darklens;
using cluster::Matrix;

namespace {
Matrix line(int n) {
  Matrix X(n, 1);
  for (int i = 0; i < n; ++i) X(i, 0) = i;
  return X;
}
}  // namespace

TEST(Errors, Dbscan) {
  EXPECT_EQ(test::error_of<ParamError>([] { cluster::k_distance_knee(line(4), 5); }),
            "dbscan: min_samples must be between 1 and the number of rows (4)");
  cluster::DbscanParams p;
  p.eps_ = -1;
  EXPECT_EQ(test::error_of<ParamError>([&] { cluster::fit_dbscan(line(4), p); }),
            "dbscan: eps must be positive (or 0 for the heuristic)");
}

TEST(Errors, MeanShift) {
  EXPECT_EQ(test::error_of<ParamError>([] { cluster::estimate_bandwidth(line(4), 0.0); }),
            "meanshift: quantile must be in (0, 1]");
  EXPECT_EQ(test::error_of<ParamError>([] { cluster::estimate_bandwidth(line(4), 0.3, 0); }),
            "meanshift: the bandwidth sample must hold at least one row");
  cluster::MeanShiftParams p;
  p.bandwidth_ = -2;
  EXPECT_EQ(test::error_of<ParamError>([&] { cluster::fit_meanshift(line(4), p); }),
            "meanshift: bandwidth must be positive (or 0 to estimate it)");
  p.bandwidth_ = 1;
  p.max_iter_ = 0;
  EXPECT_EQ(test::error_of<ParamError>([&] { cluster::fit_meanshift(line(4), p); }),
            "meanshift: max_iter and min_bin_freq must be positive");
  // Bin seeds far from every row (min_bin_freq keeps none but a lone cell).
  Matrix far(3, 1);
  far << 0, 0.2, 100;
  p.max_iter_ = 300;
  p.bandwidth_ = 0.05;
  p.bin_seeding_ = true;
  p.min_bin_freq_ = 2;
  EXPECT_EQ(test::error_of<ParamError>([&] { cluster::fit_meanshift(far, p); }),
            "meanshift: no seed has a row within bandwidth 0.050000; raise it");
}

TEST(Errors, HierarchicalAndPipeline) {
  const auto dg = cluster::fit_hierarchical(line(4), {});
  EXPECT_EQ(test::error_of<ParamError>([&] { dg.cut(5); }),
            "hierarchical: k must be between 1 and the number of rows (4)");
  EXPECT_EQ(test::error_of<ParamError>([] { pipeline::run(line(4), "hac:k=6"); }),
            "pipeline stage 'hac': k is larger than the number of rows (4)");
  EXPECT_EQ(test::error_of<ParamError>([] { pipeline::run(line(3), "kmeans:kmin=3,kmax=5"); }),
            "pipeline stage 'kmeans': need kmin <= kmax < rows");
}

TEST(Errors, PcaBoundsItsCovariance) {
  // 5 rows x 100,000 columns grew past 15 GB before; refused at once.
  const cluster::Matrix X = cluster::Matrix::Ones(3, 8193);
  EXPECT_EQ(test::error_of<ParamError>([&] { transform::fit_pca(X, {.n_components_ = 2}); }),
            "pca: 8193 columns; at most 8192 (its covariance matrix alone would need 512 MiB)");
}

TEST(Errors, Som) {
  transform::SomParams p;
  p.rows_ = p.cols_ = 65;
  EXPECT_EQ(test::error_of<ParamError>([&] { transform::fit_som(line(4), p); }),
            "som: at most 4,096 units (64x64); the grid 65x65 has 4225 (the 5 sqrt(n) rule reaches 4,096 at 28 "
            "million rows)");
  // 46341 x 46341 overflows a 32-bit int to a negative count: still refused.
  p.rows_ = p.cols_ = 46341;
  EXPECT_EQ(test::error_of<ParamError>([&] { transform::fit_som(line(4), p); }),
            "som: at most 4,096 units (64x64); the grid 46341x46341 has 2147488281 (the 5 sqrt(n) rule reaches "
            "4,096 at 28 million rows)");
  transform::SomParams q;
  q.iterations_ = -1;
  EXPECT_EQ(test::error_of<ParamError>([&] { transform::fit_som(line(4), q); }),
            "som: iterations and sigma must not be negative, learning_rate must be positive");
  EXPECT_EQ(test::error_of<FormatError>([] { transform::Som::from_json({{"type", "pca"}}); }), "not a saved SOM");
  EXPECT_EQ(test::error_of<FormatError>([] {
              transform::Som::from_json(
                  {{"type", "som"}, {"rows", 2}, {"cols", 2}, {"topology", "rectangular"}, {"weights", {{1.0}}}});
            }),
            "saved SOM: the weights do not fill the grid");
}

TEST(Errors, Evaluate) {
  const std::vector<int> two = {0, 0, 1, 1};
  EXPECT_EQ(test::error_of<ParamError>([&] {
              evaluate::davies_bouldin_score(line(4), {0, 0, 0, 0});
            }),
            "davies-bouldin: needs 2 to n-1 distinct labels, got 1");
  EXPECT_EQ(test::error_of<ParamError>([&] {
              evaluate::calinski_harabasz_score(line(4), {0, 1});
            }),
            "calinski-harabasz: 2 labels for 4 rows");
  EXPECT_EQ(test::error_of<ParamError>([&] {
              evaluate::silhouette_score_sampled(line(4), {0, 1}, 2, 1);
            }),
            "silhouette: 2 labels for 4 rows");
  evaluate::KnnParams p;
  p.k_ = 0;
  EXPECT_EQ(test::error_of<ParamError>([&] {
              evaluate::knn_leave_one_out(line(4), two, {"a", "b"}, p);
            }),
            "knn: k must be at least 1");
  p.k_ = 1;
  p.labelled_only_ = true;
  EXPECT_EQ(test::error_of<ParamError>([&] {
              evaluate::knn_leave_one_out(line(4), {0, -1, -1, -1}, {"a"}, p);
            }),
            "knn: needs at least two rows to compare");
  EXPECT_EQ(test::error_of<ParamError>([&] {
              evaluate::knn_classify(line(4), two, Matrix::Zero(2, 3), {0, 1}, {"a", "b"}, p);
            }),
            "knn: 1 training columns, 3 test columns");
}

TEST(Errors, ReverseDns) {
  rdns::LookupOptions o;
  o.concurrency_ = 0;
  EXPECT_EQ(test::error_of<ParamError>([&] { rdns::lookup_ptr({}, o); }),
            "rdns: concurrency must be 1..512, timeout and tries positive");
  EXPECT_EQ(test::error_of<IoError>([] { rdns::load_rules("/nonexistent/rules.txt"); }),
            "/nonexistent/rules.txt: cannot open");
}
