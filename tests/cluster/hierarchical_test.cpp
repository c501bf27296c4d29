// Hierarchical clustering against scikit-learn 1.2's AgglomerativeClustering
// (tests/cluster/sklearn_algorithms_reference.py), and by hand.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "darklens/cluster/cluster.hpp"
#include "darklens/error.hpp"
#include "support/error_of.hpp"
#include "support/sklearn.hpp"
#include "support/temp_dir.hpp"

using namespace darklens;
using cluster::Matrix;

namespace {

// Blobs of different sizes and spreads plus uniform noise: no ties.
Matrix blobs(int n, int dims, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0.0, 1.0);
  std::uniform_real_distribution<double> u(-6.0, 12.0);
  Matrix X(n, dims);
  for (int i = 0; i < n; ++i) {
    const int b = i % 6;
    for (int j = 0; j < dims; ++j) {
      X(i, j) = b == 5 ? u(rng) : (j == b % dims ? 5.0 * b : 0.0) + (0.4 + 0.2 * b) * g(rng);
    }
  }
  return X;
}

// Labels renumbered by first appearance: equal vectors = same partition.
std::vector<int> canonical(const std::vector<int>& l) {
  std::map<int, int> m;
  std::vector<int> out;
  for (int v : l) out.push_back(m.emplace(v, static_cast<int>(m.size())).first->second);
  return out;
}

std::optional<nlohmann::json> sklearn(const Matrix& X, const nlohmann::json& requests) {
  static test::TempDir dir;
  return test::sklearn_algorithms(X, requests, dir.file(""));
}

}  // namespace

// Single linkage in many dimensions (Prim's): 9,000 rows are three chunks
// of points for the threads; the same merges on 1 and 3 threads, and the
// same partitions as scikit-learn.
TEST(Hierarchical, SingleLinkageInManyColumnsOnThreads) {
  const Matrix X = blobs(9000, 12, 5);
  const std::vector<int> ks = {2, 4, 8};
  nlohmann::json req = nlohmann::json::array();
  for (int k : ks) req.push_back({{"agglomerative", {{"linkage", "single"}, {"n_clusters", k}}}});
  auto ref = sklearn(X, req);
  if (!ref) GTEST_SKIP() << test::kNoSklearn;
  cluster::HierarchicalParams p;
  p.linkage_ = cluster::Linkage::kSingle;
  p.threads_ = 1;
  const auto one = cluster::fit_hierarchical(X, p);
  p.threads_ = 3;
  const auto three = cluster::fit_hierarchical(X, p);
  ASSERT_EQ(one.merges_.size(), three.merges_.size());
  for (size_t i = 0; i < one.merges_.size(); ++i) {
    EXPECT_EQ(one.merges_[i].a, three.merges_[i].a) << i;
    EXPECT_EQ(one.merges_[i].b, three.merges_[i].b) << i;
    EXPECT_EQ(one.merges_[i].height, three.merges_[i].height) << i;
  }
  for (size_t r = 0; r < ks.size(); ++r) {
    EXPECT_EQ(three.cut(ks[r]), canonical((*ref)[r]["labels"].get<std::vector<int>>())) << "k=" << ks[r];
  }
}

TEST(Hierarchical, SamePartitionsAsScikitLearn) {
  const std::vector<int> ks = {2, 3, 5, 8, 20};
  // (single linkage: Boruvka with kd-trees up to 8 dimensions, Prim beyond)
  for (int dims : {2, 6, 12}) {
    Matrix X = blobs(900, dims, 17 + dims);
    X.row(899) = X.row(10);  // duplicates merge first, at height 0
    X.row(898) = X.row(10);
    nlohmann::json req = nlohmann::json::array();
    for (const char* l : {"ward", "average", "complete", "single"}) {
      for (int k : ks) req.push_back({{"agglomerative", {{"linkage", l}, {"n_clusters", k}}}});
    }
    auto ref = sklearn(X, req);
    if (!ref) GTEST_SKIP() << test::kNoSklearn;
    size_t r = 0;
    for (const char* l : {"ward", "average", "complete", "single"}) {
      cluster::HierarchicalParams p;
      p.linkage_ = cluster::parse_linkage(l);
      const auto dg = cluster::fit_hierarchical(X, p);
      ASSERT_EQ(dg.merges_.size(), static_cast<size_t>(X.rows() - 1));
      for (int k : ks) {
        EXPECT_EQ(dg.cut(k), canonical((*ref)[r++]["labels"].get<std::vector<int>>()))
            << l << " k=" << k << " dims=" << dims;
      }
    }
  }
}

