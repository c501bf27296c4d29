// A clustering pipeline written as one spec string and parsed in one place
// (faiss' index_factory is the model): stages separated by '|', each
// `name[:args]` with args `key=value,...` or one positional value.
//
//   zscore|pca:3|kmeans:k=5
//   log1p|zscore|pca:variance=0.9|kmeans:k=auto,seed=7
//
// Transforms: zscore, minmax, robust, log1p; pca:N | pca:variance=F;
// som[:RxC][,topology=..,training=..]. Clusterers (last stage, and only
// it): kmeans, dbscan, meanshift, hac; each takes `auto` for its
// hyper-parameter heuristic. Every argument is in docs/cluster.md.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "darklens/cluster.hpp"
#include "darklens/features.hpp"

namespace darklens::pipeline {

struct Stage {
  std::string name;
  std::vector<std::pair<std::string, std::string>> args;  // positional: key ""
};

/// Throws ParamError naming the stage and what is wrong (unknown stage or
/// argument, a value that is not a number or not one of the choices).
std::vector<Stage> parse_spec(std::string_view spec);

struct Result {
  std::vector<int> labels_;       // 0..clusters-1, or cluster::kNoise
  cluster::Matrix centroids_;     // in the embedded space (DBSCAN, hac: member means)
  cluster::Matrix embedding_;
  nlohmann::json summary_;        // algorithm, chosen parameters and why, sizes, silhouette, timing
  nlohmann::json fitted_;         // the fitted transforms (re-applicable)
};

/// Runs the pipeline on a matrix (rows = sources). threads: 0 = all
/// cores; the result does not depend on it. X is taken by value: pass it
/// with std::move when it is no longer needed, and the scalers work in it.
Result run(cluster::Matrix X, std::string_view spec, int threads = 0);

/// Applies a run's fitted transforms (Result::fitted_, in order) to new
/// rows with the same columns: the embedding later windows are compared in.
/// Throws ParamError when the column count differs from the fit, FormatError
/// when `fitted` is not a list of saved transforms.
cluster::Matrix project(const cluster::Matrix& X, const nlohmann::json& fitted, int threads = 0);

/// The feature table's values as a matrix (rows = sources, same column order).
cluster::Matrix matrix_of(const features::FeatureTable& t);

/// A numeric table: a darklens feature table (.csv, .npy with its
/// .columns.txt / .rows.csv sidecars) or any numeric CSV with a header.
/// Columns named `source` and `window_start` are kept as row keys.
struct MatrixFile {
  cluster::Matrix X;
  std::vector<std::string> columns;
  std::vector<std::string> row_keys;  // "source,window_start", or the row number
};
/// Throws IoError / FormatError naming the file, line and column.
MatrixFile read_matrix(const std::string& path);

}  // namespace darklens::pipeline
