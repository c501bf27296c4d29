// evaluate_clustering: the evaluation analyze and classify report.
#include <algorithm>
#include <set>

#include "darklens/evaluate/evaluate.hpp"

namespace darklens::evaluate {

ClusteringEvaluation evaluate_clustering(const transform::Matrix& Y, const std::vector<int>& labels,
                                         const std::vector<int>* truth, const std::vector<std::string>& classes,
                                         const ClusteringEvaluationParams& params) {
  ClusteringEvaluation e;
  const size_t n = labels.size();
  if (params.silhouette && std::set<int>(labels.begin(), labels.end()).size() >= 2 && n >= 3) {
    std::vector<size_t> all(n);
    for (size_t i = 0; i < n; ++i) all[i] = i;
    const auto s = silhouettes_on_sample(Y, all, {labels}, params.silhouette_rows, params.seed, params.threads);
    if (!s.values[0].empty()) {
      e.silhouette = per_cluster(s.labels[0], s.values[0]);
      e.silhouette_rows = s.rows.size();
    }
  }
  if (truth && std::count_if(truth->begin(), truth->end(), [](int x) { return x != kUnknown; }) >= 2) {
    KnnParams kp;
    kp.threads_ = params.threads;
    e.knn = knn_leave_one_out(Y, *truth, classes, kp);
    std::vector<int> t, p;
    for (size_t i = 0; i < n; ++i) {
      if ((*truth)[i] != kUnknown) t.push_back((*truth)[i]), p.push_back(labels[i]);
    }
    e.agreement = compare_labelings(t, p);
  }
  return e;
}

}  // namespace darklens::evaluate
