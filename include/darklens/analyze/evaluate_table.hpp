// evaluate_table(): a feature table (and a clustering of it) against ground
// truth, as `darklens evaluate --json` prints it and darklens.evaluate()
// returns it (docs/evaluate.md):
//
//   auto m = darklens::pipeline::read_matrix("day1.csv");
//   auto gt = darklens::ground_truth::load({"gt.csv"}, {});
//   auto doc = darklens::analyze::evaluate_table(m, "day1.csv", gt, nullptr, "", {});
//   doc["knn"]["accuracy"];
//
// Leave-one-out k-NN of the labelled rows in the scaled, encoded table;
// with clusters, their agreement with the ground truth (ARI, NMI, AMI, ...)
// and their internal quality (silhouette, Davies-Bouldin,
// Calinski-Harabasz).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "darklens/labels/ground_truth.hpp"
#include "darklens/pipeline/pipeline.hpp"

namespace darklens::analyze {

struct EvaluateOptions {
  std::string scale = "zscore";           // zscore, minmax, robust, log1p or none
  std::string metric = "euclidean";       // euclidean or cosine
  std::string categories = "indicators";  // docs/cluster.md
  int k = 1;                              // neighbours that vote
  size_t min_class = 1;                   // smaller ground-truth classes are left out of the scores
  std::optional<double> mirai;            // DarkVec's Mirai rule on fp_mirai (analyze::label_table)
  bool labelled_only = false;             // neighbours among labelled rows only
  bool include_unknown = false;           // also classify unlabelled rows, as "unknown"
  int threads = 0;                        // 0 = all cores; the result does not depend on it
  std::vector<std::string> gt_files;      // the ground truth's files, named in the document
};

/// `path` names the table in the document and in errors; `clusters` (one
/// label per row, or nullptr) is named by `clusters_path`. Throws
/// ParamError for a bad option, FormatError naming `path` when fewer than
/// two rows carry a label or a key is not an address.
nlohmann::json evaluate_table(const pipeline::MatrixFile& m, const std::string& path, ground_truth::GroundTruth& gt,
                              const std::vector<int>* clusters, const std::string& clusters_path,
                              const EvaluateOptions& options);

}  // namespace darklens::analyze
