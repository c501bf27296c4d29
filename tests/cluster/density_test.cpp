// DBSCAN, its eps heuristic, and Mean Shift against scikit-learn 1.2 on the
// same data (tests/cluster/sklearn_algorithms_reference.py), and by hand.
#include <gtest/gtest.h>

#include <random>

#include "darklens/cluster/cluster.hpp"
#include "darklens/error.hpp"
#include "support/error_of.hpp"
#include "support/sklearn.hpp"
#include "support/temp_dir.hpp"

using namespace darklens;
using cluster::Matrix;

namespace {

// Gaussian blobs of different sizes and spreads, uniform background noise,
// and some exact duplicates (as darknet feature tables have many); `times`
// times as many rows of each kind.
Matrix noisy_blobs(int dims, uint64_t seed, int times = 1) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0.0, 1.0);
  std::uniform_real_distribution<double> u(-8.0, 14.0);
  const int sizes[4] = {300 * times, 200 * times, 150 * times, 60 * times};
  const double spread[4] = {0.8, 0.5, 1.0, 0.3};
  const int noise = 60 * times, dups = 40 * times;
  Matrix X(sizes[0] + sizes[1] + sizes[2] + sizes[3] + noise + dups, dims);
  int row = 0;
  for (int b = 0; b < 4; ++b) {
    for (int i = 0; i < sizes[b]; ++i, ++row) {
      for (int j = 0; j < dims; ++j) X(row, j) = (j == b % dims ? 6.0 * b : 0.0) + spread[b] * g(rng);
    }
  }
  for (int i = 0; i < noise; ++i, ++row) {
    for (int j = 0; j < dims; ++j) X(row, j) = u(rng);
  }
  for (int i = 0; i < dups; ++i, ++row)
    X.row(row) = X.row(static_cast<int>(rng() % static_cast<uint64_t>(700 * times)));
  return X;
}

std::optional<nlohmann::json> sklearn(const Matrix& X, const nlohmann::json& requests) {
  static test::TempDir dir;
  return test::sklearn_algorithms(X, requests, dir.file(""));
}

// DBSCAN on X for each (eps, min_samples) on 1-3 threads, with each way of
// answering the radius queries: the same labels as scikit-learn's,
// numbered the same way, the same noise rows; the first setting has
// several clusters, borders and more than min_noise noise rows.
void expect_as_scikit_learn(const Matrix& X, const std::vector<std::pair<double, int>>& settings, size_t min_noise) {
  nlohmann::json req = nlohmann::json::array();
  for (auto [eps, ms] : settings) req.push_back({{"dbscan", {{"eps", eps}, {"min_samples", ms}}}});
  auto ref = sklearn(X, req);
  if (!ref) GTEST_SKIP() << test::kNoSklearn;
  for (size_t s = 0; s < settings.size(); ++s) {
    for (auto [threads, algorithm] : {std::pair{1, cluster::DbscanAlgorithm::kAuto},
                                      {2, cluster::DbscanAlgorithm::kAuto},
                                      {3, cluster::DbscanAlgorithm::kAuto},
                                      {2, cluster::DbscanAlgorithm::kKdTree},
                                      {2, cluster::DbscanAlgorithm::kBrute}}) {
      cluster::DbscanParams p;
      p.eps_ = settings[s].first;
      p.min_samples_ = settings[s].second;
      p.threads_ = threads;
      p.algorithm_ = algorithm;
      auto r = cluster::fit_dbscan(X, p);
      EXPECT_EQ(r.labels_, (*ref)[s]["labels"].get<std::vector<int>>())
          << X.cols() << " columns, eps " << p.eps_ << " min_samples " << p.min_samples_ << " threads " << threads
          << " algorithm " << static_cast<int>(algorithm);
      if (s == 0) {
        EXPECT_GE(r.clusters_, 4);
        EXPECT_GT(r.noise_, min_noise);
        EXPECT_LT(r.cores_ + r.noise_, static_cast<size_t>(X.rows()));
      }
    }
  }
}

}  // namespace

TEST(Dbscan, SamePartitionAndNoiseAsScikitLearn) {
  for (int dims : {2, 5})
    expect_as_scikit_learn(noisy_blobs(dims, 3 + dims), {{0.5, 5}, {0.9, 10}, {0.3, 3}, {1.5, 1}}, 10);
}

// From 16 columns on, neighbourhoods may come from matrix products instead
// of the kd-tree: the same sets. 5,670 rows in 20 columns span two blocks
// of queries and three chunks of rows.
TEST(Dbscan, ManyColumnsSameAsScikitLearn) {
  expect_as_scikit_learn(noisy_blobs(20, 21, 7), {{3.0, 5}, {2.2, 10}, {4.0, 3}, {1.0, 1}}, 100);
}

