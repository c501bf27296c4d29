// The run summary as a JSON document (summary.json, the report, the
// pattern database): made here only, at the edge.
#include "darklens/pipeline/pipeline.hpp"

namespace darklens::pipeline {
namespace {

nlohmann::json grid(const cluster::Matrix& M) {
  nlohmann::json rows = nlohmann::json::array();
  for (Eigen::Index i = 0; i < M.rows(); ++i) {
    std::vector<double> row(static_cast<size_t>(M.cols()));
    for (Eigen::Index j = 0; j < M.cols(); ++j) row[static_cast<size_t>(j)] = M(i, j);
    rows.push_back(row);
  }
  return rows;
}

nlohmann::json or_null(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

}  // namespace

nlohmann::json to_json(const std::vector<ClusterSilhouette>& per_cluster) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& c : per_cluster) a.push_back({{"cluster", c.cluster}, {"value", c.value}, {"rows", c.rows}});
  return a;
}

nlohmann::json to_json(const Summary& s) {
  nlohmann::json j;
  j["algorithm"] = s.algorithm;
  nlohmann::json& parameters = j["parameters"] = nlohmann::json::object();
  for (const auto& p : s.parameters) {
    std::visit([&](const auto& v) { parameters[p.name] = v; }, p.value);
  }
  nlohmann::json& why = j["choice"] = {{"rule", s.choice.rule}};
  if (s.choice.note) why["note"] = *s.choice.note;
  if (s.choice.size_floor) why["size_floor"] = *s.choice.size_floor;
  if (s.choice.stability_median) why["stability_median"] = *s.choice.stability_median;
  for (const auto& c : s.choice.candidates) {
    nlohmann::json candidate = {{"k", c.k}, {"silhouette", or_null(c.silhouette)}};
    if (c.silhouette_large || c.large_clusters) candidate["silhouette_large"] = or_null(c.silhouette_large);
    if (c.resolution) candidate["resolution"] = *c.resolution;
    if (c.stability) candidate["stability"] = *c.stability;
    if (c.smallest) candidate["smallest"] = *c.smallest;
    if (c.large_clusters) candidate["large_clusters"] = *c.large_clusters;
    if (c.inertia) candidate["inertia"] = *c.inertia;
    if (c.next_merge_height) candidate["next_merge_height"] = *c.next_merge_height;
    why["candidates"].push_back(std::move(candidate));
  }
  if (s.choice.knee_rank) {
    nlohmann::json curve = nlohmann::json::array();
    for (const auto& [rank, distance] : s.choice.k_distance) curve.push_back({{"rank", rank}, {"distance", distance}});
    why["k_distance_curve"] = std::move(curve);
    why["knee_rank"] = *s.choice.knee_rank;
  }
  if (s.inertia) j["inertia"] = *s.inertia;
  if (s.cores) j["cores"] = *s.cores;
  if (!s.notes.empty()) j["notes"] = s.notes;
  if (s.som) {
    j["som"] = {{"rows", s.som->rows},
                {"cols", s.som->cols},
                {"topology", s.som->topology},
                {"quantization_error", s.som->quantization_error},
                {"topographic_error", s.som->topographic_error},
                {"u_matrix", grid(s.som->u_matrix)},
                {"hit_map", grid(s.som->hit_map)}};
  }
  if (s.categories) {
    nlohmann::json cols = nlohmann::json::array();
    for (const auto& c : s.categories->columns) {
      cols.push_back({{"name", c.name}, {"kind", c.kind}, {"indicators", c.values}, {"rows_covered", c.rows_covered}});
    }
    j["categories"] = {{"rule", s.categories->rule},
                       {"min_share", s.categories->min_share},
                       {"columns", std::move(cols)},
                       {"columns_out", s.categories->columns_out}};
  }
  j["pipeline"] = s.pipeline;
  j["rows"] = s.rows;
  j["columns"] = s.columns;
  j["embedded_columns"] = s.embedded_columns;
  j["clusters"] = s.clusters;
  j["sizes"] = s.sizes;
  j["noise"] = s.noise;
  j["silhouette"] = or_null(s.silhouette);
  if (s.silhouette_per_cluster) j["silhouette_per_cluster"] = to_json(*s.silhouette_per_cluster);
  j["seconds"] = s.seconds;
  return j;
}

}  // namespace darklens::pipeline
