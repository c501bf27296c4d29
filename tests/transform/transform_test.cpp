// Scalers and PCA against scikit-learn 1.2 on the same matrix (its answers
// come from tests/transform/sklearn_reference.py), plus hand-computed
// cases and error messages.
#include "darklens/transform/transform.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "darklens/error.hpp"
#include "support/error_of.hpp"
#include "support/sklearn.hpp"
#include "support/temp_dir.hpp"

using namespace darklens;
using transform::Matrix;

namespace {

// 500 x 6: correlated columns, a constant column, a column of ties.
Matrix sample() {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> g(0.0, 1.0);
  Matrix X(500, 6);
  for (int i = 0; i < 500; ++i) {
    const double a = g(rng), b = g(rng);
    X(i, 0) = 3 * a + 10;
    X(i, 1) = a + 0.5 * b;
    X(i, 2) = -2 * b + 0.1 * g(rng);
    X(i, 3) = 7.0;                         // constant
    X(i, 4) = static_cast<double>(i % 4);  // ties
    X(i, 5) = std::exp(g(rng));
  }
  return X;
}

// scikit-learn's answers, or nullopt (and the test is skipped) without it.
std::optional<nlohmann::json> sklearn(const Matrix& X) {
  static test::TempDir dir;
  test::write_npy(X.data(), X.rows(), X.cols(), "<f8", dir.file("x.npy"));
  return test::run_reference("transform/sklearn_reference.py", {dir.file("x.npy")}, dir.file("ref.json"));
}

#define SKLEARN_OR_SKIP(ref, X) \
  auto ref = sklearn(X);        \
  if (!ref) GTEST_SKIP() << test::kNoSklearn;

void expect_near(const transform::Vector& v, const nlohmann::json& want, double tol) {
  ASSERT_EQ(static_cast<size_t>(v.size()), want.size());
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(v[static_cast<Eigen::Index>(i)], want[i].get<double>(), tol) << i;
}

}  // namespace

TEST(Transform, ScalersMatchScikitLearn) {
  const Matrix X = sample();
  SKLEARN_OR_SKIP(ref, X);
  for (auto [kind, name] :
       {std::pair{transform::ScalerKind::kZScore, "zscore"}, std::pair{transform::ScalerKind::kMinMax, "minmax"},
        std::pair{transform::ScalerKind::kRobust, "robust"}}) {
    SCOPED_TRACE(name);
    auto s = transform::fit_scaler(X, kind);
    expect_near(s.center_, (*ref)[name]["center"], 1e-12);
    expect_near(s.scale_, (*ref)[name]["scale"], 1e-12);
    if ((*ref)[name].contains("first_row")) {
      expect_near(s.apply(X).row(0).transpose(), (*ref)[name]["first_row"], 1e-12);
    }
  }
}

TEST(Transform, PcaMatchesScikitLearnUpToSign) {
  const Matrix X = sample();
  SKLEARN_OR_SKIP(ref, X);
  const Matrix Z = transform::fit_scaler(X, transform::ScalerKind::kZScore).apply(X);
  auto pca = transform::fit_pca(Z, {3, 0.0});
  const auto& r = (*ref)["pca"];
  expect_near(pca.explained_variance_, r["explained_variance"], 1e-9);
  expect_near(pca.explained_variance_ratio_, r["explained_variance_ratio"], 1e-12);
  const Matrix Y = pca.transform(Z);
  for (int k = 0; k < 3; ++k) {
    // Same axis, maybe opposite direction: fix the sign on the first entry.
    double sign = pca.components_(k, 0) * r["components"][k][0].get<double>() < 0 ? -1.0 : 1.0;
    for (int j = 0; j < 6; ++j) {
      EXPECT_NEAR(sign * pca.components_(k, j), r["components"][k][j].get<double>(), 1e-6);
    }
    for (int i = 0; i < 5; ++i) {
      EXPECT_NEAR(sign * Y(i, k), r["projection_first_rows"][i][k].get<double>(), 1e-6);
    }
  }
  EXPECT_EQ(transform::fit_pca(Z, {0, 0.9}).components_.rows(), (*ref)["pca90_components"].get<int>());
}