// algorithm=auto in 16+ columns counts the kd-tree's distances on a sample
// of rows: an eps wider than the data makes the tree compute every row's
// distance for every query (a share of exactly 1: brute force), an eps
// below every gap between rows leaves it a few leaves (the tree); below
// 16 columns the tree is used without counting.
TEST(Dbscan, AutoChoosesBruteForceOnlyWhereTheTreeComputesMostDistances) {
  const Matrix X = noisy_blobs(20, 21, 2);
  cluster::DbscanParams p;
  p.eps_ = 1000;
  auto wide = cluster::fit_dbscan(X, p);
  EXPECT_EQ(wide.tree_share_.value(), 1.0);
  EXPECT_EQ(wide.algorithm_, cluster::DbscanAlgorithm::kBrute);
  EXPECT_EQ(wide.clusters_, 1);
  p.eps_ = 1e-6;
  auto tight = cluster::fit_dbscan(X, p);
  EXPECT_GT(tight.tree_share_.value(), 0.0);
  EXPECT_LT(tight.tree_share_.value(), 0.05);
  EXPECT_EQ(tight.algorithm_, cluster::DbscanAlgorithm::kKdTree);
  auto few = cluster::fit_dbscan(noisy_blobs(5, 8), p);
  EXPECT_FALSE(few.tree_share_.has_value());
  EXPECT_EQ(few.algorithm_, cluster::DbscanAlgorithm::kKdTree);
}

TEST(Dbscan, KDistanceCurveAndKnee) {
  const Matrix X = noisy_blobs(3, 9);
  auto ref = sklearn(X, nlohmann::json::array({{{"kdistance", 6}}}));
  if (!ref) GTEST_SKIP() << test::kNoSklearn;
  auto knee = cluster::k_distance_knee(X, 6);
  const auto curve = (*ref)[0]["curve"].get<std::vector<double>>();
  ASSERT_EQ(knee.curve_.size(), curve.size());
  for (size_t i = 0; i < curve.size(); ++i) EXPECT_NEAR(knee.curve_[i], curve[i], 1e-12);
  // The knee, recomputed here: the farthest point below the chord.
  size_t best = 0;
  double gap = -1;
  for (size_t i = 0; i < curve.size(); ++i) {
    const double g = static_cast<double>(i) / (curve.size() - 1) - (curve[i] - curve[0]) / (curve.back() - curve[0]);
    if (g > gap) gap = g, best = i;
  }
  EXPECT_EQ(knee.knee_, best);
  EXPECT_EQ(knee.eps_, knee.curve_[best]);
  // With eps = 0, DBSCAN uses that knee.
  cluster::DbscanParams p;
  p.min_samples_ = 6;
  auto r = cluster::fit_dbscan(X, p);
  EXPECT_EQ(r.eps_, knee.eps_);
  ASSERT_TRUE(r.knee_.has_value());
  EXPECT_GE(r.clusters_, 3);
}

