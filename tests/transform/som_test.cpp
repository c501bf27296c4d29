// Self-Organizing Map: a tiny map computed by hand, MiniSom's definitions
// of the errors and the U-matrix (tests/transform/minisom_reference.py),
// training quality on a known shape, determinism and saving.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "darklens/error.hpp"
#include "darklens/transform/transform.hpp"
#include "support/error_of.hpp"
#include "support/sklearn.hpp"
#include "support/temp_dir.hpp"

using namespace darklens;
using transform::Matrix;

namespace {

// Points on a 2-D square, uniform.
Matrix square(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Matrix X(n, 3);
  for (int i = 0; i < n; ++i) X(i, 0) = u(rng), X(i, 1) = u(rng), X(i, 2) = 0.1 * u(rng);
  return X;
}

}  // namespace

TEST(Som, OneBatchEpochByHand) {
  Matrix X(4, 1);
  X << 0, 1, 9, 10;
  transform::SomParams p;
  p.rows_ = 1, p.cols_ = 2;
  p.iterations_ = 1;
  p.neighbourhood_ = transform::SomNeighbourhood::kBubble;
  p.sigma_ = 0.5;  // each unit alone
  // Initial weights: mean -+ 2 sd along the axis: 5 -+ 2 sqrt(82/3); rows
  // 0, 1 go to the first unit, 9, 10 to the second; each becomes their mean.
  auto s = transform::fit_som(X, p);
  EXPECT_DOUBLE_EQ(s.weights_(0, 0), 0.5);
  EXPECT_DOUBLE_EQ(s.weights_(1, 0), 9.5);
  EXPECT_EQ(s.bmu(X), (std::vector<int>{0, 0, 1, 1}));
  EXPECT_DOUBLE_EQ(s.quantization_error(X), 0.5);
  // Gaussian, sigma 1: the other unit weighs h = exp(-1/2).
  p.neighbourhood_ = transform::SomNeighbourhood::kGaussian;
  p.sigma_ = 1;
  s = transform::fit_som(X, p);
  const double h = std::exp(-0.5);
  EXPECT_NEAR(s.weights_(0, 0), (1 + h * 19) / (2 + 2 * h), 1e-12);
  EXPECT_NEAR(s.weights_(1, 0), (19 + h * 1) / (2 + 2 * h), 1e-12);
  const Matrix Y = s.transform(X);
  EXPECT_EQ(Y(3, 0), 0);  // grid position (row, col) of the BMU
  EXPECT_EQ(Y(3, 1), 1);
}

TEST(Som, ErrorsAndUMatrixAsMiniSomDefinesThem) {
  const Matrix X = square(400, 2);
  for (auto topo : {transform::SomTopology::kRectangular, transform::SomTopology::kHexagonal}) {
    transform::SomParams p;
    p.rows_ = 5, p.cols_ = 7;
    p.topology_ = topo;
    p.iterations_ = 3;  // under-trained: some topographic errors
    auto s = transform::fit_som(X, p);
    test::TempDir dir;
    test::write_npy(X.data(), X.rows(), X.cols(), "<f8", dir.file("x.npy"));
    test::write_npy(s.weights_.data(), s.weights_.rows(), s.weights_.cols(), "<f8", dir.file("w.npy"));
    const char* name = topo == transform::SomTopology::kRectangular ? "rectangular" : "hexagonal";
    auto ref = test::run_reference("transform/minisom_reference.py",
                                   {dir.file("x.npy"), dir.file("w.npy"), "5", "7", name}, dir.file("ref.json"));
    if (!ref) GTEST_SKIP() << "/usr/bin/python3 with numpy is not installed (scripts/setup.sh installs it)";
    EXPECT_NEAR(s.quantization_error(X), (*ref)["quantization_error"].get<double>(), 1e-12) << name;
    EXPECT_NEAR(s.topographic_error(X), (*ref)["topographic_error"].get<double>(), 1e-12) << name;
    const auto um = (*ref)["distance_map"].get<std::vector<std::vector<double>>>();
    const Matrix U = s.u_matrix();
    for (int r = 0; r < 5; ++r) {
      for (int c = 0; c < 7; ++c) EXPECT_NEAR(U(r, c), um[r][c], 1e-12) << name << " " << r << "," << c;
    }
    EXPECT_EQ(s.hit_map(X).sum(), 400);
  }
}

TEST(Som, LearnsTheShapeOfTheData) {
  const Matrix X = square(2000, 7);
  for (auto training : {transform::SomTraining::kBatch, transform::SomTraining::kOnline}) {
    for (auto topo : {transform::SomTopology::kRectangular, transform::SomTopology::kHexagonal}) {
      transform::SomParams p;
      p.rows_ = p.cols_ = 8;
      p.training_ = training;
      p.topology_ = topo;
      p.iterations_ = training == transform::SomTraining::kBatch ? 20 : 20000;
      auto s = transform::fit_som(X, p);
      // 64 units over a unit square: spacing ~1/8, so rows sit close to a unit,
      // and neighbouring units stay neighbours in the data.
      EXPECT_LT(s.quantization_error(X), 0.09)
          << static_cast<int>(training) << static_cast<int>(topo);  // random units: ~0.4
      EXPECT_LT(s.topographic_error(X), 0.15);
      EXPECT_GT((s.hit_map(X).array() > 0).count(), 56);  // nearly every unit used
    }
  }
}

TEST(Som, DeterministicOnAnyThreadCountAndSaved) {
  const Matrix X = square(3000, 4);
  transform::SomParams p;
  p.threads_ = 1;
  auto a = transform::fit_som(X, p);
  p.threads_ = 3;
  auto b = transform::fit_som(X, p);
  EXPECT_EQ(a.rows_, 17);  // 5 sqrt(3000) = 274 units: round(sqrt(273.9)) = 17 a side
  EXPECT_EQ(a.weights_, b.weights_);
  auto c = transform::Som::from_json(nlohmann::json::parse(a.to_json().dump()));
  EXPECT_EQ(c.weights_, a.weights_);
  EXPECT_EQ(c.transform(X), a.transform(X));
  p.training_ = transform::SomTraining::kOnline;
  p.seed_ = 3;
  EXPECT_EQ(transform::fit_som(X, p).weights_, transform::fit_som(X, p).weights_);
  transform::SomParams bad;
  bad.rows_ = 3;
  EXPECT_NE(test::error_of<ParamError>([&] { transform::fit_som(X, bad); }).find("both grid sides"), std::string::npos);
  EXPECT_NE(test::error_of<ParamError>([&] { a.transform(Matrix::Zero(2, 5)); }).find("3 columns"), std::string::npos);
}
