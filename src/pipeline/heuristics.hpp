// The silhouette on a seeded sample and the "best silhouette over k"
// heuristic shared by kmeans:k=auto and hac:k=auto. Private to
// src/pipeline/.
#pragma once

#include <functional>
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

/// How k=auto chooses (the stages' `select` argument).
enum class Select {
  kSilhouette,  // the best silhouette
  kStable,      // the best silhouette among the more stable half of the candidates, small clusters left out
};
Select select_of(const Args& a);

/// select=stable: a cluster of fewer rows than this (of the rows the
/// candidates are fitted on) does not count: max(5, rows / 1000, rounded up).
size_t size_floor(size_t rows);
/// select=stable: resampling rounds (two halves each) per k.
inline constexpr int kStabilityRounds = 3;
/// Centres of the clusters of candidate `candidate`'s settings fitted on
/// `half` (rows of Y); `half_id` names the half (the same rows for the same
/// id), so a fit done once per half (a dendrogram, a graph) can be reused
/// for every candidate. None: this candidate cannot be refitted on so few
/// rows.
using HalfFit =
    std::function<std::optional<cluster::Matrix>(const cluster::Matrix& half, size_t half_id, size_t candidate)>;

/// Stability of each candidate labeling, after Hennig's clusterboot with
/// halves for bootstrap samples: kStabilityRounds times the rows are split
/// at random (seeded) into two halves, each half is clustered again by fit,
/// every row is given to its nearest centre of that fit, and the labeling
/// so made is compared with the candidate's by the adjusted Rand index; the
/// mean of the 2 x kStabilityRounds values. 1 = half the data gives the
/// same partition; near 0 = chance. None where fit gave none.
std::vector<std::optional<double>> stabilities(const cluster::Matrix& Y, const std::vector<std::vector<int>>& labelings,
                                               uint64_t seed, const HalfFit& fit);

/// The choice among candidate labelings of Y (`candidates[q]` describes
/// `labelings[q]`; `range` names them in the rule, e.g. "k = 2..20"): fills
/// each candidate's smallest cluster and silhouette and, with
/// select=stable, its large clusters, silhouette over them and stability;
/// records the rule, floor, median and candidates in `why`. select=silhouette:
/// the best silhouette. select=stable: the best silhouette over the
/// clusters of at least size_floor() rows among the candidates with two
/// such clusters at least as stable as their median (on too few rows for
/// either, the best that can be scored, with a note). None when no
/// candidate has two clusters.
std::optional<size_t> pick_candidate(const cluster::Matrix& Y, const std::vector<std::vector<int>>& labelings,
                                     const std::string& range, Select select, uint64_t seed, int threads,
                                     const HalfFit& half_fit, std::vector<Candidate>& candidates, Choice& why);

/// Each row's nearest centre (the lowest index on ties).
std::vector<int> nearest_centre(const cluster::Matrix& Y, const cluster::Matrix& centres);

/// The k heuristic of kmeans and hac: every k in kmin..kmax (at most
/// rows - 1); fit(k, candidate) clusters and returns the labels (no noise),
/// adding what it reports to `candidate`; then pick_candidate chooses
/// (half_fit's candidate index q is k = kmin + q; k above half the rows is
/// not refitted). keep(i) is called with the index (from kmin) of the
/// chosen one. Returns the chosen candidate's silhouette.
double choose_k(const cluster::Matrix& Y, const Stage& s, const KRange& r, Select select, uint64_t seed, int threads,
                Choice& why, const std::function<std::vector<int>(int, Candidate&)>& fit, const HalfFit& half_fit,
                const std::function<void(size_t)>& keep);

}  // namespace darklens::pipeline::detail
