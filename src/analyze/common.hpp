// Helpers shared by analyze() and classify().
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "darklens/analyze/analyze.hpp"
#include "darklens/evaluate/evaluate.hpp"

namespace darklens::analyze::detail {

std::string now_utc();
std::string seconds_text(double s);
void say(const std::function<void(const std::string&)>& progress, const std::string& line);

nlohmann::json profiles_json(const std::vector<profile::ClusterProfile>& profiles);

/// The report's scatter plot: 2-D view of the embedding, seeded sample.
nlohmann::json projection(const cluster::Matrix& Y, const std::vector<int>& labels, size_t points, uint64_t seed);

/// Ground-truth class of every row (evaluate::kUnknown when none).
std::vector<int> truth_of(const features::FeatureTable& t, const ground_truth::GroundTruth& gt);

/// The report's kNN section (leave-one-out 1-NN in the embedding).
nlohmann::json knn_json(const evaluate::Classification& c);

/// (first window start, last window end) of a table.
std::pair<int64_t, int64_t> window_range(const features::FeatureTable& t, const features::WindowSpec& w);

}  // namespace darklens::analyze::detail
