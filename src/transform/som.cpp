// Self-Organizing Map: batch and online training on rectangular or
// hexagonal grids; error measures and the U-matrix as MiniSom defines them.
// Best-matching units come from one matrix product per fixed block of 256
// rows (|x|^2 - 2 x.w + |w|^2), so the result does not depend on threads.
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>

#include "../core/parallel.hpp"
#include "../core/rng.hpp"
#include "darklens/error.hpp"
#include "darklens/transform/transform.hpp"

namespace darklens::transform {
namespace {

constexpr size_t kBlock = 256;

// For every row, the best (and second-best) unit by squared distance.
void best_units(const Matrix& W, const Matrix& X, int threads, std::vector<int>& first, std::vector<int>* second) {
  const Eigen::Index n = X.rows(), u = W.rows();
  first.assign(static_cast<size_t>(n), 0);
  if (second) second->assign(static_cast<size_t>(n), 0);
  const Vector wn = W.rowwise().squaredNorm();
  parallel_for(
      static_cast<size_t>(n), threads,
      [&](size_t lo, size_t hi) {
        for (size_t b = lo; b < hi; b += kBlock) {
          const Eigen::Index rows = static_cast<Eigen::Index>(std::min(hi, b + kBlock) - b);
          const auto block = X.middleRows(static_cast<Eigen::Index>(b), rows);
          Matrix D = -2.0 * block * W.transpose();  // rows x units
          D.rowwise() += wn.transpose();
          for (Eigen::Index i = 0; i < rows; ++i) {
            int b1 = 0, b2 = -1;
            for (Eigen::Index k = 1; k < u; ++k) {
              if (D(i, k) < D(i, b1)) {
                b2 = b1, b1 = static_cast<int>(k);
              } else if (b2 < 0 || D(i, k) < D(i, b2)) {
                b2 = static_cast<int>(k);
              }
            }
            first[b + static_cast<size_t>(i)] = b1;
            if (second) (*second)[b + static_cast<size_t>(i)] = b2 < 0 ? b1 : b2;
          }
        }
      },
      kBlock);
}

double neighbourhood(SomNeighbourhood kind, double dist2, double sigma) {
  if (kind == SomNeighbourhood::kGaussian) return std::exp(-dist2 / (2 * sigma * sigma));
  return dist2 == 0 || dist2 < sigma * sigma ? 1.0 : 0.0;
}

bool adjacent(const Som& s, int a, int b) {
  const double d = (s.position(a) - s.position(b)).norm();
  if (s.topology_ == SomTopology::kRectangular) return d <= 1.42;
  return std::abs(d - 1.0) <= 1e-8;  // numpy isclose(1, d)
}

}  // namespace

Eigen::Vector2d Som::position(int unit) const {
  const int r = unit / cols_, c = unit % cols_;
  if (topology_ == SomTopology::kRectangular) return {r, c};
  return {r * std::sqrt(3.0) / 2, c + (r % 2 ? 0.5 : 0.0)};
}

std::vector<int> Som::bmu(const Matrix& X, int threads) const {
  if (X.cols() != weights_.cols()) {
    throw ParamError("som fitted on " + std::to_string(weights_.cols()) + " columns, applied to " +
                     std::to_string(X.cols()));
  }
  std::vector<int> b;
  best_units(weights_, X, threads, b, nullptr);
  return b;
}

Matrix Som::transform(const Matrix& X, int threads) const {
  const auto b = bmu(X, threads);
  Matrix Y(X.rows(), 2);
  for (Eigen::Index i = 0; i < X.rows(); ++i) Y.row(i) = position(b[static_cast<size_t>(i)]).transpose();
  return Y;
}

double Som::quantization_error(const Matrix& X) const {
  const auto b = bmu(X);
  double s = 0;
  for (Eigen::Index i = 0; i < X.rows(); ++i) s += (X.row(i) - weights_.row(b[static_cast<size_t>(i)])).norm();
  return s / static_cast<double>(X.rows());
}

double Som::topographic_error(const Matrix& X) const {
  if (weights_.rows() < 2) return 0;
  std::vector<int> b1, b2;
  best_units(weights_, X, 0, b1, &b2);
  size_t errors = 0;
  for (size_t i = 0; i < b1.size(); ++i) errors += !adjacent(*this, b1[i], b2[i]);
  return static_cast<double>(errors) / static_cast<double>(b1.size());
}

Matrix Som::u_matrix() const {
  Matrix U = Matrix::Zero(rows_, cols_);
  const int units = rows_ * cols_;
  for (int a = 0; a < units; ++a) {
    for (int r = std::max(0, a / cols_ - 1); r <= std::min(rows_ - 1, a / cols_ + 1); ++r) {
      for (int c = std::max(0, a % cols_ - 1); c <= std::min(cols_ - 1, a % cols_ + 1); ++c) {
        const int b = r * cols_ + c;
        if (b != a && adjacent(*this, a, b)) U(a / cols_, a % cols_) += (weights_.row(a) - weights_.row(b)).norm();
      }
    }
  }
  const double mx = U.maxCoeff();
  return mx > 0 ? Matrix(U / mx) : U;
}

Matrix Som::hit_map(const Matrix& X) const {
  Matrix H = Matrix::Zero(rows_, cols_);
  for (int b : bmu(X)) H(b / cols_, b % cols_) += 1;
  return H;
}

nlohmann::json Som::to_json() const {
  nlohmann::json w = nlohmann::json::array();
  for (Eigen::Index i = 0; i < weights_.rows(); ++i) {
    std::vector<double> row(static_cast<size_t>(weights_.cols()));
    for (Eigen::Index j = 0; j < weights_.cols(); ++j) row[static_cast<size_t>(j)] = weights_(i, j);
    w.push_back(row);
  }
  return {{"type", "som"},
          {"rows", rows_},
          {"cols", cols_},
          {"topology", topology_ == SomTopology::kRectangular ? "rectangular" : "hexagonal"},
          {"weights", w}};
}

Som Som::from_json(const nlohmann::json& j) {
  try {
    if (j.at("type") != "som") throw FormatError("not a saved SOM");
    Som s;
    s.rows_ = j.at("rows").get<int>();
    s.cols_ = j.at("cols").get<int>();
    s.topology_ = j.at("topology") == "hexagonal" ? SomTopology::kHexagonal : SomTopology::kRectangular;
    const auto& w = j.at("weights");
    if (s.rows_ < 1 || s.cols_ < 1 || w.size() != static_cast<size_t>(s.rows_) * static_cast<size_t>(s.cols_) ||
        w.empty()) {
      throw FormatError("saved SOM: the weights do not fill the grid");
    }
    const size_t d = w[0].size();
    s.weights_.resize(static_cast<Eigen::Index>(w.size()), static_cast<Eigen::Index>(d));
    for (size_t i = 0; i < w.size(); ++i) {
      const auto row = w[i].get<std::vector<double>>();
      if (row.size() != d) throw FormatError("saved SOM: weight rows differ in length");
      for (size_t k = 0; k < d; ++k) s.weights_(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(k)) = row[k];
    }
    return s;
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(std::string("saved SOM: ") + e.what());
  }
}

Som fit_som(const Matrix& X, const SomParams& p) {
  const Eigen::Index n = X.rows(), d = X.cols();
  if (n < 1 || d < 1 || !X.allFinite()) throw ParamError("som: empty matrix or NaN/infinite values");
  if (p.rows_ < 0 || p.cols_ < 0 || (p.rows_ == 0) != (p.cols_ == 0)) {
    throw ParamError("som: give both grid sides (som:20x20), or neither for the 5 sqrt(n) rule");
  }
  if (p.iterations_ < 0 || p.sigma_ < 0 || !(p.learning_rate_ > 0)) {
    throw ParamError("som: iterations and sigma must not be negative, learning_rate must be positive");
  }
  Som s;
  s.topology_ = p.topology_;
  s.rows_ = p.rows_, s.cols_ = p.cols_;
  if (s.rows_ == 0) {  // Vesanto's rule: about 5 sqrt(n) units
    const int side = std::max(2, static_cast<int>(std::lround(std::sqrt(5 * std::sqrt(static_cast<double>(n))))));
    s.rows_ = s.cols_ = side;
  }
  // In 64 bits: a grid such as 46341x46341 overflows int.
  if (int64_t{s.rows_} * int64_t{s.cols_} > 4096) {
    throw ParamError("som: at most 4,096 units (64x64); the grid " + std::to_string(s.rows_) + "x" +
                     std::to_string(s.cols_) + " has " + std::to_string(int64_t{s.rows_} * int64_t{s.cols_}) +
                     " (the 5 sqrt(n) rule reaches 4,096 at 28 million rows)");
  }
  const int units = s.rows_ * s.cols_;
  const double sigma0 = p.sigma_ > 0 ? p.sigma_ : std::max(1.0, std::max(s.rows_, s.cols_) / 2.0);

  // Initial weights over the plane of the two first principal axes.
  const Vector mean = X.colwise().mean().transpose();
  s.weights_.resize(units, d);
  {
    Matrix axes = Matrix::Zero(2, d);
    Vector sd = Vector::Zero(2);
    if (n >= 2) {
      PcaParams pp;
      pp.n_components_ = static_cast<int>(std::min<Eigen::Index>(2, std::min(n, d)));
      const Pca pca = fit_pca(X, pp);
      for (Eigen::Index k = 0; k < pca.components_.rows(); ++k) {
        axes.row(k) = pca.components_.row(k);
        sd[k] = std::sqrt(pca.explained_variance_[k]);
      }
    }
    for (int a = 0; a < units; ++a) {
      const int row = a / s.cols_, col = a % s.cols_;  // the unit's place on the grid
      const double fr = s.rows_ > 1 ? 2.0 * row / (s.rows_ - 1) - 1.0 : 0.0;
      const double fc = s.cols_ > 1 ? 2.0 * col / (s.cols_ - 1) - 1.0 : 0.0;
      // The first axis along the longer side of the grid.
      const double along_first = s.cols_ >= s.rows_ ? fc : fr, along_second = s.cols_ >= s.rows_ ? fr : fc;
      s.weights_.row(a) =
          mean.transpose() + 2 * along_first * sd[0] * axes.row(0) + 2 * along_second * sd[1] * axes.row(1);
    }
  }
  // Squared grid distances between units.
  Matrix G(units, units);
  for (int a = 0; a < units; ++a) {
    for (int b = 0; b < units; ++b) G(a, b) = (s.position(a) - s.position(b)).squaredNorm();
  }

  if (p.training_ == SomTraining::kBatch) {
    const int epochs = p.iterations_ > 0 ? p.iterations_ : 10;
    std::vector<int> b;
    for (int e = 0; e < epochs; ++e) {
      const double sigma = epochs > 1 ? sigma0 + (1.0 - sigma0) * e / (epochs - 1) : sigma0;
      best_units(s.weights_, X, p.threads_, b, nullptr);
      Matrix sums = Matrix::Zero(units, d);
      Vector counts = Vector::Zero(units);
      for (Eigen::Index i = 0; i < n; ++i)
        sums.row(b[static_cast<size_t>(i)]) += X.row(i), counts[b[static_cast<size_t>(i)]] += 1;
      Matrix H(units, units);
      for (int a = 0; a < units; ++a) {
        for (int c = 0; c < units; ++c) H(a, c) = neighbourhood(p.neighbourhood_, G(a, c), sigma);
      }
      const Matrix num = H * sums;
      const Vector den = H * counts;
      for (int a = 0; a < units; ++a) {
        if (den[a] > 0) s.weights_.row(a) = num.row(a) / den[a];
      }
    }
  } else {
    const long steps = p.iterations_ > 0 ? p.iterations_ : 10 * static_cast<long>(n);
    Rng rng(p.seed_);
    std::vector<Eigen::Index> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), Eigen::Index{0});
    size_t pos = order.size();
    for (long t = 0; t < steps; ++t) {
      if (pos == order.size()) {  // a fresh seeded shuffle
        for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.between(0, i - 1)]);
        pos = 0;
      }
      const auto x = X.row(order[pos++]);
      int best = 0;
      double bd = std::numeric_limits<double>::infinity();
      for (int a = 0; a < units; ++a) {
        const double dd = (s.weights_.row(a) - x).squaredNorm();
        if (dd < bd) bd = dd, best = a;
      }
      const double decay = 1.0 + static_cast<double>(t) / (static_cast<double>(steps) / 2);
      const double eta = p.learning_rate_ / decay, sigma = sigma0 / decay;
      for (int a = 0; a < units; ++a) {
        const double h = neighbourhood(p.neighbourhood_, G(a, best), sigma);
        if (h > 0) s.weights_.row(a) += eta * h * (x - s.weights_.row(a));
      }
    }
  }
  return s;
}

}  // namespace darklens::transform
