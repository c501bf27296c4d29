// Mean Shift (flat kernel) following scikit-learn 1.2's mean_shift step by
// step; radius queries on nanoflann's kd-tree over the distinct rows
// (identical rows weigh their count: same means, same intensities).
#include <algorithm>
#include <map>
#include <numeric>

#include "../core/parallel.hpp"
#include "../core/points.hpp"
#include "../core/rng.hpp"
#include "darklens/cluster/cluster.hpp"
#include "darklens/error.hpp"

namespace darklens::cluster {

double estimate_bandwidth(const Matrix& X, double quantile, size_t sample, uint64_t seed, int threads) {
  check_matrix(X, "meanshift");
  if (!(quantile > 0 && quantile <= 1)) throw ParamError("meanshift: quantile must be in (0, 1]");
  if (sample < 1) throw ParamError("meanshift: the bandwidth sample must hold at least one row");
  const size_t n = static_cast<size_t>(X.rows());
  const RowMatrix P = n <= sample ? RowMatrix(X) : RowMatrix(X(seeded_sample(n, sample, seed), Eigen::all));
  const size_t m = static_cast<size_t>(P.rows());
  const size_t q = std::max<size_t>(1, static_cast<size_t>(static_cast<double>(m) * quantile));
  std::vector<double> kth(m);
  parallel_for(
      m, threads,
      [&](size_t lo, size_t hi) {
        std::vector<double> d2(m);
        for (size_t i = lo; i < hi; ++i) {
          for (size_t j = 0; j < m; ++j)
            d2[j] = squared_distance(P.data() + i * P.cols(), P.data() + j * P.cols(), P.cols());
          std::nth_element(d2.begin(), d2.begin() + static_cast<std::ptrdiff_t>(q - 1), d2.end());
          kth[i] = std::sqrt(d2[q - 1]);
        }
      },
      16);
  double sum = 0;
  for (double v : kth) sum += v;
  return sum / static_cast<double>(m);
}

MeanShiftResult fit_meanshift(const Matrix& X, const MeanShiftParams& p) {
  check_matrix(X, "meanshift");
  if (!(p.bandwidth_ >= 0) || !std::isfinite(p.bandwidth_)) {
    throw ParamError("meanshift: bandwidth must be positive (or 0 to estimate it)");
  }
  if (p.max_iter_ < 1 || p.min_bin_freq_ < 1) throw ParamError("meanshift: max_iter and min_bin_freq must be positive");
  MeanShiftResult r;
  r.bandwidth_ =
      p.bandwidth_ > 0 ? p.bandwidth_ : estimate_bandwidth(X, p.quantile_, p.bandwidth_sample_, p.seed_, p.threads_);
  if (!(r.bandwidth_ > 0)) {
    throw ParamError("meanshift: the estimated bandwidth is 0 (most rows are identical); give bandwidth");
  }
  const double bw = r.bandwidth_;
  const Eigen::Index d = X.cols();
  const UniqueRows u = unique_rows(RowMatrix(X));
  PointCloud cloud{u.unique_};
  KdTree tree(static_cast<int>(d), cloud, nanoflann::KDTreeSingleIndexAdaptorParams(16));

  // Seeds: the distinct rows (identical rows move identically), or the bins.
  RowMatrix seeds;
  bool from_rows = true;
  if (p.bin_seeding_) {
    std::map<std::vector<double>, std::pair<size_t, uint64_t>> bins;  // cell -> (first seen, rows)
    std::vector<double> cell(static_cast<size_t>(d));
    for (Eigen::Index i = 0; i < X.rows(); ++i) {
      for (Eigen::Index t = 0; t < d; ++t) cell[t] = std::nearbyint(X(i, t) / bw);  // half to even, as numpy
      auto [it, fresh] = bins.try_emplace(cell, bins.size(), 0);
      ++it->second.second;
    }
    std::vector<std::pair<size_t, const std::vector<double>*>> kept;
    for (const auto& [c, v] : bins) {
      if (v.second >= static_cast<uint64_t>(p.min_bin_freq_)) kept.emplace_back(v.first, &c);
    }
    if (kept.size() != static_cast<size_t>(X.rows())) {  // else scikit-learn falls back to the rows
      from_rows = false;
      std::sort(kept.begin(), kept.end());
      seeds.resize(static_cast<Eigen::Index>(kept.size()), d);
      for (size_t s = 0; s < kept.size(); ++s) {
        for (Eigen::Index t = 0; t < d; ++t) {
          // scikit-learn keeps bin seeds in float32 and scales them there.
          seeds(static_cast<Eigen::Index>(s), t) =
              static_cast<double>(static_cast<float>((*kept[s].second)[t]) * static_cast<float>(bw));
        }
      }
    }
  }
  const RowMatrix& S = from_rows ? u.unique_ : seeds;
  const size_t ns = static_cast<size_t>(S.rows());
  r.seeds_ = from_rows ? static_cast<size_t>(X.rows()) : ns;

  RowMatrix final_mean(static_cast<Eigen::Index>(ns), d);
  std::vector<uint64_t> intensity(ns, 0);
  const double stop = 1e-3 * bw;
  parallel_for(
      ns, p.threads_,
      [&](size_t lo, size_t hi) {
        std::vector<uint32_t> nb;
        Eigen::RowVectorXd mean(d), old(d);
        for (size_t s = lo; s < hi; ++s) {
          mean = S.row(static_cast<Eigen::Index>(s));
          uint64_t count = 0;
          for (int it = 0;; ++it) {
            within(tree, mean.data(), bw, nb);
            count = 0;
            if (nb.empty()) break;
            old = mean;
            mean.setZero();
            for (uint32_t j : nb) {
              mean += static_cast<double>(u.weight_[j]) * u.unique_.row(j);
              count += u.weight_[j];
            }
            mean /= static_cast<double>(count);
            if ((mean - old).norm() < stop || it == p.max_iter_) break;
          }
          final_mean.row(static_cast<Eigen::Index>(s)) = mean;
          intensity[s] = count;
        }
      },
      16);

  // Converged means -> intensity (a later seed with the same mean overwrites).
  std::map<std::vector<double>, uint64_t> centres;
  for (size_t s = 0; s < ns; ++s) {
    if (intensity[s] == 0) continue;
    const double* m = final_mean.data() + static_cast<Eigen::Index>(s) * d;
    centres[std::vector<double>(m, m + d)] = intensity[s];
  }
  if (centres.empty()) {
    throw ParamError("meanshift: no seed has a row within bandwidth " + std::to_string(bw) + "; raise it");
  }
  std::vector<std::pair<uint64_t, const std::vector<double>*>> sorted;
  sorted.reserve(centres.size());
  for (const auto& [c, w] : centres) sorted.emplace_back(w, &c);
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first > b.first;
    return *a.second > *b.second;
  });
  RowMatrix C(static_cast<Eigen::Index>(sorted.size()), d);
  for (size_t i = 0; i < sorted.size(); ++i) {
    std::copy(sorted[i].second->begin(), sorted[i].second->end(), C.data() + static_cast<Eigen::Index>(i) * d);
  }
  std::vector<uint8_t> unique(sorted.size(), 1);
  {
    PointCloud ccloud{C};
    KdTree ctree(static_cast<int>(d), ccloud, nanoflann::KDTreeSingleIndexAdaptorParams(16));
    std::vector<uint32_t> nb;
    for (size_t i = 0; i < sorted.size(); ++i) {
      if (!unique[i]) continue;
      within(ctree, C.data() + static_cast<Eigen::Index>(i) * d, bw, nb);
      for (uint32_t j : nb) unique[j] = 0;
      unique[i] = 1;
    }
  }
  const Eigen::Index kept = std::count(unique.begin(), unique.end(), 1);
  r.centers_.resize(kept, d);
  for (size_t i = 0, c = 0; i < sorted.size(); ++i) {
    if (unique[i]) r.centers_.row(static_cast<Eigen::Index>(c++)) = C.row(static_cast<Eigen::Index>(i));
  }
  // Nearest centre of every distinct row.
  const RowMatrix RC = r.centers_;
  PointCloud rcloud{RC};
  KdTree rtree(static_cast<int>(d), rcloud, nanoflann::KDTreeSingleIndexAdaptorParams(16));
  std::vector<int> label(static_cast<size_t>(u.unique_.rows()));
  parallel_for(label.size(), p.threads_, [&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; ++i) {
      uint32_t arg = 0;
      double d2 = 0;
      nanoflann::KNNResultSet<double, uint32_t> res(1);
      res.init(&arg, &d2);
      rtree.findNeighbors(res, u.unique_.data() + static_cast<Eigen::Index>(i) * d, nanoflann::SearchParams());
      label[i] = (p.cluster_all_ || std::sqrt(d2) <= bw) ? static_cast<int>(arg) : kNoise;
    }
  });
  r.labels_.resize(static_cast<size_t>(X.rows()));
  for (size_t i = 0; i < r.labels_.size(); ++i) r.labels_[i] = label[u.group_of_[i]];
  return r;
}

}  // namespace darklens::cluster