TEST(Transform, HandComputedCases) {
  Matrix X(4, 2);
  X << 1, 5, 2, 5, 3, 5, 4, 5;  // second column constant
  auto z = transform::fit_scaler(X, transform::ScalerKind::kZScore);
  EXPECT_DOUBLE_EQ(z.center_[0], 2.5);
  EXPECT_DOUBLE_EQ(z.scale_[0], std::sqrt(1.25));  // population std of 1..4
  EXPECT_DOUBLE_EQ(z.scale_[1], 1.0);              // constant: left unscaled
  auto r = transform::fit_scaler(X, transform::ScalerKind::kRobust);
  EXPECT_DOUBLE_EQ(r.center_[0], 2.5);         // median of 1..4
  EXPECT_DOUBLE_EQ(r.scale_[0], 3.25 - 1.75);  // linear quartiles
  auto l = transform::fit_scaler(X, transform::ScalerKind::kLog1p);
  EXPECT_DOUBLE_EQ(l.apply(X)(0, 0), std::log(2.0));
  Matrix neg = X;
  neg(0, 0) = -1;  // signed values: sign(x) log(1 + |x|)
  EXPECT_DOUBLE_EQ(l.apply(neg)(0, 0), -std::log(2.0));
  // Points on the line y = 2x: one axis explains everything.
  Matrix L(3, 2);
  L << 0, 0, 1, 2, 2, 4;
  auto p = transform::fit_pca(L, {1, 0.0});
  EXPECT_NEAR(p.components_(0, 0), 1 / std::sqrt(5.0), 1e-12);
  EXPECT_NEAR(p.components_(0, 1), 2 / std::sqrt(5.0), 1e-12);
  EXPECT_NEAR(p.explained_variance_ratio_[0], 1.0, 1e-12);
  EXPECT_NEAR(p.explained_variance_[0], 5.0, 1e-12);  // projections -sqrt5, 0, sqrt5; ddof 1
  Matrix back = p.inverse_transform(p.transform(L));
  EXPECT_LT((back - L).cwiseAbs().maxCoeff(), 1e-12);
}

TEST(Transform, SavedAndReappliedGiveTheSameResult) {
  const Matrix X = sample();
  auto s = transform::fit_scaler(X, transform::ScalerKind::kRobust);
  auto s2 = transform::Scaler::from_json(nlohmann::json::parse(s.to_json().dump()));
  EXPECT_EQ(s.apply(X), s2.apply(X));
  auto p = transform::fit_pca(s.apply(X), {0, 0.8});
  auto p2 = transform::Pca::from_json(nlohmann::json::parse(p.to_json().dump()));
  EXPECT_EQ(p.transform(s.apply(X)), p2.transform(s2.apply(X)));
}

TEST(Transform, Errors) {
  auto msg = [](auto f) { return test::error_of<Error>(f); };
  Matrix X(3, 2);
  X << 1, 2, 3, 4, 5, 6;
  EXPECT_EQ(msg([] { transform::parse_scaler("standard"); }),
            "unknown scaler 'standard' (known: zscore, minmax, robust, log1p)");
  EXPECT_EQ(msg([] { transform::fit_scaler(Matrix(0, 3), transform::ScalerKind::kZScore); }), "scaler: empty matrix");
  Matrix bad = X;
  bad(1, 1) = std::nan("");
  EXPECT_EQ(msg([&] { transform::fit_scaler(bad, transform::ScalerKind::kMinMax); }),
            "scaler: matrix holds NaN or infinite values");
  auto s = transform::fit_scaler(X, transform::ScalerKind::kZScore);
  EXPECT_EQ(msg([&] { s.apply(Matrix(2, 3)); }), "scaler fitted on 2 columns, applied to 3");
  EXPECT_EQ(msg([&] { transform::fit_pca(X, {3, 0.0}); }), "pca: n_components must be between 1 and 2");
  EXPECT_EQ(msg([&] {
              transform::fit_pca(X, {0, 1.5});
            }),
            "pca: give a number of components, or a variance fraction in (0, 1]");
  EXPECT_EQ(msg([&] { transform::fit_pca(Matrix(1, 2), {1, 0.0}); }), "pca: needs at least 2 rows and 1 column");
  EXPECT_EQ(msg([] { transform::Scaler::from_json({{"type", "pca"}}); }), "not a saved scaler");
  EXPECT_EQ(msg([&] {
              transform::fit_pca(X, {1, 0.0}).transform(Matrix(1, 3));
            }),
            "pca fitted on 2 columns, applied to 3");
}
