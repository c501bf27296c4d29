// classify(): a later window against a stored model.
#include <algorithm>
#include <chrono>
#include <map>
#include <unordered_map>

#include "../core/parallel.hpp"
#include "common.hpp"
#include "darklens/analyze/analyze.hpp"
#include "darklens/core/text.hpp"
#include "darklens/error.hpp"
#include "darklens/evaluate/evaluate.hpp"
#include "darklens/report/report.hpp"

namespace darklens::analyze {
using namespace detail;

namespace {

// The clusterer stage of a pipeline spec, as a spec of its own.
std::string clusterer_of(const std::string& spec) {
  const auto stages = pipeline::parse_spec(spec);
  const auto& s = stages.back();
  std::string out = s.name;
  for (size_t i = 0; i < s.args.size(); ++i) {
    out += i == 0 ? ":" : ",";
    out += s.args[i].first.empty() ? s.args[i].second : s.args[i].first + "=" + s.args[i].second;
  }
  return out;
}

// The model's feature options, refused when its families cannot be
// recomputed on a new window.
features::FeatureOptions model_features(const patterns::Store& db, const patterns::RunRecord& model, int64_t model_id,
                                        int threads) {
  if (model.kind != "analyze") {
    throw ParamError(db.path() + ": run " + std::to_string(model_id) +
                     " is a classify run; give the id of an analyze run (darklens patterns list)");
  }
  features::FeatureOptions fo = features::options_from_json(model.features);
  for (auto f : fo.families_) {
    if (f == features::Family::kAgmNum) {
      throw ParamError(db.path() + ": model " + std::to_string(model_id) +
                       " uses agm-num, whose port columns are chosen per window; a later window cannot be put in "
                       "the same columns. Analyze with other families to classify later days");
    }
  }
  fo.threads_ = static_cast<int>(resolve_threads(threads));
  return fo;
}

// Rows in known patterns, and the others clustered into new groups with
// the model's clusterer in the model's embedding.
struct Grouping {
  std::vector<int> labels;               // per row: known index, K + new group, or cluster::kNoise
  std::vector<Eigen::Index> fresh_rows;  // rows in no known pattern
  std::vector<int> groups;               // per fresh row: new group, or cluster::kNoise
  int new_groups = 0;
  nlohmann::json new_clustering = nullptr;  // the clusterer's summary, when it ran
};
Grouping group_rows(Classification& c, const cluster::Matrix& Y, const ClassifyOptions& o) {
  Grouping g;
  c.known_of_row = patterns::assign(Y, c.known, o.threads);
  const int K = static_cast<int>(c.known.size());
  for (size_t i = 0; i < c.known_of_row.size(); ++i) {
    if (c.known_of_row[i] < 0) g.fresh_rows.push_back(static_cast<Eigen::Index>(i));
  }
  g.groups.assign(g.fresh_rows.size(), 0);
  if (g.fresh_rows.size() >= std::max<size_t>(o.min_new_to_cluster, 3)) {
    auto r = pipeline::run(Y(g.fresh_rows, Eigen::all), clusterer_of(c.model.pipeline), o.threads);
    g.groups = r.labels_;
    g.new_clustering = pipeline::to_json(r.summary_);
  }
  // Groups of fewer than min_group sources are noise; the rest renumbered in order.
  if (o.min_group > 1) {
    std::map<int, size_t> size;
    for (int x : g.groups) {
      if (x >= 0) ++size[x];
    }
    std::map<int, int> renumber;
    for (const auto& [x, n] : size) {
      if (n >= o.min_group) renumber.emplace(x, static_cast<int>(renumber.size()));
    }
    for (int& x : g.groups) {
      if (x >= 0) x = renumber.count(x) ? renumber.at(x) : cluster::kNoise;
    }
  }
  for (int x : g.groups) g.new_groups = std::max(g.new_groups, x + 1);
  c.new_of_row.assign(c.table.rows(), -2);
  g.labels.assign(c.known_of_row.begin(), c.known_of_row.end());
  for (size_t i = 0; i < g.fresh_rows.size(); ++i) {
    const auto r = static_cast<size_t>(g.fresh_rows[i]);
    c.new_of_row[r] = g.groups[i];
    g.labels[r] = g.groups[i] < 0 ? cluster::kNoise : K + g.groups[i];
  }
  return g;
}

// The new groups as patterns: centroid = member mean, radius among all centroids.
void new_patterns(Classification& c, const cluster::Matrix& Y, const Grouping& g,
                  const std::map<int, const profile::ClusterProfile*>& profile_of) {
  const int K = static_cast<int>(c.known.size());
  cluster::Matrix C(K + g.new_groups, Y.cols());
  for (int k = 0; k < K; ++k) {
    for (Eigen::Index j = 0; j < Y.cols(); ++j)
      C(k, j) = c.known[static_cast<size_t>(k)].centroid[static_cast<size_t>(j)];
  }
  std::vector<std::vector<Eigen::Index>> members(static_cast<size_t>(g.new_groups));
  for (size_t i = 0; i < g.fresh_rows.size(); ++i) {
    if (g.groups[i] >= 0) members[static_cast<size_t>(g.groups[i])].push_back(g.fresh_rows[i]);
  }
  for (int n = 0; n < g.new_groups; ++n) {
    Eigen::RowVectorXd mean = Eigen::RowVectorXd::Zero(Y.cols());
    for (auto r : members[static_cast<size_t>(n)]) mean += Y.row(r);
    C.row(K + n) = mean / std::max<double>(1.0, static_cast<double>(members[static_cast<size_t>(n)].size()));
  }
  for (int n = 0; n < g.new_groups; ++n) {
    c.fresh.push_back(patterns::pattern_of(Y, members[static_cast<size_t>(n)], C, K + n, n, *profile_of.at(K + n)));
  }
}

// Which known patterns are back, which absent, and the new groups.
nlohmann::json pattern_status(const Classification& c, const std::map<int, const profile::ClusterProfile*>& profile_of,
                              size_t& back) {
  nlohmann::json pats = nlohmann::json::array();
  back = 0;
  for (int k = 0; k < static_cast<int>(c.known.size()); ++k) {
    const auto& kp = c.known[static_cast<size_t>(k)];
    const auto it = profile_of.find(k);
    const uint64_t now = it == profile_of.end() ? 0 : it->second->sources_;
    back += now > 0;
    pats.push_back({{"id", kp.id},
                    {"name", kp.name},
                    {"status", now > 0 ? "back" : "absent"},
                    {"sources", now},
                    {"packets", it == profile_of.end() ? 0 : it->second->packets_},
                    {"sources_then", kp.sources},
                    {"activity", profile::activity_of(kp.profile)}});
  }
  for (size_t g = 0; g < c.fresh.size(); ++g) {
    const auto& p = c.fresh[g];
    pats.push_back({{"id", 0},
                    {"name", ""},
                    {"status", "new"},
                    {"new_group", g},
                    {"sources", p.sources},
                    {"packets", p.packets},
                    {"sources_then", 0},
                    {"activity", profile::activity_of(p.profile)}});
  }
  return pats;
}

// Day-over-day agreement with the model's window over the sources in both.
nlohmann::json tracking_vs_model(const patterns::Store& db, const Classification& c, int64_t model_id) {
  std::vector<std::string> sources(c.table.rows());
  for (size_t i = 0; i < c.table.rows(); ++i) sources[i] = c.table.source_[i].to_string();
  const auto then = db.member_patterns(model_id, sources);
  std::vector<int> a_then, a_now;
  size_t same = 0;
  for (size_t i = 0; i < c.table.rows(); ++i) {
    const auto it = then.find(sources[i]);
    if (it == then.end()) continue;
    a_then.push_back(static_cast<int>(it->second) - 1);  // pattern id - 1; no pattern -> -1
    const int now = c.known_of_row[i] >= 0 ? static_cast<int>(c.known[static_cast<size_t>(c.known_of_row[i])].id) - 1
                                           : -1000 - std::max(c.new_of_row[i], -1);
    a_now.push_back(now);
    same += now == a_then.back() && now >= 0;
  }
  nlohmann::json tracking = {{"sources_in_both", a_then.size()}, {"same_pattern", same}};
  if (a_then.size() >= 2) tracking["ami_vs_model"] = evaluate::compare_labelings(a_then, a_now).ami;
  return tracking;
}

// The report's lines over time: the model's window, earlier classify runs
// of the same model (the newest kSeriesRuns), this one.
constexpr size_t kSeriesRuns = 200;
nlohmann::json series(const patterns::Store& db, const Classification& c, int64_t model_id, int64_t w0) {
  nlohmann::json xs = nlohmann::json::array(), ami = nlohmann::json::array(), knn = nlohmann::json::array(),
                 known_share = nlohmann::json::array();
  auto point = [&](const std::string& start, const nlohmann::json& s, bool is_model) {
    xs.push_back(start.substr(0, 10));
    ami.push_back(is_model ? nlohmann::json(1.0)
                           : s.value("/tracking/ami_vs_model"_json_pointer, nlohmann::json(nullptr)));
    knn.push_back(s.value("/evaluation/knn_accuracy"_json_pointer, nlohmann::json(nullptr)));
    known_share.push_back(is_model ? nlohmann::json(1.0) : s.value("share_known", nlohmann::json(nullptr)));
  };
  point(c.model.summary.value("window_start", iso8601_utc(c.model.window_start_ns)), c.model.summary, true);
  // The newest earlier runs only: a watch stores one every few minutes.
  for (const auto& summary : db.classify_series(model_id, kSeriesRuns)) {
    point(summary.value("window_start", ""), summary, false);
  }
  point(iso8601_utc(w0), c.summary, false);
  return {{"x", xs},
          {"lines",
           {{"AMI vs the model's window", ami},
            {"share of sources in known patterns", known_share},
            {"1-NN accuracy (ground truth)", knn}}}};
}

// Each profile's name after its known pattern or new group (new groups'
// pattern ids once stored).
std::vector<nlohmann::json> profile_names(const Classification& c) {
  const int K = static_cast<int>(c.known.size());
  std::vector<nlohmann::json> names;
  for (const auto& p : c.profiles) {
    const int l = p.cluster_;
    if (l >= 0 && l < K) {
      const auto& kp = c.known[static_cast<size_t>(l)];
      names.push_back({{"pattern", kp.id},
                       {"name", "pattern " + std::to_string(kp.id) + (kp.name.empty() ? "" : " (" + kp.name + ")")}});
    } else if (l >= K) {
      const auto g = static_cast<size_t>(l - K);
      const int64_t id = g < c.fresh.size() ? c.fresh[g].id : 0;
      if (id > 0) {
        names.push_back({{"new_group", g}, {"pattern", id}, {"name", "pattern " + std::to_string(id) + " (new)"}});
      } else {
        names.push_back({{"new_group", g}, {"name", "new group " + std::to_string(g)}});
      }
    } else {
      names.push_back({{"name", "new, noise"}});
    }
  }
  return names;
}

}  // namespace

Classification classify(const patterns::Store& db, const std::vector<std::string>& captures, const ClassifyOptions& o) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  auto since = [](clock::time_point a) { return std::chrono::duration<double>(clock::now() - a).count(); };
  refuse_stdin(captures, "classify");
  Classification c;
  const int64_t model_id = o.model ? o.model : db.latest_model();
  c.model = db.run(model_id);
  features::FeatureOptions fo = model_features(db, c.model, model_id, o.threads);
  fo.max_memory_ = o.max_memory;
  if (o.span) {
    const auto [from, to] = *o.span;
    if (to <= from) throw ParamError("classify: an empty time span");
    fo.window_ = {to - from, from};
    fo.time_from_ns_ = from;
    fo.time_to_ns_ = to;
  }
  c.window = fo.window_;
  features::AggregateCounters counters;
  auto t = clock::now();
  {
    features::Aggregator agg(fo);
    agg.add_files(captures);
    c.table = agg.table();
    counters = agg.counters();
  }
  nlohmann::json embedding;
  if (const auto e = c.model.summary.find("embedding"); e != c.model.summary.end() && !e->is_null()) {
    // The window's vectors continue from the model's (i-DarkVec), so that
    // they live in the space the patterns were found in.
    const std::string origin = db.path() + ": model " + std::to_string(model_id);
    const EmbedOptions eo = embed_options_from_json(*e, origin);
    embed::ModelBytes b;
    for (auto [name, part] : {std::pair{kEmbedWords, &b.words}, {kEmbedInput, &b.input}, {kEmbedOutput, &b.output}}) {
      auto blob = db.blob(model_id, name);
      if (!blob) throw FormatError(origin + " uses the embed family but its stored " + name + " is missing");
      *part = std::move(*blob);
    }
    const embed::Model init = embed::from_bytes(b, eo.params.dim_, origin);
    embed::Model last;
    embedding = add_embedding(c.table, captures, fo, eo, &init, last, o.progress);
  }
  if (c.table.columns_ != c.model.columns) {
    throw FormatError("classify: the new window has " + std::to_string(c.table.columns_.size()) +
                      " feature columns, model " + std::to_string(model_id) + " has " +
                      std::to_string(c.model.columns.size()) + "; they must be the same");
  }
  say(o.progress, "features: " + std::to_string(c.table.rows()) + " sources from " + std::to_string(counters.used_) +
                      " packets (" + seconds_text(since(t)) + ")");
  if (c.table.rows() == 0) throw ParamError("classify: no source left in the captures after filtering");
  c.labels = row_labels(c.table, o.gt);

