// The kNN graph (nanoflann's kd-tree) split into communities by igraph's
// Leiden: the graph construction is ours, the community detection the
// library's.
// hnswlib 0.6's SSE code prefetches through the link one past a full
// list, reading 4 bytes beyond its allocation (AddressSanitizer:
// heap-buffer-overflow). Without it, the distance is ours (L2Lanes below),
// which the compiler vectorises.
#define NO_MANUAL_VECTORIZATION
#include <hnswlib/hnswlib.h>
#include <igraph.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <mutex>
#include <numeric>
#include <string>

#include "../core/parallel.hpp"
#include "../core/points.hpp"
#include "darklens/cluster/cluster.hpp"
#include "darklens/error.hpp"

namespace darklens::cluster {
namespace {

// HNSW: links per node (M), candidates while building and, at least, while
// searching (ef). hnswlib's defaults but the search's, which is raised from
// 10 so that the recall of 15 neighbours stays high (docs/cluster.md).
constexpr size_t kHnswLinks = 16, kHnswBuild = 200, kHnswSearch = 64;

// Squared Euclidean distance in eight independent partial sums (so the
// loop vectorises without reordering any one sum), added in a fixed order.
float l2_lanes(const void* a, const void* b, const void* param) {
  const size_t d = *static_cast<const size_t*>(param);
  const auto* x = static_cast<const float*>(a);
  const auto* y = static_cast<const float*>(b);
  std::array<float, 8> lane{};
  size_t i = 0;
  for (; i + 8 <= d; i += 8) {
    for (size_t l = 0; l < 8; ++l) {
      const float t = x[i + l] - y[i + l];
      lane[l] += t * t;
    }
  }
  float s = ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
  for (; i < d; ++i) {
    const float t = x[i] - y[i];
    s += t * t;
  }
  return s;
}
class L2Lanes : public hnswlib::SpaceInterface<float> {
 public:
  explicit L2Lanes(size_t dim) : dim_(dim) {}
  size_t get_data_size() override { return dim_ * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return l2_lanes; }
  void* get_dist_func_param() override { return &dim_; }

 private:
  size_t dim_;
};

// igraph reports errors by return code here, never by abort(); its RNG is
// global, so Leiden runs one at a time.
std::mutex& igraph_lock() {
  static std::mutex m;
  static const bool quiet = [] {
    igraph_set_error_handler(igraph_error_handler_ignore);
    igraph_set_warning_handler(igraph_warning_handler_ignore);
    return true;
  }();
  (void)quiet;
  return m;
}

void check(igraph_error_t rc, const char* what) {
  if (rc != IGRAPH_SUCCESS) {
    throw ParamError(std::string("leiden: igraph ") + what + " failed: " + igraph_strerror(rc));
  }
}

// Owners of igraph's C objects.
struct IntVector {
  igraph_vector_int_t v;
  explicit IntVector(igraph_integer_t n) { check(igraph_vector_int_init(&v, n), "vector"); }
  ~IntVector() { igraph_vector_int_destroy(&v); }
  IntVector(const IntVector&) = delete;
  IntVector& operator=(const IntVector&) = delete;
};
struct RealVector {
  igraph_vector_t v;
  explicit RealVector(igraph_integer_t n) { check(igraph_vector_init(&v, n), "vector"); }
  ~RealVector() { igraph_vector_destroy(&v); }
  RealVector(const RealVector&) = delete;
  RealVector& operator=(const RealVector&) = delete;
};
struct Graph {
  igraph_t g;
  Graph(const IntVector& edges, igraph_integer_t n) {
    check(igraph_create(&g, &edges.v, n, IGRAPH_UNDIRECTED), "create");
  }
  ~Graph() { igraph_destroy(&g); }
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
};

// Each row's `want - 1` nearest other rows by the kd-tree (exact), into nb.
void exact_neighbours(const RowMatrix& P, size_t want, int threads, std::vector<uint32_t>& nb) {
  const PointCloud cloud{P};
  KdTree tree(static_cast<int>(P.cols()), cloud, nanoflann::KDTreeSingleIndexAdaptorParams(16));
  tree.buildIndex();
  const auto n = static_cast<size_t>(P.rows());
  parallel_for(n, threads, [&](size_t lo, size_t hi) {
    std::vector<uint32_t> idx(want);
    std::vector<double> d2(want);
    for (size_t i = lo; i < hi; ++i) {
      nanoflann::KNNResultSet<double, uint32_t> res(want);
      res.init(idx.data(), d2.data());
      tree.findNeighbors(res, P.data() + i * P.cols(), nanoflann::SearchParams());
      size_t out = 0;
      for (size_t j = 0; j < res.size() && out < want - 1; ++j) {
        if (idx[j] != i) nb[i * (want - 1) + out++] = idx[j];
      }
    }
  });
}

// The same by hnswlib's HNSW graph (approximate; in single precision). The
// graph is built on one thread, rows in order, from a fixed seed, so it is
// the same on every run; the searches (read-only) run in parallel. A row
// whose search returns fewer than want - 1 others repeats its nearest.
void hnsw_neighbours(const RowMatrix& P, size_t want, int threads, std::vector<uint32_t>& nb) {
  const auto n = static_cast<size_t>(P.rows());
  const auto d = static_cast<size_t>(P.cols());
  const std::vector<float> F(P.data(), P.data() + n * d);
  L2Lanes space(d);
  hnswlib::HierarchicalNSW<float> index(&space, n, kHnswLinks, kHnswBuild, /*random_seed=*/100);
  for (size_t i = 0; i < n; ++i) index.addPoint(F.data() + i * d, i);
  index.setEf(std::max<size_t>(kHnswSearch, 2 * want));
  parallel_for(n, threads, [&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; ++i) {
      auto found = index.searchKnn(F.data() + i * d, want);
      std::vector<std::pair<float, size_t>> ranked;
      while (!found.empty()) ranked.emplace_back(found.top().first, found.top().second), found.pop();
      std::sort(ranked.begin(), ranked.end());
      size_t out = 0;
      for (const auto& [dist, j] : ranked) {
        if (j != i && out < want - 1) nb[i * (want - 1) + out++] = static_cast<uint32_t>(j);
      }
      for (size_t k = out; k < want - 1; ++k) nb[i * (want - 1) + k] = out ? nb[i * (want - 1)] : (i == 0 ? 1 : 0);
    }
  });
}

}  // namespace

