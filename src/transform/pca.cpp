// PCA by eigendecomposition of the d x d sample covariance: feature
// matrices are tall (10^5 rows, tens of columns), so this is one pass over
// the data and an O(d^3) solve, instead of an SVD of the whole matrix.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "darklens/error.hpp"
#include "darklens/transform/transform.hpp"

namespace darklens::transform {

Pca fit_pca(const Matrix& X, const PcaParams& params) {
  const Eigen::Index n = X.rows(), d = X.cols();
  if (n < 2 || d < 1) throw ParamError("pca: needs at least 2 rows and 1 column");
  if (!X.allFinite()) throw ParamError("pca: matrix holds NaN or infinite values");
  // The covariance is d x d and its eigendecomposition d^3: bounded.
  if (d > kPcaMaxColumns) {
    throw ParamError("pca: " + std::to_string(d) + " columns; at most " + std::to_string(kPcaMaxColumns) +
                     " (its covariance matrix alone would need " +
                     std::to_string(static_cast<long long>(d) * d * 8 / (1 << 20)) + " MiB)");
  }
  const Eigen::Index max_k = std::min(n, d);
  if (params.n_components_ < 0 || params.n_components_ > max_k) {
    throw ParamError("pca: n_components must be between 1 and " + std::to_string(max_k));
  }
  if (params.n_components_ == 0 && !(params.variance_ > 0.0 && params.variance_ <= 1.0)) {
    throw ParamError("pca: give a number of components, or a variance fraction in (0, 1]");
  }
  Pca p;
  p.mean_ = X.colwise().mean().transpose();
  // The covariance from blocks of centred rows, added in row order: no
  // centred copy of the whole matrix (fresh memory is what costs most on
  // large inputs).
  constexpr Eigen::Index kBlock = 4096;
  Matrix cov = Matrix::Zero(d, d);
  Matrix block;
  for (Eigen::Index r0 = 0; r0 < n; r0 += kBlock) {
    const Eigen::Index len = std::min(kBlock, n - r0);
    block = X.middleRows(r0, len).rowwise() - p.mean_.transpose();
    cov.selfadjointView<Eigen::Lower>().rankUpdate(block.transpose());
  }
  cov.triangularView<Eigen::StrictlyUpper>() = cov.transpose();
  cov /= static_cast<double>(n - 1);
  Eigen::SelfAdjointEigenSolver<Matrix> eig(cov);
  if (eig.info() != Eigen::Success) throw ParamError("pca: eigendecomposition did not converge");
  // Eigen sorts ascending: reverse, and clamp round-off below zero.
  Vector values = eig.eigenvalues().reverse().cwiseMax(0.0);
  Matrix vectors = eig.eigenvectors().rowwise().reverse();
  const double total = values.sum();
  Vector ratio = total > 0 ? Vector(values / total) : Vector::Zero(d);
  Eigen::Index k = params.n_components_;
  if (k == 0) {
    double cumulative = 0;
    k = 1;
    for (Eigen::Index i = 0; i < d; ++i) {
      cumulative += ratio[i];
      if (cumulative <= params.variance_) k = i + 2;
    }
    k = std::min(k, max_k);
  }
  p.components_ = vectors.leftCols(k).transpose();
  for (Eigen::Index i = 0; i < k; ++i) {
    Eigen::Index arg;
    p.components_.row(i).cwiseAbs().maxCoeff(&arg);
    if (p.components_(i, arg) < 0) p.components_.row(i) *= -1.0;
  }
  p.explained_variance_ = values.head(k);
  p.explained_variance_ratio_ = ratio.head(k);
  return p;
}

Matrix Pca::transform(const Matrix& X) const {
  if (X.cols() != mean_.size()) {
    throw ParamError("pca fitted on " + std::to_string(mean_.size()) + " columns, applied to " +
                     std::to_string(X.cols()));
  }
  // In blocks of rows: no centred copy of the whole matrix.
  constexpr Eigen::Index kBlock = 4096;
  Matrix Y(X.rows(), components_.rows());
  for (Eigen::Index r0 = 0; r0 < X.rows(); r0 += kBlock) {
    const Eigen::Index len = std::min(kBlock, X.rows() - r0);
    Y.middleRows(r0, len).noalias() = (X.middleRows(r0, len).rowwise() - mean_.transpose()) * components_.transpose();
  }
  return Y;
}

Matrix Pca::inverse_transform(const Matrix& Y) const {
  if (Y.cols() != components_.rows()) {
    throw ParamError("pca has " + std::to_string(components_.rows()) + " components, got " + std::to_string(Y.cols()) +
                     " columns");
  }
  return (Y * components_).rowwise() + mean_.transpose();
}

namespace {
std::vector<double> to_vec(const Vector& v) { return {v.data(), v.data() + v.size()}; }
Vector from_vec(std::vector<double> v) { return Eigen::Map<Vector>(v.data(), static_cast<Eigen::Index>(v.size())); }
}  // namespace

nlohmann::json Pca::to_json() const {
  nlohmann::json comps = nlohmann::json::array();
  for (Eigen::Index i = 0; i < components_.rows(); ++i) comps.push_back(to_vec(components_.row(i)));
  return {{"type", "pca"},
          {"mean", to_vec(mean_)},
          {"components", comps},
          {"explained_variance", to_vec(explained_variance_)},
          {"explained_variance_ratio", to_vec(explained_variance_ratio_)}};
}

Pca Pca::from_json(const nlohmann::json& j) {
  try {
    if (j.at("type") != "pca") throw FormatError("not a saved PCA");
    Pca p;
    p.mean_ = from_vec(j.at("mean").get<std::vector<double>>());
    const auto& comps = j.at("components");
    p.components_.resize(static_cast<Eigen::Index>(comps.size()), p.mean_.size());
    for (size_t i = 0; i < comps.size(); ++i) {
      auto row = comps[i].get<std::vector<double>>();
      if (static_cast<Eigen::Index>(row.size()) != p.mean_.size()) {
        throw FormatError("saved PCA: a component's length differs from the mean's");
      }
      p.components_.row(static_cast<Eigen::Index>(i)) = from_vec(row).transpose();
    }
    p.explained_variance_ = from_vec(j.at("explained_variance").get<std::vector<double>>());
    p.explained_variance_ratio_ = from_vec(j.at("explained_variance_ratio").get<std::vector<double>>());
    return p;
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(std::string("saved PCA: ") + e.what());
  }
}

}  // namespace darklens::transform