TEST(Hierarchical, SameOnAnyThreadCount) {
  const Matrix X = blobs(700, 4, 5);
  for (auto l : {cluster::Linkage::kSingle, cluster::Linkage::kAverage}) {
    cluster::HierarchicalParams p;
    p.linkage_ = l;
    p.threads_ = 1;
    const auto one = cluster::fit_hierarchical(X, p);
    p.threads_ = 3;
    const auto three = cluster::fit_hierarchical(X, p);
    EXPECT_EQ(one.cut(7), three.cut(7));
    for (size_t i = 0; i < one.merges_.size(); ++i) EXPECT_EQ(one.merges_[i].height, three.merges_[i].height);
  }
}

TEST(Hierarchical, HandComputed) {
  // Points 0, 1, 3, 7 on a line.
  Matrix X(4, 1);
  X << 0, 1, 3, 7;
  auto heights = [&](cluster::Linkage l) {
    cluster::HierarchicalParams p;
    p.linkage_ = l;
    std::vector<double> h;
    for (const auto& m : cluster::fit_hierarchical(X, p).merges_) h.push_back(m.height);
    return h;
  };
  // single: 1, 2, 4; complete: 1, max(3,2)=3, 7; average: 1, (3+2)/2=2.5, (7+6+4)/3.
  EXPECT_EQ(heights(cluster::Linkage::kSingle), (std::vector<double>{1, 2, 4}));
  EXPECT_EQ(heights(cluster::Linkage::kComplete), (std::vector<double>{1, 3, 7}));
  const auto avg = heights(cluster::Linkage::kAverage);
  EXPECT_DOUBLE_EQ(avg[1], 2.5);
  EXPECT_DOUBLE_EQ(avg[2], 17.0 / 3);
  // ward: {0,1}: sqrt(2*1*1/2)*1 = 1; {0,1}+{3}: sqrt(2*2*1/3)*2.5; then + {7}.
  const auto w = heights(cluster::Linkage::kWard);
  EXPECT_DOUBLE_EQ(w[0], 1.0);
  EXPECT_NEAR(w[1], std::sqrt(4.0 / 3) * 2.5, 1e-12);
  EXPECT_NEAR(w[2], std::sqrt(2.0 * 3 / 4) * (7 - 4.0 / 3), 1e-12);
  cluster::HierarchicalParams p;
  const auto dg = cluster::fit_hierarchical(X, p);
  EXPECT_EQ(dg.cut(2), (std::vector<int>{0, 0, 0, 1}));
  EXPECT_EQ(dg.cut(4), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(dg.cut_below(1.0), (std::vector<int>{0, 1, 2, 3}));  // merges strictly below
  EXPECT_EQ(dg.cut_below(1.5), (std::vector<int>{0, 0, 1, 2}));
}

TEST(Hierarchical, RefusesQuadraticMemoryBeyondTheLimit) {
  const Matrix X = blobs(300, 2, 1);
  cluster::HierarchicalParams p;
  p.linkage_ = cluster::Linkage::kAverage;
  p.max_pairwise_rows_ = 100;
  const auto msg = test::error_of<ParamError>([&] { cluster::fit_hierarchical(X, p); });
  EXPECT_NE(msg.find("300 distinct rows"), std::string::npos) << msg;
  EXPECT_NE(msg.find("use ward or single"), std::string::npos) << msg;
  EXPECT_NE(test::error_of<ParamError>([&] { cluster::parse_linkage("median"); }).find("ward, average"),
            std::string::npos);
}
