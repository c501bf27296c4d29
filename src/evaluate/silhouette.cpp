// Exact silhouette: every pairwise distance, summed per cluster, over the
// distinct (row, label) pairs weighted by their copies (copies are at
// distance 0 and share their sums, so this is exact), rows in parallel.
// O(m^2 d) time for m distinct pairs, O(k + block) extra memory per thread.
#include <algorithm>
#include <cmath>
#include <map>

#include "../core/parallel.hpp"
#include "../core/points.hpp"
#include "../core/rng.hpp"
#include "darklens/error.hpp"
#include "darklens/evaluate/evaluate.hpp"

namespace darklens::evaluate {
namespace {

enum class Kernel { kEuclidean, kCosine };

// The inner loops, apart and with restrict, so that they vectorise; an
// AVX2 clone is picked at run time where the CPU has it (no FMA: the same
// roundings, so the same values on every machine).
// Not under ThreadSanitizer: the clone's resolver runs while the dynamic
// loader relocates the program, before the TSan runtime is set up, and its
// instrumented code crashes there.
#if defined(__SANITIZE_THREAD__)
#define DARKLENS_CLONES
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define DARKLENS_CLONES
#endif
#endif
#ifndef DARKLENS_CLONES
#define DARKLENS_CLONES __attribute__((target_clones("avx2", "default")))
#endif
DARKLENS_CLONES void add_squared_differences(double* __restrict a, const double* __restrict col, double v,
                                             Eigen::Index len) {
  for (Eigen::Index j = 0; j < len; ++j) {
    const double diff = v - col[j];
    a[j] += diff * diff;
  }
}
DARKLENS_CLONES void add_products(double* __restrict a, const double* __restrict col, double v, Eigen::Index len) {
  for (Eigen::Index j = 0; j < len; ++j) a[j] += v * col[j];
}
DARKLENS_CLONES void to_distances(double* __restrict a, Eigen::Index len, Kernel kernel) {
  if (kernel == Kernel::kEuclidean) {
    for (Eigen::Index j = 0; j < len; ++j) a[j] = std::sqrt(a[j]);
  } else {
    for (Eigen::Index j = 0; j < len; ++j) a[j] = std::clamp(1.0 - a[j], 0.0, 2.0);
  }
}

// Dense 0..k-1 labels of one labeling, with the number of clusters.
struct Dense {
  std::vector<int> label;
  int k = 0;
};
Dense dense_labels(const std::vector<int>& labels) {
  std::map<int, int> ids;
  for (int l : labels) ids.emplace(l, 0);
  int next = 0;
  for (auto& [l, d] : ids) d = next++;
  Dense out;
  out.k = next;
  out.label.reserve(labels.size());
  for (int l : labels) out.label.push_back(ids[l]);
  return out;
}

// Throws ParamError unless there is one label per row.
void check_length(const transform::Matrix& X, const std::vector<int>& labels) {
  if (static_cast<Eigen::Index>(labels.size()) != X.rows()) {
    throw ParamError("silhouette: " + std::to_string(labels.size()) + " labels for " + std::to_string(X.rows()) +
                     " rows");
  }
}
// A silhouette needs 2 to n - 1 clusters.
bool scorable(const Dense& d, Eigen::Index n) { return d.k >= 2 && d.k <= n - 1; }

// Per-row silhouette values of several labelings of the same rows (each
// dense and scorable), sharing the distances: each distance is computed once
// and added to the cluster sums of every labeling. Distances from one row
// to a block of others are computed a dimension at a time over contiguous
// columns (so the compiler vectorises them), each distance in the same
// order as a row-by-row loop; each row's cluster sums are added in a fixed
// order of their own (four interleaved partial sums), so the values do not
// depend on the number of threads or of labelings, and differ from the
// plain definition's only by rounding. Cosine: rows already unit length.
std::vector<std::vector<double>> silhouette(const transform::Matrix& X, const std::vector<Dense>& dense, int threads,
                                            Kernel kernel) {
  const Eigen::Index n = X.rows();
  const size_t L = dense.size();
  size_t total_k = 0;
  std::vector<size_t> offset;  // labeling -> first of its cluster sums
  for (const auto& d : dense) {
    offset.push_back(total_k);
    total_k += static_cast<size_t>(d.k);
  }
  const Eigen::Index d = X.cols();
  // Rows with their labels as more columns: identical pairs group.
  RowMatrix R(n, d + static_cast<Eigen::Index>(L));
  R.leftCols(d) = X;
  std::vector<double> size(total_k, 0);
  for (size_t q = 0; q < L; ++q) {
    for (Eigen::Index i = 0; i < n; ++i) {
      const int c = dense[q].label[static_cast<size_t>(i)];
      R(i, d + static_cast<Eigen::Index>(q)) = c;
      ++size[offset[q] + static_cast<size_t>(c)];
    }
  }
  const UniqueRows u = unique_rows(R);
  const Eigen::Index m = u.unique_.rows();
  const transform::Matrix P = u.unique_.leftCols(d);  // column-major: one dimension contiguous
  // Per labeling, the unique rows' cluster sum index (offset + label).
  std::vector<std::vector<uint32_t>> slot(L, std::vector<uint32_t>(static_cast<size_t>(m)));
  for (size_t q = 0; q < L; ++q) {
    for (Eigen::Index j = 0; j < m; ++j) {
      slot[q][static_cast<size_t>(j)] =
          static_cast<uint32_t>(offset[q] + static_cast<size_t>(u.unique_(j, d + static_cast<Eigen::Index>(q))));
    }
  }
  // Each cluster sum is kept in kLanes partial sums (element j goes to lane
  // j mod kLanes), added up at the end in a fixed order: consecutive
  // elements of one cluster then do not wait on each other.
  constexpr size_t kLanes = 4;
  std::vector<std::vector<double>> s(L, std::vector<double>(static_cast<size_t>(m), 0.0));
  constexpr Eigen::Index kBlock = 512;
  parallel_for(
      static_cast<size_t>(m), threads,
      [&](size_t lo, size_t hi) {
        std::vector<double> sums(total_k), lanes(total_k * kLanes);
        std::vector<double> acc(static_cast<size_t>(kBlock));
        std::vector<double> xi(static_cast<size_t>(d));
        for (size_t i = lo; i < hi; ++i) {
          std::fill(lanes.begin(), lanes.end(), 0.0);
          for (Eigen::Index t = 0; t < d; ++t) xi[static_cast<size_t>(t)] = P(static_cast<Eigen::Index>(i), t);
          for (Eigen::Index j0 = 0; j0 < m; j0 += kBlock) {
            const Eigen::Index len = std::min(kBlock, m - j0);
            double* a = acc.data();
            std::fill(a, a + len, 0.0);
            for (Eigen::Index t = 0; t < d; ++t) {
              const double* col = P.col(t).data() + j0;
              const double v = xi[static_cast<size_t>(t)];
              if (kernel == Kernel::kEuclidean) {
                add_squared_differences(a, col, v, len);
              } else {
                add_products(a, col, v, len);
              }
            }
            to_distances(a, len, kernel);
            // A row's copies are at dist(x, x) from it: 0 for Euclidean
            // (so adding its own weight adds exactly nothing), but not
            // always for cosine (1 for a zero row): there the row itself
            // is left out.
            const bool self_here =
                kernel == Kernel::kCosine && i >= static_cast<size_t>(j0) && i < static_cast<size_t>(j0 + len);
            const uint32_t* w = u.weight_.data() + j0;
            for (size_t q = 0; q < L; ++q) {
              const uint32_t* sl = slot[q].data() + j0;
              auto lane = [&](Eigen::Index j) -> double& { return lanes[sl[j] * kLanes + (j & (kLanes - 1))]; };
              if (!self_here) {
                for (Eigen::Index j = 0; j < len; ++j) lane(j) += static_cast<double>(w[j]) * a[j];
                continue;
              }
              for (Eigen::Index j = 0; j < len; ++j) {
                const double wj = static_cast<size_t>(j0 + j) == i ? w[j] - 1.0 : w[j];
                if (wj > 0) lane(j) += wj * a[j];
              }
            }
          }
          for (size_t c = 0; c < total_k; ++c) {
            const double* l = lanes.data() + c * kLanes;
            sums[c] = (l[0] + l[1]) + (l[2] + l[3]);
          }
          for (size_t q = 0; q < L; ++q) {
            const size_t ci = slot[q][i];
            if (size[ci] <= 1) continue;  // alone in its cluster: 0
            const double a = sums[ci] / (size[ci] - 1);
            double b = std::numeric_limits<double>::infinity();
            const size_t end = offset[q] + static_cast<size_t>(dense[q].k);
            for (size_t c = offset[q]; c < end; ++c) {
              if (c != ci) b = std::min(b, sums[c] / size[c]);
            }
            const double mx = std::max(a, b);
            s[q][i] = mx > 0 ? (b - a) / mx : 0.0;
          }
        }
      },
      16);
  std::vector<std::vector<double>> per_row(L, std::vector<double>(static_cast<size_t>(n)));
  for (size_t q = 0; q < L; ++q) {
    for (size_t i = 0; i < per_row[q].size(); ++i) per_row[q][i] = s[q][u.group_of_[i]];
  }
  return per_row;
}

std::vector<double> silhouette(const transform::Matrix& X, const std::vector<int>& labels, int threads, Kernel kernel) {
  check_length(X, labels);
  Dense d = dense_labels(labels);
  if (!scorable(d, X.rows())) {
    throw ParamError("silhouette: needs 2 to n-1 distinct labels, got " + std::to_string(d.k));
  }
  return std::move(silhouette(X, std::vector<Dense>{std::move(d)}, threads, kernel).front());
}

double mean(const std::vector<double>& v) {
  double total = 0;
  for (double x : v) total += x;
  return total / static_cast<double>(v.size());
}

}  // namespace

std::vector<double> silhouette_samples(const transform::Matrix& X, const std::vector<int>& labels, int threads) {
  return silhouette(X, labels, threads, Kernel::kEuclidean);
}

std::vector<std::vector<double>> silhouette_samples(const transform::Matrix& X,
                                                    const std::vector<std::vector<int>>& labelings, int threads) {
  std::vector<Dense> valid;
  std::vector<size_t> where;
  for (size_t q = 0; q < labelings.size(); ++q) {
    check_length(X, labelings[q]);
    Dense d = dense_labels(labelings[q]);
    if (!scorable(d, X.rows())) continue;  // too few or too many clusters: no values
    valid.push_back(std::move(d));
    where.push_back(q);
  }
  std::vector<std::vector<double>> out(labelings.size());
  if (valid.empty()) return out;
  auto values = silhouette(X, valid, threads, Kernel::kEuclidean);
  for (size_t v = 0; v < where.size(); ++v) out[where[v]] = std::move(values[v]);
  return out;
}

double silhouette_score(const transform::Matrix& X, const std::vector<int>& labels, int threads) {
  return mean(silhouette_samples(X, labels, threads));
}

double silhouette_score_sampled(const transform::Matrix& X, const std::vector<int>& labels, size_t sample,
                                uint64_t seed, int threads) {
  const size_t n = labels.size();
  if (static_cast<Eigen::Index>(n) != X.rows()) {
    throw ParamError("silhouette: " + std::to_string(n) + " labels for " + std::to_string(X.rows()) + " rows");
  }
  if (n <= sample) return silhouette_score(X, labels, threads);
  const auto idx = seeded_sample(n, sample, seed);
  std::vector<int> l(sample);
  for (size_t i = 0; i < sample; ++i) l[i] = labels[idx[i]];
  return silhouette_score(X(idx, Eigen::all), l, threads);
}

SampledSilhouettes silhouettes_on_sample(const transform::Matrix& X, const std::vector<size_t>& candidates,
                                         const std::vector<std::vector<int>>& labelings, size_t sample, uint64_t seed,
                                         int threads) {
  SampledSilhouettes out;
  out.rows = candidates;
  if (candidates.size() > sample) {
    out.rows.clear();
    for (size_t i : seeded_sample(candidates.size(), sample, seed)) out.rows.push_back(candidates[i]);
  }
  for (const auto& labels : labelings) {
    std::vector<int> l(out.rows.size());
    for (size_t i = 0; i < out.rows.size(); ++i) l[i] = labels[out.rows[i]];
    out.labels.push_back(std::move(l));
  }
  out.values = silhouette_samples(X(out.rows, Eigen::all), out.labels, threads);
  return out;
}

std::vector<ClusterSilhouette> per_cluster(const std::vector<int>& labels, const std::vector<double>& values) {
  std::map<int, std::pair<double, size_t>> by;
  for (size_t i = 0; i < values.size(); ++i) by[labels[i]].first += values[i], ++by[labels[i]].second;
  std::vector<ClusterSilhouette> out;
  out.reserve(by.size());
  for (const auto& [c, v] : by) out.push_back({c, v.first / static_cast<double>(v.second), v.second});
  return out;
}

double silhouette_score_cosine(const transform::Matrix& X, const std::vector<int>& labels, int threads) {
  // As scikit-learn: rows scaled to unit length (zero rows stay zero), then
  // 1 - dot clipped to [0, 2]; 0 from a row to itself, 1 between two zero rows.
  transform::Matrix U = X;
  for (Eigen::Index i = 0; i < U.rows(); ++i) {
    const double norm = U.row(i).norm();
    if (norm > 0) U.row(i) /= norm;
  }
  return mean(silhouette(U, labels, threads, Kernel::kCosine));
}

}  // namespace darklens::evaluate
