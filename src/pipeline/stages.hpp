// The table of pipeline stages: one row per stage (name, kind, how its
// arguments are checked, how it runs). Adding a stage is one file with its
// check and run functions and one row in stages.cpp. Private to
// src/pipeline/.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "darklens/pipeline/pipeline.hpp"

namespace darklens::pipeline::detail {

enum class StageKind { kTransform, kClusterer };

/// A clusterer's outcome; run() adds the sizes, the shapes and the timing.
struct Clustering {
  std::vector<int> labels;
  cluster::Matrix centroids;
  int clusters = 0;
  std::optional<double> silhouette;
  std::optional<std::vector<ClusterSilhouette>> silhouette_per_cluster;
  std::string algorithm;
  std::vector<Parameter> parameters;
  Choice choice;
  std::optional<double> inertia;
  std::optional<size_t> cores;
};

struct StageDef {
  std::string_view name;
  StageKind kind;
  /// Parses the stage's arguments into its Params; throws ParamError.
  void (*check)(const Stage&);
  /// Transforms: work on Y (in place or replacing it), append the fitted
  /// transform to r.fitted_ and what they learnt to r.summary_.
  void (*transform)(const Stage&, cluster::Matrix& Y, Result& r, int threads);
  /// Clusterers.
  Clustering (*cluster)(const Stage&, const cluster::Matrix& Y, int threads);
};

/// Every stage, in the order errors and docs list them.
const std::vector<StageDef>& stage_table();
/// nullptr for an unknown name.
const StageDef* find_stage(std::string_view name);

// transforms.cpp
void check_scaler(const Stage& s);
void run_scaler(const Stage& s, cluster::Matrix& Y, Result& r, int threads);
void check_pca(const Stage& s);
void run_pca(const Stage& s, cluster::Matrix& Y, Result& r, int threads);
void check_som(const Stage& s);
void run_som(const Stage& s, cluster::Matrix& Y, Result& r, int threads);

// categories.cpp: a fitted category rule applied to rows (project()).
cluster::Matrix apply_categories(const nlohmann::json& code, const MatrixRef& X);

// clusterers.cpp
void check_kmeans(const Stage& s);
Clustering run_kmeans(const Stage& s, const cluster::Matrix& Y, int threads);
void check_dbscan(const Stage& s);
Clustering run_dbscan(const Stage& s, const cluster::Matrix& Y, int threads);
void check_meanshift(const Stage& s);
Clustering run_meanshift(const Stage& s, const cluster::Matrix& Y, int threads);
void check_hac(const Stage& s);
Clustering run_hac(const Stage& s, const cluster::Matrix& Y, int threads);

// leiden.cpp
void check_leiden(const Stage& s);
Clustering run_leiden(const Stage& s, const cluster::Matrix& Y, int threads);

}  // namespace darklens::pipeline::detail
