// track(): the same sources over consecutive windows.
#include "darklens/analyze/track.hpp"

#include <algorithm>
#include <cstdio>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "common.hpp"
#include "darklens/core/memory.hpp"
#include "darklens/error.hpp"
#include "darklens/features/features.hpp"
#include "darklens/transform/transform.hpp"

namespace darklens::analyze {
namespace {

struct Day {
  std::string path;
  pipeline::MatrixFile m;
  std::vector<std::string> source;  // per row
  std::vector<int> truth;
  ground_truth::LeftOut left;
  std::vector<int> cluster;
};

bool is_table(const std::string& path) {
  auto ends = [&](const char* suffix) {
    const std::string x(suffix);
    return path.size() >= x.size() && path.compare(path.size() - x.size(), x.size(), x) == 0;
  };
  return ends(".csv") || ends(".npy");
}

// A capture's feature table (24 h windows; families as given, with the
// embedding continuing from `embedding` when asked), in the shape
// read_matrix gives.
pipeline::MatrixFile capture_table(const std::string& path, const TrackOptions& o, uint64_t max_memory,
                                   embed::Model& embedding, bool& embedded) {
  features::FeatureOptions opt;
  bool with_embed = false;
  std::tie(opt.families_, with_embed) = parse_families(o.families);
  opt.threads_ = o.threads;
  opt.max_memory_ = max_memory;
  features::Aggregator agg(opt);
  agg.add_file(path);
  auto t = agg.table();
  if (with_embed) {
    embed::Model last;
    detail::add_embedding(t, {path}, opt, o.embed, embedded ? &embedding : nullptr, last, o.progress);
    embedding = std::move(last);
    embedded = true;
  }
  pipeline::MatrixFile m;
  m.columns = t.columns_;
  m.X = pipeline::matrix_of(t);
  for (size_t i = 0; i < t.rows(); ++i)
    m.row_keys.push_back(t.source_[i].to_string() + "," + iso8601_utc(t.window_start_ns_[i]));
  return m;
}

// AMI of the clusterings of two days over the sources present on both.
std::optional<double> ami_common(const Day& a, const Day& b) {
  std::unordered_map<std::string, int> of_a;
  for (size_t i = 0; i < a.source.size(); ++i) of_a[a.source[i]] = a.cluster[i];
  std::vector<int> x, y;
  for (size_t i = 0; i < b.source.size(); ++i) {
    auto it = of_a.find(b.source[i]);
    if (it != of_a.end()) x.push_back(it->second), y.push_back(b.cluster[i]);
  }
  if (x.empty()) return std::nullopt;
  return evaluate::compare_labelings(x, y).ami;
}

size_t labelled(const std::vector<int>& truth) {
  return static_cast<size_t>(std::count_if(truth.begin(), truth.end(), [](int t) { return t != evaluate::kUnknown; }));
}

nlohmann::json or_null(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

}  // namespace

std::vector<int> label_table(const pipeline::MatrixFile& m, ground_truth::GroundTruth& gt, const std::string& path,
                             std::optional<double> mirai_share) {
  std::vector<int> truth = ground_truth::label_rows(gt, m.row_keys, path);
  if (mirai_share) {
    const auto col = std::find(m.columns.begin(), m.columns.end(), "fp_mirai");
    if (col == m.columns.end()) {
      throw FormatError(path + ": --mirai needs the column fp_mirai (darklens features --family fingerprints)");
    }
    const Eigen::Index c = col - m.columns.begin();
    ground_truth::label_mirai(gt, truth, std::span<const double>(m.X.col(c).data(), static_cast<size_t>(m.X.rows())),
                              *mirai_share);
  }
  return truth;
}

Tracking track(const std::vector<std::string>& inputs, ground_truth::GroundTruth gt, const TrackOptions& o) {
  pipeline::parse_spec(o.pipeline);  // a bad spec or family list fails before any reading
  if (parse_families(o.families).second) {
    embed::check(o.embed.params);
    embed::Services::read(o.embed.services);
  }
  std::vector<Day> days;
  embed::Model embedding;  // each captured day's vectors continue from the day before (i-DarkVec)
  bool embedded = false;
  uint64_t held = 0;  // bytes of the days' tables so far
  for (const auto& path : inputs) {
    Day d;
    d.path = path;
    // The days read so far stay in memory: what is left of the budget.
    MemoryBudget{o.max_memory}.check(held + 1, "track: the tables of " + std::to_string(days.size()) + " days",
                                     "raise it, or track fewer days at once");
    const uint64_t left = o.max_memory == 0 ? 0 : o.max_memory - held;
    d.m = is_table(path) ? pipeline::read_matrix(path) : capture_table(path, o, left, embedding, embedded);
    held += static_cast<uint64_t>(d.m.X.size()) * sizeof(double);
    pipeline::check_memory(o.max_memory, held, d.m.X.rows(), d.m.X.cols());
    if (!days.empty() && d.m.columns != days[0].m.columns) {
      throw FormatError(path + ": its columns differ from " + days[0].path + "'s (the same features are needed)");
    }
    d.truth = label_table(d.m, gt, path, o.mirai_share);
    d.left = ground_truth::drop_small_classes(d.truth, gt.labels_.size(), o.min_class);
    std::unordered_set<std::string> seen;
    for (const std::string& key : d.m.row_keys) {
      d.source.push_back(key.substr(0, key.find(',')));
      if (!seen.insert(d.source.back()).second) {
        throw FormatError(path + ": source " + d.source.back() +
                          " has several rows (track needs one window per table)");
      }
    }
    days.push_back(std::move(d));
  }

  // One category encoding, day 1's, for every day: the same columns to
  // compare and to cluster.
  {
    auto columns = pipeline::columns_named(days[0].m.columns, o.categories);
    columns.max_memory = o.max_memory;
    columns.held = held - static_cast<uint64_t>(days[0].m.X.size()) * sizeof(double);  // X is counted by encode
    auto e = pipeline::encode(days[0].m.X, columns);
    days[0].m.X = std::move(e.X);
    if (!e.fitted.is_null()) {
      const nlohmann::json code = nlohmann::json::array({e.fitted});
      for (size_t di = 1; di < days.size(); ++di) days[di].m.X = pipeline::project(days[di].m.X, code, o.threads);
    }
  }
  std::optional<transform::Scaler> scaler;
  if (o.scale != "none") scaler = transform::fit_scaler(days[0].m.X, transform::parse_scaler(o.scale));
  auto scaled = [&](const Day& d) { return scaler ? scaler->apply(d.m.X) : d.m.X; };
  const transform::Matrix first = scaled(days[0]);
  evaluate::KnnParams kp;
  kp.k_ = o.k;
  kp.labelled_only_ = true;
  kp.threads_ = o.threads;

  Tracking t;
  t.classes = gt.labels_;
  for (size_t di = 0; di < days.size(); ++di) {
    Day& d = days[di];
    if (o.progress) o.progress("day " + std::to_string(di + 1) + " of " + std::to_string(days.size()) + ": " + d.path);
    const transform::Matrix X = scaled(d);
    TrackDay out;
    out.input = d.path;
    out.rows = static_cast<size_t>(d.m.X.rows());
    out.labelled = labelled(d.truth);
    out.left_out = d.left;
    if (out.labelled >= 2) out.knn_accuracy = evaluate::knn_leave_one_out(X, d.truth, gt.labels_, kp).accuracy_;
    if (di > 0 && out.labelled >= 1 && labelled(days[0].truth) >= 1) {
      out.day1_model_accuracy = evaluate::knn_classify(first, days[0].truth, X, d.truth, gt.labels_, kp).accuracy_;
    }
    const auto r = pipeline::run(d.m.X, o.pipeline, o.threads);
    d.cluster = r.labels_;
    out.clusters = r.summary_.clusters;
    out.noise = r.summary_.noise;
    out.sizes = r.summary_.sizes;
    out.ami_vs_day1 = 1.0;
    if (di > 0) out.ami_vs_day1 = ami_common(days[0], d), out.ami_vs_previous = ami_common(days[di - 1], d);
    if (di > 0) {
      std::vector<std::pair<std::string, int>> a, b;
      for (size_t i = 0; i < days[di - 1].source.size(); ++i)
        a.emplace_back(days[di - 1].source[i], days[di - 1].cluster[i]);
      for (size_t i = 0; i < d.source.size(); ++i) b.emplace_back(d.source[i], d.cluster[i]);
      out.lineage = evaluate::lineage(a, b, o.link);
      for (const auto& [c, e] : out.lineage->from_events_) {
        if (e == "vanished") ++out.events[e];
      }
      for (const auto& [c, e] : out.lineage->to_events_) ++out.events[e];  // continued, split, merged or new
    }
    t.days.push_back(std::move(out));
  }
  return t;
}

nlohmann::json to_json(const Tracking& t, const TrackOptions& o) {
  nlohmann::json report = {{"pipeline", o.pipeline},
                           {"k", o.k},
                           {"scale", o.scale},
                           {"link", o.link},
                           {"categories", pipeline::categories_name(o.categories)},
                           {"min_class", o.min_class},
                           {"classes", t.classes},
                           {"days", nlohmann::json::array()}};
  for (size_t di = 0; di < t.days.size(); ++di) {
    const TrackDay& d = t.days[di];
    nlohmann::json day = {{"day", di + 1},
                          {"table", d.input},
                          {"rows", d.rows},
                          {"labelled", d.labelled},
                          {"classes_left_out", d.left_out.classes},
                          {"sources_left_out", d.left_out.rows},
                          {"knn_accuracy", or_null(d.knn_accuracy)},
                          {"day1_model_accuracy", or_null(d.day1_model_accuracy)},
                          {"clusters", d.clusters},
                          {"noise", d.noise},
                          {"sizes", d.sizes},
                          {"ami_vs_day1", or_null(d.ami_vs_day1)},
                          {"ami_vs_previous", or_null(d.ami_vs_previous)}};
    if (d.lineage) {
      nlohmann::json links = nlohmann::json::array();
      for (const auto& k : d.lineage->links_) {
        links.push_back({{"from", k.from}, {"to", k.to}, {"shared", k.shared}, {"jaccard", k.jaccard}});
      }
      nlohmann::json from = nlohmann::json::object(), to = nlohmann::json::object();
      for (const auto& [c, e] : d.lineage->from_events_) from[std::to_string(c)] = e;
      for (const auto& [c, e] : d.lineage->to_events_) to[std::to_string(c)] = e;
      day["lineage"] = {{"links", links}, {"previous_clusters", from}, {"clusters", to}};
    }
    report["days"].push_back(day);
  }
  return report;
}

std::string track_csv(const Tracking& t) {
  auto num = [](const std::optional<double>& v) {
    char buf[32] = "";
    if (v.has_value()) std::snprintf(buf, sizeof buf, "%.6f", v.value_or(0.0));
    return std::string(buf);
  };
  std::string csv =
      "day,table,rows,labelled,knn_accuracy,day1_model_accuracy,clusters,noise,ami_vs_day1,ami_vs_previous,"
      "continued,split,merged,new,vanished\n";
  for (size_t di = 0; di < t.days.size(); ++di) {
    const TrackDay& d = t.days[di];
    std::string quoted = d.input;
    if (quoted.find_first_of(",\"") != std::string::npos) {
      std::string q = "\"";
      for (char c : quoted) q += c == '"' ? std::string("\"\"") : std::string(1, c);
      quoted = q + "\"";
    }
    csv += std::to_string(di + 1) + "," + quoted + "," + std::to_string(d.rows) + "," + std::to_string(d.labelled) +
           "," + num(d.knn_accuracy) + "," + num(d.day1_model_accuracy) + "," + std::to_string(d.clusters) + "," +
           std::to_string(d.noise) + "," + num(d.ami_vs_day1) + "," + num(d.ami_vs_previous);
    for (const char* e : {"continued", "split", "merged", "new", "vanished"}) {
      const auto it = d.events.find(e);
      csv += ',';
      if (di > 0) csv += std::to_string(it == d.events.end() ? 0 : it->second);
    }
    csv += "\n";
  }
  return csv;
}

std::string lineage_csv(const Tracking& t) {
  std::string csv = "day,from_cluster,to_cluster,shared,jaccard\n";
  for (size_t di = 0; di < t.days.size(); ++di) {
    if (!t.days[di].lineage) continue;
    for (const auto& k : t.days[di].lineage->links_) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "%zu,%d,%d,%zu,%.6f\n", di + 1, k.from, k.to, k.shared, k.jaccard);
      csv += buf;
    }
  }
  return csv;
}

}  // namespace darklens::analyze
