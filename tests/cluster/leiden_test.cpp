// Leiden on the kNN graph: against python-igraph's community_leiden on the
// same graph (tests/cluster/igraph_leiden_reference.py), by hand, and for
// determinism over threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "darklens/cluster/cluster.hpp"
#include "darklens/error.hpp"
#include "darklens/evaluate/evaluate.hpp"
#include "support/error_of.hpp"
#include "support/sklearn.hpp"
#include "support/temp_dir.hpp"

using namespace darklens;

namespace {

// Blobs of the given sizes in 4 dimensions, centres `gap` apart.
cluster::Matrix blobs(const std::vector<int>& sizes, double gap, std::vector<int>& truth, uint64_t seed = 3) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0.0, 1.0);
  int n = 0;
  for (int s : sizes) n += s;
  cluster::Matrix X(n, 4);
  truth.clear();
  int r = 0;
  for (size_t b = 0; b < sizes.size(); ++b) {
    for (int i = 0; i < sizes[b]; ++i, ++r) {
      for (int d = 0; d < 4; ++d)
        X(r, d) = (d == static_cast<int>(b % 4) ? gap * (1 + static_cast<int>(b / 4)) : 0) + g(rng);
      truth.push_back(static_cast<int>(b));
    }
  }
  return X;
}

std::optional<nlohmann::json> igraph_reference(const cluster::Matrix& X, int k, double resolution,
                                               const test::TempDir& dir) {
  test::write_npy(X.data(), static_cast<size_t>(X.rows()), static_cast<size_t>(X.cols()), "<f8", dir.file("x.npy"));
  return test::run_reference("cluster/igraph_leiden_reference.py",
                             {dir.file("x.npy"), std::to_string(k), std::to_string(resolution)}, dir.file("ref.json"));
}

}  // namespace

TEST(Leiden, SeparatedBlobsAreTheCommunitiesNumberedBySize) {
  std::vector<int> truth;
  // Small blobs (a community each; larger ones split into sub-communities
  // of higher modularity, as python-igraph's do).
  const auto X = blobs({15, 30, 20, 25}, 12.0, truth);
  cluster::LeidenParams p;
  p.neighbours_ = 10;
  const auto r = cluster::fit_leiden(X, p);
  EXPECT_EQ(r.clusters_, 4);
  EXPECT_DOUBLE_EQ(evaluate::compare_labelings(truth, r.labels_).ari, 1.0);
  // Largest first: the blob of 30 rows is community 0, the blob of 15 is 3.
  EXPECT_EQ(r.labels_[15], 0);
  EXPECT_EQ(r.labels_[0], 3);
  EXPECT_GT(r.modularity_, 0.7);
}

TEST(Leiden, MatchesPythonIgraphOnTheSameGraph) {
  test::TempDir dir;
  std::vector<int> truth;
  for (double gap : {12.0, 3.0}) {  // separated, then overlapping blobs
    const auto X = blobs({150, 100, 100, 60, 90}, gap, truth, 11);
    if (std::system("/usr/bin/python3 -c 'import igraph, sklearn' 2>/dev/null") != 0) {
      GTEST_SKIP() << "/usr/bin/python3 with python3-igraph and python3-sklearn is needed (scripts/setup.sh)";
    }
    const auto ref = igraph_reference(X, 10, 1.0, dir);
    ASSERT_TRUE(ref.has_value()) << "tests/cluster/igraph_leiden_reference.py failed";
    cluster::LeidenParams p;
    p.neighbours_ = 10;
    const auto r = cluster::fit_leiden(X, p);
    EXPECT_EQ(r.edges_, (*ref)["links"].get<size_t>()) << "the same graph";
    const double theirs = (*ref)["modularity"].get<double>();
    const auto membership = (*ref)["membership"].get<std::vector<int>>();
    std::printf("gap %.0f: ours %d communities, modularity %.6f; python-igraph %d, %.6f\n", gap, r.clusters_,
                r.modularity_, *std::max_element(membership.begin(), membership.end()) + 1, theirs);
    // Leiden is randomised (igraph's RNG here, Python's there): on the same
    // graph, as many communities, as good a modularity, nearly the same split.
    const int theirs_k = *std::max_element(membership.begin(), membership.end()) + 1;
    EXPECT_LE(std::abs(r.clusters_ - theirs_k), 1);
    EXPECT_GT(r.modularity_, theirs - 0.005);
    EXPECT_GT(evaluate::compare_labelings(membership, r.labels_).ami, 0.75);
  }
}

