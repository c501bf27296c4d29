#include "heuristics.hpp"

#include <map>

#include "../core/rng.hpp"
#include "darklens/evaluate/evaluate.hpp"

namespace darklens::pipeline::detail {
namespace {

// Per-row silhouette values of labelings that all leave out the same rows
// (noise), on the `kept` rows or a seeded sample of kSilhouetteSample of
// them, and the sampled rows' labels. A labeling with fewer than 2
// clusters in the sample, or every row its own, gets no values.
struct SampleSilhouettes {
  std::vector<std::vector<int>> labels;
  std::vector<std::vector<double>> values;
};
SampleSilhouettes sample_silhouettes(const cluster::Matrix& Y, const std::vector<size_t>& kept,
                                     const std::vector<std::vector<int>>& labelings, uint64_t seed, int threads) {
  std::vector<size_t> rows = kept;
  if (kept.size() > kSilhouetteSample) {
    rows.clear();
    for (size_t i : seeded_sample(kept.size(), kSilhouetteSample, seed)) rows.push_back(kept[i]);
  }
  SampleSilhouettes out;
  for (const auto& labels : labelings) {
    std::vector<int> l(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) l[i] = labels[rows[i]];
    out.labels.push_back(std::move(l));
  }
  out.values = evaluate::silhouette_samples(rows_of(Y, rows), out.labels, threads);
  return out;
}

std::optional<double> mean_of(const std::vector<double>& v) {
  if (v.empty()) return std::nullopt;
  double total = 0;
  for (double x : v) total += x;
  return total / static_cast<double>(v.size());
}

}  // namespace

cluster::Matrix rows_of(const cluster::Matrix& Y, const std::vector<size_t>& rows) {
  cluster::Matrix S(static_cast<Eigen::Index>(rows.size()), Y.cols());
  for (size_t i = 0; i < rows.size(); ++i)
    S.row(static_cast<Eigen::Index>(i)) = Y.row(static_cast<Eigen::Index>(rows[i]));
  return S;
}

std::optional<double> silhouette(const cluster::Matrix& Y, const std::vector<int>& labels, uint64_t seed, int threads,
                                 std::optional<std::vector<ClusterSilhouette>>* per_cluster) {
  std::vector<size_t> kept;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] != cluster::kNoise) kept.push_back(i);
  }
  const auto sample = sample_silhouettes(Y, kept, {labels}, seed, threads);
  const auto& l = sample.labels[0];
  const auto& s = sample.values[0];
  if (s.empty()) return std::nullopt;
  if (per_cluster) {
    std::map<int, std::pair<double, size_t>> by;
    for (size_t i = 0; i < s.size(); ++i) by[l[i]].first += s[i], ++by[l[i]].second;
    per_cluster->emplace();
    for (const auto& [c, v] : by) (*per_cluster)->push_back({c, v.first / static_cast<double>(v.second), v.second});
  }
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
  for (const auto& v : sample_silhouettes(Y, all, labelings, seed, threads).values) out.push_back(mean_of(v));
  return out;
}

}  // namespace darklens::pipeline::detail
