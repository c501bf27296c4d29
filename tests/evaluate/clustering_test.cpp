// evaluate_clustering: the one-call evaluation of analyze and classify,
// checked against the separate calls it stands for and by hand.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "darklens/evaluate/evaluate.hpp"

using namespace darklens;
using transform::Matrix;

namespace {

// Three blobs of 40 rows, a few rows labelled -1 (noise), ground truth on
// two thirds of the rows.
struct Case {
  Matrix Y;
  std::vector<int> labels, truth;
};
Case blobs() {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> g(0.0, 0.5);
  Case c;
  c.Y.resize(120, 2);
  for (int i = 0; i < 120; ++i) {
    c.Y(i, 0) = 6.0 * (i % 3) + g(rng);
    c.Y(i, 1) = g(rng);
    c.labels.push_back(i % 17 == 0 ? -1 : i % 3);
    c.truth.push_back(i % 3 == 2 ? evaluate::kUnknown : i % 3);
  }
  return c;
}

}  // namespace

TEST(EvaluateClustering, EqualsTheSeparateCalls) {
  const auto c = blobs();
  const std::vector<std::string> classes = {"a", "b"};
  evaluate::ClusteringEvaluationParams p;
  p.threads = 2;
  const auto e = evaluate::evaluate_clustering(c.Y, c.labels, &c.truth, classes, p);
  // Silhouette per cluster (noise as a cluster of its own): means of silhouette_samples, by hand.
  const auto s = evaluate::silhouette_samples(c.Y, c.labels, 1);
  std::map<int, std::pair<double, size_t>> by;
  for (size_t i = 0; i < s.size(); ++i) by[c.labels[i]].first += s[i], ++by[c.labels[i]].second;
  ASSERT_EQ(e.silhouette.size(), 4u);
  EXPECT_EQ(e.silhouette_rows, 120u);
  size_t k = 0;
  for (const auto& [label, v] : by) {
    EXPECT_EQ(e.silhouette[k].cluster, label);
    EXPECT_DOUBLE_EQ(e.silhouette[k].value, v.first / static_cast<double>(v.second));
    EXPECT_EQ(e.silhouette[k].rows, v.second);
    ++k;
  }
  // 1-NN and agreement on the labelled rows.
  evaluate::KnnParams kp;
  const auto knn = evaluate::knn_leave_one_out(c.Y, c.truth, classes, kp);
  ASSERT_TRUE(e.knn.has_value());
  EXPECT_EQ(e.knn->accuracy_, knn.accuracy_);
  EXPECT_EQ(e.knn->confusion_, knn.confusion_);
  std::vector<int> t, l;
  for (size_t i = 0; i < c.truth.size(); ++i) {
    if (c.truth[i] != evaluate::kUnknown) t.push_back(c.truth[i]), l.push_back(c.labels[i]);
  }
  ASSERT_TRUE(e.agreement.has_value());
  EXPECT_EQ(e.agreement->ami, evaluate::compare_labelings(t, l).ami);
  EXPECT_EQ(e.agreement->ari, evaluate::compare_labelings(t, l).ari);
}

TEST(EvaluateClustering, SampleNoTruthAndNothingToScore) {
  const auto c = blobs();
  evaluate::ClusteringEvaluationParams p;
  p.silhouette_rows = 50;
  p.seed = 9;
  const auto e = evaluate::evaluate_clustering(c.Y, c.labels, nullptr, {}, p);
  EXPECT_EQ(e.silhouette_rows, 50u);  // a seeded sample
  size_t rows = 0;
  for (const auto& x : e.silhouette) rows += x.rows;
  EXPECT_EQ(rows, 50u);
  EXPECT_FALSE(e.knn.has_value());  // no ground truth
  EXPECT_FALSE(e.agreement.has_value());
  // The same sample as silhouettes_on_sample's.
  std::vector<size_t> all(120);
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  const auto sample = evaluate::silhouettes_on_sample(c.Y, all, {c.labels}, 50, 9, 1);
  EXPECT_EQ(evaluate::per_cluster(sample.labels[0], sample.values[0]).size(), e.silhouette.size());
  EXPECT_EQ(evaluate::per_cluster(sample.labels[0], sample.values[0])[0].value, e.silhouette[0].value);
  // One cluster: no silhouette; the silhouette not asked for: none.
  const auto one = evaluate::evaluate_clustering(c.Y, std::vector<int>(120, 0), nullptr, {}, {});
  EXPECT_TRUE(one.silhouette.empty());
  p.silhouette = false;
  EXPECT_TRUE(evaluate::evaluate_clustering(c.Y, c.labels, nullptr, {}, p).silhouette.empty());
  // A single labelled row cannot be compared: no kNN.
  std::vector<int> lone(120, evaluate::kUnknown);
  lone[3] = 0;
  EXPECT_FALSE(evaluate::evaluate_clustering(c.Y, c.labels, &lone, {"a"}, p).knn.has_value());
}