TEST(Dbscan, HandComputed) {
  // Line: 0 1 2 (core chain with eps 1, min 3: 1 is core; 0, 2 border),
  // 10 11 12 13 (11, 12 core), 20 alone (noise).
  Matrix X(8, 1);
  X << 0, 1, 2, 10, 11, 12, 13, 20;
  cluster::DbscanParams p;
  p.eps_ = 1.0;
  p.min_samples_ = 3;
  auto r = cluster::fit_dbscan(X, p);
  EXPECT_EQ(r.labels_, (std::vector<int>{0, 0, 0, 1, 1, 1, 1, cluster::kNoise}));
  EXPECT_EQ(r.cores_, 3u);
  EXPECT_EQ(r.noise_, 1u);
  // A border row within eps of two clusters joins the one whose first core
  // comes first: the origin is within 1 of the cores (1, 0) and (-1, 0).
  Matrix B(7, 2);
  B << 0, 0, 1, 0, 1, .5, 1, -.5, -1, 0, -1, .5, -1, -.5;
  p.eps_ = 1.0;
  p.min_samples_ = 4;
  auto b = cluster::fit_dbscan(B, p);
  EXPECT_EQ(b.labels_, (std::vector<int>{0, 0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(b.cores_, 2u);
  B.row(1).swap(B.row(4));  // now (-1, 0) comes first and takes it
  B.row(2).swap(B.row(5));
  B.row(3).swap(B.row(6));
  B.row(4) << 1, 0;
  b = cluster::fit_dbscan(B, p);
  EXPECT_EQ(b.labels_, (std::vector<int>{0, 0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(b.labels_[0], b.labels_[1]);
  EXPECT_DOUBLE_EQ(B(1, 0), -1.0);
}

TEST(Dbscan, RejectsBadInput) {
  Matrix X(3, 1);
  X << 0, 1, std::nan("");
  EXPECT_NE(test::error_of<ParamError>([&] { cluster::fit_dbscan(X, {}); }).find("NaN"), std::string::npos);
  X(2, 0) = 2;
  cluster::DbscanParams p;
  p.min_samples_ = 0;
  EXPECT_NE(test::error_of<ParamError>([&] { cluster::fit_dbscan(X, p); }).find("min_samples"), std::string::npos);
  Matrix same = Matrix::Zero(10, 2);
  EXPECT_NE(test::error_of<ParamError>([&] { cluster::fit_dbscan(same, {}); }).find("give eps"), std::string::npos);
}

TEST(MeanShift, BandwidthEstimateMatchesScikitLearn) {
  const Matrix X = noisy_blobs(3, 21);
  auto ref = sklearn(X, nlohmann::json::array({{{"estimate_bandwidth", 0.3}}, {{"estimate_bandwidth", 0.1}}}));
  if (!ref) GTEST_SKIP() << test::kNoSklearn;
  EXPECT_NEAR(cluster::estimate_bandwidth(X, 0.3), (*ref)[0]["bandwidth"].get<double>(), 1e-9);
  EXPECT_NEAR(cluster::estimate_bandwidth(X, 0.1, 10000, 0, 2), (*ref)[1]["bandwidth"].get<double>(), 1e-9);
}

TEST(MeanShift, SameCentresAndLabelsAsScikitLearn) {
  const Matrix X = noisy_blobs(3, 5);
  struct Case {
    double bandwidth;
    bool bin_seeding, cluster_all;
    int min_bin_freq;
  };
  const std::vector<Case> cases = {{2.0, false, true, 1},
                                   {1.2, false, false, 1},
                                   {2.0, true, true, 1},
                                   {1.5, true, false, 3},
                                   {0.0, false, true, 1}};
  nlohmann::json req = nlohmann::json::array();
  for (const Case& c : cases) {
    nlohmann::json a = {
        {"bin_seeding", c.bin_seeding}, {"cluster_all", c.cluster_all}, {"min_bin_freq", c.min_bin_freq}};
    if (c.bandwidth > 0) a["bandwidth"] = c.bandwidth;
    req.push_back({{"meanshift", a}});
  }
  auto ref = sklearn(X, req);
  if (!ref) GTEST_SKIP() << test::kNoSklearn;
  for (size_t i = 0; i < cases.size(); ++i) {
    for (int threads : {1, 2}) {
      cluster::MeanShiftParams p;
      p.bandwidth_ = cases[i].bandwidth;
      p.bin_seeding_ = cases[i].bin_seeding;
      p.cluster_all_ = cases[i].cluster_all;
      p.min_bin_freq_ = cases[i].min_bin_freq;
      p.threads_ = threads;
      auto r = cluster::fit_meanshift(X, p);
      const auto centers = (*ref)[i]["centers"].get<std::vector<std::vector<double>>>();
      ASSERT_EQ(static_cast<size_t>(r.centers_.rows()), centers.size()) << "case " << i;
      EXPECT_GE(r.centers_.rows(), 3) << "case " << i;
      for (size_t c = 0; c < centers.size(); ++c) {
        for (size_t j = 0; j < centers[c].size(); ++j) {
          EXPECT_NEAR(r.centers_(c, j), centers[c][j], 1e-6) << "case " << i << " centre " << c;
        }
      }
      EXPECT_EQ(r.labels_, (*ref)[i]["labels"].get<std::vector<int>>()) << "case " << i;
    }
  }
}

TEST(MeanShift, HandComputed) {
  // Two groups on a line; bandwidth 1.5: means 1 and 10.5.
  Matrix X(5, 1);
  X << 0, 1, 2, 10, 11;
  cluster::MeanShiftParams p;
  p.bandwidth_ = 1.5;
  auto r = cluster::fit_meanshift(X, p);
  ASSERT_EQ(r.centers_.rows(), 2);
  EXPECT_DOUBLE_EQ(r.centers_(0, 0), 1.0);  // 3 rows within: first
  EXPECT_DOUBLE_EQ(r.centers_(1, 0), 10.5);
  EXPECT_EQ(r.labels_, (std::vector<int>{0, 0, 0, 1, 1}));
  EXPECT_NE(test::error_of<ParamError>([&] { cluster::fit_meanshift(Matrix::Zero(4, 2), {}); }).find("give bandwidth"),
            std::string::npos);
}
