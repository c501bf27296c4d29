// k-means: k-means++ seeding and Lloyd iterations, following scikit-learn
// 1.2's KMeans step by step so that results are comparable; over the
// distinct rows weighted by their copies (identical rows always share a
// cluster, so this is exact), with Hamerly's bounds to skip distance
// computations that cannot change a label, and the n_init runs in parallel.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "../core/parallel.hpp"
#include "../core/points.hpp"
#include "../core/rng.hpp"
#include "darklens/cluster/cluster.hpp"
#include "darklens/error.hpp"

namespace darklens::cluster {
namespace {

struct Data {
  const RowMatrix& P;            // distinct rows
  const std::vector<double>& w;  // their copies
  Eigen::Index d;
  const double* row(size_t i) const { return P.data() + static_cast<Eigen::Index>(i) * d; }
};

// Greedy k-means++: each new center is the best of a few candidates drawn
// with probability proportional to (copies x) the squared distance to the
// nearest center chosen so far.
RowMatrix seed_plus_plus(const Data& D, int k, Rng& rng) {
  const size_t m = static_cast<size_t>(D.P.rows());
  const int trials = 2 + static_cast<int>(std::log(static_cast<double>(k)));
  RowMatrix centers(k, D.d);
  // The first center: a row drawn uniformly over all rows (copies count).
  std::vector<double> cumulative(m);
  std::partial_sum(D.w.begin(), D.w.end(), cumulative.begin());
  auto draw = [&](double total) {
    const double r = rng.uniform() * total;
    auto it = std::upper_bound(cumulative.begin(), cumulative.end(), r);
    return std::min<size_t>(static_cast<size_t>(it - cumulative.begin()), m - 1);
  };
  centers.row(0) = D.P.row(static_cast<Eigen::Index>(draw(cumulative.back())));
  std::vector<double> closest(m), candidate(m), best_closest(m);
  for (size_t i = 0; i < m; ++i) closest[i] = squared_distance(D.row(i), centers.data(), D.d);
  auto potential_of = [&](const std::vector<double>& c) {
    double s = 0;
    for (size_t i = 0; i < m; ++i) s += D.w[i] * c[i];
    return s;
  };
  double potential = potential_of(closest);
  for (int c = 1; c < k; ++c) {
    for (size_t i = 0; i < m; ++i) cumulative[i] = (i ? cumulative[i - 1] : 0.0) + D.w[i] * closest[i];
    double best_potential = std::numeric_limits<double>::infinity();
    size_t best = 0;
    for (int t = 0; t < trials; ++t) {
      const size_t id = draw(potential);
      // The candidate's distances and potential in one pass (the same sum,
      // in the same order, as potential_of).
      double pot = 0;
      for (size_t i = 0; i < m; ++i) {
        candidate[i] = std::min(closest[i], squared_distance(D.row(i), D.row(id), D.d));
        pot += D.w[i] * candidate[i];
      }
      if (pot < best_potential) best_potential = pot, best = id, std::swap(best_closest, candidate);
    }
    centers.row(c) = D.P.row(static_cast<Eigen::Index>(best));
    std::swap(closest, best_closest);
    potential = best_potential;
  }
  return centers;
}

// Nearest and second-nearest center of row i (squared distances; ties: lower index).
void nearest_two(const Data& D, size_t i, const RowMatrix& C, int& label, double& d1, double& d2) {
  d1 = d2 = std::numeric_limits<double>::infinity();
  label = 0;
  for (Eigen::Index c = 0; c < C.rows(); ++c) {
    const double v = squared_distance(D.row(i), C.data() + c * D.d, D.d);
    if (v < d1) {
      d2 = d1, d1 = v, label = static_cast<int>(c);
    } else if (v < d2) {
      d2 = v;
    }
  }
}

// Weighted inertia of the nearest-center labels (scikit-learn's last E-step).
double assign_all(const Data& D, const RowMatrix& C, std::vector<int>& labels) {
  double inertia = 0, d1, d2;
  for (size_t i = 0; i < labels.size(); ++i) {
    nearest_two(D, i, C, labels[i], d1, d2);
    inertia += D.w[i] * d1;
  }
  return inertia;
}

struct Run {
  std::vector<int> labels;
  RowMatrix centers;
  double inertia = std::numeric_limits<double>::infinity();
  int iterations = 0;
};

// Lloyd's iterations, with Hamerly's bounds when `hamerly`: upper[i] bounds
// the distance to the own center, lower[i] the distance to any other; a row
// whose upper bound is below max(lower, half the distance from its center
// to the nearest other center) keeps its label without computing anything.
Run lloyd(const Data& D, RowMatrix centers, const KMeansParams& p, double tol, bool hamerly) {
  const size_t m = static_cast<size_t>(D.P.rows());
  const Eigen::Index k = centers.rows();
  std::vector<int> labels(m, -1), previous;
  std::vector<double> upper(m, std::numeric_limits<double>::infinity()), lower(m, 0.0);
  std::vector<double> half_gap(static_cast<size_t>(k)), shift(static_cast<size_t>(k));
  bool bounds = false;
  int it = 0;
  bool strict = false;
  for (; it < p.max_iter_; ++it) {
    previous = labels;
    // E-step.
    for (Eigen::Index a = 0; a < k; ++a) {
      double g = std::numeric_limits<double>::infinity();
      for (Eigen::Index b = 0; b < k; ++b) {
        if (b != a) g = std::min(g, squared_distance(centers.data() + a * D.d, centers.data() + b * D.d, D.d));
      }
      half_gap[static_cast<size_t>(a)] = 0.5 * std::sqrt(g);
    }
    for (size_t i = 0; i < m; ++i) {
      if (hamerly && bounds) {
        const double limit = std::max(half_gap[static_cast<size_t>(labels[i])], lower[i]);
        if (upper[i] <= limit) continue;
        upper[i] = std::sqrt(squared_distance(D.row(i), centers.data() + labels[i] * D.d, D.d));
        if (upper[i] <= limit) continue;
      }
      double d1, d2;
      nearest_two(D, i, centers, labels[i], d1, d2);
      upper[i] = std::sqrt(d1);
      lower[i] = std::sqrt(d2);
    }
    bounds = true;
    // M-step: weighted means in row order.
    RowMatrix sums = RowMatrix::Zero(k, D.d);
    std::vector<double> counts(static_cast<size_t>(k), 0.0);
    for (size_t i = 0; i < m; ++i) {
      double* sum = sums.data() + labels[i] * D.d;
      const double* x = D.row(i);
      const double w = D.w[i];
      for (Eigen::Index t = 0; t < D.d; ++t) sum[t] += w * x[t];
      counts[static_cast<size_t>(labels[i])] += w;
    }
    RowMatrix fresh(k, D.d);
    std::vector<size_t> far;  // rows by decreasing distance to their center, for empty clusters
    size_t next_far = 0;
    for (Eigen::Index c = 0; c < k; ++c) {
      if (counts[static_cast<size_t>(c)] > 0) {
        fresh.row(c) = sums.row(c) / counts[static_cast<size_t>(c)];
        continue;
      }
      // An empty cluster takes the row farthest from its center (as
      // scikit-learn relocates empty clusters), never twice the same row.
      if (far.empty()) {
        std::vector<double> dist(m);
        for (size_t i = 0; i < m; ++i) dist[i] = squared_distance(D.row(i), centers.data() + labels[i] * D.d, D.d);
        far.resize(m);
        std::iota(far.begin(), far.end(), size_t{0});
        std::stable_sort(far.begin(), far.end(), [&](size_t a, size_t b) { return dist[a] > dist[b]; });
      }
      fresh.row(c) = D.P.row(static_cast<Eigen::Index>(far[next_far++]));
      bounds = false;  // a jump: recompute everything next time
    }
    double total_shift = 0, max_shift = 0;
    for (Eigen::Index c = 0; c < k; ++c) {
      const double s2 = squared_distance(fresh.data() + c * D.d, centers.data() + c * D.d, D.d);
      total_shift += s2;
      shift[static_cast<size_t>(c)] = std::sqrt(s2);
      max_shift = std::max(max_shift, shift[static_cast<size_t>(c)]);
    }
    for (size_t i = 0; i < m && bounds; ++i) {
      upper[i] += shift[static_cast<size_t>(labels[i])];
      lower[i] -= max_shift;
    }
    centers = fresh;
    if (labels == previous) {
      strict = true;
      break;
    }
    if (total_shift <= tol) break;
  }
  Run r;
  r.labels.assign(m, 0);
  r.inertia = assign_all(D, centers, r.labels);
  r.centers = std::move(centers);
  r.iterations = strict ? it + 1 : std::min(it + 1, p.max_iter_);
  return r;
}

}  // namespace

KMeansResult fit_kmeans(const Matrix& X, const KMeansParams& p) {
  check_matrix(X, "kmeans");
  if (p.k_ < 1 || p.k_ > X.rows()) {
    throw ParamError("kmeans: k must be between 1 and the number of rows (" + std::to_string(X.rows()) + ")");
  }
  if (p.n_init_ < 1 || p.max_iter_ < 1 || !(p.tol_ >= 0)) {
    throw ParamError("kmeans: n_init and max_iter must be positive, tol non-negative");
  }
  // Tolerance relative to the data: tol x mean per-feature variance.
  const Eigen::RowVectorXd mean = X.colwise().mean();
  const double tol = p.tol_ * ((X.rowwise() - mean).array().square().colwise().mean()).mean();
  const UniqueRows u = unique_rows(RowMatrix(X));
  const std::vector<double> w(u.weight_.begin(), u.weight_.end());
  const Data D{u.unique_, w, X.cols()};
  // k may exceed the distinct rows: then some centers must coincide, and
  // the rows are used as they are (copies as separate rows).
  const bool distinct_enough = static_cast<Eigen::Index>(p.k_) <= u.unique_.rows();
  RowMatrix all;
  std::vector<double> ones;
  if (!distinct_enough) all = X, ones.assign(static_cast<size_t>(X.rows()), 1.0);
  const Data data = distinct_enough ? D : Data{all, ones, X.cols()};
  if (p.init_) {
    if (p.init_->rows() != p.k_ || p.init_->cols() != X.cols()) {
      throw ParamError("kmeans: init holds " + std::to_string(p.init_->rows()) + " x " +
                       std::to_string(p.init_->cols()) + " centers; k x columns is " + std::to_string(p.k_) + " x " +
                       std::to_string(X.cols()));
    }
  }
  std::vector<Run> runs(p.init_ ? 1 : static_cast<size_t>(p.n_init_));
  parallel_for(
      runs.size(), p.threads_,
      [&](size_t lo, size_t hi) {
        for (size_t run = lo; run < hi; ++run) {
          Rng rng(p.seed_ * 0x9e3779b97f4a7c15ULL + run);
          runs[run] = lloyd(data, p.init_ ? RowMatrix(*p.init_) : seed_plus_plus(data, p.k_, rng), p, tol,
                            p.algorithm_ == KMeansAlgorithm::kHamerly);
        }
      },
      1);
  size_t best = 0;
  for (size_t run = 1; run < runs.size(); ++run) {
    if (runs[run].inertia < runs[best].inertia) best = run;  // ties: the earlier run
  }
  KMeansResult r;
  r.inertia_ = runs[best].inertia;
  r.iterations_ = runs[best].iterations;
  r.centroids_ = runs[best].centers;
  r.labels_.resize(static_cast<size_t>(X.rows()));
  for (size_t i = 0; i < r.labels_.size(); ++i) {
    r.labels_[i] = runs[best].labels[distinct_enough ? u.group_of_[i] : i];
  }
  return r;
}

}  // namespace darklens::cluster
