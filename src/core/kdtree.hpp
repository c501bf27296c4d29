// A small static kd-tree whose searches take the caller's lower bound per
// node, for the nearest-neighbour questions nanoflann cannot ask: the
// nearest cluster by Ward distance (the bound depends on cluster sizes),
// and the nearest point of another component (whole subtrees of the
// query's own component are skipped). Nodes are stored parent first.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "points.hpp"

namespace darklens {

class BoxTree {
 public:
  struct Node {
    uint32_t begin, end;  // range of ids_
    int32_t left = -1, right = -1;
  };

  /// Builds over `ids` (rows of P). Leaves hold at most `leaf` ids.
  void build(const RowMatrix& P, std::vector<uint32_t> ids, uint32_t leaf = 16) {
    P_ = &P;
    d_ = P.cols();
    ids_ = std::move(ids);
    nodes_.clear();
    lo_.clear();
    hi_.clear();
    if (!ids_.empty()) make(0, static_cast<uint32_t>(ids_.size()), leaf);
  }

  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<uint32_t>& ids() const { return ids_; }

  /// Depth-first search, nearer child first. lower(node, box_d2) is a lower
  /// bound of what any id under the node can score (box_d2: the squared
  /// distance from q to the node's box); nodes with lower > bound are
  /// skipped (ties are visited, so the caller can break them). visit(id)
  /// may lower `bound`.
  template <typename Lower, typename Visit>
  void search(const double* q, double& bound, Lower&& lower, Visit&& visit) const {
    if (!nodes_.empty()) descend(0, q, bound, lower, visit);
  }

 private:
  double box_d2(int32_t n, const double* q) const {
    const double* lo = lo_.data() + static_cast<size_t>(n) * d_;
    const double* hi = hi_.data() + static_cast<size_t>(n) * d_;
    double s = 0;
    for (Eigen::Index t = 0; t < d_; ++t) {
      const double e = q[t] < lo[t] ? lo[t] - q[t] : (q[t] > hi[t] ? q[t] - hi[t] : 0.0);
      s += e * e;
    }
    return s;
  }

  template <typename Lower, typename Visit>
  void descend(int32_t n, const double* q, double& bound, Lower& lower, Visit& visit) const {
    const Node& node = nodes_[static_cast<size_t>(n)];
    if (node.left < 0) {
      for (uint32_t i = node.begin; i < node.end; ++i) visit(ids_[i]);
      return;
    }
    const double dl = box_d2(node.left, q), dr = box_d2(node.right, q);
    const int32_t first = dl <= dr ? node.left : node.right, second = dl <= dr ? node.right : node.left;
    const double d1 = std::min(dl, dr), d2 = std::max(dl, dr);
    if (!(lower(first, d1) > bound)) descend(first, q, bound, lower, visit);
    if (!(lower(second, d2) > bound)) descend(second, q, bound, lower, visit);
  }

  int32_t make(uint32_t begin, uint32_t end, uint32_t leaf) {
    const auto n = static_cast<int32_t>(nodes_.size());
    nodes_.push_back({begin, end});
    lo_.resize(lo_.size() + static_cast<size_t>(d_), std::numeric_limits<double>::infinity());
    hi_.resize(hi_.size() + static_cast<size_t>(d_), -std::numeric_limits<double>::infinity());
    double* lo = lo_.data() + static_cast<size_t>(n) * d_;
    double* hi = hi_.data() + static_cast<size_t>(n) * d_;
    for (uint32_t i = begin; i < end; ++i) {
      const double* x = P_->data() + static_cast<Eigen::Index>(ids_[i]) * d_;
      for (Eigen::Index t = 0; t < d_; ++t) lo[t] = std::min(lo[t], x[t]), hi[t] = std::max(hi[t], x[t]);
    }
    if (end - begin <= leaf) return n;
    Eigen::Index axis = 0;
    for (Eigen::Index t = 1; t < d_; ++t) {
      if (hi[t] - lo[t] > hi[axis] - lo[axis]) axis = t;
    }
    if (!(hi[axis] > lo[axis])) return n;  // all ids at one point: a leaf
    const uint32_t mid = begin + (end - begin) / 2;
    std::nth_element(ids_.begin() + begin, ids_.begin() + mid, ids_.begin() + end, [&](uint32_t a, uint32_t b) {
      const double va = (*P_)(a, axis), vb = (*P_)(b, axis);
      return va < vb || (va == vb && a < b);
    });
    const int32_t l = make(begin, mid, leaf);
    const int32_t r = make(mid, end, leaf);
    nodes_[static_cast<size_t>(n)].left = l;
    nodes_[static_cast<size_t>(n)].right = r;
    return n;
  }

  const RowMatrix* P_ = nullptr;
  Eigen::Index d_ = 0;
  std::vector<uint32_t> ids_;
  std::vector<Node> nodes_;
  std::vector<double> lo_, hi_;  // node boxes, d per node
};

}  // namespace darklens
