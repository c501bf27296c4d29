// Radii of stored patterns and the nearest-pattern assignment of new rows.
#include <algorithm>
#include <cmath>

#include "../core/parallel.hpp"
#include "../core/quantile.hpp"
#include "darklens/error.hpp"
#include "darklens/patterns/patterns.hpp"

namespace darklens::patterns {

Pattern pattern_of(const cluster::Matrix& Y, const std::vector<Eigen::Index>& members, const cluster::Matrix& centroids,
                   Eigen::Index self, int cluster, const profile::ClusterProfile& prof) {
  Pattern p;
  p.cluster = cluster;
  p.centroid.resize(static_cast<size_t>(centroids.cols()));
  for (Eigen::Index j = 0; j < centroids.cols(); ++j) p.centroid[static_cast<size_t>(j)] = centroids(self, j);
  p.radius = radius_for(Y(members, Eigen::all), centroids, self);
  p.sources = prof.sources_;
  p.packets = prof.packets_;
  p.profile = profile::to_json(prof);
  return p;
}

double radius_for(const cluster::Matrix& members, const cluster::Matrix& centroids, Eigen::Index self) {
  const Eigen::RowVectorXd c = centroids.row(self);
  std::vector<double> d(static_cast<size_t>(members.rows()));
  for (Eigen::Index i = 0; i < members.rows(); ++i) d[static_cast<size_t>(i)] = (members.row(i) - c).norm();
  std::sort(d.begin(), d.end());
  double r = linear_quantile(d, 0.95);
  double nearest = INFINITY;
  for (Eigen::Index j = 0; j < centroids.rows(); ++j) {
    if (j != self) nearest = std::min(nearest, (centroids.row(j) - c).norm());
  }
  if (std::isfinite(nearest)) r = std::max(r, 0.25 * nearest);
  return std::max(r, 1e-9);
}

std::vector<int> assign(const cluster::Matrix& Y, const std::vector<Pattern>& known, int threads) {
  for (const auto& p : known) {
    if (static_cast<Eigen::Index>(p.centroid.size()) != Y.cols()) {
      throw ParamError("pattern " + std::to_string(p.id) + " has a " + std::to_string(p.centroid.size()) +
                       "-dimensional centroid; the rows are embedded in " + std::to_string(Y.cols()) + " dimensions");
    }
  }
  std::vector<int> out(static_cast<size_t>(Y.rows()), -1);
  parallel_for(
      static_cast<size_t>(Y.rows()), threads,
      [&](size_t lo, size_t hi) {
        for (size_t i = lo; i < hi; ++i) {
          double best = INFINITY;
          int who = -1;
          for (size_t k = 0; k < known.size(); ++k) {
            double d2 = 0;
            for (Eigen::Index j = 0; j < Y.cols(); ++j) {
              const double t = Y(static_cast<Eigen::Index>(i), j) - known[k].centroid[static_cast<size_t>(j)];
              d2 += t * t;
            }
            if (d2 < best) best = d2, who = static_cast<int>(k);
          }
          if (who >= 0 && std::sqrt(best) <= known[static_cast<size_t>(who)].radius) out[i] = who;
        }
      },
      256);
  return out;
}

}  // namespace darklens::patterns
