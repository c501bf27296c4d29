// Clustering of an embedding (rows = sources). Each algorithm: a params
// struct with documented defaults and an explicit seed, and fit()
// returning a result. Same input + same seed = same output.
//
//   darklens::cluster::KMeansParams p;  p.k_ = 5;  p.seed_ = 1;
//   auto r = darklens::cluster::fit_kmeans(Y, p);   // r.labels_, r.centroids_, r.inertia_
#pragma once

#include <cstdint>
#include <vector>

#include "darklens/transform.hpp"

namespace darklens::cluster {

using transform::Matrix;

/// The label of points that belong to no cluster (DBSCAN noise).
inline constexpr int kNoise = -1;

/// k-means as scikit-learn 1.2's KMeans (algorithm "lloyd"): greedy
/// k-means++ seeding with 2 + floor(ln k) candidates per center, Lloyd
/// iterations until the centers move less than tol times the mean feature
/// variance (squared), best inertia of n_init runs.
struct KMeansParams {
  int k_ = 8;
  int n_init_ = 10;
  int max_iter_ = 300;
  double tol_ = 1e-4;
  uint64_t seed_ = 0;
};

struct KMeansResult {
  std::vector<int> labels_;  // 0..k-1 per row
  Matrix centroids_;         // k x d
  double inertia_ = 0;       // sum of squared distances to the own center
  int iterations_ = 0;       // of the best run
};

/// Throws ParamError when k is not in 1..rows, or on NaN/infinite values.
KMeansResult fit_kmeans(const Matrix& X, const KMeansParams& params);

}  // namespace darklens::cluster
