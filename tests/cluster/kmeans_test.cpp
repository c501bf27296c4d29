// k-means and the silhouette against scikit-learn 1.2 on the same data
// (tests/cluster/sklearn_cluster_reference.py), and on cases worked by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "darklens/cluster/cluster.hpp"
#include "darklens/error.hpp"
#include "darklens/evaluate/evaluate.hpp"
#include "support/error_of.hpp"
#include "support/sklearn.hpp"
#include "support/temp_dir.hpp"

using namespace darklens;
using cluster::Matrix;

namespace {

// 1200 x 5: four Gaussian blobs of different sizes and spreads.
Matrix blobs() {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> g(0.0, 1.0);
  const double centers[4][5] = {{0, 0, 0, 0, 0}, {6, 6, 0, 0, 0}, {0, 6, 6, 0, 3}, {-5, 0, 5, 5, 0}};
  const int sizes[4] = {500, 300, 250, 150};
  const double spread[4] = {1.0, 0.7, 1.3, 0.5};
  Matrix X(1200, 5);
  int row = 0;
  for (int b = 0; b < 4; ++b) {
    for (int i = 0; i < sizes[b]; ++i, ++row) {
      for (int j = 0; j < 5; ++j) X(row, j) = centers[b][j] + spread[b] * g(rng);
    }
  }
  return X;
}

std::optional<nlohmann::json> sklearn(const Matrix& X, const std::vector<int>& labels, int k) {
  static test::TempDir dir;
  test::write_npy(X.data(), X.rows(), X.cols(), "<f8", dir.file("x.npy"));
  std::vector<int64_t> l(labels.begin(), labels.end());
  test::write_npy(l.data(), l.size(), 0, "<i8", dir.file("l.npy"));
  return test::run_reference("cluster/sklearn_cluster_reference.py",
                             {dir.file("x.npy"), dir.file("l.npy"), std::to_string(k)}, dir.file("ref.json"));
}

}  // namespace

TEST(KMeans, MatchesScikitLearn) {
  const Matrix X = blobs();
  cluster::KMeansParams p;
  p.k_ = 4;
  p.seed_ = 1;
  auto r = cluster::fit_kmeans(X, p);
  auto ref = sklearn(X, r.labels_, 4);
  if (!ref) GTEST_SKIP() << test::kNoSklearn;
  // Inertia within 1% of scikit-learn's best of the same n_init.
  EXPECT_LE(r.inertia_, (*ref)["inertia"].get<double>() * 1.01);
  EXPECT_DOUBLE_EQ((*ref)["ari_with_ours"].get<double>(), 1.0);
  // The silhouette of the same labels, to 1e-9.
  EXPECT_NEAR(evaluate::silhouette_score(X, r.labels_), (*ref)["silhouette_of_ours"].get<double>(), 1e-9);
}

TEST(KMeans, DeterministicAndSeeded) {
  const Matrix X = blobs();
  cluster::KMeansParams p;
  p.k_ = 6;
  p.n_init_ = 3;
  p.seed_ = 42;
  auto a = cluster::fit_kmeans(X, p), b = cluster::fit_kmeans(X, p);
  EXPECT_EQ(a.labels_, b.labels_);
  EXPECT_EQ(a.centroids_, b.centroids_);
  EXPECT_EQ(a.inertia_, b.inertia_);
}

TEST(KMeans, HandComputed) {
  // Two obvious groups on a line: {0, 1, 2} and {10, 11}.
  Matrix X(5, 1);
  X << 0, 1, 2, 10, 11;
  cluster::KMeansParams p;
  p.k_ = 2;
  auto r = cluster::fit_kmeans(X, p);
  EXPECT_EQ(r.labels_[0], r.labels_[2]);
  EXPECT_EQ(r.labels_[3], r.labels_[4]);
  EXPECT_NE(r.labels_[0], r.labels_[3]);
  EXPECT_DOUBLE_EQ(r.inertia_, 1 + 0 + 1 + 0.25 + 0.25);  // centers 1 and 10.5
}

TEST(Silhouette, HandComputed) {
  // Points 0, 1 (cluster A) and 5 (cluster B):
  // s(0) = (5 - 1) / 5, s(1) = (4 - 1) / 4, s(5): alone -> 0.
  Matrix X(3, 1);
  X << 0, 1, 5;
  EXPECT_NEAR(evaluate::silhouette_score(X, {7, 7, -1}), (0.8 + 0.75 + 0.0) / 3, 1e-15);
}

