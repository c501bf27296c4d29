// Clustering of an embedding (rows = sources). Each algorithm: a params
// struct with documented defaults and an explicit seed, and fit()
// returning a result. Same input + same seed = same output.
//
//   darklens::cluster::KMeansParams p;  p.k_ = 5;  p.seed_ = 1;
//   auto r = darklens::cluster::fit_kmeans(Y, p);   // r.labels_, r.centroids_, r.inertia_
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "darklens/transform/transform.hpp"

namespace darklens::cluster {

using transform::Matrix;

/// The label of points that belong to no cluster (DBSCAN noise).
inline constexpr int kNoise = -1;

/// kLloyd computes every row-center distance at every iteration; kHamerly
/// keeps a bound per row (Hamerly 2010) and skips the rows whose label
/// cannot change: the same result, fewer distances.
enum class KMeansAlgorithm : uint8_t { kHamerly, kLloyd };

/// k-means as scikit-learn 1.2's KMeans (algorithm "lloyd"): greedy
/// k-means++ seeding with 2 + floor(ln k) candidates per center, Lloyd
/// iterations until the labels stop changing or the centers move less than
/// tol times the mean feature variance (squared), best inertia of n_init
/// runs (run in parallel). Identical rows are handled once, weighted by
/// their copies (exact: they always share a cluster).
struct KMeansParams {
  int k_ = 8;
  int n_init_ = 10;
  int max_iter_ = 300;
  double tol_ = 1e-4;
  uint64_t seed_ = 0;
  KMeansAlgorithm algorithm_ = KMeansAlgorithm::kHamerly;
  int threads_ = 0;  // 0 = all cores; the result does not depend on it
  /// Start from these k x d centers instead of k-means++ (one run, n_init
  /// ignored), as scikit-learn's init=array: e.g. a fit on a sample.
  std::optional<Matrix> init_;
};

struct KMeansResult {
  std::vector<int> labels_;  // 0..k-1 per row
  Matrix centroids_;         // k x d
  double inertia_ = 0;       // sum of squared distances to the own center
  int iterations_ = 0;       // of the best run
};

/// Throws ParamError when k is not in 1..rows, or on NaN/infinite values.
KMeansResult fit_kmeans(const Matrix& X, const KMeansParams& params);

/// The sorted k-distance curve and its knee: the eps heuristic of DBSCAN.
/// k-distance of a row = distance to its k-th nearest row, counting the
/// row itself (so a row at distance <= eps of k rows is a DBSCAN core with
/// min_samples = k). The knee is the point of the ascending curve farthest
/// below the chord from its first to its last point, both axes scaled to
/// [0, 1] (Kneedle's difference curve); ties go to the first.
struct KDistanceKnee {
  int k_ = 0;
  std::vector<double> curve_;  // ascending, one value per row
  size_t knee_ = 0;            // index into curve_
  double eps_ = 0;             // curve_[knee_]
};
/// Throws ParamError unless 1 <= k <= rows.
KDistanceKnee k_distance_knee(const Matrix& X, int k, int threads = 0);

/// How the radius queries are answered (scikit-learn's `algorithm`):
/// kAuto = the kd-tree below 16 columns; from 16 on, brute force (matrix
/// products) unless the tree, tried on a fixed sample of rows, computes
/// fewer than 5% of the distances brute force would. Every choice
/// gives the same result.
enum class DbscanAlgorithm { kAuto, kKdTree, kBrute };

/// DBSCAN as scikit-learn 1.2's: a core row has at least min_samples rows
/// (itself included) within distance eps (inclusive); clusters are the
/// connected cores plus the non-core rows within eps of a core; such a
/// border row joins the cluster whose lowest-numbered core comes first;
/// clusters are numbered in the order of their lowest-numbered row that is
/// a core; other rows are noise (kNoise). Identical rows are handled once,
/// with their count as weight (the result is the same).
struct DbscanParams {
  double eps_ = 0;       // 0 = the knee of the k-distance curve, k = min_samples
  int min_samples_ = 5;  // scikit-learn's default
  int threads_ = 0;      // 0 = all cores; the result does not depend on it
  DbscanAlgorithm algorithm_ = DbscanAlgorithm::kAuto;
};

struct DbscanResult {
  std::vector<int> labels_;  // 0..clusters-1, or kNoise
  int clusters_ = 0;
  size_t cores_ = 0;
  size_t noise_ = 0;
  double eps_ = 0;                                        // the eps used
  std::optional<KDistanceKnee> knee_;                     // when eps was chosen by the heuristic
  DbscanAlgorithm algorithm_ = DbscanAlgorithm::kKdTree;  // the one used: kKdTree or kBrute
  // kAuto in 16+ columns: the kd-tree's distance computations per query on
  // the sample, as a share of the distinct rows (brute force's).
  std::optional<double> tree_share_;
};

/// Throws ParamError on bad parameters, an empty matrix or NaN/infinite values.
DbscanResult fit_dbscan(const Matrix& X, const DbscanParams& params);

/// scikit-learn 1.2's estimate_bandwidth: the mean, over the rows, of the
/// distance to the row's q-th nearest row (itself included), with
/// q = max(1, floor(rows x quantile)). Above `sample` rows it runs on a
/// seeded sample of that many rows (scikit-learn's own sampling draws
/// other rows). Exact: O(sample^2 d).
double estimate_bandwidth(const Matrix& X, double quantile = 0.3, size_t sample = 10000, uint64_t seed = 0,
                          int threads = 0);

/// Mean Shift with a flat kernel, as scikit-learn 1.2's MeanShift: every
/// seed (each row, or with bin_seeding the centres of the grid cells of
/// side bandwidth holding at least min_bin_freq rows) moves to the mean of
/// the rows within bandwidth (inclusive) until it moves less than
/// 1e-3 x bandwidth or max_iter; the converged means, by decreasing number
/// of rows within (then decreasing coordinates), suppress the later ones
/// within bandwidth; each row goes to its nearest centre (cluster_all) or,
/// if that is farther than bandwidth, to kNoise. Seeds run in parallel; the
/// result does not depend on the number of threads.
struct MeanShiftParams {
  double bandwidth_ = 0;  // 0 = estimate_bandwidth(quantile_, bandwidth_sample_, seed_)
  double quantile_ = 0.3;
  size_t bandwidth_sample_ = 10000;
  uint64_t seed_ = 0;
  bool bin_seeding_ = false;
  int min_bin_freq_ = 1;
  bool cluster_all_ = true;
  int max_iter_ = 300;
  int threads_ = 0;
};

struct MeanShiftResult {
  std::vector<int> labels_;
  Matrix centers_;        // by decreasing intensity
  double bandwidth_ = 0;  // the bandwidth used
  size_t seeds_ = 0;      // seeds run
};

/// Throws ParamError on bad parameters, an empty matrix or NaN/infinite
/// values, or when no seed has a row within bandwidth.
MeanShiftResult fit_meanshift(const Matrix& X, const MeanShiftParams& params);

/// Hierarchical agglomerative clustering. Linkages as scikit-learn 1.2's
/// AgglomerativeClustering (Euclidean): ward (increase of the within-
/// cluster sum of squares, as the distance sqrt(2 |A||B| / (|A| + |B|)) x
/// the distance between centroids), average, complete, single.
enum class Linkage : uint8_t { kWard, kAverage, kComplete, kSingle };
std::string_view linkage_name(Linkage l);
/// "ward", "average", "complete", "single". Throws ParamError.
Linkage parse_linkage(std::string_view name);

/// The merges, each joining the clusters holding rows a and b at a height.
/// Cutting applies merges in order of height (then of creation).
struct Dendrogram {
  struct Merge {
    uint32_t a, b;
    double height;
  };
  size_t rows_ = 0;
  std::vector<Merge> merges_;  // rows_ - 1 merges, by height
  /// Labels of the k clusters left after the rows - k lowest merges,
  /// numbered by first row. Throws ParamError unless 1 <= k <= rows.
  std::vector<int> cut(size_t k) const;
  /// Labels after every merge lower than `distance` (scikit-learn's
  /// distance_threshold), numbered by first row.
  std::vector<int> cut_below(double distance) const;
};

/// Memory: O(n d) for ward and single (ward: nearest-neighbour chain over
/// cluster centroids searched in a kd-tree; single: Boruvka's minimum
/// spanning tree with kd-tree searches); average and complete keep the
/// n(n-1)/2 distances between distinct rows (nearest-neighbour chain with
/// Lance-Williams updates), so they refuse more than max_pairwise_rows_
/// distinct rows (20,000: 1.6 GB). Identical rows are merged first, at
/// height 0, which is what every linkage does with them.
struct HierarchicalParams {
  Linkage linkage_ = Linkage::kWard;
  size_t max_pairwise_rows_ = 20000;
  int threads_ = 0;  // single and the distance matrix; the result does not depend on it
};

/// Throws ParamError on an empty matrix, NaN/infinite values, or too many
/// rows for average/complete (naming the limit and the alternatives).
Dendrogram fit_hierarchical(const Matrix& X, const HierarchicalParams& params);

/// Coordination as a graph: every row is linked to its `neighbours_`
/// nearest other rows (Euclidean, exact: a kd-tree; among identical rows,
/// the first by the tree's order), links in both directions adding up
/// (weight 2 for mutual neighbours), and the graph is split by the Leiden
/// algorithm (Traag et al. 2019; igraph's C library) maximising modularity
/// with resolution γ (larger: more, smaller communities). Communities are
/// numbered by size, largest first, ties by their lowest row. Deterministic:
/// the same labels for the same rows, seed and any thread count.
/// How the kNN graph finds neighbours: exactly (nanoflann's kd-tree), or
/// approximately (hnswlib's HNSW graph, for many rows in many dimensions,
/// where a kd-tree degrades to comparing every pair); kAuto: HNSW from
/// kHnswRows rows and kHnswDims dimensions, exact below.
enum class NeighbourIndex { kAuto, kExact, kHnsw };
inline constexpr size_t kHnswRows = 20000;
inline constexpr long kHnswDims = 16;
struct LeidenParams {
  int neighbours_ = 15;
  NeighbourIndex index_ = NeighbourIndex::kAuto;
  double resolution_ = 1.0;
  double beta_ = 0.01;   // randomness of the refinement step (igraph's default)
  int iterations_ = 50;  // passes at most; fewer when a pass changes nothing
  uint64_t seed_ = 0;
  int threads_ = 0;  // the neighbour search; 0 = all cores
};
struct LeidenResult {
  std::vector<int> labels_;
  int clusters_ = 0;
  double modularity_ = 0;     // of the partition, at resolution 1, on the weighted graph
  size_t edges_ = 0;          // distinct links
  int iterations_ = 0;        // passes run
  bool approximate_ = false;  // the neighbours came from the HNSW index
};
/// Throws ParamError on bad parameters, fewer than 2 rows, or NaN/infinite values.
LeidenResult fit_leiden(const Matrix& X, const LeidenParams& params);
/// The graph's neighbours: each row's min(k, rows - 1) nearest other rows,
/// nearest first (row i's at [i * that, (i + 1) * that)); exact by the
/// kd-tree, or approximate by HNSW. The same on any thread count.
std::vector<uint32_t> nearest_neighbours(const Matrix& X, int k, bool approximate, int threads);
/// The same graph split at each resolution (params.resolution_ unused): one
/// result per resolution, each as fit_leiden would give it.
std::vector<LeidenResult> fit_leiden(const Matrix& X, const LeidenParams& params,
                                     const std::vector<double>& resolutions);

/// Mean of each cluster's rows (labels 0..clusters-1; noise ignored).
Matrix cluster_means(const Matrix& X, const std::vector<int>& labels, int clusters);

}  // namespace darklens::cluster