TEST(Leiden, SameLabelsOnAnyThreadCountAndResolutionSplitsFurther) {
  std::vector<int> truth;
  const auto X = blobs({150, 100, 100}, 3.0, truth, 5);
  cluster::LeidenParams p;
  p.threads_ = 1;
  const auto one = cluster::fit_leiden(X, p);
  p.threads_ = 3;
  EXPECT_EQ(cluster::fit_leiden(X, p).labels_, one.labels_);
  p.resolution_ = 4.0;
  EXPECT_GT(cluster::fit_leiden(X, p).clusters_, one.clusters_);
}

TEST(Leiden, Errors) {
  cluster::Matrix X(1, 2);
  X << 1, 2;
  cluster::LeidenParams p;
  EXPECT_EQ(test::error_of<ParamError>([&] { cluster::fit_leiden(X, p); }), "leiden: needs at least 2 rows");
  cluster::Matrix Y(3, 1);
  Y << 1, 2, std::nan("");
  EXPECT_EQ(test::error_of<ParamError>([&] { cluster::fit_leiden(Y, p); }),
            "leiden: empty matrix or NaN/infinite values");
  Y(2, 0) = 3;
  p.resolution_ = 0;
  EXPECT_EQ(test::error_of<ParamError>([&] { cluster::fit_leiden(Y, p); }), "leiden: resolution must be positive");
}

TEST(Leiden, HnswNeighboursAgainstBruteForce) {
  // 2,000 rows in 50 dimensions (ten overlapping Gaussian groups): the
  // approximate neighbours against every pair's distance (the oracle).
  std::mt19937_64 rng(11);
  std::normal_distribution<double> g(0.0, 1.0);
  const int n = 2000, d = 50, k = 15;
  cluster::Matrix X(n, d);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < d; ++j) X(i, j) = g(rng) + ((i % 10) == (j % 10) ? 3.0 : 0.0);
  }
  const auto approx = cluster::nearest_neighbours(X, k, true, 2);
  ASSERT_EQ(approx.size(), static_cast<size_t>(n * k));
  // Every pair's squared distance at once: |x|^2 + |y|^2 - 2 x.y.
  const Eigen::VectorXd norms = X.rowwise().squaredNorm();
  const cluster::Matrix D = (-2.0 * X * X.transpose()).colwise() + norms;
  size_t hits = 0;
  for (int i = 0; i < n; ++i) {
    std::vector<std::pair<double, int>> all;
    for (int j = 0; j < n; ++j) {
      if (j != i) all.emplace_back(D(j, i) + norms(i), j);
    }
    std::partial_sort(all.begin(), all.begin() + k, all.end());
    for (int a = 0; a < k; ++a) {
      const auto* row = approx.data() + static_cast<size_t>(i) * k;
      hits += std::count(row, row + k, static_cast<uint32_t>(all[static_cast<size_t>(a)].second));
    }
  }
  const double recall = static_cast<double>(hits) / (n * k);
  std::printf("HNSW recall of 15 neighbours, 2,000 x 50: %.4f\n", recall);
  EXPECT_GT(recall, 0.95) << recall;
  // The exact search is the oracle's, and both are the same on any thread count.
  EXPECT_EQ(approx, cluster::nearest_neighbours(X, k, true, 1));
  EXPECT_EQ(cluster::nearest_neighbours(X, k, false, 1), cluster::nearest_neighbours(X, k, false, 2));
  // Through Leiden: the index is reported; the partitions agree.
  cluster::LeidenParams p;
  p.index_ = cluster::NeighbourIndex::kHnsw;
  const auto a = cluster::fit_leiden(X, p);
  EXPECT_TRUE(a.approximate_);
  p.index_ = cluster::NeighbourIndex::kExact;
  const auto e = cluster::fit_leiden(X, p);
  EXPECT_FALSE(e.approximate_);
  EXPECT_GT(evaluate::compare_labelings(a.labels_, e.labels_).ami, 0.9);
}