TEST(ClusterErrors, Messages) {
  auto msg = [](auto f) { return test::error_of<ParamError>(f); };
  Matrix X(3, 1);
  X << 0, 1, 5;
  cluster::KMeansParams p;
  p.k_ = 4;
  EXPECT_EQ(msg([&] { cluster::fit_kmeans(X, p); }), "kmeans: k must be between 1 and the number of rows (3)");
  EXPECT_EQ(msg([&] {
              evaluate::silhouette_score(X, {1, 1, 1});
            }),
            "silhouette: needs 2 to n-1 distinct labels, got 1");
  EXPECT_EQ(msg([&] { evaluate::silhouette_score(X, {1, 2}); }), "silhouette: 2 labels for 3 rows");
}

TEST(KMeans, HamerlyEqualsLloydOnAnyThreadCount) {
  Matrix X = blobs();
  for (int i = 0; i < 200; ++i) X.row(1000 + i) = X.row(i);  // copies
  for (int k : {3, 4, 9}) {
    cluster::KMeansParams p;
    p.k_ = k;
    p.seed_ = 5;
    p.threads_ = 1;
    p.algorithm_ = cluster::KMeansAlgorithm::kLloyd;
    const auto lloyd = cluster::fit_kmeans(X, p);
    p.algorithm_ = cluster::KMeansAlgorithm::kHamerly;
    for (int threads : {1, 2, 4}) {
      p.threads_ = threads;
      const auto h = cluster::fit_kmeans(X, p);
      EXPECT_EQ(h.labels_, lloyd.labels_) << "k " << k << " threads " << threads;
      EXPECT_EQ(h.iterations_, lloyd.iterations_);
      EXPECT_NEAR(h.inertia_, lloyd.inertia_, 1e-9 * lloyd.inertia_);
      EXPECT_TRUE(h.centroids_.isApprox(lloyd.centroids_, 1e-12));
    }
  }
}

TEST(Silhouette, CopiesAndAnyLabelsMatchScikitLearn) {
  // Copied rows, some copies under another label, noise label -1.
  Matrix X = blobs();
  std::vector<int> labels(1200);
  for (int i = 0; i < 1200; ++i) labels[i] = i < 500 ? 0 : (i < 800 ? 1 : (i < 1050 ? -1 : 7));
  for (int i = 0; i < 300; ++i) X.row(900 + i) = X.row(i % 40);  // copies of rows in cluster 0, labelled otherwise
  auto ref = sklearn(X, labels, 2);
  if (!ref) GTEST_SKIP() << test::kNoSklearn;
  for (int threads : {1, 3}) {
    EXPECT_NEAR(evaluate::silhouette_score(X, labels, threads), (*ref)["silhouette_of_ours"].get<double>(), 1e-9);
  }
}

TEST(Silhouette, SampledIsSeededAndNearTheExactScore) {
  const Matrix X = blobs();
  std::vector<int> labels(1200);
  for (int i = 0; i < 1200; ++i) labels[i] = i < 500 ? 0 : (i < 800 ? 1 : (i < 1050 ? 2 : 3));
  const double exact = evaluate::silhouette_score(X, labels);
  EXPECT_EQ(evaluate::silhouette_score_sampled(X, labels, 5000, 1), exact);  // sample >= n: exact
  const double a = evaluate::silhouette_score_sampled(X, labels, 400, 7, 1);
  EXPECT_EQ(a, evaluate::silhouette_score_sampled(X, labels, 400, 7, 3));  // same seed, any threads
  EXPECT_NE(a, evaluate::silhouette_score_sampled(X, labels, 400, 8));
  EXPECT_NEAR(a, exact, 0.05);
}

TEST(KMeans, StartsFromGivenCenters) {
  // 0, 2, 10, 12, 20, 22 with k = 2 has two stable splits of equal inertia
  // (106); the given centers decide which one Lloyd reaches.
  cluster::Matrix X(6, 1);
  X << 0, 2, 10, 12, 20, 22;
  cluster::KMeansParams p;
  p.k_ = 2;
  p.init_ = cluster::Matrix(2, 1);
  *p.init_ << 1, 16;
  auto a = cluster::fit_kmeans(X, p);
  EXPECT_EQ(a.labels_, (std::vector<int>{0, 0, 1, 1, 1, 1}));
  EXPECT_DOUBLE_EQ(a.inertia_, 106);
  *p.init_ << 6, 21;
  auto b = cluster::fit_kmeans(X, p);
  EXPECT_EQ(b.labels_, (std::vector<int>{0, 0, 0, 0, 1, 1}));
  EXPECT_DOUBLE_EQ(b.centroids_(0, 0), 6);
  p.init_ = cluster::Matrix(3, 1);
  EXPECT_EQ(test::error_of<ParamError>([&] { cluster::fit_kmeans(X, p); }),
            "kmeans: init holds 3 x 1 centers; k x columns is 2 x 1");
}
