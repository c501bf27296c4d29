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

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "darklens/cluster/cluster.hpp"
#include "darklens/evaluate/evaluate.hpp"
#include "darklens/features/features.hpp"

namespace darklens::pipeline {

/// The one default pipeline of `analyze`, `cluster` and `track` (a model
/// keeps its own for `classify`), chosen by measurement on planted and
/// telescope-shaped synthetic days (docs/analyze.md, "The default
/// pipeline"): counts are heavy-tailed (log1p), standardised, 20 principal
/// components, k-means with k chosen over 2..20 by silhouette among the
/// more stable half of the candidates (docs/cluster.md, "Choosing k").
inline constexpr const char* kDefaultPipeline = "log1p|zscore|pca:20|kmeans:k=auto,kmax=20";

struct Stage {
  std::string name;
  std::vector<std::pair<std::string, std::string>> args;  // positional: key ""
};

/// Throws ParamError naming the stage and what is wrong (unknown stage or
/// argument, a value that is not a number or not one of the choices).
std::vector<Stage> parse_spec(std::string_view spec);

/// One parameter of the clusterer as chosen (a number, a flag or a name).
struct Parameter {
  std::string name;
  std::variant<bool, int64_t, uint64_t, double, std::string> value;
};

/// A candidate of a k heuristic (kmeans:k=auto, hac:k=auto), with the
/// diagnostic its algorithm reports beside the silhouette.
struct Candidate {
  int k = 0;                                // clusters (kmeans, hac: the k tried)
  std::optional<double> resolution;         // leiden:resolution=auto: the resolution tried
  std::optional<double> silhouette;         // none: fewer than 2 clusters in the sample
  std::optional<double> silhouette_large;   // select=stable: over the clusters of at least the size floor
  std::optional<double> stability;          // select=stable: mean ARI of the resampled fits
  std::optional<size_t> smallest;           // rows of its smallest cluster (in the rows it was fitted on)
  std::optional<int> large_clusters;        // select=stable: clusters of at least the size floor
  std::optional<double> inertia;            // kmeans: the elbow diagnostic
  std::optional<double> next_merge_height;  // hac: height of the first merge not applied
};

/// How the clusterer's hyper-parameter was chosen, with the evidence.
struct Choice {
  std::string rule;                                   // "k given", "best silhouette over k = 2..10 ...", ...
  std::optional<std::string> note;                    // a hint (e.g. the best k is the largest tried)
  std::vector<Candidate> candidates;                  // k heuristics
  std::optional<size_t> size_floor;                   // select=stable: the smallest cluster that counts
  std::optional<double> stability_median;             // select=stable: eligible candidates are at least this stable
  std::vector<std::pair<size_t, double>> k_distance;  // dbscan eps=auto: (rank, distance) at 201 quantiles
  std::optional<size_t> knee_rank;                    // dbscan eps=auto
};

/// Silhouette of one cluster, on the rows the choice was scored on.
using evaluate::ClusterSilhouette;

/// What a som stage learnt (a map a person can look at).
struct SomSummary {
  int rows = 0, cols = 0;
  std::string topology;  // "rectangular" | "hexagonal"
  double quantization_error = 0, topographic_error = 0;
  cluster::Matrix u_matrix, hit_map;
};

/// Rows read without a copy: a matrix, or a feature table's values in
/// place (table_values()).
using MatrixRef = Eigen::Ref<const cluster::Matrix>;

/// How category and address columns (features::ColumnKind) enter the
/// distances (docs/cluster.md, "Column kinds"):
/// - indicators: a value held by at least `min_share` of the rows (and by
///   two rows at least), at most kMaxIndicators per column, most rows
///   first, becomes a 0/1 column `<name>=<value>`; the column itself and
///   its rarer values drop out;
/// - drop: category and address columns are left out;
/// - numbers: they are used as numbers, as any other column.
enum class Categories : uint8_t { kIndicators, kDrop, kNumbers };
inline constexpr size_t kMaxIndicators = 32;
/// "indicators" | "drop" | "numbers"; throws ParamError.
Categories parse_categories(std::string_view text);
std::string_view categories_name(Categories c);

/// A table's columns as the pipeline reads them: their names and kinds.
struct Columns {
  std::vector<std::string> names;
  std::vector<features::ColumnKind> kinds;
  Categories categories = Categories::kIndicators;
  double min_share = 0.01;
  /// Memory budget in bytes (0: none) and bytes the caller already holds:
  /// encoding refuses (ResourceError) before it writes the indicator
  /// columns when the rows before and after would not fit.
  uint64_t max_memory = 0, held = 0;
};
/// The columns of a feature table (names, kinds).
Columns columns_of(const features::FeatureTable& t, Categories categories = Categories::kIndicators);
/// Columns of these names, each of the kind features::column_kind gives.
Columns columns_named(const std::vector<std::string>& names, Categories categories = Categories::kIndicators);

/// What the category rule did to one column.
struct CategoryColumn {
  std::string name;
  std::string kind;            // "category" | "address"
  std::vector<double> values;  // those that became indicators, ascending
  size_t rows_covered = 0;     // rows holding one of them
};
struct CategorySummary {
  std::string rule;  // categories_name
  double min_share = 0;
  std::vector<CategoryColumn> columns;
  int64_t columns_out = 0;  // columns after the rule
};

/// What a run did and why: a typed value; to_json() makes the document
/// `summary.json` and the report carry.
struct Summary {
  std::string pipeline;
  int64_t rows = 0, columns = 0, embedded_columns = 0;
  std::string algorithm;  // kmeans, dbscan, meanshift, hac
  std::vector<Parameter> parameters;
  Choice choice;
  int clusters = 0;
  std::vector<size_t> sizes;  // members of each cluster
  size_t noise = 0;
  std::optional<double> silhouette;  // the one the choice was made on, noise left out
  std::optional<std::vector<ClusterSilhouette>> silhouette_per_cluster;  // when computed for the final labels
  std::optional<double> inertia;                                         // kmeans
  std::optional<size_t> cores;                                           // dbscan
  std::optional<SomSummary> som;
  std::optional<CategorySummary> categories;  // when the columns had kinds
  std::vector<std::string> notes;             // what a stage adapted to the data (pca:10 on 5 rows)
  double seconds = 0;
};
nlohmann::json to_json(const Summary& s);
/// [{cluster, value, rows}, ...], as in to_json(Summary)["silhouette_per_cluster"].
nlohmann::json to_json(const std::vector<ClusterSilhouette>& per_cluster);

struct Result {
  std::vector<int> labels_;    // 0..clusters-1, or cluster::kNoise
  cluster::Matrix centroids_;  // in the embedded space (DBSCAN, hac: member means)
  cluster::Matrix embedding_;
  Summary summary_;        // algorithm, chosen parameters and why, sizes, silhouette, timing
  nlohmann::json fitted_;  // the fitted transforms: the stored model's document, re-applied by project()
};

/// Runs the pipeline on a matrix (rows = sources). threads: 0 = all
/// cores; the result does not depend on it. X is taken by value: pass it
/// with std::move when it is no longer needed, and the scalers work in it.
Result run(cluster::Matrix X, std::string_view spec, int threads = 0);
/// Rows with their category and address columns encoded by
/// `columns.categories`: `fitted` is the encoding as a fitted transform
/// (null for numbers), re-applied by project(). Throws ParamError when the
/// names or kinds do not match X's columns, or no column is left.
struct Encoded {
  cluster::Matrix X;
  nlohmann::json fitted;
  CategorySummary summary;
};
Encoded encode(const MatrixRef& X, const Columns& columns);
/// The same on columns with kinds: category and address columns are first
/// encoded by `columns.categories` (the encoding is the first fitted
/// transform, so project() applies it to later windows). Throws ParamError
/// when the names or kinds do not match X's columns, or no column is left.
Result run(const MatrixRef& X, std::string_view spec, int threads, const Columns& columns);

/// Refuses (ResourceError) when `held` bytes plus what run() needs for a
/// matrix of rows x cols (a working copy of it, per-row work) are
/// over `budget` bytes (0: no budget; core/memory.hpp).
void check_memory(uint64_t budget, uint64_t held, Eigen::Index rows, Eigen::Index cols);

/// Applies a run's fitted transforms (Result::fitted_, in order) to new
/// rows with the same columns: the embedding later windows are compared in.
/// Throws ParamError when the column count differs from the fit, FormatError
/// when `fitted` is not a list of saved transforms.
cluster::Matrix project(const cluster::Matrix& X, const nlohmann::json& fitted, int threads = 0);

/// The feature table's values as a matrix (rows = sources, same column order).
cluster::Matrix matrix_of(const features::FeatureTable& t);
/// The same values where they are, without a copy (valid while t is).
Eigen::Map<const cluster::Matrix> table_values(const features::FeatureTable& t);

/// A numeric table: a darklens feature table (.csv, .npy with its
/// .columns.txt / .rows.csv sidecars) or any numeric CSV with a header.
/// Columns named `source` and `window_start` are kept as row keys.
struct MatrixFile {
  cluster::Matrix X;
  std::vector<std::string> columns;   // their kinds: columns_named(columns)
  std::vector<std::string> row_keys;  // "source,window_start", or the row number
};
/// Throws IoError / FormatError naming the file, line and column.
MatrixFile read_matrix(const std::string& path);

}  // namespace darklens::pipeline
