// analyze(): one window from captures to profiles, evaluation and report.
#include "darklens/analyze/analyze.hpp"

#include <algorithm>
#include <bit>
#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <optional>

#include "common.hpp"
#include "darklens/core/atomic_file.hpp"
#include "darklens/core/data_files.hpp"
#include "darklens/core/text.hpp"
#include "darklens/error.hpp"
#include "darklens/evaluate/evaluate.hpp"
#include "darklens/report/document.hpp"
#include "darklens/report/report.hpp"

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

void refuse_stdin(const std::vector<std::string>& captures, const std::string& what) {
  for (const auto& c : captures) {
    if (c == "-") {
      throw ParamError(what +
                       ": reads its captures twice (the features, then each cluster's profile), so not from "
                       "standard input ('-'); save the capture to a file first");
    }
  }
}

void write_text(const std::string& path, const std::string& text) {
  AtomicFile f(path);
  f.write(text);
  f.commit();
}

std::string absolute_path(const std::string& path) {
  std::error_code ec;
  const auto p = std::filesystem::absolute(path, ec);
  return ec ? path : p.string();
}

int64_t publish_run(OutputDir& out, patterns::Store* db, const std::function<int64_t(const std::string& token)>& store,
                    const std::function<void(const nlohmann::json& stored)>& write) {
  std::optional<patterns::Store::Batch> batch;
  std::string token;
  int64_t id = 0;
  nlohmann::json stored;
  if (db) {
    token = new_run_token();
    batch.emplace(*db);
    id = store(token);
    stored = {{"db", db->path()}, {"run", id}};
  }
  write(stored);
  out.publish(db ? absolute_path(db->path()) : std::string(), token);
  if (batch) batch->commit();
  out.finish();
  return id;
}

void say(const std::function<void(const std::string&)>& progress, const std::string& line) {
  if (progress) progress(line);
}

nlohmann::json name_heaviest(std::vector<profile::ClusterProfile>& profiles, const profile::NameOptions* names,
                             const std::function<void(const std::string&)>& progress) {
  if (!names || names->heaviest == 0) return nullptr;
  const auto t = std::chrono::steady_clock::now();
  const rdns::LookupResult r = profile::add_names(profiles, names->lookup);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  say(progress, "rdns: " + std::to_string(r.distinct_) + " heaviest sources, " + std::to_string(r.named_) + " named, " +
                    std::to_string(r.no_name_) + " without a name, " + std::to_string(r.failed_) + " unanswered (" +
                    seconds_text(s) + ")");
  return {{"resolver", names->lookup.resolver_.empty() ? "system" : names->lookup.resolver_},
          {"per_cluster", names->heaviest},
          {"addresses", r.distinct_},
          {"named", r.named_},
          {"no_name", r.no_name_},
          {"failed", r.failed_},
          {"seconds", s}};
}

std::vector<int> truth_of(const features::FeatureTable& t, const ground_truth::GroundTruth& gt, size_t min_class,
                          ground_truth::LeftOut& left) {
  std::vector<int> truth(t.rows());
  for (size_t i = 0; i < t.rows(); ++i) truth[i] = gt.index_of(t.source_[i]);
  left = ground_truth::drop_small_classes(truth, gt.labels_.size(), min_class);
  return truth;
}

nlohmann::json to_json(const ground_truth::LeftOut& left) {
  return {{"members", left.min_members}, {"classes_left_out", left.classes}, {"sources_left_out", left.rows}};
}

std::vector<std::string> row_labels(const features::FeatureTable& t, const ground_truth::GroundTruth* gt) {
  std::vector<std::string> out;
  if (!gt) return out;
  out.resize(t.rows());
  for (size_t i = 0; i < t.rows(); ++i) {
    const int k = gt->index_of(t.source_[i]);
    if (k >= 0) out[i] = gt->labels_[static_cast<size_t>(k)];
  }
  return out;
}

