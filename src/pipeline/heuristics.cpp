#include "heuristics.hpp"

#include <algorithm>
#include <limits>
#include <map>

#include "../core/rng.hpp"
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

Select select_of(const Args& a) {
  return a.choice("select", {"stable", "silhouette"}) == "stable" ? Select::kStable : Select::kSilhouette;
}

size_t size_floor(size_t rows) { return std::max<size_t>(5, (rows + 999) / 1000); }

std::vector<int> nearest_centre(const cluster::Matrix& Y, const cluster::Matrix& centres) {
  std::vector<int> out(static_cast<size_t>(Y.rows()));
  for (Eigen::Index i = 0; i < Y.rows(); ++i) {
    Eigen::Index best = 0;
    double best_d = std::numeric_limits<double>::infinity();
    for (Eigen::Index c = 0; c < centres.rows(); ++c) {
      const double d = (Y.row(i) - centres.row(c)).squaredNorm();
      if (d < best_d) best_d = d, best = c;
    }
    out[static_cast<size_t>(i)] = static_cast<int>(best);
  }
  return out;
}

std::vector<std::optional<double>> stabilities(const cluster::Matrix& Y, const std::vector<std::vector<int>>& labelings,
                                               uint64_t seed, const HalfFit& fit) {
  const auto n = static_cast<size_t>(Y.rows());
  std::vector<double> total(labelings.size(), 0.0);
  std::vector<bool> scored(labelings.size(), true);
  for (int round = 0; round < kStabilityRounds; ++round) {
    const std::vector<size_t> a =
        seeded_sample(n, n / 2, seed ^ (uint64_t{0x5eed} << 32) ^ static_cast<uint64_t>(round));
    std::vector<size_t> b;
    b.reserve(n - a.size());
    for (size_t i = 0, j = 0; i < n; ++i) {
      if (j < a.size() && a[j] == i) {
        ++j;
      } else {
        b.push_back(i);
      }
    }
    const cluster::Matrix A = Y(a, Eigen::all), B = Y(b, Eigen::all);
    const size_t id = 2 * static_cast<size_t>(round);
    for (size_t q = 0; q < labelings.size(); ++q) {
      if (!scored[q]) continue;
      for (const auto& [half, half_id] : {std::pair<const cluster::Matrix*, size_t>{&A, id}, {&B, id + 1}}) {
        const std::optional<cluster::Matrix> centres = fit(*half, half_id, q);
        if (!centres) {
          scored[q] = false;
          break;
        }
        total[q] += evaluate::adjusted_rand_index(labelings[q], nearest_centre(Y, *centres));
      }
    }
  }
  std::vector<std::optional<double>> out(labelings.size());
  for (size_t q = 0; q < labelings.size(); ++q) {
    if (scored[q]) out[q] = total[q] / (2 * kStabilityRounds);
  }
  return out;
}

namespace {

// Per candidate: the silhouette over every sampled row, and over the rows
// of clusters of at least `floor` rows (whole labeling's sizes), the other
// clusters still being neighbours.
struct Means {
  std::optional<double> all, large;
};
std::vector<Means> silhouette_means(const cluster::Matrix& Y, const std::vector<std::vector<int>>& labelings,
                                    size_t floor, uint64_t seed, int threads) {
  std::vector<size_t> rows(static_cast<size_t>(Y.rows()));
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  const auto sample = evaluate::silhouettes_on_sample(Y, rows, labelings, kSilhouetteSample, seed, threads);
  std::vector<Means> out(labelings.size());
  for (size_t q = 0; q < labelings.size(); ++q) {
    const auto& v = sample.values[q];
    if (v.empty()) continue;
    out[q].all = mean_of(v);
    std::map<int, size_t> size;
    for (int l : labelings[q]) ++size[l];
    std::vector<double> large;
    for (size_t i = 0; i < v.size(); ++i) {
      if (size[sample.labels[q][i]] >= floor) large.push_back(v[i]);
    }
    out[q].large = mean_of(large);
  }
  return out;
}

}  // namespace

