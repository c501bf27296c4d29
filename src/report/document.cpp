// The report's document from typed results: the sections, then one
// document per kind of run.
#include "darklens/report/document.hpp"

#include <algorithm>
#include <cstdio>

#include "../core/rng.hpp"
#include "darklens/transform/transform.hpp"

namespace darklens::report {

nlohmann::json to_json(const Document& d) {
  nlohmann::json j;
  j["title"] = d.title;
  j["subtitle"] = d.subtitle;
  j["generated_by"] = d.generated_by;
  nlohmann::json numbers = nlohmann::json::array();
  for (const auto& [label, value] : d.numbers) numbers.push_back({label, value});
  j["numbers"] = numbers;
  j["profiles"] = d.profiles;
  if (!d.projection.is_null()) j["projection"] = d.projection;
  if (!d.silhouette.is_null()) {
    j["silhouette"] = d.silhouette;
    j["silhouette_note"] = d.silhouette_note;
  }
  if (!d.knn.is_null()) j["knn"] = d.knn;
  if (!d.agreement.is_null()) j["agreement"] = d.agreement;
  if (!d.series.is_null()) j["series"] = d.series;
  if (!d.choice.is_null()) j["choice"] = d.choice;
  if (!d.patterns.is_null()) j["patterns"] = d.patterns;
  if (!d.som.is_null()) j["som"] = d.som;
  if (d.top) j["top"] = *d.top;
  return j;
}

nlohmann::json profiles_section(const std::vector<profile::ClusterProfile>& profiles, std::optional<size_t> top) {
  nlohmann::json a = nlohmann::json::array();
  size_t rank = 0;
  for (const auto& p : profiles) {
    a.push_back(profile::to_json(p));
    if (top) a.back()["top"] = p.cluster_ >= 0 && ++rank <= *top;
  }
  return a;
}

nlohmann::json projection_section(const Eigen::MatrixXd& Y, const std::vector<int>& labels, size_t points,
                                  uint64_t seed) {
  Eigen::MatrixXd P = Eigen::MatrixXd::Zero(Y.rows(), 2);
  std::string note;
  if (Y.cols() > 2 && Y.rows() >= 2) {
    P = transform::fit_pca(Y, {.n_components_ = 2}).transform(Y);
    note = "Axes: the first two principal components of the " + std::to_string(Y.cols()) + "-dimensional embedding.";
  } else if (Y.cols() == 2) {
    P = Y;
    note = "Axes: the two embedded dimensions.";
  } else if (Y.cols() == 1) {
    P.col(0) = Y.col(0);
    note = "Axis: the one embedded dimension.";
  }
  const size_t n = static_cast<size_t>(Y.rows());
  std::vector<size_t> idx;
  if (n > points) {
    idx = seeded_sample(n, points, seed);
    std::sort(idx.begin(), idx.end());
    note += " A seeded sample of " + std::to_string(points) + " of the " + std::to_string(n) + " sources.";
  } else {
    for (size_t i = 0; i < n; ++i) idx.push_back(i);
  }
  nlohmann::json x = nlohmann::json::array(), y = nlohmann::json::array(), c = nlohmann::json::array();
  for (size_t i : idx) {
    x.push_back(P(static_cast<Eigen::Index>(i), 0));
    y.push_back(P(static_cast<Eigen::Index>(i), 1));
    c.push_back(labels[i]);
  }
  return {{"x", x}, {"y", y}, {"cluster", c}, {"note", note}};
}

nlohmann::json knn_section(const evaluate::Classification& c) {
  nlohmann::json per = nlohmann::json::array();
  for (const auto& s : c.per_class_) {
    per.push_back(
        {{"class", s.name}, {"precision", s.precision}, {"recall", s.recall}, {"f1", s.f1}, {"support", s.support}});
  }
  return nlohmann::json{{"k", 1},
                        {"classes", c.classes_},
                        {"confusion", c.confusion_},
                        {"per_class", per},
                        {"accuracy", c.accuracy_},
                        {"macro_f1", c.macro_f1_},
                        {"evaluated", c.evaluated_}};
}

namespace {
std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}
}  // namespace

nlohmann::json choice_section(const pipeline::Summary& s) {
  const auto& c = s.choice.candidates;
  if (c.empty()) return nullptr;
  nlohmann::json x = nlohmann::json::array(), sil = nlohmann::json::array(), large = nlohmann::json::array(),
                 stable = nlohmann::json::array();
  auto value = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  for (const auto& k : c) {
    // leiden: the resolution tried (and the communities it gave).
    x.push_back(k.resolution ? number_text(*k.resolution) + " (" + std::to_string(k.k) + ")" : std::to_string(k.k));
    sil.push_back(value(k.silhouette));
    large.push_back(value(k.silhouette_large));
    stable.push_back(value(k.stability));
  }
  nlohmann::json lines = {{"silhouette", sil}};
  if (c.front().stability) {
    lines["silhouette over the large clusters"] = large;
    lines["stability (ARI against refits on halves)"] = stable;
  }
  nlohmann::json j = {{"rule", s.choice.rule}, {"k", s.clusters}, {"series", {{"x", x}, {"lines", lines}}}};
  if (s.choice.note) j["note"] = *s.choice.note;
  return j;
}

