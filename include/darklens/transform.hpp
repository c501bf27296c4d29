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
  kLog1p,   // log(1 + x), element-wise (nothing to fit); x <= -1 is an error
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
  /// Throws ParamError when X has another number of columns than the fit,
  /// or (log1p) holds a value <= -1.
  Matrix apply(const Matrix& X) const;
  nlohmann::json to_json() const;
  /// Throws FormatError when `j` is not a saved scaler.
  static Scaler from_json(const nlohmann::json& j);
};

/// Fits a scaler. Throws ParamError on an empty matrix or non-finite values.
Scaler fit_scaler(const Matrix& X, ScalerKind kind);

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
  Matrix components_;           // k x d
  Vector explained_variance_;   // k, sample variance along each axis (ddof 1)
  Vector explained_variance_ratio_;
  Matrix transform(const Matrix& X) const;          // n x k
  Matrix inverse_transform(const Matrix& Y) const;  // n x d
  nlohmann::json to_json() const;
  static Pca from_json(const nlohmann::json& j);
};

/// Throws ParamError for fewer than 2 rows, non-finite values, or bad params.
Pca fit_pca(const Matrix& X, const PcaParams& params);

}  // namespace darklens::transform
