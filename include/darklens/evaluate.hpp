// Cluster quality and agreement measures, checked against scikit-learn.
#pragma once

#include <vector>

#include "darklens/transform.hpp"

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

}  // namespace darklens::evaluate