std::optional<size_t> pick_candidate(const cluster::Matrix& Y, const std::vector<std::vector<int>>& labelings,
                                     const std::string& range, Select select, uint64_t seed, int threads,
                                     const HalfFit& half_fit, std::vector<Candidate>& candidates, Choice& why) {
  const auto rows = static_cast<size_t>(Y.rows());
  const size_t floor = size_floor(rows);
  for (size_t q = 0; q < candidates.size(); ++q) {
    std::map<int, size_t> size;
    for (int l : labelings[q]) ++size[l];
    size_t smallest = rows;
    int large = 0;
    for (const auto& [label, count] : size) smallest = std::min(smallest, count), large += count >= floor ? 1 : 0;
    candidates[q].smallest = smallest;
    if (select == Select::kStable) candidates[q].large_clusters = large;
  }
  const auto sil = silhouette_means(Y, labelings, floor, seed, threads);
  std::vector<std::optional<double>> stable;
  if (select == Select::kStable) stable = stabilities(Y, labelings, seed, half_fit);
  for (size_t i = 0; i < candidates.size(); ++i) {
    candidates[i].silhouette = sil[i].all;
    if (select == Select::kStable) {
      candidates[i].silhouette_large = *candidates[i].large_clusters >= 2 ? sil[i].large : std::nullopt;
      candidates[i].stability = stable[i];
    }
  }
  std::optional<size_t> best;
  const std::string sample_note =
      rows > kSilhouetteSample ? " (silhouettes on a seeded sample of " + std::to_string(kSilhouetteSample) + " rows)"
                               : std::string(" (exact silhouettes)");
  auto best_by = [&](auto&& score, auto&& eligible) {
    std::optional<size_t> b;
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (eligible(candidates[i]) && (!b || score(candidates[i]) > score(candidates[*b]))) b = i;
    }
    return b;
  };
  auto plain = [](const Candidate& c) { return *c.silhouette; };
  auto over_large = [](const Candidate& c) { return *c.silhouette_large; };
  auto has_plain = [](const Candidate& c) { return c.silhouette.has_value(); };
  auto has_large = [](const Candidate& c) { return c.silhouette_large.has_value(); };
  if (select == Select::kSilhouette) {
    why.rule = "best silhouette over " + range + sample_note;
    best = best_by(plain, has_plain);
  } else {
    why.size_floor = floor;
    why.rule = "best silhouette over clusters of at least " + std::to_string(floor) + " rows, among the candidates " +
               range + " at least as stable as the median one (stability: mean ARI against refits on " +
               std::to_string(2 * kStabilityRounds) + " random halves)" + sample_note;
    // The median stability of the candidates with two large clusters (the
    // upper one of an even count): the more stable half is eligible.
    std::vector<double> values;
    for (const auto& c : candidates) {
      if (c.silhouette_large && c.stability) values.push_back(*c.stability);
    }
    std::sort(values.begin(), values.end());
    if (!values.empty()) why.stability_median = values[values.size() / 2];
    best = best_by(over_large, [&](const Candidate& c) {
      return c.silhouette_large && c.stability && *c.stability >= *why.stability_median;
    });
    // Too few rows for the rule: say which part was dropped.
    if (!best && (best = best_by(over_large, has_large))) {
      why.note = "too few rows to refit halves: the best silhouette over large clusters was kept";
    }
    if (!best && (best = best_by(plain, has_plain))) {
      why.note = "no candidate gave two clusters of at least " + std::to_string(floor) +
                 " rows: the best silhouette over all clusters was kept";
    }
  }
  why.candidates = candidates;
  return best;
}

double choose_k(const cluster::Matrix& Y, const Stage& s, const KRange& r, Select select, uint64_t seed, int threads,
                Choice& why, const std::function<std::vector<int>(int, Candidate&)>& fit, const HalfFit& half_fit,
                const std::function<void(size_t)>& keep) {
  const int kmax = std::min<int>(r.kmax, static_cast<int>(Y.rows()) - 1);
  if (r.kmin > kmax) throw ParamError("pipeline stage '" + s.name + "': need kmin <= kmax < rows");
  std::vector<Candidate> candidates;
  std::vector<std::vector<int>> labelings;
  for (int k = r.kmin; k <= kmax; ++k) {
    Candidate& candidate = candidates.emplace_back();
    candidate.k = k;
    labelings.push_back(fit(k, candidate));
  }
  // A half of rows / 2 rows holds at most that many clusters.
  const HalfFit capped = [&](const cluster::Matrix& half, size_t half_id, size_t q) -> std::optional<cluster::Matrix> {
    if (static_cast<Eigen::Index>(candidates[q].k) > Y.rows() / 2) return std::nullopt;
    return half_fit(half, half_id, q);
  };
  const auto best = pick_candidate(Y, labelings, "k = " + std::to_string(r.kmin) + ".." + std::to_string(kmax), select,
                                   seed, threads, capped, candidates, why);
  if (!best) throw ParamError("pipeline stage '" + s.name + "': no k gave two or more clusters");
  keep(*best);
  const int best_k = r.kmin + static_cast<int>(*best);
  if (best_k == kmax && kmax < static_cast<int>(Y.rows()) - 1) {
    why.note = (why.note ? *why.note + "; " : std::string()) + "the best k is the largest tried; a larger kmax (e.g. " +
               s.name + ":k=auto,kmax=" + std::to_string(2 * kmax) + ") may fit better";
  }
  return *why.candidates[*best].silhouette;
}

}  // namespace darklens::pipeline::detail
