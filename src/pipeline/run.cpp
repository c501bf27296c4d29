// Running a parsed pipeline stage by stage, and re-applying its fitted
// transforms to later windows.
#include <chrono>

#include "darklens/core/memory.hpp"
#include "darklens/error.hpp"
#include "stages.hpp"

namespace darklens::pipeline {

void check_memory(uint64_t budget, uint64_t held, Eigen::Index rows, Eigen::Index cols) {
  const auto r = static_cast<uint64_t>(rows), c = static_cast<uint64_t>(cols);
  MemoryBudget{budget}.check(held + r * (c * sizeof(double) + 256),
                             "clustering " + std::to_string(r) + " rows x " + std::to_string(c) + " columns",
                             "raise it, or cluster fewer rows: --min-packets, shorter or fewer captures, a "
                             "narrower --prefix, --class or --filter");
}

Result run(cluster::Matrix X, std::string_view spec, int threads) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto stages = parse_spec(spec);
  Result r;
  const Eigen::Index rows = X.rows(), columns = X.cols();
  cluster::Matrix Y = std::move(X);  // transformed in place where a stage allows
  r.fitted_ = nlohmann::json::array();
  detail::Clustering c;
  for (const Stage& s : stages) {
    const detail::StageDef& def = *detail::find_stage(s.name);  // parse_spec checked every name
    if (def.kind == detail::StageKind::kTransform) {
      def.transform(s, Y, r, threads);
    } else {
      c = def.cluster(s, Y, threads);
    }
  }
  r.labels_ = std::move(c.labels);
  r.centroids_ = std::move(c.centroids);
  Summary& sum = r.summary_;
  sum.sizes.assign(static_cast<size_t>(c.clusters), 0);
  for (int l : r.labels_) l == cluster::kNoise ? ++sum.noise : ++sum.sizes[static_cast<size_t>(l)];
  sum.algorithm = std::move(c.algorithm);
  sum.parameters = std::move(c.parameters);
  sum.choice = std::move(c.choice);
  sum.inertia = c.inertia;
  sum.cores = c.cores;
  sum.pipeline = std::string(spec);
  sum.rows = rows;
  sum.columns = columns;
  sum.embedded_columns = Y.cols();
  sum.clusters = c.clusters;
  sum.silhouette = c.silhouette;
  sum.silhouette_per_cluster = std::move(c.silhouette_per_cluster);
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.embedding_ = std::move(Y);
  return r;
}

cluster::Matrix project(const cluster::Matrix& X, const nlohmann::json& fitted, int threads) {
  if (!fitted.is_array()) throw FormatError("fitted transforms: expected a JSON array");
  cluster::Matrix Y = X;
  for (const auto& t : fitted) {
    const std::string type = t.is_object() ? t.value("type", "") : "";
    if (type == "categories") {
      Y = detail::apply_categories(t, Y);
    } else if (type == "scaler") {
      transform::Scaler::from_json(t).apply_in_place(Y);
    } else if (type == "pca") {
      const auto pca = transform::Pca::from_json(t);
      if (pca.mean_.size() != Y.cols()) {
        throw ParamError("pca was fitted on " + std::to_string(pca.mean_.size()) + " columns, the rows have " +
                         std::to_string(Y.cols()));
      }
      Y = pca.transform(Y);
    } else if (type == "som") {
      const auto som = transform::Som::from_json(t);
      if (som.weights_.cols() != Y.cols()) {
        throw ParamError("som was fitted on " + std::to_string(som.weights_.cols()) + " columns, the rows have " +
                         std::to_string(Y.cols()));
      }
      Y = som.transform(Y, threads);
    } else {
      throw FormatError("fitted transforms: unknown transform type '" + type + "'");
    }
  }
  return Y;
}

}  // namespace darklens::pipeline
