// Agreement scores (ARI, NMI, AMI, homogeneity, completeness, V-measure)
// and internal indices (silhouette Euclidean and cosine, Davies-Bouldin,
// Calinski-Harabasz) against scikit-learn 1.2 on fixed inputs
// (tests/evaluate/sklearn_metrics_reference.py), and by hand.
#include <gtest/gtest.h>

#include <random>

#include "darklens/error.hpp"
#include "darklens/evaluate/evaluate.hpp"
#include "support/error_of.hpp"
#include "support/sklearn.hpp"
#include "support/temp_dir.hpp"

using namespace darklens;
using transform::Matrix;

TEST(Metrics, MatchScikitLearn) {
  std::mt19937_64 rng(13);
  std::normal_distribution<double> g(0.0, 1.0);
  const int n = 700;
  Matrix X(n, 4);
  std::vector<std::vector<int>> L(7, std::vector<int>(n));
  for (int i = 0; i < n; ++i) {
    const int truth = i % 5;
    for (int j = 0; j < 4; ++j) X(i, j) = (j == truth % 4 ? 4.0 : 0.0) + g(rng);
    if (i % 50 == 0) X.row(i).setZero();                        // zero rows (cosine's special case)
    if (i >= 600) X.row(i) = X.row(i - 600);                    // copies
    L[0][i] = truth;                                            // ground truth
    L[1][i] = truth;                                            // perfect
    L[2][i] = (truth + 2) % 5;                                  // perfect, renamed
    L[3][i] = rng() % 2 ? truth : static_cast<int>(rng() % 5);  // noisy
    L[4][i] = static_cast<int>(rng() % 9) - 1;                  // random with -1
    L[5][i] = truth < 2 ? 0 : 1;                                // merged
    L[6][i] = i % 40;                                           // split
  }
  std::vector<int64_t> flat;  // row-major labelings
  for (const auto& l : L) flat.insert(flat.end(), l.begin(), l.end());
  test::TempDir dir;
  test::write_npy(X.data(), X.rows(), X.cols(), "<f8", dir.file("x.npy"));
  // write_npy writes Fortran order: give it the transpose's storage.
  std::vector<int64_t> fortran(flat.size());
  for (size_t r = 0; r < L.size(); ++r) {
    for (int c = 0; c < n; ++c) fortran[static_cast<size_t>(c) * L.size() + r] = flat[r * n + static_cast<size_t>(c)];
  }
  test::write_npy(fortran.data(), L.size(), static_cast<size_t>(n), "<i8", dir.file("l.npy"));
  auto ref = test::run_reference("evaluate/sklearn_metrics_reference.py", {dir.file("x.npy"), dir.file("l.npy")},
                                 dir.file("ref.json"));
  {
    // Several labelings at once (the k heuristics' path): each equals its
    // own call, bit for bit when every labeling keeps copies of a row
    // together (as k-means and hac do), else up to rounding (copies are
    // then summed one by one instead of weighted); one cluster gives no
    // values; a wrong length throws.
    const std::vector<std::vector<int>> together = {L[0], L[2], L[5]};  // L[6] splits the zero rows
    const auto exact = evaluate::silhouette_samples(X, together, 2);
    for (size_t j = 0; j < together.size(); ++j)
      EXPECT_EQ(exact[j], evaluate::silhouette_samples(X, together[j], 1)) << j;
    auto many = L;
    many.push_back(std::vector<int>(n, 3));
    const auto all = evaluate::silhouette_samples(X, many, 2);
    ASSERT_EQ(all.size(), many.size());
    for (size_t j = 0; j < L.size(); ++j) {
      const auto one = evaluate::silhouette_samples(X, L[j], 1);
      ASSERT_EQ(all[j].size(), one.size());
      for (size_t i = 0; i < one.size(); ++i) EXPECT_NEAR(all[j][i], one[i], 1e-13) << j << " row " << i;
    }
    EXPECT_TRUE(all.back().empty());
    many.push_back({0, 1});
    EXPECT_NE(test::error_of<ParamError>([&] { evaluate::silhouette_samples(X, many); }).find("2 labels for 700 rows"),
              std::string::npos);
  }
  if (!ref) GTEST_SKIP() << test::kNoSklearn;
  for (size_t j = 0; j < L.size(); ++j) {
    const auto g = evaluate::compare_labelings(L[0], L[j]);
    const auto& r = (*ref)["pairs"][j];
    EXPECT_NEAR(g.ari, r["ari"].get<double>(), 1e-12) << j;
    EXPECT_NEAR(g.nmi, r["nmi"].get<double>(), 1e-12) << j;
    EXPECT_NEAR(g.ami, r["ami"].get<double>(), 1e-10) << j;
    EXPECT_NEAR(g.mutual_information, r["mi"].get<double>(), 1e-12) << j;
    EXPECT_NEAR(g.homogeneity, r["homogeneity"].get<double>(), 1e-12) << j;
    EXPECT_NEAR(g.completeness, r["completeness"].get<double>(), 1e-12) << j;
    EXPECT_NEAR(g.v_measure, r["v_measure"].get<double>(), 1e-12) << j;
    const auto& in = (*ref)["internal"][j];
    if (in.is_null()) continue;
    EXPECT_NEAR(evaluate::silhouette_score(X, L[j]), in["silhouette"].get<double>(), 1e-9) << j;
    EXPECT_NEAR(evaluate::silhouette_score_cosine(X, L[j], 2), in["silhouette_cosine"].get<double>(), 1e-9) << j;
    const auto samples = evaluate::silhouette_samples(X, L[j], 3);
    const auto ref_samples = in["silhouette_samples"].get<std::vector<double>>();
    ASSERT_EQ(samples.size(), ref_samples.size());
    for (size_t i = 0; i < samples.size(); ++i) EXPECT_NEAR(samples[i], ref_samples[i], 1e-9) << j << " row " << i;
    EXPECT_NEAR(evaluate::davies_bouldin_score(X, L[j]), in["davies_bouldin"].get<double>(), 1e-9) << j;
    EXPECT_NEAR(evaluate::calinski_harabasz_score(X, L[j]), in["calinski_harabasz"].get<double>(),
                1e-9 * in["calinski_harabasz"].get<double>())
        << j;
  }
  EXPECT_DOUBLE_EQ(evaluate::compare_labelings(L[0], L[2]).ami, 1.0);
}

