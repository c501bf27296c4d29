// DBSCAN over nanoflann's kd-tree, with scikit-learn 1.2's labelling, and
// the k-distance knee as the eps heuristic. Memory is O(n): neighbourhoods
// are queried in blocks and never all stored; a block's lists hold at most
// 2^26 entries even when eps spans the whole data.
#include <algorithm>
#include <numeric>

#include "../core/parallel.hpp"
#include "../core/points.hpp"
#include "darklens/cluster/cluster.hpp"
#include "darklens/error.hpp"

namespace darklens::cluster {
namespace {

// Runs fn(i, neighbours) for i in [0, n) in order, the radius queries done
// in parallel blocks.
template <typename Fn>
void for_each_neighbourhood(const KdTree& tree, const RowMatrix& P, double eps, size_t n,
                            const std::vector<uint8_t>* only, int threads, Fn&& fn) {
  // A list holds at most n entries (an eps wider than the data): blocks
  // hold at most 2^26 of them in all (256 MiB), 64 to 4096 lists.
  const size_t kBlock = std::clamp<size_t>((size_t{1} << 26) / std::max<size_t>(n, 1), 64, 4096);
  std::vector<std::vector<uint32_t>> lists(kBlock);
  for (size_t b = 0; b < n; b += kBlock) {
    const size_t e = std::min(n, b + kBlock);
    parallel_for(
        e - b, threads,
        [&](size_t lo, size_t hi) {
          for (size_t i = lo; i < hi; ++i) {
            if (only && !(*only)[b + i]) continue;
            within(tree, P.data() + (b + i) * P.cols(), eps, lists[i]);
          }
        },
        64);
    for (size_t i = b; i < e; ++i) {
      if (!only || (*only)[i]) fn(i, lists[i - b]);
    }
  }
}

}  // namespace

namespace {

// The k-distance curve over the distinct rows: a row's k-th nearest row,
// counting copies (so heavy duplicates cost one query, not one per copy).
KDistanceKnee knee(const UniqueRows& u, const KdTree& tree, size_t n, int k, int threads) {
  KDistanceKnee r;
  r.k_ = k;
  const size_t m = static_cast<size_t>(u.unique_.rows());
  const size_t kk = std::min<size_t>(static_cast<size_t>(k), m);
  std::vector<double> kdist(m, 0.0);
  parallel_for(m, threads, [&](size_t lo, size_t hi) {
    std::vector<uint32_t> idx(kk);
    std::vector<double> d2(kk);
    for (size_t i = lo; i < hi; ++i) {
      if (u.weight_[i] >= static_cast<uint32_t>(k)) continue;  // k copies of itself: 0
      nanoflann::KNNResultSet<double, uint32_t> res(kk);
      res.init(idx.data(), d2.data());
      tree.findNeighbors(res, u.unique_.data() + static_cast<Eigen::Index>(i) * u.unique_.cols(),
                         nanoflann::SearchParams());
      uint64_t seen = 0;
      for (size_t j = 0; j < res.size(); ++j) {
        seen += u.weight_[idx[j]];
        if (seen >= static_cast<uint64_t>(k)) {
          kdist[i] = std::sqrt(d2[j]);
          break;
        }
      }
    }
  });
  r.curve_.reserve(n);
  for (size_t i = 0; i < n; ++i) r.curve_.push_back(kdist[u.group_of_[i]]);
  std::sort(r.curve_.begin(), r.curve_.end());
  const double y0 = r.curve_.front(), span = r.curve_.back() - y0;
  double best = -1;
  for (size_t i = 0; i < n && span > 0; ++i) {
    const double x = n > 1 ? static_cast<double>(i) / static_cast<double>(n - 1) : 0.0;
    const double gap = x - (r.curve_[i] - y0) / span;
    if (gap > best) best = gap, r.knee_ = i;
  }
  r.eps_ = r.curve_[r.knee_];
  return r;
}

}  // namespace

KDistanceKnee k_distance_knee(const Matrix& X, int k, int threads) {
  check_matrix(X, "dbscan");
  if (k < 1 || k > X.rows()) {
    throw ParamError("dbscan: min_samples must be between 1 and the number of rows (" + std::to_string(X.rows()) + ")");
  }
  const UniqueRows u = unique_rows(RowMatrix(X));
  PointCloud cloud{u.unique_};
  KdTree tree(static_cast<int>(u.unique_.cols()), cloud, nanoflann::KDTreeSingleIndexAdaptorParams(16));
  return knee(u, tree, static_cast<size_t>(X.rows()), k, threads);
}

DbscanResult fit_dbscan(const Matrix& X, const DbscanParams& p) {
  check_matrix(X, "dbscan");
  if (p.min_samples_ < 1) throw ParamError("dbscan: min_samples must be at least 1");
  if (!(p.eps_ >= 0) || !std::isfinite(p.eps_))
    throw ParamError("dbscan: eps must be positive (or 0 for the heuristic)");
  const UniqueRows u = unique_rows(RowMatrix(X));
  const size_t m = static_cast<size_t>(u.unique_.rows());
  PointCloud cloud{u.unique_};
  KdTree tree(static_cast<int>(u.unique_.cols()), cloud, nanoflann::KDTreeSingleIndexAdaptorParams(16));
  DbscanResult r;
  r.eps_ = p.eps_;
  if (p.eps_ == 0) {
    r.knee_ = knee(u, tree, static_cast<size_t>(X.rows()), std::min<int>(p.min_samples_, static_cast<int>(X.rows())),
                   p.threads_);
    r.eps_ = r.knee_->eps_;
    if (!(r.eps_ > 0)) {
      throw ParamError("dbscan: the k-distance knee is 0 (more than min_samples identical rows at the knee); give eps");
    }
  }
  // Cores: weighted neighbour counts.
  std::vector<uint8_t> core(m, 0);
  for_each_neighbourhood(tree, u.unique_, r.eps_, m, nullptr, p.threads_,
                         [&](size_t i, const std::vector<uint32_t>& nb) {
                           uint64_t w = 0;
                           for (uint32_t j : nb) w += u.weight_[j];
                           core[i] = w >= static_cast<uint64_t>(p.min_samples_);
                         });
  // Connected cores.
  Sets sets(m);
  for_each_neighbourhood(tree, u.unique_, r.eps_, m, &core, p.threads_, [&](size_t i, const std::vector<uint32_t>& nb) {
    for (uint32_t j : nb) {
      if (core[j]) sets.unite(static_cast<uint32_t>(i), j);
    }
  });
  // Unique rows are numbered by their first row, so a set's root (its
  // smallest member) holds the set's lowest-numbered row: clusters are
  // numbered in the order of their roots.
  std::vector<int> label(m, kNoise);
  for (size_t i = 0; i < m; ++i) {
    if (!core[i]) continue;
    ++r.cores_;
    const uint32_t root = sets.find(static_cast<uint32_t>(i));
    if (root == i) label[i] = r.clusters_++;
  }
  for (size_t i = 0; i < m; ++i) {
    if (core[i]) label[i] = label[sets.find(static_cast<uint32_t>(i))];
  }
  // Borders: the cluster with the smallest root among the neighbouring cores.
  std::vector<uint8_t> border(m);
  for (size_t i = 0; i < m; ++i) border[i] = !core[i];
  for_each_neighbourhood(tree, u.unique_, r.eps_, m, &border, p.threads_,
                         [&](size_t i, const std::vector<uint32_t>& nb) {
                           uint32_t best = UINT32_MAX;
                           for (uint32_t j : nb) {
                             if (core[j]) best = std::min(best, sets.find(j));
                           }
                           if (best != UINT32_MAX) label[i] = label[best];
                         });
  r.labels_.resize(static_cast<size_t>(X.rows()));
  for (size_t i = 0; i < r.labels_.size(); ++i) {
    r.labels_[i] = label[u.group_of_[i]];
    r.noise_ += r.labels_[i] == kNoise;
  }
  return r;
}

Matrix cluster_means(const Matrix& X, const std::vector<int>& labels, int clusters) {
  Matrix C = Matrix::Zero(clusters, X.cols());
  std::vector<double> count(static_cast<size_t>(clusters), 0);
  for (Eigen::Index i = 0; i < X.rows(); ++i) {
    const int l = labels[static_cast<size_t>(i)];
    if (l < 0) continue;
    C.row(l) += X.row(i);
    ++count[static_cast<size_t>(l)];
  }
  for (int c = 0; c < clusters; ++c) {
    if (count[static_cast<size_t>(c)] > 0) C.row(c) /= count[static_cast<size_t>(c)];
  }
  return C;
}

}  // namespace darklens::cluster