patterns::Member member_of(const features::FeatureTable& t, size_t row, int64_t pattern,
                           const std::vector<std::string>& labels) {
  patterns::Member m{t.source_[row].to_string(), t.window_start_ns_[row], pattern, std::nullopt, "", ""};
  const size_t cols = t.columns_.size();
  for (size_t c = 0; c < cols; ++c) {
    if (t.columns_[c] == "agm_packets" || t.columns_[c] == "int_packets") {
      m.packets = static_cast<uint64_t>(std::max(0.0, t.at(row, c)));
      break;
    }
  }
  if (!labels.empty()) m.label = labels[row];
  m.features.resize(cols * 4);
  for (size_t c = 0; c < cols; ++c) {
    const auto u = std::bit_cast<uint32_t>(static_cast<float>(t.at(row, c)));
    for (size_t b = 0; b < 4; ++b) m.features[c * 4 + b] = static_cast<char>((u >> (8 * b)) & 0xff);
  }
  return m;
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
  refuse_stdin(captures, "analyze");
  if (options.embed) {  // a bad services file or parameter fails before any reading
    embed::check(options.embed->params);
    embed::Services::read(options.embed->services);
  }
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
  nlohmann::json embedding;
  if (options.embed) {
    embedding =
        add_embedding(a.table, captures, options.features, *options.embed, nullptr, a.embedding, options.progress);
  }
  a.labels = row_labels(a.table, options.gt);
  if (a.table.rows() < 3) {
    throw ParamError("analyze: " + std::to_string(a.table.rows()) +
                     " sources left in the captures after filtering; at least 3 are needed to cluster");
  }
  t = clock::now();
  const uint64_t table_bytes = a.table.values_.size() * sizeof(double);
  pipeline::check_memory(options.features.max_memory_, table_bytes, static_cast<Eigen::Index>(a.table.rows()),
                         static_cast<Eigen::Index>(a.table.columns_.size()));
  auto columns = pipeline::columns_of(a.table, options.categories);
  columns.max_memory = options.features.max_memory_;
  columns.held = 0;  // the rows encoded are the table's own (counted by encode)
  // Read in place: the encoded copy is the pipeline's only one.
  a.result = pipeline::run(pipeline::table_values(a.table), options.pipeline, options.threads, columns);
  const auto& labels = a.result.labels_;
  say(options.progress, "cluster: " + options.pipeline + ": " + std::to_string(a.result.summary_.clusters) +
                            " clusters, " + std::to_string(a.result.summary_.noise) + " noise (" +
                            seconds_text(since(t)) + ")");
  t = clock::now();
  a.profiles = profile::profile_clusters(options.features, captures, a.table, labels, options.gt, options.catalog,
                                         options.origins, options.names ? options.names->heaviest : 0);
  const nlohmann::json rdns_summary = name_heaviest(a.profiles, options.names, options.progress);
  size_t unexplained = 0;
  for (const auto& p : a.profiles) unexplained += p.cluster_ >= 0 && p.activities_.empty();
  say(options.progress, "profile: " + std::to_string(a.profiles.size()) + " profiles, " + std::to_string(unexplained) +
                            " unexplained (" + seconds_text(since(t)) + ")");

  // Evaluation: silhouette per cluster on a seeded sample; with ground truth,
  // leave-one-out 1-NN and the clusters' agreement with it.
  t = clock::now();
  const cluster::Matrix& Y = a.result.embedding_;
  const nlohmann::json clustering = pipeline::to_json(a.result.summary_);
  const auto& own = a.result.summary_.silhouette_per_cluster;  // the clusterer's, when it scored its labels
  ground_truth::LeftOut left;
  const std::vector<int> truth =
      options.gt ? truth_of(a.table, *options.gt, options.min_class, left) : std::vector<int>();
  evaluate::ClusteringEvaluationParams ep;
  ep.silhouette = !own;
  ep.silhouette_rows = options.silhouette_rows;
  ep.seed = options.seed;
  ep.threads = options.threads;
  const auto ev = evaluate::evaluate_clustering(Y, labels, options.gt ? &truth : nullptr,
                                                options.gt ? options.gt->labels_ : std::vector<std::string>(), ep);
  nlohmann::json evaluation;
  if (ev.knn) {
    evaluation["knn_accuracy"] = ev.knn->accuracy_;
    evaluation["knn_macro_f1"] = ev.knn->macro_f1_;
    evaluation["labelled_sources"] = ev.knn->evaluated_;
    const auto& ag = *ev.agreement;
    evaluation["ari"] = ag.ari;
    evaluation["ami"] = ag.ami;
    evaluation["homogeneity"] = ag.homogeneity;
    evaluation["completeness"] = ag.completeness;
  }
  if (options.gt) evaluation["min_class"] = to_json(left);
  say(options.progress, "evaluate: " + seconds_text(since(t)));

  const auto [w0, w1] = window_range(a.table, options.features.window_);
  a.summary = {{"generator", "darklens analyze"},
               {"inputs", captures},
               {"window_start", iso8601_utc(w0)},
               {"window_end", iso8601_utc(w1)},
               {"features", features::options_to_json(options.features)},
               {"packets", features::packets_to_json(a.counters)},
               {"sources", a.table.rows()},
               {"columns", a.table.columns_.size()},
               {"embedding", embedding},
               {"clustering", clustering},
               {"unexplained_clusters", unexplained},
               {"evaluation", evaluation},
               {"seconds", since(t0)}};
  nlohmann::json damaged = nlohmann::json::object();
  for (const auto& [path, rc] : a.counters.files_) {
    damaged[path] = {{"records", rc.records_}, {"damaged", rc.weird_.total()}, {"stop_message", rc.stop_message_}};
  }
  a.summary["files"] = damaged;
  if (options.origins && !options.origins->empty()) a.summary["origin_databases"] = options.origins->describe();
  if (!rdns_summary.is_null()) a.summary["rdns"] = rdns_summary;

  a.report = report::analysis_document({.table = a.table,
                                        .counters = a.counters,
                                        .features = options.features,
                                        .pipeline = options.pipeline,
                                        .result = a.result,
                                        .profiles = a.profiles,
                                        .evaluation = ev,
                                        .unexplained = unexplained,
                                        .window_start_ns = w0,
                                        .window_end_ns = w1,
                                        .top = options.top,
                                        .projection_points = options.projection_points,
                                        .seed = options.seed});
  return a;
}

