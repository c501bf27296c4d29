// Helpers shared by analyze() and classify().
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "darklens/analyze/analyze.hpp"

namespace darklens::analyze::detail {

std::string now_utc();
std::string seconds_text(double s);
void say(const std::function<void(const std::string&)>& progress, const std::string& line);

/// Profiles of the table's rows under `labels`, signatures matched.
std::vector<profile::ClusterProfile> profile_rows(const features::FeatureOptions& fo,
                                                  const std::vector<std::string>& captures,
                                                  const features::FeatureTable& t, const std::vector<int>& labels,
                                                  const ground_truth::GroundTruth* gt, const profile::Catalog* catalog);
nlohmann::json profiles_json(const std::vector<profile::ClusterProfile>& profiles);

/// The report's scatter plot: 2-D view of the embedding, seeded sample.
nlohmann::json projection(const cluster::Matrix& Y, const std::vector<int>& labels, size_t points, uint64_t seed);

/// Ground-truth class of every row (evaluate::kUnknown when none).
std::vector<int> truth_of(const features::FeatureTable& t, const ground_truth::GroundTruth& gt);

/// The report's kNN section (leave-one-out 1-NN in the embedding), or
/// nullopt with fewer than two labelled sources.
std::optional<nlohmann::json> knn_section(const cluster::Matrix& Y, const std::vector<int>& truth,
                                          const std::vector<std::string>& classes, int threads);

/// (first window start, last window end) of a table.
std::pair<int64_t, int64_t> window_range(const features::FeatureTable& t, const features::WindowSpec& w);

}  // namespace darklens::analyze::detail