  t = clock::now();
  const cluster::Matrix Y = pipeline::project(pipeline::matrix_of(c.table), c.model.transforms, o.threads);
  c.known = db.patterns(model_id);
  const int K = static_cast<int>(c.known.size());
  const Grouping g = group_rows(c, Y, o);
  say(o.progress, "classify: " + std::to_string(c.table.rows() - g.fresh_rows.size()) + " sources in " +
                      std::to_string(K) + " known patterns, " + std::to_string(g.fresh_rows.size()) + " new in " +
                      std::to_string(g.new_groups) + " groups (" + seconds_text(since(t)) + ")");

  t = clock::now();
  c.profiles = profile::profile_clusters(fo, captures, c.table, g.labels, o.gt, o.catalog, o.origins,
                                         o.names ? o.names->heaviest : 0);
  const nlohmann::json rdns_summary = name_heaviest(c.profiles, o.names, o.progress);
  std::map<int, const profile::ClusterProfile*> profile_of;
  for (const auto& p : c.profiles) profile_of[p.cluster_] = &p;
  new_patterns(c, Y, g, profile_of);
  say(o.progress, "profile: " + std::to_string(c.profiles.size()) + " profiles (" + seconds_text(since(t)) + ")");

  size_t back = 0;
  const nlohmann::json pats = pattern_status(c, profile_of, back);
  const nlohmann::json tracking = tracking_vs_model(db, c, model_id);
  nlohmann::json evaluation;
  std::optional<evaluate::Classification> knn;
  if (o.gt) {
    ground_truth::LeftOut left;
    const auto truth = truth_of(c.table, *o.gt, o.min_class, left);
    evaluation["min_class"] = to_json(left);
    evaluate::ClusteringEvaluationParams ep;
    ep.silhouette = false;  // the new groups' clusterer scores its own
    ep.threads = o.threads;
    knn = evaluate::evaluate_clustering(Y, g.labels, &truth, o.gt->labels_, ep).knn;
    if (knn) {
      evaluation["knn_accuracy"] = knn->accuracy_;
      evaluation["labelled_sources"] = knn->evaluated_;
    }
  }
  const auto [w0, w1] = window_range(c.table, fo.window_);
  const size_t known_rows = c.table.rows() - g.fresh_rows.size();
  c.summary = {{"generator", "darklens classify"},
               {"inputs", captures},
               {"model", model_id},
               {"window_start", iso8601_utc(w0)},
               {"window_end", iso8601_utc(w1)},
               {"sources", c.table.rows()},
               {"packets_used", counters.used_},
               {"embedding", embedding},
               {"sources_in_known_patterns", known_rows},
               {"share_known", static_cast<double>(known_rows) / static_cast<double>(c.table.rows())},
               {"new_sources", g.fresh_rows.size()},
               {"new_groups", g.new_groups},
               {"new_clustering", g.new_clustering},
               {"patterns_back", back},
               {"patterns_absent", K - static_cast<int>(back)},
               {"patterns", pats},
               {"tracking", tracking},
               {"evaluation", evaluation},
               {"seconds", since(t0)}};

