// Cluster quality and agreement measures, checked against scikit-learn.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "darklens/transform/transform.hpp"

namespace darklens::evaluate {

/// Mean silhouette coefficient with Euclidean distances, exact, as
/// sklearn.metrics.silhouette_score: a sample's a is its mean distance to
/// the other members of its cluster, b the smallest mean distance to
/// another cluster, s = (b - a) / max(a, b), and 0 for a sample alone in
/// its cluster. Labels are any integers (noise, -1, counts as a label, as
/// in scikit-learn). Identical (row, label) pairs are computed once and
/// weighted; rows run in parallel (threads: 0 = all cores; the value does
/// not depend on it). Throws ParamError unless 2 <= distinct labels <= n - 1.
double silhouette_score(const transform::Matrix& X, const std::vector<int>& labels, int threads = 0);

/// Every row's silhouette value (scikit-learn's silhouette_samples); the
/// score is their mean. Same rules and errors as silhouette_score.
std::vector<double> silhouette_samples(const transform::Matrix& X, const std::vector<int>& labels, int threads = 0);

/// silhouette_samples of several labelings of the same rows at once, each
/// pairwise distance computed once (the k heuristics score every candidate
/// on one sample). The values equal those of one call per labeling: bit
/// for bit when every labeling gives copies of a row the same label (as
/// k-means and hac do), else up to rounding. A
/// labeling with fewer than 2 or more than n-1 clusters gets an empty
/// vector; one of the wrong length throws ParamError.
std::vector<std::vector<double>> silhouette_samples(const transform::Matrix& X,
                                                    const std::vector<std::vector<int>>& labelings, int threads = 0);

/// silhouette_samples of labelings scored on one shared set of rows: the
/// rows `candidates` of X, or a seeded sample of `sample` of them when
/// there are more (seeded_sample(candidates.size(), sample, seed), the rows
/// silhouette_score_sampled takes). Returns the rows scored, each
/// labeling's labels on them and its values (empty for a labeling with
/// fewer than 2 or more than n-1 clusters there).
struct SampledSilhouettes {
  std::vector<size_t> rows;
  std::vector<std::vector<int>> labels;
  std::vector<std::vector<double>> values;
};
SampledSilhouettes silhouettes_on_sample(const transform::Matrix& X, const std::vector<size_t>& candidates,
                                         const std::vector<std::vector<int>>& labelings, size_t sample, uint64_t seed,
                                         int threads = 0);

/// A cluster's silhouette: the mean of its rows' values, over `rows` rows.
struct ClusterSilhouette {
  int cluster = 0;
  double value = 0;
  size_t rows = 0;
};
/// Each cluster's mean of silhouette values (labels[i] is row i's), by label.
std::vector<ClusterSilhouette> per_cluster(const std::vector<int>& labels, const std::vector<double>& values);

/// The exact silhouette of a seeded random sample of `sample` rows (all
/// rows when there are no more), as silhouette_score(sample_size=...,
/// random_state=...) — with darklens' own generator, so other rows than
/// scikit-learn's. For large n, where the exact score is O(n^2).
double silhouette_score_sampled(const transform::Matrix& X, const std::vector<int>& labels, size_t sample,
                                uint64_t seed, int threads = 0);

/// The same with cosine distances (1 - cos, clipped to [0, 2]), as
/// silhouette_score(metric="cosine"). A zero row is at distance 1 from all.
double silhouette_score_cosine(const transform::Matrix& X, const std::vector<int>& labels, int threads = 0);

/// sklearn.metrics.davies_bouldin_score and calinski_harabasz_score.
/// Throws ParamError unless 2 <= distinct labels <= n - 1.
double davies_bouldin_score(const transform::Matrix& X, const std::vector<int>& labels);
double calinski_harabasz_score(const transform::Matrix& X, const std::vector<int>& labels);

/// Agreement between two labelings of the same rows (any integers; -1 is
/// one more label, as in scikit-learn), with scikit-learn 1.2's
/// definitions and special cases: adjusted Rand index; mutual information
/// normalised by the arithmetic mean of the entropies (NMI); adjusted
/// mutual information with the exact expected mutual information under the
/// hypergeometric model and arithmetic averaging (AMI); homogeneity,
/// completeness and V-measure (beta 1). Throws ParamError when the lengths
/// differ.
struct Agreement {
  double ari = 0, nmi = 0, ami = 0, homogeneity = 0, completeness = 0, v_measure = 0;
  double mutual_information = 0;  // nats
};
Agreement compare_labelings(const std::vector<int>& truth, const std::vector<int>& predicted);
/// compare_labelings(a, b).ari alone (no mutual information: cheap).
double adjusted_rand_index(const std::vector<int>& a, const std::vector<int>& b);

/// Leave-one-out k-nearest-neighbour classification of labelled rows, the
/// source study's test of whether sources known to act together are
/// neighbours in feature space. truth[i] is a class index into `classes`,
/// or kUnknown. Each evaluated row is classified by the majority class of
/// its k nearest other rows (copies of it included, itself excluded):
///  - rows at exactly the k-th neighbour's distance share the remaining
///    votes equally (so ties never depend on row order or threads);
///  - a tie in votes goes to the class with the nearest voter, then to the
///    lower class index;
///  - neighbours are searched among all rows (an unlabelled neighbour votes
///    "unknown") or, with labelled_only_, among labelled rows only;
///  - with include_unknown_, unlabelled rows are evaluated too, as class
///    "unknown" (the last row and column of the confusion matrix).
/// Cosine distance ranks neighbours as Euclidean distance between rows
/// scaled to unit length (a zero row stays zero).
inline constexpr int kUnknown = -1;
enum class Metric : uint8_t { kEuclidean, kCosine };

struct KnnParams {
  int k_ = 1;
  Metric metric_ = Metric::kEuclidean;
  bool labelled_only_ = false;
  bool include_unknown_ = false;
  int threads_ = 0;  // 0 = all cores; the result does not depend on it
};

struct ClassScores {
  std::string name;
  double precision = 0, recall = 0, f1 = 0;  // 0 when undefined (scikit-learn's zero_division=0)
  size_t support = 0;                        // evaluated rows of this class
};

struct Classification {
  std::vector<std::string> classes_;            // + "unknown" when it can be predicted or evaluated
  std::vector<std::vector<size_t>> confusion_;  // [true][predicted]
  std::vector<int> predicted_;                  // per row; kUnknown for rows not evaluated or predicted unknown
  std::vector<ClassScores> per_class_;
  double accuracy_ = 0, macro_f1_ = 0;  // macro F1 over classes with support
  size_t evaluated_ = 0;
};

/// Throws ParamError when k < 1, lengths differ, a class index is out of
/// range, or fewer than two rows can be compared.
Classification knn_leave_one_out(const transform::Matrix& X, const std::vector<int>& truth,
                                 const std::vector<std::string>& classes, const KnnParams& params);

/// The same vote, for the labelled rows of `test` (and its unlabelled ones
/// with include_unknown_) against the rows of `train` (its labelled ones
/// with labelled_only_): the "model of day 1 applied to day d" of the
/// source study. predicted_ is per test row.
Classification knn_classify(const transform::Matrix& train, const std::vector<int>& train_truth,
                            const transform::Matrix& test, const std::vector<int>& test_truth,
                            const std::vector<std::string>& classes, const KnnParams& params);

/// How well a clustering of an embedding fits, in one call (analyze's and
/// classify's evaluation): each cluster's silhouette on a seeded sample,
/// and, with ground truth, leave-one-out 1-NN in the embedding and the
/// clusters' agreement with the labelled rows.
struct ClusteringEvaluationParams {
  bool silhouette = true;         // false: the clusterer already scored it
  size_t silhouette_rows = 5000;  // exact up to this many rows, else a seeded sample of it
  uint64_t seed = 0;
  int threads = 0;  // 0 = all cores; the result does not depend on it
};
struct ClusteringEvaluation {
  std::vector<ClusterSilhouette> silhouette;  // by cluster (noise, -1, as one); empty: fewer than 2 clusters scored
  size_t silhouette_rows = 0;                 // rows scored
  std::optional<Classification> knn;          // with ground truth and at least 2 labelled rows
  std::optional<Agreement> agreement;         // the clusters vs the ground truth on the labelled rows, with knn
};
/// truth: each row's class (kUnknown when none), or nullptr without ground truth.
ClusteringEvaluation evaluate_clustering(const transform::Matrix& Y, const std::vector<int>& labels,
                                         const std::vector<int>* truth, const std::vector<std::string>& classes,
                                         const ClusteringEvaluationParams& params);

/// Cluster lineage between two consecutive windows, by member overlap.
/// Clusters are sets of sources (noise left out); cluster A of the first
/// window and B of the second are linked when Jaccard(A, B) =
/// |A and B| / |A or B| >= link. Then, per cluster: no link -> "vanished"
/// (first window) or "new" (second); A and B linked only to each other ->
/// "continued"; A linked to several -> "split" (and each of its B, if
/// linked to A alone, "split" too); B linked to several -> "merged" (and
/// each of its A, if linked to B alone, "merged" too).
struct LineageLink {
  int from = 0, to = 0;
  size_t shared = 0;
  double jaccard = 0;
};
struct Lineage {
  std::vector<LineageLink> links_;
  std::vector<std::pair<int, std::string>> from_events_, to_events_;  // cluster, event; by cluster
};
/// first/second: cluster per source key (kNoise = -1 is ignored).
Lineage lineage(const std::vector<std::pair<std::string, int>>& first,
                const std::vector<std::pair<std::string, int>>& second, double link = 0.2);

}  // namespace darklens::evaluate
