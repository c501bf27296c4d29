// The silhouette on a seeded sample and the "best silhouette over k"
// heuristic shared by kmeans:k=auto and hac:k=auto. Private to
// src/pipeline/.
#pragma once

#include <optional>
#include <vector>

#include "args.hpp"
#include "darklens/pipeline/pipeline.hpp"

namespace darklens::pipeline::detail {

/// Silhouettes are exact up to this many rows, else on a seeded sample of it.
inline constexpr size_t kSilhouetteSample = 5000;

/// Silhouette of a clustering without its noise rows: exact up to
/// kSilhouetteSample rows, else on a seeded sample of that many
/// (silhouette_score_sampled's value). With per_cluster, also each
/// cluster's mean over those rows. nullopt when fewer than 2 clusters
/// remain or every row is its own cluster.
std::optional<double> silhouette(const cluster::Matrix& Y, const std::vector<int>& labels, uint64_t seed, int threads,
                                 std::optional<std::vector<ClusterSilhouette>>* per_cluster = nullptr);

/// The silhouettes of several labelings without noise (the k candidates),
/// on one sample: silhouette()'s values for each, each distance computed once.
std::vector<std::optional<double>> silhouettes(const cluster::Matrix& Y, const std::vector<std::vector<int>>& labelings,
                                               uint64_t seed, int threads);

std::string silhouette_rule(const KRange& r, size_t rows);

/// The k heuristic of kmeans and hac: every k in kmin..kmax (at most
/// rows - 1); fit(k, candidate) clusters and returns the labels (no noise),
/// adding what it reports to `candidate`; then every candidate's silhouette
/// is taken on one sample, and keep(i) is called with the index (from kmin)
/// of the best. Records the rule and candidates in `why`; returns the best
/// silhouette.
template <typename Fit, typename Keep>
double best_silhouette_k(const cluster::Matrix& Y, const Stage& s, const KRange& r, uint64_t seed, int threads,
                         Choice& why, Fit&& fit, Keep&& keep) {
  const int kmax = std::min<int>(r.kmax, static_cast<int>(Y.rows()) - 1);
  if (r.kmin > kmax) throw ParamError("pipeline stage '" + s.name + "': need kmin <= kmax < rows");
  why.rule = silhouette_rule({true, 0, r.kmin, kmax}, static_cast<size_t>(Y.rows()));
  std::vector<Candidate> candidates;
  std::vector<std::vector<int>> labelings;
  for (int k = r.kmin; k <= kmax; ++k) {
    Candidate& candidate = candidates.emplace_back();
    candidate.k = k;
    labelings.push_back(fit(k, candidate));
  }
  const auto sil = silhouettes(Y, labelings, seed, threads);
  std::optional<double> best;
  size_t best_i = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    candidates[i].silhouette = sil[i];
    why.candidates.push_back(candidates[i]);
    if (sil[i] && (!best || *sil[i] > *best)) best = sil[i], best_i = i;
  }
  if (!best) throw ParamError("pipeline stage '" + s.name + "': no k gave two or more clusters");
  keep(best_i);
  const int best_k = r.kmin + static_cast<int>(best_i);
  if (best_k == kmax && kmax < static_cast<int>(Y.rows()) - 1) {
    why.note = "the best k is the largest tried; a larger kmax (e.g. " + s.name +
               ":k=auto,kmax=" + std::to_string(2 * kmax) + ") may fit better";
  }
  return *best;
}

}  // namespace darklens::pipeline::detail
