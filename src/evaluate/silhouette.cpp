// Exact silhouette: every pairwise distance, row by row, summed per
// cluster. O(n^2 d) time, O(k) extra memory. (Blocked and parallel
// versions are for the evaluation benchmark, issue 6.)
#include <algorithm>
#include <cmath>
#include <map>

#include "darklens/error.hpp"
#include "darklens/evaluate.hpp"

namespace darklens::evaluate {

double silhouette_score(const transform::Matrix& X, const std::vector<int>& labels) {
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
  std::vector<int> c(n);
  std::vector<double> size(k, 0);
  for (Eigen::Index i = 0; i < n; ++i) c[i] = dense[labels[i]], ++size[c[i]];

  // Row-major copy: one row's coordinates are contiguous.
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> R = X;
  const Eigen::Index d = X.cols();
  double total = 0;
  std::vector<double> sums(k);
  for (Eigen::Index i = 0; i < n; ++i) {
    std::fill(sums.begin(), sums.end(), 0.0);
    const double* xi = R.data() + i * d;
    for (Eigen::Index j = 0; j < n; ++j) {
      const double* xj = R.data() + j * d;
      double s = 0;
      for (Eigen::Index t = 0; t < d; ++t) {
        const double diff = xi[t] - xj[t];
        s += diff * diff;
      }
      sums[c[j]] += std::sqrt(s);
    }
    if (size[c[i]] <= 1) continue;  // alone in its cluster: 0
    const double a = sums[c[i]] / (size[c[i]] - 1);
    double b = std::numeric_limits<double>::infinity();
    for (int q = 0; q < k; ++q) {
      if (q != c[i]) b = std::min(b, sums[q] / size[q]);
    }
    const double m = std::max(a, b);
    total += m > 0 ? (b - a) / m : 0.0;
  }
  return total / static_cast<double>(n);
}

}  // namespace darklens::evaluate
