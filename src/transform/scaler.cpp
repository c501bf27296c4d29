#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <vector>

#include "../core/quantile.hpp"
#include "darklens/error.hpp"
#include "darklens/transform/transform.hpp"

namespace darklens::transform {
namespace {

void require_finite(const Matrix& X, const char* what) {
  if (X.rows() == 0 || X.cols() == 0) throw ParamError(std::string(what) + ": empty matrix");
  if (!X.allFinite()) throw ParamError(std::string(what) + ": matrix holds NaN or infinite values");
}

}  // namespace

std::string_view scaler_name(ScalerKind k) {
  switch (k) {
    case ScalerKind::kZScore:
      return "zscore";
    case ScalerKind::kMinMax:
      return "minmax";
    case ScalerKind::kRobust:
      return "robust";
    case ScalerKind::kLog1p:
      return "log1p";
  }
  return "?";
}

ScalerKind parse_scaler(std::string_view name) {
  for (auto k : {ScalerKind::kZScore, ScalerKind::kMinMax, ScalerKind::kRobust, ScalerKind::kLog1p}) {
    if (name == scaler_name(k)) return k;
  }
  throw ParamError("unknown scaler '" + std::string(name) + "' (known: zscore, minmax, robust, log1p)");
}

Scaler fit_scaler(const Matrix& X, ScalerKind kind) {
  require_finite(X, "scaler");
  const Eigen::Index d = X.cols();
  Scaler s;
  s.kind_ = kind;
  s.center_ = Vector::Zero(d);
  s.scale_ = Vector::Ones(d);
  for (Eigen::Index j = 0; j < d; ++j) {
    const auto col = X.col(j);
    double center = 0, scale = 1;
    switch (kind) {
      case ScalerKind::kZScore: {
        center = col.mean();
        scale = std::sqrt((col.array() - center).square().mean());
        break;
      }
      case ScalerKind::kMinMax:
        center = col.minCoeff();
        scale = col.maxCoeff() - center;
        break;
      case ScalerKind::kRobust: {
        std::vector<double> v(col.data(), col.data() + col.size());
        std::sort(v.begin(), v.end());
        center = linear_quantile(v, 0.5);
        scale = linear_quantile(v, 0.75) - linear_quantile(v, 0.25);
        break;
      }
      case ScalerKind::kLog1p:
        break;
    }
    s.center_[j] = center;
    // A constant column is left unscaled, as scikit-learn does.
    s.scale_[j] = scale == 0.0 ? 1.0 : scale;
  }
  return s;
}

Matrix Scaler::apply(const Matrix& X) const {
  Matrix Y = X;
  apply_in_place(Y);
  return Y;
}

void Scaler::apply_in_place(Matrix& X) const {
  if (X.cols() != center_.size()) {
    throw ParamError("scaler fitted on " + std::to_string(center_.size()) + " columns, applied to " +
                     std::to_string(X.cols()));
  }
  if (kind_ == ScalerKind::kLog1p) {
    // Symmetric, so a column of signed values (tmp_burstiness in [-1, 1],
    // a user's own) is compressed the same way instead of refused.
    X.array() = X.array().sign() * X.array().abs().log1p();
    return;
  }
  X.array().rowwise() -= center_.transpose().array();
  X.array().rowwise() /= scale_.transpose().array();
}

nlohmann::json Scaler::to_json() const {
  return {{"type", "scaler"},
          {"kind", scaler_name(kind_)},
          {"center", std::vector<double>(center_.data(), center_.data() + center_.size())},
          {"scale", std::vector<double>(scale_.data(), scale_.data() + scale_.size())}};
}

Scaler Scaler::from_json(const nlohmann::json& j) {
  try {
    if (j.at("type") != "scaler") throw FormatError("not a saved scaler");
    Scaler s;
    s.kind_ = parse_scaler(j.at("kind").get<std::string>());
    auto c = j.at("center").get<std::vector<double>>();
    auto sc = j.at("scale").get<std::vector<double>>();
    if (c.size() != sc.size()) throw FormatError("saved scaler: center and scale differ in length");
    s.center_ = Eigen::Map<Vector>(c.data(), static_cast<Eigen::Index>(c.size()));
    s.scale_ = Eigen::Map<Vector>(sc.data(), static_cast<Eigen::Index>(sc.size()));
    return s;
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(std::string("saved scaler: ") + e.what());
  }
}

}  // namespace darklens::transform
