// Transforms: scalers and PCA over a feature matrix (rows = sources,
// columns = features; Eigen's column-major MatrixXd, the layout of
// FeatureTable). Every transform is fitted once and can be saved (JSON)
// and re-applied to later windows. Semantics follow scikit-learn 1.2
// (StandardScaler, MinMaxScaler, RobustScaler, PCA), checked in tests.
//
//   auto s = darklens::transform::fit_scaler(X, darklens::transform::ScalerKind::kZScore);
//   Eigen::MatrixXd Z = s.apply(X);
//   auto pca = darklens::transform::fit_pca(Z, {.n_components_ = 3});
//   Eigen::MatrixXd Y = pca.transform(Z);
#pragma once

#include <Eigen/Dense>
#include <nlohmann/json_fwd.hpp>
#include <string_view>

namespace darklens::transform {

using Matrix = Eigen::MatrixXd;
using Vector = Eigen::VectorXd;

enum class ScalerKind : uint8_t {
  kZScore,  // (x - mean) / std, population std (ddof 0); std 0 -> 1
  kMinMax,  // (x - min) / (max - min); range 0 -> 1
  kRobust,  // (x - median) / (q75 - q25), linear-interpolated quantiles; IQR 0 -> 1
  kLog1p,   // sign(x) log(1 + |x|), element-wise (nothing to fit): numpy.log1p for x >= 0
            // naming the column
};
std::string_view scaler_name(ScalerKind k);
/// "zscore", "minmax", "robust", "log1p". Throws ParamError.
ScalerKind parse_scaler(std::string_view name);

/// A fitted scaler: apply() computes (x - center) / scale per column
/// (log1p: log(1 + x)).
struct Scaler {
  ScalerKind kind_ = ScalerKind::kZScore;
  Vector center_;
  Vector scale_;
  /// Throws ParamError when X has another number of columns than the fit.
  Matrix apply(const Matrix& X) const;
  /// The same, overwriting X (no second matrix). On an error X is unchanged.
  void apply_in_place(Matrix& X) const;
  nlohmann::json to_json() const;
  /// Throws FormatError when `j` is not a saved scaler.
  static Scaler from_json(const nlohmann::json& j);
};

/// Fits a scaler. Throws ParamError on an empty matrix or non-finite values.
Scaler fit_scaler(const Matrix& X, ScalerKind kind);

/// PCA works on the d x d covariance (d^2 memory, d^3 time): at most
/// this many columns (the covariance is then 512 MiB).
inline constexpr long kPcaMaxColumns = 8192;

struct PcaParams {
  /// Keep this many components (1..columns)...
  int n_components_ = 0;
  /// ...or, when n_components_ is 0, enough components to explain more than
  /// this fraction of the variance (0 < f <= 1): as scikit-learn, one more
  /// than the number of cumulative ratios <= f, at most all of them.
  double variance_ = 0.0;
};

/// A fitted PCA: components_ rows are unit principal axes, by decreasing
/// explained variance; each axis' sign makes its largest-magnitude entry
/// positive (deterministic; scikit-learn's sign rule differs, so compare
/// up to sign).
struct Pca {
  Vector mean_;
  Matrix components_;          // k x d
  Vector explained_variance_;  // k, sample variance along each axis (ddof 1)
  Vector explained_variance_ratio_;
  Matrix transform(const Matrix& X) const;          // n x k
  Matrix inverse_transform(const Matrix& Y) const;  // n x d
  nlohmann::json to_json() const;
  static Pca from_json(const nlohmann::json& j);
};

/// Throws ParamError for fewer than 2 rows, non-finite values, or bad params.
Pca fit_pca(const Matrix& X, const PcaParams& params);

/// Self-Organizing Map. Units sit on a grid of rows_ x cols_; unit (r, c)
/// has index r * cols + c and grid position (r, c) (rectangular) or
/// (r * sqrt(3)/2, c + 0.5 if r is odd) (hexagonal: every unit has six
/// neighbours at distance 1). Distances between units are Euclidean
/// between positions. docs/transform.md.
enum class SomTopology : uint8_t { kRectangular, kHexagonal };
enum class SomNeighbourhood : uint8_t {
  kGaussian,  // h = exp(-dist^2 / (2 sigma^2))
  kBubble,    // h = 1 when dist < sigma (at least the unit itself), else 0
};
enum class SomTraining : uint8_t {
  kBatch,   // per epoch: every row's best-matching unit, then each unit = the
            // h-weighted mean of the rows; sigma falls linearly from sigma_
            // to 1 over the epochs
  kOnline,  // per step: one row (a seeded shuffle of the rows, again and
            // again), w += eta h (x - w); eta = learning_rate / (1 + t/(T/2)),
            // sigma likewise (MiniSom's asymptotic decay)
};

struct SomParams {
  int rows_ = 0, cols_ = 0;  // 0 = a square grid of about 5 sqrt(n) units; at most 4,096 units
  SomTopology topology_ = SomTopology::kRectangular;
  SomNeighbourhood neighbourhood_ = SomNeighbourhood::kGaussian;
  SomTraining training_ = SomTraining::kBatch;
  int iterations_ = 0;          // batch: epochs (default 10); online: steps (default 10 n)
  double sigma_ = 0;            // 0 = max(rows, cols) / 2
  double learning_rate_ = 0.5;  // online only
  uint64_t seed_ = 0;
  int threads_ = 0;  // the result does not depend on it
};

/// A trained map. Initial weights: the grid spread over the plane of the
/// first two principal components (+-2 standard deviations around the
/// mean; the first along the grid's longer side); with one feature, along it.
struct Som {
  int rows_ = 0, cols_ = 0;
  SomTopology topology_ = SomTopology::kRectangular;
  Matrix weights_;  // units x features

  Eigen::Vector2d position(int unit) const;
  /// Best-matching unit of every row (nearest weights; ties: lower index).
  std::vector<int> bmu(const Matrix& X, int threads = 0) const;
  /// n x 2: the grid position of every row's best-matching unit (the
  /// embedding the pipeline passes on).
  Matrix transform(const Matrix& X, int threads = 0) const;
  /// MiniSom's quantization_error: mean distance from a row to its BMU's weights.
  double quantization_error(const Matrix& X) const;
  /// MiniSom's topographic_error: share of rows whose best and second-best
  /// units are not adjacent (rectangular: the 8 surrounding units, grid
  /// distance <= 1.42; hexagonal: the 6 at distance 1).
  double topographic_error(const Matrix& X) const;
  /// MiniSom's distance_map: per unit, the sum of the distances between
  /// its weights and its adjacent units' weights, divided by the largest
  /// such sum. rows x cols.
  Matrix u_matrix() const;
  /// Rows per unit (the hit map). rows x cols.
  Matrix hit_map(const Matrix& X) const;
  nlohmann::json to_json() const;
  static Som from_json(const nlohmann::json& j);
};

/// Throws ParamError on an empty matrix, non-finite values or bad params.
Som fit_som(const Matrix& X, const SomParams& params);

}  // namespace darklens::transform