  if (o.origins && !o.origins->empty()) c.summary["origin_databases"] = o.origins->describe();
  if (!rdns_summary.is_null()) c.summary["rdns"] = rdns_summary;
  const nlohmann::json lines = series(db, c, model_id, w0);
  c.report = report::classification_document({.model_id = model_id,
                                              .model_window_start = c.model.summary.value("window_start", ""),
                                              .model_pipeline = c.model.pipeline,
                                              .sources = c.table.rows(),
                                              .known_rows = known_rows,
                                              .new_sources = g.fresh_rows.size(),
                                              .new_groups = static_cast<size_t>(g.new_groups),
                                              .back = back,
                                              .absent = static_cast<size_t>(K) - back,
                                              .window_start_ns = w0,
                                              .tracking = tracking,
                                              .patterns = pats,
                                              .series = lines,
                                              .profiles = c.profiles,
                                              .profile_names = profile_names(c),
                                              .embedding = Y,
                                              .labels = g.labels,
                                              .knn = knn ? &*knn : nullptr,
                                              .projection_points = o.projection_points,
                                              .seed = o.seed});
  return c;
}

int64_t store(patterns::Store& db, Classification& c, const std::vector<std::string>& inputs,
              const std::string& token) {
  patterns::RunRecord run;
  run.kind = "classify";
  run.model_run = c.model.id;
  run.created = now_utc();
  const auto [w0, w1] = window_range(c.table, c.window);
  run.window_start_ns = w0;
  run.window_end_ns = w1;
  run.inputs = inputs;
  run.features = c.model.features;
  run.columns = c.model.columns;
  run.pipeline = c.model.pipeline;
  run.transforms = nlohmann::json::array();  // the model's are used
  run.summary = c.summary;
  run.token = token;
  std::vector<patterns::Member> members;
  std::map<int64_t, patterns::Sighting> seen;
  for (const auto& k : c.known) seen[k.id] = {0, k.id, 0, 0};
  for (const auto& p : c.profiles) {
    if (p.cluster_ >= 0 && p.cluster_ < static_cast<int>(c.known.size())) {
      auto& s = seen[c.known[static_cast<size_t>(p.cluster_)].id];
      s.sources = p.sources_;
      s.packets = p.packets_;
    }
  }
  std::vector<patterns::Sighting> sightings;
  sightings.reserve(seen.size() + c.fresh.size());
  for (const auto& [id, s] : seen) sightings.push_back(s);
  for (size_t g = 0; g < c.fresh.size(); ++g) {
    sightings.push_back({0, -static_cast<int64_t>(g) - 1, c.fresh[g].sources, c.fresh[g].packets});
  }
  for (size_t i = 0; i < c.table.rows(); ++i) {
    int64_t pid = 0;
    if (c.known_of_row[i] >= 0) {
      pid = c.known[static_cast<size_t>(c.known_of_row[i])].id;
    } else if (c.new_of_row[i] >= 0) {
      pid = -static_cast<int64_t>(c.new_of_row[i]) - 1;
    }
    members.push_back(member_of(c.table, i, pid, c.labels));
  }
  const int64_t id = db.save_run(run, c.fresh, std::move(members), sightings);
  // The new groups have pattern ids now: the summary and the report show them.
  for (auto& p : c.summary["patterns"]) {
    if (p["status"] == "new") p["id"] = c.fresh[p["new_group"].get<size_t>()].id;
  }
  c.report.patterns = c.summary["patterns"];
  const auto names = profile_names(c);
  for (size_t i = 0; i < names.size() && i < c.report.profiles.size(); ++i) c.report.profiles[i].update(names[i]);
  db.save_blob(id, kReportBlob, dump_json(report::to_json(c.report)));
  return id;
}

