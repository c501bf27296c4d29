// analyze(): one window from captures to profiles, evaluation and report.
#include "darklens/analyze/analyze.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

#include "../core/parallel.hpp"
#include "../core/rng.hpp"
#include "common.hpp"
#include "darklens/error.hpp"
#include "darklens/evaluate/evaluate.hpp"
#include "darklens/transform/transform.hpp"

namespace darklens::analyze {
namespace detail {

std::string now_utc() {
  // Whole seconds, so iso8601_utc writes no fraction.
  const int64_t s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return iso8601_utc(s * 1'000'000'000);
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", s);
  return buf;
}

void say(const std::function<void(const std::string&)>& progress, const std::string& line) {
  if (progress) progress(line);
}

std::vector<profile::ClusterProfile> profile_rows(const features::FeatureOptions& fo,
                                                  const std::vector<std::string>& captures,
                                                  const features::FeatureTable& t, const std::vector<int>& labels,
                                                  const ground_truth::GroundTruth* gt,
                                                  const profile::Catalog* catalog) {
  profile::Profiler pr(t.source_, t.window_start_ns_, labels, fo.window_);
  // Packets are read in chunks; each chunk is split into one contiguous
  // part per thread, counted by that thread's fork, while the next chunk is
  // read. Counts are sums: the profiles are the same on any number of
  // threads.
  const size_t parts = static_cast<size_t>(std::max(1, fo.threads_));
  std::vector<profile::Profiler> forks;
  for (size_t i = 1; i < parts; ++i) forks.push_back(pr.fork());
  constexpr size_t kChunk = 1 << 16;
  features::UsedPackets used(fo, captures);
  auto produce = [&](std::vector<Packet>& chunk) { return used.next(chunk, kChunk); };
  auto consume = [&](const std::vector<Packet>& chunk) {
    const size_t n = chunk.size();
    auto count = [&](size_t i) {
      profile::Profiler& into = i == 0 ? pr : forks[i - 1];
      into.add(std::span<const Packet>(chunk).subspan(n * i / parts, n * (i + 1) / parts - n * i / parts));
    };
    std::vector<std::thread> pool;
    for (size_t i = 1; i < parts; ++i) pool.emplace_back(count, i);
    count(0);
    for (auto& th : pool) th.join();
  };
  std::vector<Packet> first, second;
  produce_ahead(parts > 1, first, second, produce, consume);
  for (const auto& f : forks) pr.merge(f);
  auto profiles = pr.finish(gt);
  if (catalog) {
    for (auto& p : profiles) p.activities_ = profile::match(*catalog, p);
  }
  return profiles;
}

nlohmann::json profiles_json(const std::vector<profile::ClusterProfile>& profiles) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& p : profiles) a.push_back(profile::to_json(p));
  return a;
}

nlohmann::json projection(const cluster::Matrix& Y, const std::vector<int>& labels, size_t points, uint64_t seed) {
  cluster::Matrix P = cluster::Matrix::Zero(Y.rows(), 2);
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

std::vector<int> truth_of(const features::FeatureTable& t, const ground_truth::GroundTruth& gt) {
  std::vector<int> truth(t.rows());
  for (size_t i = 0; i < t.rows(); ++i) truth[i] = gt.index_of(t.source_[i]);
  return truth;
}

std::optional<nlohmann::json> knn_section(const cluster::Matrix& Y, const std::vector<int>& truth,
                                          const std::vector<std::string>& classes, int threads) {
  const auto labelled = std::count_if(truth.begin(), truth.end(), [](int x) { return x != evaluate::kUnknown; });
  if (labelled < 2) return std::nullopt;
  evaluate::KnnParams kp;
  kp.threads_ = threads;
  const auto c = evaluate::knn_leave_one_out(Y, truth, classes, kp);
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

std::pair<int64_t, int64_t> window_range(const features::FeatureTable& t, const features::WindowSpec& w) {
  if (t.rows() == 0) return {0, 0};
  const auto [lo, hi] = std::minmax_element(t.window_start_ns_.begin(), t.window_start_ns_.end());
  return {*lo, *hi + w.length_ns_};
}

}  // namespace detail

using namespace detail;

Analysis analyze(const std::vector<std::string>& captures, const Options& options) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  auto since = [](clock::time_point a) { return std::chrono::duration<double>(clock::now() - a).count(); };
  pipeline::parse_spec(options.pipeline);  // a bad spec fails before any reading
  Analysis a;
  auto t = clock::now();
  {
    features::Aggregator agg(options.features);
    agg.add_files(captures);
    a.table = agg.table();
    a.counters = agg.counters();
  }
  say(options.progress, "features: " + std::to_string(a.table.rows()) + " sources x " +
                            std::to_string(a.table.columns_.size()) + " columns from " +
                            std::to_string(a.counters.used_) + " packets (" + seconds_text(since(t)) + ")");
  if (a.table.rows() < 3) {
    throw ParamError("analyze: " + std::to_string(a.table.rows()) +
                     " sources left in the captures after filtering; at least 3 are needed to cluster");
  }
  t = clock::now();
  a.result = pipeline::run(pipeline::matrix_of(a.table), options.pipeline, options.threads);
  const auto& labels = a.result.labels_;
  say(options.progress, "cluster: " + options.pipeline + ": " + std::to_string(a.result.summary_.clusters) +
                            " clusters, " + std::to_string(a.result.summary_.noise) + " noise (" +
                            seconds_text(since(t)) + ")");
  t = clock::now();
  a.profiles = profile_rows(options.features, captures, a.table, labels, options.gt, options.catalog);
  size_t unexplained = 0;
  for (const auto& p : a.profiles) unexplained += p.cluster_ >= 0 && p.activities_.empty();
  say(options.progress, "profile: " + std::to_string(a.profiles.size()) + " profiles, " + std::to_string(unexplained) +
                            " unexplained (" + seconds_text(since(t)) + ")");

  // Evaluation: silhouette per cluster on a seeded sample; with ground truth,
  // leave-one-out 1-NN and the clusters' agreement with it.
  t = clock::now();
  const cluster::Matrix& Y = a.result.embedding_;
  nlohmann::json report;
  std::map<int, int> distinct;
  for (int l : labels) distinct.emplace(l, 0);
  const size_t n = labels.size();
  const nlohmann::json clustering = pipeline::to_json(a.result.summary_);
  if (a.result.summary_.silhouette_per_cluster) {
    // The clusterer's own: the same seeded sample of rows, noise left out.
    report["silhouette"] = clustering["silhouette_per_cluster"];
    size_t rows = 0;
    for (const auto& c : *a.result.summary_.silhouette_per_cluster) rows += c.rows;
    report["silhouette_note"] = "On " + std::to_string(rows) +
                                (rows < n ? " sources (the clusterer's seeded sample)" : " sources") +
                                ", noise left out.";
  } else if (distinct.size() >= 2 && n >= 3) {
    nlohmann::json sil = nlohmann::json::array();
    std::vector<size_t> idx;
    if (n > options.silhouette_rows) {
      idx = seeded_sample(n, options.silhouette_rows, options.seed);
    } else {
      for (size_t i = 0; i < n; ++i) idx.push_back(i);
    }
    cluster::Matrix S(static_cast<Eigen::Index>(idx.size()), Y.cols());
    std::vector<int> l(idx.size());
    for (size_t i = 0; i < idx.size(); ++i) {
      S.row(static_cast<Eigen::Index>(i)) = Y.row(static_cast<Eigen::Index>(idx[i]));
      l[i] = labels[idx[i]];
    }
    std::map<int, int> in_sample;
    for (int x : l) in_sample.emplace(x, 0);
    if (in_sample.size() >= 2 && in_sample.size() < l.size()) {
      const auto s = evaluate::silhouette_samples(S, l, options.threads);
      std::map<int, std::pair<double, size_t>> per;
      for (size_t i = 0; i < l.size(); ++i) per[l[i]].first += s[i], ++per[l[i]].second;
      for (const auto& [c, v] : per)
        sil.push_back({{"cluster", c}, {"value", v.first / static_cast<double>(v.second)}, {"rows", v.second}});
      report["silhouette"] = sil;
      report["silhouette_note"] = idx.size() < n ? "On a seeded sample of " + std::to_string(idx.size()) + " sources."
                                                 : std::string("On all sources.");
    }
  }
  nlohmann::json evaluation;
  if (options.gt) {
    const auto truth = truth_of(a.table, *options.gt);
    if (auto k = knn_section(Y, truth, options.gt->labels_, options.threads)) {
      report["knn"] = *k;
      evaluation["knn_accuracy"] = (*k)["accuracy"];
      evaluation["knn_macro_f1"] = (*k)["macro_f1"];
      evaluation["labelled_sources"] = (*k)["evaluated"];
      std::vector<int> tt, pp;
      for (size_t i = 0; i < n; ++i) {
        if (truth[i] != evaluate::kUnknown) tt.push_back(truth[i]), pp.push_back(labels[i]);
      }
      const auto ag = evaluate::compare_labelings(tt, pp);
      evaluation["ari"] = ag.ari;
      evaluation["ami"] = ag.ami;
      evaluation["homogeneity"] = ag.homogeneity;
      evaluation["completeness"] = ag.completeness;
      report["agreement"] = {
          {"ARI", ag.ari}, {"AMI", ag.ami}, {"homogeneity", ag.homogeneity}, {"completeness", ag.completeness}};
    }
  }
  say(options.progress, "evaluate: " + seconds_text(since(t)));

  const auto [w0, w1] = window_range(a.table, options.features.window_);
  a.summary = {{"generator", "darklens analyze"},
               {"inputs", captures},
               {"window_start", iso8601_utc(w0)},
               {"window_end", iso8601_utc(w1)},
               {"features", features::options_to_json(options.features)},
               {"packets",
                {{"decoded", a.counters.packets_},
                 {"used", a.counters.used_},
                 {"outside_prefix", a.counters.outside_prefix_},
                 {"class_filtered", a.counters.class_filtered_},
                 {"responder", a.counters.responder_}}},
               {"sources", a.table.rows()},
               {"columns", a.table.columns_.size()},
               {"clustering", clustering},
               {"unexplained_clusters", unexplained},
               {"evaluation", evaluation},
               {"seconds", since(t0)}};
  nlohmann::json damaged = nlohmann::json::object();
  for (const auto& [path, rc] : a.counters.files_) {
    damaged[path] = {{"records", rc.records_}, {"damaged", rc.weird_.total()}, {"stop_message", rc.stop_message_}};
  }
  a.summary["files"] = damaged;

  report["title"] = "darklens analysis, " + iso8601_utc(w0).substr(0, 10);
  report["subtitle"] = std::to_string(a.table.rows()) + " sources, " + std::to_string(a.counters.used_) +
                       " packets, window " + iso8601_utc(w0) + " to " + iso8601_utc(w1);
  report["numbers"] = nlohmann::json::array(
      {{"sources", a.table.rows()},
       {"packets used", a.counters.used_},
       {"features", std::to_string(a.table.columns_.size()) + " columns (" +
                        features::options_to_json(options.features)["families"].get<std::string>() + ")"},
       {"pipeline", options.pipeline},
       {"how the clusters were chosen",
        a.result.summary_.choice.rule +
            (a.result.summary_.choice.note ? " — " + *a.result.summary_.choice.note : std::string())},
       {"clusters", a.result.summary_.clusters},
       {"noise sources", a.result.summary_.noise},
       {"silhouette (the clusterer's choice)", clustering["silhouette"]},
       {"unexplained clusters", unexplained}});
  if (evaluation.contains("knn_accuracy")) {
    report["numbers"].push_back({"leave-one-out 1-NN accuracy (ground truth)", evaluation["knn_accuracy"]});
    report["numbers"].push_back({"AMI clusters vs ground truth", evaluation["ami"]});
  }
  report["profiles"] = profiles_json(a.profiles);
  size_t rank = 0;
  for (auto& p : report["profiles"]) p["top"] = p["cluster"].get<int>() >= 0 && ++rank <= options.top;
  report["top"] = options.top;
  report["projection"] = projection(Y, labels, options.projection_points, options.seed);
  if (clustering.contains("som")) report["som"] = clustering["som"];
  report["generated_by"] = "darklens analyze " + options.pipeline;
  a.report = std::move(report);
  return a;
}

int64_t store(patterns::Store& db, const Analysis& a, const std::vector<std::string>& inputs, const Options& options) {
  const auto [w0, w1] = window_range(a.table, options.features.window_);
  patterns::RunRecord run;
  run.kind = "analyze";
  run.created = now_utc();
  run.window_start_ns = w0;
  run.window_end_ns = w1;
  run.inputs = inputs;
  run.features = features::options_to_json(options.features);
  run.columns = a.table.columns_;
  run.pipeline = options.pipeline;
  run.transforms = a.result.fitted_;
  run.summary = a.summary;
  const cluster::Matrix& Y = a.result.embedding_;
  const cluster::Matrix& C = a.result.centroids_;
  std::vector<patterns::Pattern> fresh;
  std::vector<patterns::Member> members;
  std::vector<patterns::Sighting> sightings;
  std::map<int, size_t> index_of_cluster;
  for (const auto& p : a.profiles) {
    if (p.cluster_ < 0) continue;
    if (p.cluster_ >= C.rows()) throw ParamError("analyze: cluster " + std::to_string(p.cluster_) + " has no centroid");
    std::vector<Eigen::Index> rows;
    for (size_t i = 0; i < a.result.labels_.size(); ++i) {
      if (a.result.labels_[i] == p.cluster_) rows.push_back(static_cast<Eigen::Index>(i));
    }
    cluster::Matrix M(static_cast<Eigen::Index>(rows.size()), Y.cols());
    for (size_t i = 0; i < rows.size(); ++i) M.row(static_cast<Eigen::Index>(i)) = Y.row(rows[i]);
    patterns::Pattern pat;
    pat.cluster = p.cluster_;
    pat.centroid.resize(static_cast<size_t>(C.cols()));
    for (Eigen::Index j = 0; j < C.cols(); ++j) pat.centroid[static_cast<size_t>(j)] = C(p.cluster_, j);
    pat.radius = patterns::radius_for(M, C, p.cluster_);
    pat.sources = p.sources_;
    pat.packets = p.packets_;
    pat.profile = profile::to_json(p);
    index_of_cluster[p.cluster_] = fresh.size();
    sightings.push_back({0, -static_cast<int64_t>(fresh.size()) - 1, p.sources_, p.packets_});
    fresh.push_back(std::move(pat));
  }
  for (size_t i = 0; i < a.table.rows(); ++i) {
    const int l = a.result.labels_[i];
    const int64_t pid = l < 0 ? 0 : -static_cast<int64_t>(index_of_cluster.at(l)) - 1;
    members.push_back({a.table.source_[i].to_string(), a.table.window_start_ns_[i], pid});
  }
  return db.save_run(std::move(run), fresh, std::move(members), std::move(sightings));
}

}  // namespace darklens::analyze
