// One quantile rule for the whole library: numpy.percentile's default
// ("linear"): the value at position q (n - 1) of the sorted values,
// interpolated between its two neighbours.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

namespace darklens {

/// `sorted` ascending; 0 <= q <= 1. An empty vector gives 0.
template <typename T>
double linear_quantile(const std::vector<T>& sorted, double q) {
  if (sorted.empty()) return 0;
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double a = static_cast<double>(sorted[lo]), b = static_cast<double>(sorted[hi]);
  return a + (pos - static_cast<double>(lo)) * (b - a);
}

}  // namespace darklens