TEST(Metrics, HandComputed) {
  // truth {0,0,1,1}, predicted {0,0,0,1}: contingency [[2,0],[1,1]].
  // ARI (Hubert-Arabie): index = C(2,2) = 1, expected = (1 + 1)(C(3,2) + 0) / C(4,2)
  // = 1, max = (2 + 3) / 2: (1 - 1) / (2.5 - 1) = 0.
  const std::vector<int> t = {0, 0, 1, 1}, p = {0, 0, 0, 1};
  const auto g = evaluate::compare_labelings(t, p);
  EXPECT_DOUBLE_EQ(g.ari, 0.0);
  // H(truth) = ln 2; MI = sum p log(p / (pa pb)) = 0.5 ln(0.5/(0.5*0.75)) + 0.25 ln(0.25/(0.5*0.75)) + 0.25
  // ln(0.25/(0.5*0.25)).
  const double mi = 0.5 * std::log(0.5 / 0.375) + 0.25 * std::log(0.25 / 0.375) + 0.25 * std::log(2.0);
  EXPECT_NEAR(g.mutual_information, mi, 1e-15);
  EXPECT_NEAR(g.homogeneity, mi / std::log(2.0), 1e-15);
  EXPECT_DOUBLE_EQ(evaluate::compare_labelings({1, 1, 1}, {4, 4, 4}).ami, 1.0);  // nothing split: a perfect match
  EXPECT_NE(test::error_of<ParamError>([] {
              evaluate::compare_labelings({1}, {1, 2});
            }).find("1 and 2 labels"),
            std::string::npos);
}
