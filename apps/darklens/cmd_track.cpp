// darklens track: the same sources over consecutive windows.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "commands.hpp"
#include "darklens/core/atomic_file.hpp"
#include "darklens/error.hpp"
#include "darklens/evaluate/evaluate.hpp"
#include "darklens/features/features.hpp"
#include "darklens/transform/transform.hpp"

namespace darklens::cli {
namespace {

struct Day {
  std::string path;
  pipeline::MatrixFile m;
  std::vector<std::string> source;  // per row
  std::vector<int> truth;
  std::vector<int> cluster;
};

bool is_table(const std::string& path) {
  auto ends = [&](const char* suffix) {
    const std::string x(suffix);
    return path.size() >= x.size() && path.compare(path.size() - x.size(), x.size(), x) == 0;
  };
  return ends(".csv") || ends(".npy");
}

// A capture's feature table (24 h windows; families as given), in the
// shape read_matrix gives.
pipeline::MatrixFile capture_table(const std::string& path, const std::string& families, int threads) {
  features::FeatureOptions opt;
  opt.families_ = features::parse_families(families);
  opt.threads_ = threads;
  features::Aggregator agg(opt);
  agg.add_file(path);
  const auto t = agg.table();
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

nlohmann::json or_null(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

}  // namespace

Command add_track(CLI::App& app) {
  struct Opts {
    std::vector<std::string> tables, gt;
    std::string family = "agm,temporal,fingerprints";
    std::string out, label_map, scale = "zscore", spec = "zscore|pca:variance=0.9|kmeans:k=auto";
    int k = 1, threads = 0;
    double link = 0.2;
    std::optional<double> mirai;
    bool quiet = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand(
      "track",
      "Follow sources over consecutive days (feature tables or captures of day 1, day 2, ...): per day, "
      "leave-one-out k-NN accuracy of the labelled sources and the accuracy of classifying them "
      "with day 1's sources; the clusters of each day (same pipeline), their AMI with day 1's and "
      "the previous day's over the sources present on both, and their lineage (continued, split, "
      "merged, new, vanished). Writes DIR/track.csv, DIR/lineage.csv, DIR/track.json. docs/evaluate.md.");
  sub->add_option("tables", o->tables,
                  "Feature tables (.csv, .npy) or captures of consecutive days, in order (one row per source)")
      ->required()
      ->expected(2, 1000);
  sub->add_option("--gt", o->gt, "Ground truth CSV 'ip,label' or 'cidr,label' (repeat --gt for several files)")
      ->required()
      ->allow_extra_args(false);
  sub->add_option("--label-map", o->label_map, "CSV 'from,to' normalising labels");
  sub->add_option("--family", o->family, "Feature families computed for captures (tables are used as they are)")
      ->default_val("agm,temporal,fingerprints");
  sub->add_option("--mirai", o->mirai, "Also label 'mirai' the unlabelled sources with at least this fp_mirai share")
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--pipeline", o->spec, "Clustering pipeline run on every day (docs/cluster.md)")
      ->default_val("zscore|pca:variance=0.9|kmeans:k=auto");
  sub->add_option("--scale", o->scale, "Scaling for the k-NN distances, fitted on day 1 and applied to every day")
      ->check(CLI::IsMember({"zscore", "minmax", "robust", "log1p", "none"}))
      ->default_val("zscore");
  sub->add_option("-k", o->k, "Neighbours that vote")->default_val(1)->check(CLI::PositiveNumber);
  sub->add_option("--link", o->link, "Jaccard overlap that links a cluster to the next day's")
      ->default_val(0.2)
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("-o,--output", o->out, "Output directory (created if missing)")->required();
  sub->add_option("-t,--threads", o->threads, "Worker threads (0 = all cores; same result on any number)")
      ->default_val(0)
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("-q,--quiet", o->quiet, "Print nothing but errors");
  return {
      sub, [o]() {
        pipeline::parse_spec(o->spec);  // a bad spec or family list fails before any reading
        features::parse_families(o->family);
        const auto map =
            o->label_map.empty() ? std::map<std::string, std::string>{} : ground_truth::load_label_map(o->label_map);
        auto gt = ground_truth::load(o->gt, map);
        std::vector<Day> days;
        for (const auto& path : o->tables) {
          Day d;
          d.path = path;
          d.m = is_table(path) ? pipeline::read_matrix(path) : capture_table(path, o->family, o->threads);
          if (!days.empty() && d.m.columns != days[0].m.columns) {
            throw FormatError(path + ": its columns differ from " + days[0].path + "'s (the same features are needed)");
          }
          d.truth = label_rows(d.m, gt, path, o->mirai);
          std::unordered_set<std::string> seen;
          for (size_t i = 0; i < d.m.row_keys.size(); ++i) {
            const std::string& key = d.m.row_keys[i];
            d.source.push_back(key.substr(0, key.find(',')));
            if (!seen.insert(d.source.back()).second) {
              throw FormatError(path + ": source " + d.source.back() +
                                " has several rows (track needs one window per table)");
            }
          }
          days.push_back(std::move(d));
        }
        std::error_code ec;
        std::filesystem::create_directories(o->out, ec);
        if (ec) throw IoError(o->out + ": cannot create output directory: " + ec.message());

        std::optional<transform::Scaler> scaler;
        if (o->scale != "none") scaler = transform::fit_scaler(days[0].m.X, transform::parse_scaler(o->scale));
        auto scaled = [&](const Day& d) { return scaler ? scaler->apply(d.m.X) : d.m.X; };
        const transform::Matrix first = scaled(days[0]);
        evaluate::KnnParams kp;
        kp.k_ = o->k;
        kp.labelled_only_ = true;
        kp.threads_ = o->threads;

        nlohmann::json report = {{"pipeline", o->spec},   {"k", o->k},
                                 {"scale", o->scale},     {"link", o->link},
                                 {"classes", gt.labels_}, {"days", nlohmann::json::array()}};
        std::string csv =
            "day,table,rows,labelled,knn_accuracy,day1_model_accuracy,clusters,noise,ami_vs_day1,ami_vs_previous,"
            "continued,split,merged,new,vanished\n";
        std::string lineage_csv = "day,from_cluster,to_cluster,shared,jaccard\n";
        for (size_t di = 0; di < days.size(); ++di) {
          Day& d = days[di];
          if (!o->quiet)
            std::cerr << "darklens track: day " << di + 1 << " of " << days.size() << ": " << d.path << "\n";
          const transform::Matrix X = scaled(d);
          const size_t labelled = static_cast<size_t>(
              std::count_if(d.truth.begin(), d.truth.end(), [](int t) { return t != evaluate::kUnknown; }));
          std::optional<double> loo, cross;
          if (labelled >= 2) loo = evaluate::knn_leave_one_out(X, d.truth, gt.labels_, kp).accuracy_;
          if (di > 0 && labelled >= 1 && std::count_if(days[0].truth.begin(), days[0].truth.end(), [](int t) {
                                           return t != evaluate::kUnknown;
                                         }) >= 1) {
            cross = evaluate::knn_classify(first, days[0].truth, X, d.truth, gt.labels_, kp).accuracy_;
          }
          const auto r = pipeline::run(d.m.X, o->spec, o->threads);
          d.cluster = r.labels_;
          std::optional<double> vs_first = 1.0, vs_prev;
          if (di > 0) vs_first = ami_common(days[0], d), vs_prev = ami_common(days[di - 1], d);
          nlohmann::json day = {{"day", di + 1},
                                {"table", d.path},
                                {"rows", d.m.X.rows()},
                                {"labelled", labelled},
                                {"knn_accuracy", or_null(loo)},
                                {"day1_model_accuracy", or_null(cross)},
                                {"clusters", r.summary_.clusters},
                                {"noise", r.summary_.noise},
                                {"sizes", r.summary_.sizes},
                                {"ami_vs_day1", or_null(vs_first)},
                                {"ami_vs_previous", or_null(vs_prev)}};
          std::map<std::string, size_t> events;
          if (di > 0) {
            std::vector<std::pair<std::string, int>> a, b;
            for (size_t i = 0; i < days[di - 1].source.size(); ++i)
              a.emplace_back(days[di - 1].source[i], days[di - 1].cluster[i]);
            for (size_t i = 0; i < d.source.size(); ++i) b.emplace_back(d.source[i], d.cluster[i]);
            const auto l = evaluate::lineage(a, b, o->link);
            nlohmann::json links = nlohmann::json::array();
            for (const auto& k : l.links_) {
              links.push_back({{"from", k.from}, {"to", k.to}, {"shared", k.shared}, {"jaccard", k.jaccard}});
              char buf[160];
              std::snprintf(buf, sizeof buf, "%zu,%d,%d,%zu,%.6f\n", di + 1, k.from, k.to, k.shared, k.jaccard);
              lineage_csv += buf;
            }
            nlohmann::json from = nlohmann::json::object(), to = nlohmann::json::object();
            for (const auto& [c, e] : l.from_events_) {
              from[std::to_string(c)] = e;
              if (e == "vanished") ++events[e];
            }
            for (const auto& [c, e] : l.to_events_) {
              to[std::to_string(c)] = e;
              ++events[e];  // each of today's clusters: continued, split, merged or new
            }
            day["lineage"] = {{"links", links}, {"previous_clusters", from}, {"clusters", to}};
          }
          auto num = [](const std::optional<double>& v) {
            char buf[32] = "";
            if (v.has_value()) std::snprintf(buf, sizeof buf, "%.6f", v.value_or(0.0));
            return std::string(buf);
          };
          std::string quoted = d.path;
          if (quoted.find_first_of(",\"") != std::string::npos) {
            std::string q = "\"";
            for (char c : quoted) q += c == '"' ? std::string("\"\"") : std::string(1, c);
            quoted = q + "\"";
          }
          csv += std::to_string(di + 1) + "," + quoted + "," + std::to_string(d.m.X.rows()) + "," +
                 std::to_string(labelled) + "," + num(loo) + "," + num(cross) + "," +
                 std::to_string(r.summary_.clusters) + "," + std::to_string(r.summary_.noise) + "," + num(vs_first) +
                 "," + num(vs_prev);
          for (const char* e : {"continued", "split", "merged", "new", "vanished"}) {
            csv += "," + (di > 0 ? std::to_string(events[e]) : std::string());
          }
          csv += "\n";
          report["days"].push_back(day);
        }
        const auto dir = std::filesystem::path(o->out);
        for (const auto& [name, text] : {std::pair<std::string, std::string>{"track.csv", csv},
                                         {"lineage.csv", lineage_csv},
                                         {"track.json", report.dump(2) + "\n"}}) {
          AtomicFile f((dir / name).string());
          f.write(text);
          f.commit();
        }
        if (!o->quiet) std::cout << csv;
        return 0;
      }};
}

}  // namespace darklens::cli
