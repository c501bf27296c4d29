#include "stages.hpp"

namespace darklens::pipeline::detail {

const std::vector<StageDef>& stage_table() {
  using enum StageKind;
  static const std::vector<StageDef> table = {
      {"zscore", kTransform, check_scaler, run_scaler, nullptr},
      {"minmax", kTransform, check_scaler, run_scaler, nullptr},
      {"robust", kTransform, check_scaler, run_scaler, nullptr},
      {"log1p", kTransform, check_scaler, run_scaler, nullptr},
      {"pca", kTransform, check_pca, run_pca, nullptr},
      {"som", kTransform, check_som, run_som, nullptr},
      {"kmeans", kClusterer, check_kmeans, nullptr, run_kmeans},
      {"dbscan", kClusterer, check_dbscan, nullptr, run_dbscan},
      {"meanshift", kClusterer, check_meanshift, nullptr, run_meanshift},
      {"hac", kClusterer, check_hac, nullptr, run_hac},
      {"leiden", kClusterer, check_leiden, nullptr, run_leiden},
  };
  return table;
}

const StageDef* find_stage(std::string_view name) {
  for (const auto& d : stage_table()) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

}  // namespace darklens::pipeline::detail
