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

}  // namespace darklens::evaluate
