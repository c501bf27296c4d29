// DBSCAN over nanoflann's kd-tree (in few columns) or matrix products (in
// many), with scikit-learn 1.2's labelling, and the k-distance knee as the
// eps heuristic. Cores are found by searches that stop at min_samples.
// Memory is O(n): neighbourhoods are queried in blocks and never all
// stored; a block's lists hold at most 2^26 entries even when eps spans the
// whole data.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "../core/parallel.hpp"
#include "../core/points.hpp"
#include "darklens/cluster/cluster.hpp"
#include "darklens/error.hpp"

namespace darklens::cluster {
namespace {

// From this many columns on, algorithm=auto considers brute force (below):
// a kd-tree in 29 standardized columns visits nearly every leaf for each
// query, and the matrix product does that work faster (the whole DBSCAN
// 2.2-2.6x on 100,000 blobs without duplicates, 1.3x on a darknet day's
// 17,866 distinct rows; docs/performance.md). With a small eps the tree
// prunes, and brute force, quadratic in rows, would not: auto counts the
// tree's distance computations on a sample (tree_share) and keeps the tree
// when they are fewer than kBruteForceShare of the rows.
constexpr Eigen::Index kBruteForceColumns = 16;
constexpr double kBruteForceShare = 0.05;

// The rows of P within squared radius r2 of each row ids[k] (inclusive),
// into lists[ids[k] - base] in row order, exactly the kd-tree's sets: the product form |q|^2 + |p|^2 -
// 2 q.p (one matrix product per chunk of 2048 rows from row `from` on,
// the rows before it left out) only picks candidates,
// with a margin far above its rounding error, and each candidate is kept
// by squared_distance, the same sum the tree's leaves compute.
void brute_force_within(const RowMatrix& P, const Eigen::VectorXd& norm, const std::vector<uint32_t>& ids, double r2,
                        Eigen::Index from, std::vector<std::vector<uint32_t>>& lists, size_t base) {
  const Eigen::Index m = P.rows(), d = P.cols(), count = static_cast<Eigen::Index>(ids.size());
  constexpr Eigen::Index kChunk = 2048;
  // |fl(a + b - 2c) - (a + b - 2c)| <= (d + 4) u (a + b + 2|c|) <= 2 (d + 4) u (a + b).
  const double slack = 64.0 * static_cast<double>(d + 4) * std::numeric_limits<double>::epsilon();
  RowMatrix Q(count, d), G;
  for (Eigen::Index k = 0; k < count; ++k) {
    Q.row(k) = P.row(ids[static_cast<size_t>(k)]);
    lists[ids[static_cast<size_t>(k)] - base].clear();
  }
  for (Eigen::Index c0 = from; c0 < m; c0 += kChunk) {
    const Eigen::Index width = std::min(kChunk, m - c0);
    G.noalias() = Q * P.middleRows(c0, width).transpose();
    for (Eigen::Index k = 0; k < count; ++k) {
      const uint32_t q = ids[static_cast<size_t>(k)];
      const double nq = norm[q];
      const double* g = G.data() + k * width;
      std::vector<uint32_t>& list = lists[q - base];
      for (Eigen::Index j = 0; j < width; ++j) {
        const double np = norm[c0 + j];
        if (nq + np - 2 * g[j] > r2 + slack * (nq + np)) continue;
        if (squared_distance(P.data() + static_cast<Eigen::Index>(q) * d, P.data() + (c0 + j) * d, d) <= r2)
          list.push_back(static_cast<uint32_t>(c0 + j));
      }
    }
  }
}

// Runs fn(i, neighbours) for i in [0, n) in order (only where only[i] is
// set, when given), the radius queries done in parallel blocks: on the
// kd-tree, or by brute force. With
// `later`, the lists need to hold only the rows after i (fn uses each pair
// once): brute force then skips the rows before the block.
template <typename Fn>
void for_each_neighbourhood(const KdTree& tree, bool brute, const RowMatrix& P, double eps, size_t n,
                            const std::vector<uint8_t>* only, bool later, int threads, Fn&& fn) {
  Eigen::VectorXd norm;
  if (brute) norm = P.rowwise().squaredNorm();
  // A list holds at most n entries (an eps wider than the data): blocks
  // hold at most 2^26 of them in all (256 MiB), 64 to 4096 lists.
  const size_t kBlock = std::clamp<size_t>((size_t{1} << 26) / std::max<size_t>(n, 1), 64, 4096);
  std::vector<std::vector<uint32_t>> lists(kBlock);
  for (size_t b = 0; b < n; b += kBlock) {
    const size_t e = std::min(n, b + kBlock);
    parallel_for(
        e - b, threads,
        [&](size_t lo, size_t hi) {
          if (brute) {
            std::vector<uint32_t> ids;
            for (size_t i = lo; i < hi; ++i) {
              if (!only || (*only)[b + i]) ids.push_back(static_cast<uint32_t>(b + i));
            }
            if (!ids.empty())
              brute_force_within(P, norm, ids, eps * eps, later ? static_cast<Eigen::Index>(b) : 0, lists, b);
            return;
          }
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

// Whether the copies within a squared radius (inclusive) reach `need`: the
// search stops at the row that reaches it, so that a core row in a wide
// neighbourhood costs a few distances, not the whole neighbourhood.
class ReachesCount {
 public:
  using DistanceType = double;
  using IndexType = uint32_t;
  ReachesCount(double r2, const std::vector<uint32_t>& weight, uint64_t need)
      : r2_(r2), bound_(std::nextafter(r2, std::numeric_limits<double>::infinity())), weight_(weight), need_(need) {}
  size_t size() const { return 0; }
  bool full() const { return true; }
  // addPoint and worstDist: the result-set interface nanoflann calls, by its
  // names; addPoint returning false ends the search.
  bool addPoint(double d2, uint32_t i) {  // NOLINT(readability-identifier-naming)
    if (d2 <= r2_) seen_ += weight_[i];
    return seen_ < need_;
  }
  double worstDist() const { return bound_; }  // NOLINT(readability-identifier-naming)
  bool reached() const { return seen_ >= need_; }

 private:
  double r2_, bound_;
  const std::vector<uint32_t>& weight_;
  uint64_t need_, seen_ = 0;
};

// The rows, with the kd-tree's point reads counted (tree_share only; one thread).
struct CountingCloud : PointCloud {
  mutable uint64_t reads = 0;
  double kdtree_get_pt(size_t i, size_t dim) const {
    ++reads;
    return PointCloud::kdtree_get_pt(i, dim);
  }
};

// The kd-tree's distance computations per radius-eps query as a share of
// the rows (what brute force computes): the mean over up to 256 rows evenly
// spread over P, on a tree built as fit_dbscan's (the same splits) whose
// point reads are counted. Deterministic.
double tree_share(const RowMatrix& P, double eps) {
  const size_t m = static_cast<size_t>(P.rows());
  const auto d = static_cast<uint64_t>(P.cols());
  CountingCloud cloud{{P}};
  const nanoflann::KDTreeSingleIndexAdaptor<nanoflann::L2_Simple_Adaptor<double, CountingCloud>, CountingCloud, -1,
                                            uint32_t>
      tree(static_cast<int>(d), cloud, nanoflann::KDTreeSingleIndexAdaptorParams(16));
  cloud.reads = 0;  // the build's reads are not the queries'
  const size_t samples = std::min<size_t>(m, 256);
  std::vector<uint32_t> out;
  for (size_t s = 0; s < samples; ++s) {
    const size_t i = samples > 1 ? (m - 1) * s / (samples - 1) : 0;
    WithinResult res(eps * eps, out);
    tree.findNeighbors(res, P.data() + static_cast<Eigen::Index>(i) * P.cols(),
                       nanoflann::SearchParams(32, 0.0f, false));
  }
  return static_cast<double>(cloud.reads) / static_cast<double>(d) / static_cast<double>(samples) /
         static_cast<double>(m);
}

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
  r.algorithm_ = p.algorithm_ == DbscanAlgorithm::kAuto ? DbscanAlgorithm::kKdTree : p.algorithm_;
  if (p.algorithm_ == DbscanAlgorithm::kAuto && u.unique_.cols() >= kBruteForceColumns) {
    r.tree_share_ = tree_share(u.unique_, r.eps_);
    if (*r.tree_share_ >= kBruteForceShare) r.algorithm_ = DbscanAlgorithm::kBrute;
  }
  const bool brute = r.algorithm_ == DbscanAlgorithm::kBrute;
  // Cores: whether the weighted neighbour count reaches min_samples.
  std::vector<uint8_t> core(m, 0);
  const double r2 = r.eps_ * r.eps_;
  parallel_for(
      m, p.threads_,
      [&](size_t lo, size_t hi) {
        for (size_t i = lo; i < hi; ++i) {
          ReachesCount res(r2, u.weight_, static_cast<uint64_t>(p.min_samples_));
          tree.findNeighbors(res, u.unique_.data() + static_cast<Eigen::Index>(i) * u.unique_.cols(),
                             nanoflann::SearchParams(32, 0.0f, false));
          core[i] = res.reached();
        }
      },
      64);
  Sets sets(m);
  // Connected cores: each pair of cores once is enough.
  for_each_neighbourhood(tree, brute, u.unique_, r.eps_, m, &core, true, p.threads_,
                         [&](size_t i, const std::vector<uint32_t>& nb) {
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
  for_each_neighbourhood(tree, brute, u.unique_, r.eps_, m, &border, false, p.threads_,
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
