// Row-major points and nanoflann's kd-tree over them: the neighbourhood
// queries of DBSCAN and Mean Shift. Distances are squared Euclidean; the
// radius queries here are inclusive (dist <= r), as scikit-learn's.
#pragma once

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <nanoflann.hpp>
#include <string>
#include <utility>
#include <vector>

#include "darklens/error.hpp"

namespace darklens {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Throws ParamError "<who>: empty matrix or NaN/infinite values".
template <typename M>
void check_matrix(const M& X, const char* who) {
  if (X.rows() == 0 || !X.allFinite()) throw ParamError(std::string(who) + ": empty matrix or NaN/infinite values");
}

inline double squared_distance(const double* a, const double* b, Eigen::Index d) {
  double s = 0;
  for (Eigen::Index t = 0; t < d; ++t) {
    const double diff = a[t] - b[t];
    s += diff * diff;
  }
  return s;
}

struct PointCloud {
  const RowMatrix& P;
  size_t kdtree_get_point_count() const { return static_cast<size_t>(P.rows()); }
  double kdtree_get_pt(size_t i, size_t dim) const {
    return P(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(dim));
  }
  template <class Box>
  bool kdtree_get_bbox(Box&) const {
    return false;
  }
};

using KdTree =
    nanoflann::KDTreeSingleIndexAdaptor<nanoflann::L2_Simple_Adaptor<double, PointCloud>, PointCloud, -1, uint32_t>;

/// Collects the indices within a squared radius, inclusive.
class WithinResult {
 public:
  using DistanceType = double;
  using IndexType = uint32_t;
  WithinResult(double r2, std::vector<uint32_t>& out)
      : r2_(r2), bound_(std::nextafter(r2, std::numeric_limits<double>::infinity())), out_(out) {
    out_.clear();
  }
  size_t size() const { return out_.size(); }
  bool full() const { return true; }
  // addPoint and worstDist: the result-set interface nanoflann calls, by its names.
  bool addPoint(double d2, uint32_t i) {  // NOLINT(readability-identifier-naming)
    if (d2 <= r2_) out_.push_back(i);
    return true;
  }
  double worstDist() const { return bound_; }  // NOLINT(readability-identifier-naming): d2 < worstDist kept

 private:
  double r2_, bound_;
  std::vector<uint32_t>& out_;
};

/// Indices of the points within distance r of q (inclusive), in the
/// tree's visiting order: the same for the same tree and query, whatever
/// the thread, so sums over them are reproducible.
inline void within(const KdTree& tree, const double* q, double r, std::vector<uint32_t>& out) {
  WithinResult res(r * r, out);
  tree.findNeighbors(res, q, nanoflann::SearchParams(32, 0.0f, false));
}

}  // namespace darklens

namespace darklens {

/// Identical rows grouped: unique_ (row-major), weight_ (copies), first_
/// (lowest row number of each group), group_of_ (row -> group). Groups are
/// numbered by their first row.
struct UniqueRows {
  RowMatrix unique_;
  std::vector<uint32_t> weight_, first_, group_of_;
};

inline UniqueRows unique_rows(const RowMatrix& P) {
  const Eigen::Index n = P.rows(), d = P.cols();
  std::vector<uint32_t> order(static_cast<size_t>(n));
  for (Eigen::Index i = 0; i < n; ++i) order[i] = static_cast<uint32_t>(i);
  auto less = [&](uint32_t a, uint32_t b) {
    const double *x = P.data() + a * d, *y = P.data() + b * d;
    for (Eigen::Index t = 0; t < d; ++t) {
      if (x[t] != y[t]) return x[t] < y[t];
    }
    return a < b;
  };
  std::sort(order.begin(), order.end(), less);
  UniqueRows u;
  u.group_of_.assign(static_cast<size_t>(n), 0);
  std::vector<uint32_t> leader;  // first row of each group, in sorted order
  for (size_t i = 0; i < order.size(); ++i) {
    const bool same =
        i > 0 && std::equal(P.data() + order[i] * d, P.data() + (order[i] + 1) * d, P.data() + order[i - 1] * d);
    if (!same) leader.push_back(order[i]);
    u.group_of_[order[i]] = static_cast<uint32_t>(leader.size() - 1);
  }
  // Renumber groups by first row.
  std::vector<uint32_t> rank(leader.size());
  {
    std::vector<uint32_t> by_first(leader.size());
    for (size_t g = 0; g < leader.size(); ++g) by_first[g] = static_cast<uint32_t>(g);
    std::sort(by_first.begin(), by_first.end(), [&](uint32_t a, uint32_t b) { return leader[a] < leader[b]; });
    for (size_t r = 0; r < by_first.size(); ++r) rank[by_first[r]] = static_cast<uint32_t>(r);
  }
  u.unique_.resize(static_cast<Eigen::Index>(leader.size()), d);
  u.weight_.assign(leader.size(), 0);
  u.first_.assign(leader.size(), 0);
  for (size_t g = 0; g < leader.size(); ++g) {
    u.unique_.row(rank[g]) = P.row(leader[g]);
    u.first_[rank[g]] = leader[g];
  }
  for (Eigen::Index i = 0; i < n; ++i) {
    u.group_of_[i] = rank[u.group_of_[i]];
    ++u.weight_[u.group_of_[i]];
  }
  return u;
}

/// Union-find with path halving; the root of a set is its smallest
/// member, so it does not depend on the order of unions.
struct Sets {
  std::vector<uint32_t> parent;
  explicit Sets(size_t n) : parent(n) {
    for (size_t i = 0; i < n; ++i) parent[i] = static_cast<uint32_t>(i);
  }
  uint32_t find(uint32_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  }
  /// False when a and b were already in one set.
  bool unite(uint32_t a, uint32_t b) {
    a = find(a), b = find(b);
    if (a == b) return false;
    parent[std::max(a, b)] = std::min(a, b);
    return true;
  }
};

}  // namespace darklens