int64_t publish(OutputDir& out, Classification& c, patterns::Store* db, const std::vector<std::string>& inputs) {
  std::string csv = "source,window_start,status,pattern\n";
  for (size_t i = 0; i < c.table.rows(); ++i) {
    csv += c.table.source_[i].to_string() + "," + iso8601_utc(c.table.window_start_ns_[i]) + ",";
    if (c.known_of_row[i] >= 0) {
      csv += "known," + std::to_string(c.known[static_cast<size_t>(c.known_of_row[i])].id);
    } else if (c.new_of_row[i] >= 0) {
      csv += "new,new-" + std::to_string(c.new_of_row[i]);
    } else {
      csv += "new,noise";
    }
    csv += "\n";
  }
  return publish_run(
      out, db, [&](const std::string& token) { return store(*db, c, inputs, token); },
      [&](const nlohmann::json& stored) {
        if (!stored.is_null()) c.summary["stored"] = stored;
        write_text(out.path("assignments.csv"), csv);
        write_text(out.path("profiles.json"), dump_json(c.report.profiles, 2) + "\n");
        write_text(out.path("classify.json"), dump_json(c.summary, 2) + "\n");
        write_text(out.path("report.html"), report::render_html(report::to_json(c.report)));
      });
}

}  // namespace darklens::analyze
