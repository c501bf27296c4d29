#include "heuristics.hpp"

#include "darklens/evaluate/evaluate.hpp"

namespace darklens::pipeline::detail {
namespace {

std::optional<double> mean_of(const std::vector<double>& v) {
  if (v.empty()) return std::nullopt;
  double total = 0;
  for (double x : v) total += x;
  return total / static_cast<double>(v.size());
}

}  // namespace

std::optional<double> silhouette(const cluster::Matrix& Y, const std::vector<int>& labels, uint64_t seed, int threads,
                                 std::optional<std::vector<ClusterSilhouette>>* per_cluster) {
  std::vector<size_t> kept;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] != cluster::kNoise) kept.push_back(i);
  }
  const auto sample = evaluate::silhouettes_on_sample(Y, kept, {labels}, kSilhouetteSample, seed, threads);
  const auto& s = sample.values[0];
  if (s.empty()) return std::nullopt;
  if (per_cluster) *per_cluster = evaluate::per_cluster(sample.labels[0], s);
  return mean_of(s);
}

std::string silhouette_rule(const KRange& r, size_t rows) {
  return "best silhouette over k = " + std::to_string(r.kmin) + ".." + std::to_string(r.kmax) +
         (rows > kSilhouetteSample
              ? " (silhouette on a seeded sample of " + std::to_string(kSilhouetteSample) + " rows)"
              : std::string(" (exact silhouette)"));
}

std::vector<std::optional<double>> silhouettes(const cluster::Matrix& Y, const std::vector<std::vector<int>>& labelings,
                                               uint64_t seed, int threads) {
  for (const auto& labels : labelings) {
    if (std::find(labels.begin(), labels.end(), cluster::kNoise) != labels.end()) {
      throw std::logic_error("silhouettes: a labeling with noise");
    }
  }
  std::vector<size_t> all(static_cast<size_t>(Y.rows()));
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  std::vector<std::optional<double>> out;
  for (const auto& v : evaluate::silhouettes_on_sample(Y, all, labelings, kSilhouetteSample, seed, threads).values) {
    out.push_back(mean_of(v));
  }
  return out;
}

}  // namespace darklens::pipeline::detail
