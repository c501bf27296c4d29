// Hierarchical agglomerative clustering: ward by nearest-neighbour chain
// over centroids in a kd-tree, single by Boruvka's minimum spanning tree,
// average/complete by nearest-neighbour chain over the condensed distance
// matrix (as scipy, which scikit-learn calls). Distinct rows first.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>

#include "../core/kdtree.hpp"
#include "../core/parallel.hpp"
#include "../core/points.hpp"
#include "darklens/cluster/cluster.hpp"
#include "darklens/error.hpp"

namespace darklens::cluster {
namespace {

using Merge = Dendrogram::Merge;

std::vector<int> labels_by_first_row(Sets& sets, size_t n) {
  std::vector<int> label(n, -1), of_root(n, -1);
  int next = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t r = sets.find(static_cast<uint32_t>(i));
    if (of_root[r] < 0) of_root[r] = next++;
    label[i] = of_root[r];
  }
  return label;
}

// Ward: d^2(A, B) = 2 |A||B| / (|A| + |B|) |cA - cB|^2.
double ward_factor(double a, double b) { return 2.0 * a * b / (a + b); }

// Nearest-neighbour chain over cluster centroids. Clusters live in C (rows
// 0..m-1 the distinct rows, then one row per merge); the kd-tree holds the
// clusters alive at its last build, newer ones are scanned in a list, and
// the tree is rebuilt when that list grows past ~sqrt(alive).
void ward(const UniqueRows& u, std::vector<Merge>& merges) {
  const size_t m = static_cast<size_t>(u.unique_.rows());
  const Eigen::Index d = u.unique_.cols();
  RowMatrix C(static_cast<Eigen::Index>(2 * m), d);
  C.topRows(static_cast<Eigen::Index>(m)) = u.unique_;
  std::vector<double> size(2 * m, 0);
  std::vector<uint32_t> rep(2 * m);
  std::vector<uint8_t> alive(2 * m, 0);
  for (size_t i = 0; i < m; ++i) size[i] = u.weight_[i], rep[i] = u.first_[i], alive[i] = 1;
  size_t next = m, alive_count = m;
  BoxTree tree;
  std::vector<double> node_min_size;
  std::vector<uint32_t> fresh;
  auto rebuild = [&] {
    std::vector<uint32_t> ids;
    ids.reserve(alive_count);
    for (size_t i = 0; i < next; ++i) {
      if (alive[i]) ids.push_back(static_cast<uint32_t>(i));
    }
    tree.build(C, std::move(ids));
    const auto& nodes = tree.nodes();
    node_min_size.assign(nodes.size(), 0);
    for (size_t k = nodes.size(); k-- > 0;) {
      double s = std::numeric_limits<double>::infinity();
      for (uint32_t i = nodes[k].begin; i < nodes[k].end; ++i) s = std::min(s, size[tree.ids()[i]]);
      node_min_size[k] = s;
    }
    fresh.clear();
  };
  rebuild();

  struct Best {
    double w = std::numeric_limits<double>::infinity();
    uint32_t id = UINT32_MAX;
  };
  // The nearest cluster to x; on ties the previous chain element, then the
  // smallest id (the chain needs a consistent choice to end).
  auto nearest = [&](uint32_t x, uint32_t prev) {
    Best best;
    const double* cx = C.data() + static_cast<Eigen::Index>(x) * d;
    const double sx = size[x];
    auto consider = [&](uint32_t id) {
      if (!alive[id] || id == x) return;
      const double w =
          ward_factor(sx, size[id]) * squared_distance(cx, C.data() + static_cast<Eigen::Index>(id) * d, d);
      if (w < best.w || (w == best.w && best.id != prev && (id == prev || id < best.id))) best = {w, id};
    };
    if (prev != UINT32_MAX) consider(prev);
    double bound = best.w;
    tree.search(
        cx, bound,
        [&](int32_t node, double box_d2) { return ward_factor(sx, node_min_size[static_cast<size_t>(node)]) * box_d2; },
        [&](uint32_t id) {
          consider(id);
          bound = best.w;
        });
    for (uint32_t id : fresh) consider(id);
    return best;
  };

  std::vector<uint32_t> chain;
  size_t first_alive = 0;
  while (alive_count > 1) {
    if (chain.empty()) {
      while (!alive[first_alive]) ++first_alive;
      chain.push_back(static_cast<uint32_t>(first_alive));
    }
    Best y;
    for (;;) {
      const uint32_t x = chain.back();
      const uint32_t prev = chain.size() > 1 ? chain[chain.size() - 2] : UINT32_MAX;
      y = nearest(x, prev);
      if (y.id == prev) break;
      chain.push_back(y.id);
    }
    const uint32_t b = chain.back();
    chain.pop_back();
    const uint32_t a = chain.back();
    chain.pop_back();
    const auto z = static_cast<uint32_t>(next++);
    size[z] = size[a] + size[b];
    C.row(z) = (size[a] * C.row(a) + size[b] * C.row(b)) / size[z];
    rep[z] = std::min(rep[a], rep[b]);
    alive[a] = alive[b] = 0;
    alive[z] = 1;
    --alive_count;
    merges.push_back({rep[a], rep[b], std::sqrt(y.w)});
    fresh.push_back(z);
    if (fresh.size() > 64 + static_cast<size_t>(std::sqrt(static_cast<double>(alive_count)))) rebuild();
  }
}

// Boruvka: every round, each component's shortest edge to another (found
// by a kd-tree search per row that skips subtrees of its own component;
// ties by the smaller row pair), joins. Edges are the single-linkage merges.
void single(const UniqueRows& u, int threads, std::vector<Merge>& merges) {
  const size_t m = static_cast<size_t>(u.unique_.rows());
  const Eigen::Index d = u.unique_.cols();
  BoxTree tree;
  {
    std::vector<uint32_t> ids(m);
    std::iota(ids.begin(), ids.end(), 0u);
    tree.build(u.unique_, std::move(ids));
  }
  const auto& nodes = tree.nodes();
  Sets sets(m);
  std::vector<uint32_t> comp(m);
  std::vector<int64_t> node_comp(nodes.size());
  struct Edge {
    double d2 = std::numeric_limits<double>::infinity();
    uint32_t lo = UINT32_MAX, hi = UINT32_MAX;
    bool operator<(const Edge& o) const {
      return d2 < o.d2 || (d2 == o.d2 && (lo < o.lo || (lo == o.lo && hi < o.hi)));
    }
  };
  std::vector<Edge> point_best(m), comp_best(m);
  std::vector<std::atomic<double>> comp_bound(m);
  size_t components = m;
  while (components > 1) {
    for (size_t i = 0; i < m; ++i) comp[i] = sets.find(static_cast<uint32_t>(i));
    for (size_t k = nodes.size(); k-- > 0;) {  // children come after parents
      const auto& nd = nodes[k];
      if (nd.left < 0) {
        int64_t c = comp[tree.ids()[nd.begin]];
        for (uint32_t i = nd.begin + 1; i < nd.end && c >= 0; ++i) {
          if (comp[tree.ids()[i]] != c) c = -1;
        }
        node_comp[k] = c;
      } else {
        const int64_t l = node_comp[static_cast<size_t>(nd.left)], r = node_comp[static_cast<size_t>(nd.right)];
        node_comp[k] = l == r ? l : -1;
      }
    }
    // Each row searches with its component's best distance so far as the
    // bound (shared between threads): that only prunes edges longer than
    // the component's shortest, which its own row still finds, so the
    // result does not depend on the threads' timing.
    for (auto& b : comp_bound) b.store(std::numeric_limits<double>::infinity(), std::memory_order_relaxed);
    parallel_for(m, threads, [&](size_t lo, size_t hi) {
      for (size_t p = lo; p < hi; ++p) {
        Edge best;
        const int64_t own = comp[p];
        std::atomic<double>& shared = comp_bound[comp[p]];
        const double* x = u.unique_.data() + static_cast<Eigen::Index>(p) * d;
        double bound = shared.load(std::memory_order_relaxed);
        tree.search(
            x, bound,
            [&](int32_t node, double box_d2) {
              bound = std::min(bound, shared.load(std::memory_order_relaxed));
              return node_comp[static_cast<size_t>(node)] == own ? std::numeric_limits<double>::infinity() : box_d2;
            },
            [&](uint32_t q) {
              if (comp[q] == own) return;
              const Edge e{squared_distance(x, u.unique_.data() + static_cast<Eigen::Index>(q) * d, d),
                           std::min<uint32_t>(static_cast<uint32_t>(p), q),
                           std::max<uint32_t>(static_cast<uint32_t>(p), q)};
              if (e < best) {
                best = e;
                bound = std::min(bound, e.d2);
                double cur = shared.load(std::memory_order_relaxed);
                while (e.d2 < cur && !shared.compare_exchange_weak(cur, e.d2, std::memory_order_relaxed)) {
                }
              }
            });
        point_best[p] = best;
      }
    });
    std::fill(comp_best.begin(), comp_best.end(), Edge{});
    for (size_t p = 0; p < m; ++p) {
      if (point_best[p] < comp_best[comp[p]]) comp_best[comp[p]] = point_best[p];
    }
    for (size_t c = 0; c < m; ++c) {
      const Edge& e = comp_best[c];
      if (e.lo == UINT32_MAX) continue;
      if (sets.unite(e.lo, e.hi)) {
        merges.push_back({u.first_[e.lo], u.first_[e.hi], std::sqrt(e.d2)});
        --components;
      }
    }
  }
}

// Prim's algorithm on the dense distances, for many dimensions, where
// kd-trees prune little: O(m^2 d) time, O(m d) memory. The points not yet
// in the tree sit in a column-major r x d buffer (each dimension's values
// contiguous), so each step's distances from the newest tree point are one
// contiguous, vectorised pass per dimension, summed in the dimensions'
// order as squared_distance does; chunks of 4096 points go to the threads,
// each finding its chunk's nearest, and the chunks' answers are compared
// in order. Ties in distance: the smaller row pair, as Boruvka; the order
// is total, so the tree does not depend on the threads.
void prim(const UniqueRows& u, int threads, std::vector<Merge>& merges) {
  const size_t m = static_cast<size_t>(u.unique_.rows());
  const Eigen::Index d = u.unique_.cols();
  Eigen::MatrixXd rest = u.unique_.bottomRows(static_cast<Eigen::Index>(m - 1));  // r x d, column-major
  std::vector<uint32_t> id(m - 1), from(m - 1, 0);
  std::iota(id.begin(), id.end(), 1u);
  std::vector<double> best(m - 1, std::numeric_limits<double>::infinity()), acc(m - 1);
  Eigen::VectorXd newest = u.unique_.row(0).transpose();
  uint32_t newest_id = 0;
  size_t r = m - 1;
  auto before = [](double d2a, uint32_t a1, uint32_t a2, double d2b, uint32_t b1, uint32_t b2) {
    const uint32_t alo = std::min(a1, a2), ahi = std::max(a1, a2), blo = std::min(b1, b2), bhi = std::max(b1, b2);
    return d2a < d2b || (d2a == d2b && (alo < blo || (alo == blo && ahi < bhi)));
  };
  constexpr size_t kChunk = 4096;
  std::vector<size_t> chunk_arg((m + kChunk - 1) / kChunk);
  while (r > 0) {
    const size_t chunks = (r + kChunk - 1) / kChunk;
    parallel_for(
        chunks, threads,
        [&](size_t c_lo, size_t c_hi) {
          for (size_t c = c_lo; c < c_hi; ++c) {
            const size_t lo = c * kChunk, hi = std::min(r, lo + kChunk);
            std::fill(acc.begin() + static_cast<std::ptrdiff_t>(lo), acc.begin() + static_cast<std::ptrdiff_t>(hi),
                      0.0);
            for (Eigen::Index t = 0; t < d; ++t) {
              const double* col = rest.col(t).data();
              const double v = newest[t];
              for (size_t k = lo; k < hi; ++k) {
                const double e = col[k] - v;
                acc[k] += e * e;
              }
            }
            size_t arg = lo;
            for (size_t k = lo; k < hi; ++k) {
              if (before(acc[k], newest_id, id[k], best[k], from[k], id[k])) best[k] = acc[k], from[k] = newest_id;
              if (k > lo && before(best[k], from[k], id[k], best[arg], from[arg], id[arg])) arg = k;
            }
            chunk_arg[c] = arg;
          }
        },
        1);
    size_t arg = chunk_arg[0];
    for (size_t c = 1; c < chunks; ++c) {
      const size_t k = chunk_arg[c];
      if (before(best[k], from[k], id[k], best[arg], from[arg], id[arg])) arg = k;
    }
    merges.push_back({u.first_[from[arg]], u.first_[id[arg]], std::sqrt(best[arg])});
    newest = rest.row(static_cast<Eigen::Index>(arg)).transpose();
    newest_id = id[arg];
    // Swap-remove the new tree point.
    --r;
    rest.row(static_cast<Eigen::Index>(arg)) = rest.row(static_cast<Eigen::Index>(r));
    id[arg] = id[r], from[arg] = from[r], best[arg] = best[r];
  }
}

// Nearest-neighbour chain over the condensed distance matrix with
// Lance-Williams updates, as scipy's nn_chain: the merged cluster takes the
// second slot; ties prefer the previous chain element, then the first slot.
void pairwise(const UniqueRows& u, Linkage linkage, int threads, std::vector<Merge>& merges) {
  const size_t m = static_cast<size_t>(u.unique_.rows());
  const Eigen::Index d = u.unique_.cols();
  std::vector<double> D(m * (m - 1) / 2);
  auto at = [m](size_t i, size_t j) {
    if (i > j) std::swap(i, j);
    return m * i - i * (i + 1) / 2 + j - i - 1;
  };
  parallel_for(
      m, threads,
      [&](size_t lo, size_t hi) {
        for (size_t i = lo; i < hi; ++i) {
          for (size_t j = i + 1; j < m; ++j) {
            D[at(i, j)] = std::sqrt(squared_distance(u.unique_.data() + static_cast<Eigen::Index>(i) * d,
                                                     u.unique_.data() + static_cast<Eigen::Index>(j) * d, d));
          }
        }
      },
      8);
  std::vector<double> size(m);
  std::vector<uint32_t> rep(m);
  for (size_t i = 0; i < m; ++i) size[i] = u.weight_[i], rep[i] = u.first_[i];
  std::vector<uint8_t> alive(m, 1);
  std::vector<size_t> chain;
  for (size_t k = 0; k + 1 < m; ++k) {
    if (chain.empty()) {
      size_t i = 0;
      while (!alive[i]) ++i;
      chain.push_back(i);
    }
    size_t x = 0, y = 0;
    double best = 0;
    for (;;) {
      x = chain.back();
      if (chain.size() > 1) {
        y = chain[chain.size() - 2];
        best = D[at(x, y)];
      } else {
        best = std::numeric_limits<double>::infinity();
      }
      for (size_t i = 0; i < m; ++i) {
        if (!alive[i] || i == x) continue;
        const double v = D[at(x, i)];
        if (v < best) best = v, y = i;
      }
      if (chain.size() > 1 && y == chain[chain.size() - 2]) break;
      chain.push_back(y);
    }
    chain.pop_back();
    chain.pop_back();
    if (x > y) std::swap(x, y);
    merges.push_back({rep[x], rep[y], best});
    alive[x] = 0;
    for (size_t i = 0; i < m; ++i) {
      if (!alive[i] || i == y) continue;
      const double dx = D[at(x, i)], dy = D[at(y, i)];
      D[at(y, i)] =
          linkage == Linkage::kComplete ? std::max(dx, dy) : (size[x] * dx + size[y] * dy) / (size[x] + size[y]);
    }
    size[y] += size[x];
    rep[y] = std::min(rep[x], rep[y]);
  }
}

}  // namespace