std::vector<uint32_t> nearest_neighbours(const Matrix& X, int k, bool approximate, int threads) {
  const RowMatrix P(X);
  const size_t n = static_cast<size_t>(P.rows());
  const size_t want = std::min<size_t>(static_cast<size_t>(k) + 1, n);
  std::vector<uint32_t> nb(n * (want - 1));
  if (approximate) {
    hnsw_neighbours(P, want, threads, nb);
  } else {
    exact_neighbours(P, want, threads, nb);
  }
  return nb;
}

namespace {

// Each row's k nearest other rows, as sorted (low, high) pairs with the
// number of directions they were found in.
std::vector<std::pair<uint64_t, double>> knn_links(const Matrix& X, int k, bool approximate, int threads) {
  const size_t n = static_cast<size_t>(X.rows());
  const size_t want = std::min<size_t>(static_cast<size_t>(k) + 1, n);
  const std::vector<uint32_t> nb = nearest_neighbours(X, k, approximate, threads);
  std::vector<uint64_t> keys(nb.size());
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < want - 1; ++j) {
      const uint64_t a = i, b = nb[i * (want - 1) + j];
      keys[i * (want - 1) + j] = (std::min(a, b) << 32) | std::max(a, b);
    }
  }
  std::sort(keys.begin(), keys.end());
  std::vector<std::pair<uint64_t, double>> links;
  for (size_t i = 0; i < keys.size();) {
    size_t j = i;
    while (j < keys.size() && keys[j] == keys[i]) ++j;
    links.emplace_back(keys[i], static_cast<double>(j - i));
    i = j;
  }
  return links;
}

}  // namespace

LeidenResult fit_leiden(const Matrix& X, const LeidenParams& p) {
  return std::move(fit_leiden(X, p, {p.resolution_}).front());
}

