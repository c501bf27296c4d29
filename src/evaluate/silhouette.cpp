// Exact silhouette: every pairwise distance, summed per cluster, over the
// distinct (row, label) pairs weighted by their copies (copies are at
// distance 0 and share their sums, so this is exact), rows in parallel.
// O(m^2 d) time for m distinct pairs, O(k + block) extra memory per thread.
#include <algorithm>
#include <cmath>
#include <map>

#include "../cluster/points.hpp"
#include "../core/parallel.hpp"
#include "../core/rng.hpp"
#include "darklens/error.hpp"
#include "darklens/evaluate.hpp"

namespace darklens::evaluate {
namespace {

enum class Kernel { kEuclidean, kCosine };

// The inner loops, apart and with restrict, so that they vectorise; an
// AVX2 clone is picked at run time where the CPU has it (no FMA: the same
// roundings, so the same values on every machine).
#define DARKLENS_CLONES __attribute__((target_clones("avx2", "default")))
DARKLENS_CLONES void add_squared_differences(double* __restrict a, const double* __restrict col, double v, Eigen::Index len) {
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

// Per-row silhouette values. Distances from one row to a block of others
// are computed a dimension at a time over contiguous columns (so the
// compiler vectorises them), each sum in the same order as a row-by-row
// loop: the values are those of the plain definition, bit for bit.
// Cosine: rows already unit length.
std::vector<double> silhouette(const transform::Matrix& X, const std::vector<int>& labels, int threads, Kernel kernel) {
  const Eigen::Index n = X.rows();
  if (static_cast<Eigen::Index>(labels.size()) != n) {
    throw ParamError("silhouette: " + std::to_string(labels.size()) + " labels for " +
                     std::to_string(n) + " rows");
  }
  // Labels -> dense 0..k-1.
  std::map<int, int> dense;
  for (int l : labels) dense.emplace(l, 0);
  const int k = static_cast<int>(dense.size());
  if (k < 2 || k > n - 1) {
    throw ParamError("silhouette: needs 2 to n-1 distinct labels, got " + std::to_string(k));
  }
  int next = 0;
  for (auto& [l, d] : dense) d = next++;
  const Eigen::Index d = X.cols();
  // Rows with their label as one more column: identical pairs group.
  cluster::RowMatrix R(n, d + 1);
  R.leftCols(d) = X;
  std::vector<double> size(static_cast<size_t>(k), 0);
  for (Eigen::Index i = 0; i < n; ++i) {
    const int c = dense[labels[static_cast<size_t>(i)]];
    R(i, d) = c;
    ++size[static_cast<size_t>(c)];
  }
  const cluster::UniqueRows u = cluster::unique_rows(R);
  const Eigen::Index m = u.unique_.rows();
  const transform::Matrix P = u.unique_.leftCols(d);  // column-major: one dimension contiguous
  std::vector<int> label(static_cast<size_t>(m));
  for (Eigen::Index j = 0; j < m; ++j) label[static_cast<size_t>(j)] = static_cast<int>(u.unique_(j, d));
  std::vector<double> s(static_cast<size_t>(m), 0.0);
  constexpr Eigen::Index kBlock = 512;
  parallel_for(
      static_cast<size_t>(m), threads,
      [&](size_t lo, size_t hi) {
        std::vector<double> sums(static_cast<size_t>(k));
        std::vector<double> acc(static_cast<size_t>(kBlock));
        std::vector<double> xi(static_cast<size_t>(d));
        for (size_t i = lo; i < hi; ++i) {
          std::fill(sums.begin(), sums.end(), 0.0);
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
            for (Eigen::Index j = 0; j < len; ++j) {
              const size_t jj = static_cast<size_t>(j0 + j);
              // A row is at 0 from itself; its copies at dist(x, x) (cosine: 1 for a zero row).
              const double w = jj == i ? u.weight_[jj] - 1.0 : u.weight_[jj];
              if (w <= 0) continue;
              sums[static_cast<size_t>(label[jj])] += w * a[j];
            }
          }
          const auto ci = static_cast<size_t>(label[i]);
          if (size[ci] <= 1) continue;  // alone in its cluster: 0
          const double a = sums[ci] / (size[ci] - 1);
          double b = std::numeric_limits<double>::infinity();
          for (size_t q = 0; q < static_cast<size_t>(k); ++q) {
            if (q != ci) b = std::min(b, sums[q] / size[q]);
          }
          const double mx = std::max(a, b);
          s[i] = mx > 0 ? (b - a) / mx : 0.0;
        }
      },
      16);
  std::vector<double> per_row(static_cast<size_t>(n));
  for (size_t i = 0; i < per_row.size(); ++i) per_row[i] = s[u.group_of_[i]];
  return per_row;
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
  transform::Matrix S(static_cast<Eigen::Index>(sample), X.cols());
  std::vector<int> l(sample);
  for (size_t i = 0; i < sample; ++i) {
    S.row(static_cast<Eigen::Index>(i)) = X.row(static_cast<Eigen::Index>(idx[i]));
    l[i] = labels[idx[i]];
  }
  return silhouette_score(S, l, threads);
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
