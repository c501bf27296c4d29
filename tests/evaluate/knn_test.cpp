// Leave-one-out kNN classification against a brute-force oracle built on
// scikit-learn's NearestNeighbors and metrics (tests/evaluate/knn_reference.py),
// and the tie rules by hand.
#include <gtest/gtest.h>

#include <random>

#include "darklens/error.hpp"
#include "darklens/evaluate/evaluate.hpp"
#include "support/error_of.hpp"
#include "support/sklearn.hpp"
#include "support/temp_dir.hpp"

using namespace darklens;
using transform::Matrix;

TEST(Knn, MatchesBruteForceOracle) {
  std::mt19937_64 rng(21);
  std::normal_distribution<double> g(0.0, 1.0);
  const int n = 600;
  Matrix X(n, 3);
  std::vector<int> truth(n);
  for (int i = 0; i < n; ++i) {
    const int c = i % 4;
    for (int j = 0; j < 3; ++j) X(i, j) = (j == c % 3 ? 2.0 * (1 + c / 3) : 0.0) + g(rng);
    truth[i] = i % 7 == 0 ? evaluate::kUnknown : c;  // some sources without a label
  }
  const std::vector<std::string> names = {"a", "b", "c", "d"};
  test::TempDir dir;
  test::write_npy(X.data(), X.rows(), X.cols(), "<f8", dir.file("x.npy"));
  std::vector<int64_t> t(truth.begin(), truth.end());
  test::write_npy(t.data(), t.size(), 0, "<i8", dir.file("t.npy"));
  for (int k : {1, 4}) {
    for (const char* mode : {"all", "labelled", "all+unknown"}) {
      auto ref =
          test::run_reference("evaluate/knn_reference.py",
                              {dir.file("x.npy"), dir.file("t.npy"), std::to_string(k), mode}, dir.file("r.json"));
      if (!ref) GTEST_SKIP() << test::kNoSklearn;
      evaluate::KnnParams p;
      p.k_ = k;
      p.labelled_only_ = std::string(mode) == "labelled";
      p.include_unknown_ = std::string(mode) == "all+unknown";
      for (int threads : {1, 3}) {
        p.threads_ = threads;
        const auto r = evaluate::knn_leave_one_out(X, truth, names, p);
        std::vector<int> pred;
        for (int i = 0; i < n; ++i) {
          if (truth[i] != evaluate::kUnknown || p.include_unknown_) {
            pred.push_back(r.predicted_[i] == evaluate::kUnknown ? 4 : r.predicted_[i]);
          }
        }
        EXPECT_EQ(pred, (*ref)["predicted"].get<std::vector<int>>()) << "k " << k << " " << mode;
        EXPECT_NEAR(r.accuracy_, (*ref)["accuracy"].get<double>(), 1e-12);
        EXPECT_NEAR(r.macro_f1_, (*ref)["macro_f1"].get<double>(), 1e-12) << "k " << k << " " << mode;
        const auto labels = (*ref)["labels"].get<std::vector<int>>();
        for (size_t l = 0; l < labels.size(); ++l) {
          EXPECT_NEAR(r.per_class_[labels[l]].f1, (*ref)["f1"][l].get<double>(), 1e-12);
          EXPECT_NEAR(r.per_class_[labels[l]].precision, (*ref)["precision"][l].get<double>(), 1e-12);
        }
        const auto conf = (*ref)["confusion"].get<std::vector<std::vector<size_t>>>();
        for (size_t a = 0; a < r.confusion_.size(); ++a) {  // (no "unknown" column when it cannot occur)
          EXPECT_EQ(r.confusion_[a], std::vector<size_t>(conf[a].begin(), conf[a].begin() + r.confusion_.size()))
              << mode;
        }
      }
    }
  }
}

TEST(Knn, TiesAndCopiesByHand) {
  // Row 0 at the origin; rows 1, 2 are copies at distance 1 (classes b, c);
  // row 3 far (class b). k = 1: the two copies tie at the nearest distance
  // and share one vote: b and c get 1/2 each, equally near -> lower index b.
  Matrix X(4, 1);
  X << 0, 1, 1, 9;
  std::vector<int> truth = {0, 1, 2, 1};
  evaluate::KnnParams p;
  p.labelled_only_ = true;
  auto r = evaluate::knn_leave_one_out(X, truth, {"a", "b", "c"}, p);
  EXPECT_EQ(r.predicted_[0], 1);
  // Row 1's nearest is its copy (row 2, class c) at 0.
  EXPECT_EQ(r.predicted_[1], 2);
  EXPECT_EQ(r.predicted_[2], 1);
  // k = 2 for row 0: rows 1 and 2 (b, c) vote 1 each; tie at equal
  // distance -> b. For row 3: rows 1, 2 at 8 -> b and c, tie -> b.
  p.k_ = 2;
  r = evaluate::knn_leave_one_out(X, truth, {"a", "b", "c"}, p);
  EXPECT_EQ(r.predicted_[0], 1);
  EXPECT_EQ(r.predicted_[3], 1);
  // k = 3 for row 1: its copy (c) at 0, then row 0 (a) at 1, then row 3 (b)
  // at 8: one vote each; c is nearest.
  p.k_ = 3;
  r = evaluate::knn_leave_one_out(X, truth, {"a", "b", "c"}, p);
  EXPECT_EQ(r.predicted_[1], 2);
  EXPECT_NE(test::error_of<ParamError>([&] {
              evaluate::knn_leave_one_out(X, {0, 1}, {"a"}, p);
            }).find("2 labels for 4 rows"),
            std::string::npos);
  EXPECT_NE(test::error_of<ParamError>([&] {
              evaluate::knn_leave_one_out(X, {0, 1, 5, 0}, {"a", "b"}, p);
            }).find("class index 5"),
            std::string::npos);
}