std::string_view linkage_name(Linkage l) {
  switch (l) {
    case Linkage::kWard:
      return "ward";
    case Linkage::kAverage:
      return "average";
    case Linkage::kComplete:
      return "complete";
    case Linkage::kSingle:
      return "single";
  }
  return "?";
}

Linkage parse_linkage(std::string_view name) {
  for (Linkage l : {Linkage::kWard, Linkage::kAverage, Linkage::kComplete, Linkage::kSingle}) {
    if (name == linkage_name(l)) return l;
  }
  throw ParamError("hierarchical: unknown linkage '" + std::string(name) + "' (ward, average, complete, single)");
}

Dendrogram fit_hierarchical(const Matrix& X, const HierarchicalParams& p) {
  check_matrix(X, "hierarchical");
  const UniqueRows u = unique_rows(RowMatrix(X));
  const size_t m = static_cast<size_t>(u.unique_.rows());
  if ((p.linkage_ == Linkage::kAverage || p.linkage_ == Linkage::kComplete) && m > p.max_pairwise_rows_) {
    char gib[32];
    std::snprintf(gib, sizeof gib, "%.1f", static_cast<double>(m) * static_cast<double>(m - 1) / 2 * 8 / (1u << 30));
    throw ParamError("hierarchical: " + std::string(linkage_name(p.linkage_)) +
                     " linkage keeps every pairwise distance (" + gib + " GiB for " + std::to_string(m) +
                     " distinct rows); the limit is " + std::to_string(p.max_pairwise_rows_) +
                     " distinct rows: use ward or single, or cluster a sample");
  }
  Dendrogram dg;
  dg.rows_ = static_cast<size_t>(X.rows());
  dg.merges_.reserve(dg.rows_ - 1);
  // Identical rows first, at height 0.
  for (size_t i = 0; i < dg.rows_; ++i) {
    const uint32_t first = u.first_[u.group_of_[i]];
    if (first != i) dg.merges_.push_back({first, static_cast<uint32_t>(i), 0.0});
  }
  if (m > 1) {
    switch (p.linkage_) {
      case Linkage::kWard:
        ward(u, dg.merges_);
        break;
      case Linkage::kSingle:
        // kd-trees prune well in few dimensions only.
        if (u.unique_.cols() <= 8) {
          single(u, p.threads_, dg.merges_);
        } else {
          prim(u, p.threads_, dg.merges_);
        }
        break;
      default:
        pairwise(u, p.linkage_, p.threads_, dg.merges_);
        break;
    }
  }
  std::stable_sort(dg.merges_.begin(), dg.merges_.end(),
                   [](const Merge& a, const Merge& b) { return a.height < b.height; });
  return dg;
}

std::vector<int> Dendrogram::cut(size_t k) const {
  if (k < 1 || k > rows_)
    throw ParamError("hierarchical: k must be between 1 and the number of rows (" + std::to_string(rows_) + ")");
  Sets sets(rows_);
  for (size_t i = 0; i < rows_ - k; ++i) sets.unite(merges_[i].a, merges_[i].b);
  return labels_by_first_row(sets, rows_);
}

std::vector<int> Dendrogram::cut_below(double distance) const {
  Sets sets(rows_);
  for (const Merge& mg : merges_) {
    if (!(mg.height < distance)) break;
    sets.unite(mg.a, mg.b);
  }
  return labels_by_first_row(sets, rows_);
}

}  // namespace darklens::cluster