std::vector<LeidenResult> fit_leiden(const Matrix& X, const LeidenParams& p, const std::vector<double>& resolutions) {
  check_matrix(X, "leiden");
  if (X.rows() < 2) throw ParamError("leiden: needs at least 2 rows");
  if (X.rows() >= (Eigen::Index{1} << 31)) throw ParamError("leiden: at most 2^31 rows");
  if (p.neighbours_ < 1 || p.neighbours_ > 1000) throw ParamError("leiden: neighbours must be between 1 and 1000");
  for (double resolution : resolutions) {
    if (!(resolution > 0) || !std::isfinite(resolution)) throw ParamError("leiden: resolution must be positive");
  }
  if (!(p.beta_ > 0) || !std::isfinite(p.beta_)) throw ParamError("leiden: beta must be positive");
  if (p.iterations_ < 1) throw ParamError("leiden: iterations must be at least 1");
  const auto n = static_cast<igraph_integer_t>(X.rows());
  const bool approximate =
      p.index_ == NeighbourIndex::kHnsw ||
      (p.index_ == NeighbourIndex::kAuto && static_cast<size_t>(X.rows()) >= kHnswRows && X.cols() >= kHnswDims);
  const auto links = knn_links(X, p.neighbours_, approximate, p.threads_);

  const std::lock_guard<std::mutex> lock(igraph_lock());
  IntVector edges(static_cast<igraph_integer_t>(2 * links.size()));
  RealVector weights(static_cast<igraph_integer_t>(links.size()));
  double total = 0;
  for (size_t e = 0; e < links.size(); ++e) {
    VECTOR(edges.v)[2 * e] = static_cast<igraph_integer_t>(links[e].first >> 32);
    VECTOR(edges.v)[2 * e + 1] = static_cast<igraph_integer_t>(links[e].first & 0xffffffffu);
    VECTOR(weights.v)[e] = links[e].second;
    total += links[e].second;
  }
  const Graph g(edges, n);
  // Modularity as Leiden's objective: node weights are the strengths, the
  // resolution divided by twice the total weight (igraph's documentation).
  RealVector strength(n);
  check(igraph_strength(&g.g, &strength.v, igraph_vss_all(), IGRAPH_ALL, IGRAPH_LOOPS, &weights.v), "strength");
  std::vector<LeidenResult> out;
  for (double resolution : resolutions) {
    // Each resolution from the same seed, as a fit of its own.
    igraph_rng_seed(igraph_rng_default(), static_cast<igraph_uint_t>(p.seed_));
    IntVector membership(n);
    igraph_integer_t clusters = 0;
    igraph_real_t quality = 0;
    LeidenResult& r = out.emplace_back();
    // One pass at a time, from the last partition, until one changes nothing.
    std::vector<igraph_integer_t> before;
    for (int it = 0; it < p.iterations_; ++it) {
      before.assign(VECTOR(membership.v), VECTOR(membership.v) + n);
      check(igraph_community_leiden(&g.g, &weights.v, &strength.v, resolution / (2 * total), p.beta_,
                                    /*start=*/it > 0, /*n_iterations=*/1, &membership.v, &clusters, &quality),
            "community_leiden");
      r.iterations_ = it + 1;
      if (it > 0 && std::equal(before.begin(), before.end(), VECTOR(membership.v))) break;
    }
    igraph_real_t q = 0;
    check(igraph_modularity(&g.g, &membership.v, &weights.v, 1.0, IGRAPH_UNDIRECTED, &q), "modularity");

    // Number by size, largest first, ties by the lowest row.
    std::vector<size_t> size(static_cast<size_t>(clusters), 0), first(static_cast<size_t>(clusters), SIZE_MAX);
    for (igraph_integer_t i = 0; i < n; ++i) {
      const auto c = static_cast<size_t>(VECTOR(membership.v)[i]);
      ++size[c];
      first[c] = std::min(first[c], static_cast<size_t>(i));
    }
    std::vector<int> order(static_cast<size_t>(clusters));
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int a, int b) {
      const auto ua = static_cast<size_t>(a), ub = static_cast<size_t>(b);
      return size[ua] != size[ub] ? size[ua] > size[ub] : first[ua] < first[ub];
    });
    std::vector<int> rank(static_cast<size_t>(clusters));
    for (size_t i = 0; i < order.size(); ++i) rank[static_cast<size_t>(order[i])] = static_cast<int>(i);
    r.labels_.resize(static_cast<size_t>(n));
    for (igraph_integer_t i = 0; i < n; ++i) {
      r.labels_[static_cast<size_t>(i)] = rank[static_cast<size_t>(VECTOR(membership.v)[i])];
    }
    r.clusters_ = static_cast<int>(clusters);
    r.modularity_ = q;
    r.edges_ = links.size();
    r.approximate_ = approximate;
  }
  return out;
}

}  // namespace darklens::cluster
