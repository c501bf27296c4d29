#include "darklens/analyze/evaluate_table.hpp"

#include <algorithm>
#include <chrono>

#include "darklens/analyze/track.hpp"
#include "darklens/error.hpp"
#include "darklens/evaluate/evaluate.hpp"
#include "darklens/transform/transform.hpp"

namespace darklens::analyze {

nlohmann::json evaluate_table(const pipeline::MatrixFile& m, const std::string& path, ground_truth::GroundTruth& gt,
                              const std::vector<int>* clusters, const std::string& clusters_path,
                              const EvaluateOptions& o) {
  if (o.metric != "euclidean" && o.metric != "cosine") {
    throw ParamError("metric '" + o.metric + "' is not one of euclidean, cosine");
  }
  if (o.k < 1 || o.k > 1000) throw ParamError("k must be 1..1000, not " + std::to_string(o.k));
  const auto categories = pipeline::parse_categories(o.categories);
  const auto scaler = o.scale == "none" ? std::nullopt : std::optional(transform::parse_scaler(o.scale));
  const size_t n = static_cast<size_t>(m.X.rows());
  if (clusters && clusters->size() != n) {
    throw ParamError(clusters_path + ": " + std::to_string(clusters->size()) + " cluster labels for " +
                     std::to_string(n) + " rows of " + path);
  }
  auto encoded = pipeline::encode(m.X, pipeline::columns_named(m.columns, categories));
  transform::Matrix X = std::move(encoded.X);
  if (scaler) X = transform::fit_scaler(X, *scaler).apply(X);
  std::vector<int> truth = label_table(m, gt, path, o.mirai);
  const auto left = ground_truth::drop_small_classes(truth, gt.labels_.size(), o.min_class);
  const size_t labelled =
      static_cast<size_t>(std::count_if(truth.begin(), truth.end(), [](int t) { return t != evaluate::kUnknown; }));
  nlohmann::json out;
  out["features"] = {{"path", path}, {"rows", n}, {"columns", m.X.cols()}, {"scale", o.scale}};
  out["features"]["categories"] = {{"rule", pipeline::categories_name(categories)}, {"columns_out", X.cols()}};
  out["ground_truth"] = {{"files", o.gt_files}, {"labelled_rows", labelled}, {"classes", gt.labels_}};
  out["ground_truth"]["min_class"] = {
      {"members", left.min_members}, {"classes_left_out", left.classes}, {"sources_left_out", left.rows}};
  if (labelled < 2) {
    throw FormatError(path + ": " + std::to_string(labelled) +
                      " rows have a ground-truth label; at least 2 are needed" +
                      (left.classes > 0 ? " (--min-class " + std::to_string(left.min_members) + " left out " +
                                              std::to_string(left.classes) + " classes)"
                                        : std::string()));
  }
  evaluate::KnnParams kp;
  kp.k_ = o.k;
  kp.metric_ = o.metric == "cosine" ? evaluate::Metric::kCosine : evaluate::Metric::kEuclidean;
  kp.labelled_only_ = o.labelled_only;
  kp.include_unknown_ = o.include_unknown;
  kp.threads_ = o.threads;
  auto t0 = std::chrono::steady_clock::now();
  auto seconds = [&t0] {
    const auto now = std::chrono::steady_clock::now();
    const double s = std::chrono::duration<double>(now - t0).count();
    t0 = now;
    return s;
  };
  const auto knn = evaluate::knn_leave_one_out(X, truth, gt.labels_, kp);
  const double knn_seconds = seconds();
  nlohmann::json classes = nlohmann::json::array();
  for (const auto& c : knn.per_class_) {
    classes.push_back(
        {{"class", c.name}, {"support", c.support}, {"precision", c.precision}, {"recall", c.recall}, {"f1", c.f1}});
  }
  out["knn"] = {{"k", o.k},
                {"metric", o.metric},
                {"neighbours", o.labelled_only ? "labelled" : "all"},
                {"evaluated", knn.evaluated_},
                {"accuracy", knn.accuracy_},
                {"macro_f1", knn.macro_f1_},
                {"seconds", knn_seconds},
                {"classes", classes},
                {"confusion", {{"labels", knn.classes_}, {"matrix", knn.confusion_}}}};
  if (clusters) {
    const std::vector<int>& cl = *clusters;
    std::vector<int> t, p;  // labelled rows only
    for (size_t i = 0; i < n; ++i) {
      if (truth[i] != evaluate::kUnknown) t.push_back(truth[i]), p.push_back(cl[i]);
    }
    const auto g = evaluate::compare_labelings(t, p);
    nlohmann::json c = {{"path", clusters_path},
                        {"against_ground_truth",
                         {{"rows", t.size()},
                          {"ari", g.ari},
                          {"nmi", g.nmi},
                          {"ami", g.ami},
                          {"homogeneity", g.homogeneity},
                          {"completeness", g.completeness},
                          {"v_measure", g.v_measure}}}};
    std::vector<int> distinct(cl);
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    c["clusters"] = distinct.size();
    if (distinct.size() >= 2 && distinct.size() < n) {
      seconds();
      c["silhouette"] = evaluate::silhouette_score(X, cl, o.threads);
      c["silhouette_seconds"] = seconds();
      c["davies_bouldin"] = evaluate::davies_bouldin_score(X, cl);
      c["calinski_harabasz"] = evaluate::calinski_harabasz_score(X, cl);
    }
    out["clusters"] = c;
  }
  return out;
}

}  // namespace darklens::analyze
