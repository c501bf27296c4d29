// The report's document, built from the pipeline's typed results: one
// function per kind of run (analysis_document, classification_document)
// and one per section. render_html (report.hpp) draws its JSON.
//
//   auto doc = darklens::report::analysis_document({...});  // analyze() does this
//   write_file("report.html", darklens::report::render_html(darklens::report::to_json(doc)));
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "darklens/evaluate/evaluate.hpp"
#include "darklens/features/features.hpp"
#include "darklens/pipeline/pipeline.hpp"
#include "darklens/profile/profile.hpp"

namespace darklens::report {

/// The document render_html draws (its keys are listed in report.hpp).
/// A null section is left out.
struct Document {
  std::string title, subtitle, generated_by;
  std::vector<std::pair<std::string, nlohmann::json>> numbers;  // the summary table, in order
  nlohmann::json profiles = nlohmann::json::array();            // profiles_section, possibly named
  nlohmann::json projection = nullptr;                          // projection_section
  nlohmann::json silhouette = nullptr;                          // silhouette per cluster...
  std::string silhouette_note;                                  // ...and on which rows
  nlohmann::json knn = nullptr;                                 // knn_section
  nlohmann::json agreement = nullptr;                           // agreement_section
  nlohmann::json series = nullptr;                              // lines over windows (classify)
  nlohmann::json choice = nullptr;                              // choice_section: how k was chosen (k=auto)
  nlohmann::json patterns = nullptr;                            // known patterns back/absent, new groups (classify)
  nlohmann::json som = nullptr;                                 // the SOM's maps (a som stage ran)
  std::optional<size_t> top;                                    // how many profiles are marked "top"
};
nlohmann::json to_json(const Document& d);

/// The profiles, largest first as given; with `top`, the first `top`
/// clusters (noise never) get "top": true, the others false.
nlohmann::json profiles_section(const std::vector<profile::ClusterProfile>& profiles,
                                std::optional<size_t> top = std::nullopt);

/// The scatter plot: a 2-D view of the embedding (its first two principal
/// components when it has more than two columns) of at most `points`
/// rows, a seeded sample, with each row's cluster and a note on the axes.
nlohmann::json projection_section(const Eigen::MatrixXd& Y, const std::vector<int>& labels, size_t points,
                                  uint64_t seed);

/// Leave-one-out 1-NN against the ground truth: classes, confusion, per
/// class precision/recall/F1, accuracy, macro F1, rows evaluated.
nlohmann::json knn_section(const evaluate::Classification& c);

/// How k=auto chose: the rule, the chosen k and, per candidate k, the
/// curves (silhouette; with select=stable also the silhouette over the
/// large clusters and the stability), as lines over k. Null when the
/// clusterer had no candidates (k given, dbscan, ...).
nlohmann::json choice_section(const pipeline::Summary& s);

/// The clusters against the ground truth: ARI, AMI, homogeneity, completeness.
nlohmann::json agreement_section(const evaluate::Agreement& a);

/// What an analysis report shows.
struct AnalysisFacts {
  const features::FeatureTable& table;
  const features::AggregateCounters& counters;
  const features::FeatureOptions& features;
  const std::string& pipeline;  // the spec as given
  const pipeline::Result& result;
  const std::vector<profile::ClusterProfile>& profiles;  // largest first
  const evaluate::ClusteringEvaluation& evaluation;
  size_t unexplained = 0;  // clusters no signature matched
  int64_t window_start_ns = 0, window_end_ns = 0;
  size_t top = 4;  // profiles summarised first
  size_t projection_points = 5000;
  uint64_t seed = 0;
};
/// The silhouette shown is the clusterer's own when it scored its final
/// labels (result.summary_.silhouette_per_cluster), else the evaluation's.
Document analysis_document(const AnalysisFacts& f);

/// What a classification report shows. `patterns` and `tracking` are the
/// documents classify.json carries; `profile_names` gives each profile's
/// "name" (and "pattern" / "new_group" ids) by index.
struct ClassificationFacts {
  int64_t model_id = 0;
  std::string model_window_start, model_pipeline;
  size_t sources = 0, known_rows = 0, new_sources = 0, new_groups = 0, back = 0, absent = 0;
  int64_t window_start_ns = 0;
  const nlohmann::json& tracking;
  const nlohmann::json& patterns;
  const nlohmann::json& series;
  const std::vector<profile::ClusterProfile>& profiles;
  const std::vector<nlohmann::json>& profile_names;  // merged into each profile's section
  const Eigen::MatrixXd& embedding;
  const std::vector<int>& labels;
  const evaluate::Classification* knn = nullptr;  // with ground truth
  size_t projection_points = 5000;
  uint64_t seed = 0;
};
Document classification_document(const ClassificationFacts& f);

}  // namespace darklens::report