nlohmann::json agreement_section(const evaluate::Agreement& a) {
  return {{"ARI", a.ari}, {"AMI", a.ami}, {"homogeneity", a.homogeneity}, {"completeness", a.completeness}};
}

Document analysis_document(const AnalysisFacts& f) {
  Document d;
  const pipeline::Summary& s = f.result.summary_;
  const size_t n = f.result.labels_.size();
  if (const auto& own = s.silhouette_per_cluster) {
    // The clusterer's own: the same seeded sample of rows, noise left out.
    d.silhouette = pipeline::to_json(*own);
    size_t rows = 0;
    for (const auto& c : *own) rows += c.rows;
    d.silhouette_note = "On " + std::to_string(rows) +
                        (rows < n ? " sources (the clusterer's seeded sample)" : " sources") + ", noise left out.";
  } else if (!f.evaluation.silhouette.empty()) {
    d.silhouette = pipeline::to_json(f.evaluation.silhouette);
    d.silhouette_note = f.evaluation.silhouette_rows < n
                            ? "On a seeded sample of " + std::to_string(f.evaluation.silhouette_rows) + " sources."
                            : std::string("On all sources.");
  }
  if (f.evaluation.knn) {
    d.knn = knn_section(*f.evaluation.knn);
    d.agreement = agreement_section(*f.evaluation.agreement);
  }
  const std::string w0 = iso8601_utc(f.window_start_ns), w1 = iso8601_utc(f.window_end_ns);
  d.title = "darklens analysis, " + w0.substr(0, 10);
  d.subtitle = std::to_string(f.table.rows()) + " sources, " + std::to_string(f.counters.used_) + " packets, window " +
               w0 + " to " + w1;
  const nlohmann::json clustering = pipeline::to_json(s);
  d.numbers = {
      {"sources", f.table.rows()},
      {"packets used", f.counters.used_},
      {"features", std::to_string(f.table.columns_.size()) + " columns (" +
                       features::options_to_json(f.features)["families"].get<std::string>() + ")"},
      {"pipeline", f.pipeline},
      {"how the clusters were chosen", s.choice.rule + (s.choice.note ? " — " + *s.choice.note : std::string())},
      {"clusters", s.clusters},
      {"noise sources", s.noise},
      {"silhouette (the clusterer's choice)", clustering["silhouette"]},
      {"unexplained clusters", f.unexplained}};
  if (f.evaluation.knn) {
    d.numbers.emplace_back("leave-one-out 1-NN accuracy (ground truth)", f.evaluation.knn->accuracy_);
    d.numbers.emplace_back("AMI clusters vs ground truth", f.evaluation.agreement->ami);
  }
  d.profiles = profiles_section(f.profiles, f.top);
  d.top = f.top;
  d.projection = projection_section(f.result.embedding_, f.result.labels_, f.projection_points, f.seed);
  if (clustering.contains("som")) d.som = clustering["som"];
  d.choice = choice_section(s);
  d.generated_by = "darklens analyze " + f.pipeline;
  return d;
}

Document classification_document(const ClassificationFacts& f) {
  Document d;
  if (f.knn) d.knn = knn_section(*f.knn);
  d.series = f.series;
  d.title = "darklens classification, " + iso8601_utc(f.window_start_ns).substr(0, 10);
  d.subtitle = std::to_string(f.sources) + " sources against model " + std::to_string(f.model_id) + " (" +
               f.model_window_start + ", " + f.model_pipeline + ")";
  d.numbers = {{"sources", f.sources},
               {"in known patterns", f.known_rows},
               {"new sources", f.new_sources},
               {"new groups", f.new_groups},
               {"known patterns back", f.back},
               {"known patterns absent", f.absent},
               {"sources also in the model's window", f.tracking["sources_in_both"]},
               {"AMI vs the model's window", f.tracking.value("ami_vs_model", nlohmann::json(nullptr))}};
  d.patterns = f.patterns;
  d.profiles = profiles_section(f.profiles);
  for (size_t i = 0; i < f.profile_names.size() && i < d.profiles.size(); ++i) d.profiles[i].update(f.profile_names[i]);
  d.projection = projection_section(f.embedding, f.labels, f.projection_points, f.seed);
  d.generated_by = "darklens classify, model " + std::to_string(f.model_id);
  return d;
}

}  // namespace darklens::report
