// k-means: k-means++ seeding and Lloyd iterations, following scikit-learn
// 1.2's KMeans step by step so that results are comparable.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "../core/rng.hpp"
#include "darklens/cluster.hpp"
#include "darklens/error.hpp"

namespace darklens::cluster {
namespace {

double squared_distance(const Matrix& X, Eigen::Index i, const Matrix& C, Eigen::Index c) {
  return (X.row(i) - C.row(c)).squaredNorm();
}

// Greedy k-means++: each new center is the best of a few candidates drawn
// with probability proportional to the squared distance to the nearest
// center chosen so far.
Matrix seed_plus_plus(const Matrix& X, int k, Rng& rng) {
  const Eigen::Index n = X.rows();
  const int trials = 2 + static_cast<int>(std::log(static_cast<double>(k)));
  Matrix centers(k, X.cols());
  centers.row(0) = X.row(static_cast<Eigen::Index>(rng.between(0, n - 1)));
  Eigen::VectorXd closest(n);
  for (Eigen::Index i = 0; i < n; ++i) closest[i] = squared_distance(X, i, centers, 0);
  double potential = closest.sum();
  std::vector<double> cumulative(n);
  Eigen::VectorXd candidate_closest(n), best_closest(n);
  for (int c = 1; c < k; ++c) {
    std::partial_sum(closest.data(), closest.data() + n, cumulative.begin());
    double best_potential = std::numeric_limits<double>::infinity();
    Eigen::Index best = 0;
    for (int t = 0; t < trials; ++t) {
      const double r = rng.uniform() * potential;
      auto it = std::upper_bound(cumulative.begin(), cumulative.end(), r);
      const Eigen::Index id = std::min<Eigen::Index>(it - cumulative.begin(), n - 1);
      for (Eigen::Index i = 0; i < n; ++i) {
        candidate_closest[i] = std::min(closest[i], (X.row(i) - X.row(id)).squaredNorm());
      }
      const double pot = candidate_closest.sum();
      if (pot < best_potential) {
        best_potential = pot;
        best = id;
        best_closest = candidate_closest;
      }
    }
    centers.row(c) = X.row(best);
    closest = best_closest;
    potential = best_potential;
  }
  return centers;
}

// Nearest center of every row; returns the inertia.
double assign(const Matrix& X, const Matrix& C, std::vector<int>& labels, Eigen::VectorXd& dist) {
  double inertia = 0;
  for (Eigen::Index i = 0; i < X.rows(); ++i) {
    double best = std::numeric_limits<double>::infinity();
    int arg = 0;
    for (Eigen::Index c = 0; c < C.rows(); ++c) {
      const double d = squared_distance(X, i, C, c);
      if (d < best) best = d, arg = static_cast<int>(c);
    }
    labels[i] = arg;
    dist[i] = best;
    inertia += best;
  }
  return inertia;
}

KMeansResult lloyd(const Matrix& X, Matrix centers, const KMeansParams& p, double tol) {
  const Eigen::Index n = X.rows(), k = centers.rows();
  std::vector<int> labels(n, -1), previous;
  Eigen::VectorXd dist(n);
  int it = 0;
  bool strict = false;
  for (; it < p.max_iter_; ++it) {
    previous = labels;
    assign(X, centers, labels, dist);
    Matrix sums = Matrix::Zero(k, X.cols());
    std::vector<Eigen::Index> counts(k, 0);
    for (Eigen::Index i = 0; i < n; ++i) sums.row(labels[i]) += X.row(i), ++counts[labels[i]];
    // An empty cluster takes the point farthest from its center (as
    // scikit-learn relocates empty clusters), never twice the same point.
    std::vector<Eigen::Index> far(n);
    std::iota(far.begin(), far.end(), 0);
    std::stable_sort(far.begin(), far.end(), [&](auto a, auto b) { return dist[a] > dist[b]; });
    size_t next_far = 0;
    Matrix fresh(k, X.cols());
    for (Eigen::Index c = 0; c < k; ++c) {
      if (counts[c] > 0) {
        fresh.row(c) = sums.row(c) / static_cast<double>(counts[c]);
      } else {
        fresh.row(c) = X.row(far[next_far++]);
      }
    }
    const double shift = (fresh - centers).squaredNorm();
    centers = fresh;
    if (labels == previous) {
      strict = true;
      break;
    }
    if (shift <= tol) break;
  }
  KMeansResult r;
  r.labels_.assign(n, 0);
  // Labels that match the final centers (scikit-learn's last E-step).
  r.inertia_ = assign(X, centers, r.labels_, dist);
  r.centroids_ = centers;
  r.iterations_ = strict ? it + 1 : std::min(it + 1, p.max_iter_);
  return r;
}

}  // namespace

KMeansResult fit_kmeans(const Matrix& X, const KMeansParams& p) {
  if (X.rows() == 0 || !X.allFinite()) throw ParamError("kmeans: empty matrix or NaN/infinite values");
  if (p.k_ < 1 || p.k_ > X.rows()) {
    throw ParamError("kmeans: k must be between 1 and the number of rows (" + std::to_string(X.rows()) + ")");
  }
  if (p.n_init_ < 1 || p.max_iter_ < 1 || !(p.tol_ >= 0)) {
    throw ParamError("kmeans: n_init and max_iter must be positive, tol non-negative");
  }
  // Tolerance relative to the data: tol x mean per-feature variance.
  const Eigen::RowVectorXd mean = X.colwise().mean();
  const double tol = p.tol_ * ((X.rowwise() - mean).array().square().colwise().mean()).mean();
  KMeansResult best;
  best.inertia_ = std::numeric_limits<double>::infinity();
  for (int run = 0; run < p.n_init_; ++run) {
    Rng rng(p.seed_ * 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(run));
    KMeansResult r = lloyd(X, seed_plus_plus(X, p.k_, rng), p, tol);
    if (r.inertia_ < best.inertia_) best = std::move(r);  // ties: the earlier run
  }
  return best;
}

}  // namespace darklens::cluster
