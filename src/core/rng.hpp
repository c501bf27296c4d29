// A small deterministic generator with its own distributions, so synthetic
// data and seeded algorithms give the same results on every platform and
// standard library.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace darklens {

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (auto& w : s_) w = splitmix(seed);
  }
  uint64_t next() {  // xoshiro256**
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  /// Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Uniform integer in [lo, hi].
  uint64_t between(uint64_t lo, uint64_t hi) {
    return lo + static_cast<uint64_t>(uniform() * static_cast<double>(hi - lo + 1));
  }
  bool chance(double p) { return uniform() < p; }
  double normal() {  // Box-Muller
    double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  double lognormal(double median, double sigma) { return median * std::exp(sigma * normal()); }
  /// Discrete Pareto: floor(x) with x >= 1, P(x > t) = t^-alpha.
  uint64_t pareto(double alpha) { return static_cast<uint64_t>(std::pow(1.0 - uniform(), -1.0 / alpha)); }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t splitmix(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t s_[4];
};

/// `m` of the indices 0..n-1 drawn without replacement with Rng(seed)
/// (a partial Fisher-Yates shuffle), in increasing order. m <= n.
inline std::vector<size_t> seeded_sample(size_t n, size_t m, uint64_t seed) {
  Rng rng(seed);
  std::vector<size_t> idx(n);
  for (size_t i = 0; i < n; ++i) idx[i] = i;
  for (size_t i = 0; i < m; ++i) std::swap(idx[i], idx[i + rng.between(0, n - 1 - i)]);
  idx.resize(m);
  std::sort(idx.begin(), idx.end());
  return idx;
}

}  // namespace darklens