int64_t store(patterns::Store& db, const Analysis& a, const std::vector<std::string>& inputs, const Options& options,
              const std::string& token) {
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
  run.token = token;
  run.blobs.emplace_back(kReportBlob, dump_json(report::to_json(a.report)));
  if (options.embed) {
    auto b = embed::to_bytes(a.embedding);
    run.blobs = {
        {kEmbedWords, std::move(b.words)}, {kEmbedInput, std::move(b.input)}, {kEmbedOutput, std::move(b.output)}};
  }
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
    index_of_cluster[p.cluster_] = fresh.size();
    sightings.push_back({0, -static_cast<int64_t>(fresh.size()) - 1, p.sources_, p.packets_});
    fresh.push_back(patterns::pattern_of(Y, rows, C, p.cluster_, p.cluster_, p));
  }
  for (size_t i = 0; i < a.table.rows(); ++i) {
    const int l = a.result.labels_[i];
    const int64_t pid = l < 0 ? 0 : -static_cast<int64_t>(index_of_cluster.at(l)) - 1;
    members.push_back(member_of(a.table, i, pid, a.labels));
  }
  return db.save_run(run, fresh, std::move(members), sightings);
}

namespace {

std::string clusters_csv(const features::FeatureTable& t, const std::vector<int>& labels) {
  std::string s = "source,window_start,cluster\n";
  for (size_t i = 0; i < t.rows(); ++i) {
    s += t.source_[i].to_string();
    s += ',';
    s += iso8601_utc(t.window_start_ns_[i]);
    s += ',';
    s += std::to_string(labels[i]);
    s += '\n';
  }
  return s;
}

}  // namespace

int64_t publish(OutputDir& out, Analysis& a, patterns::Store* db, const std::vector<std::string>& inputs,
                const Options& options) {
  return publish_run(
      out, db, [&](const std::string& token) { return store(*db, a, inputs, options, token); },
      [&](const nlohmann::json& stored) {
        if (!stored.is_null()) a.summary["stored"] = stored;
        // The largest output is written alongside the others.
        auto features_csv =
            std::async(std::launch::async, [&] { features::write_table(a.table, out.path("features.csv")); });
        write_text(out.path("clusters.csv"), clusters_csv(a.table, a.result.labels_));
        write_text(out.path("profiles.json"), dump_json(a.report.profiles, 2) + "\n");
        write_text(out.path("summary.json"), dump_json(a.summary, 2) + "\n");
        write_text(out.path("report.html"), report::render_html(report::to_json(a.report)));
        features_csv.get();
      });
}

Loaded load(const Extras& e) {
  Loaded in{profile::Catalog::load(e.signatures.empty() ? data_file("signatures.txt") : e.signatures),
            std::nullopt,
            {},
            e.names};
  if (!e.gt.empty()) {
    in.gt = ground_truth::load(
        e.gt, e.label_map.empty() ? std::map<std::string, std::string>{} : ground_truth::load_label_map(e.label_map));
  }
  in.origins = origin::Origins::open(e.asn_db, e.geo_db);
  return in;
}

namespace {
template <typename O>
void attach_to(const Loaded& in, O& o) {
  o.catalog = &in.catalog;
  o.gt = in.gt ? &*in.gt : nullptr;
  o.origins = &in.origins;
  o.names = &in.names;
}
}  // namespace

void Loaded::attach(Options& o) const { attach_to(*this, o); }
void Loaded::attach(ClassifyOptions& o) const { attach_to(*this, o); }

std::vector<std::string> inputs_of(const std::vector<std::string>& captures, const Extras& e, const std::string& db) {
  std::vector<std::string> in = captures;
  in.insert(in.end(), e.gt.begin(), e.gt.end());
  for (const auto* p : {&e.label_map, &e.signatures, &db, &e.asn_db, &e.geo_db}) {
    if (!p->empty()) in.push_back(*p);
  }
  return in;
}

}  // namespace darklens::analyze
