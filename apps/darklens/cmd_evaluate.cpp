// darklens evaluate: clusters and feature space against ground truth.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>

#include "commands.hpp"
#include "darklens/analyze/evaluate_table.hpp"
#include "darklens/core/text.hpp"
#include "darklens/error.hpp"
#include "darklens/evaluate/evaluate.hpp"
#include "darklens/labels/ground_truth.hpp"
#include "darklens/pipeline/pipeline.hpp"
#include "darklens/transform/transform.hpp"

namespace darklens::cli {
namespace {

// labels.csv of `darklens cluster`: KEY...,cluster per row, keyed like the table.
std::unordered_map<std::string, int> read_cluster_labels(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IoError(path + ": cannot open");
  std::unordered_map<std::string, int> m;
  std::string line;
  size_t no = 0;
  while (std::getline(in, line)) {
    ++no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (no == 1 || line.empty()) continue;  // header
    const size_t comma = line.rfind(',');
    int c = 0;
    if (comma == std::string::npos || std::sscanf(line.c_str() + comma + 1, "%d", &c) != 1) {
      throw FormatError(path + ":" + std::to_string(no) + ": expected 'key...,cluster'");
    }
    m[line.substr(0, comma)] = c;
  }
  return m;
}

std::string fixed(double v, int digits = 4) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

Command add_evaluate(CLI::App& app) {
  struct Opts {
    std::string features, clusters, label_map, scale = "zscore", metric = "euclidean", categories = "indicators";
    std::optional<double> mirai;
    std::vector<std::string> gt;
    int k = 1, threads = 0;
    size_t min_class = 1;
    bool labelled_only = false, include_unknown = false, json = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub =
      app.add_subcommand("evaluate",
                         "Measure how well a feature table (and a clustering of it) matches ground truth: "
                         "leave-one-out k-nearest-neighbour classification of the labelled sources (accuracy, "
                         "per-class precision/recall/F1, confusion matrix) and, with --labels, cluster quality "
                         "(silhouette, Davies-Bouldin, Calinski-Harabasz) and agreement with the ground truth "
                         "(ARI, NMI, AMI, homogeneity, completeness). docs/evaluate.md.");
  sub->add_option("features", o->features, "Feature table (.csv or .npy) whose first key is the source address")
      ->required();
  sub->add_option("--gt", o->gt, "Ground truth CSV 'ip,label' or 'cidr,label' (repeat --gt for several files)")
      ->required()
      ->allow_extra_args(false);
  sub->add_option("--label-map", o->label_map, "CSV 'from,to' normalising labels (e.g. censys.io,censys)");
  sub->add_option("--mirai", o->mirai,
                  "Also label 'mirai' the unlabelled sources whose share of SYNs with the Mirai fingerprint "
                  "(column fp_mirai) is at least this, as DarkVec does (e.g. 0.5)")
      ->check(finite_range(0.0, 1.0));
  sub->add_option("--labels", o->clusters, "labels.csv written by 'darklens cluster' for the same table");
  sub->add_option("--scale", o->scale, "Scale the features before measuring distances")
      ->check(CLI::IsMember({"zscore", "minmax", "robust", "log1p", "none"}))
      ->default_val("zscore");
  add_categories(sub, o->categories);
  add_min_class(sub, o->min_class);
  sub->add_option("-k", o->k, "Neighbours that vote (at most 1,000)")->default_val(1)->check(CLI::Range(1, 1000));
  sub->add_option("--metric", o->metric, "Distance")
      ->check(CLI::IsMember({"euclidean", "cosine"}))
      ->default_val("euclidean");
  sub->add_flag("--labelled-only", o->labelled_only, "Search neighbours among labelled sources only");
  sub->add_flag("--include-unknown", o->include_unknown, "Also classify unlabelled sources, as class 'unknown'");
  sub->add_flag("--json", o->json, "Print JSON instead of text");
  add_threads(sub, o->threads);
  return {
      sub, [o]() {
        const auto map =
            o->label_map.empty() ? std::map<std::string, std::string>{} : ground_truth::load_label_map(o->label_map);
        auto gt = ground_truth::load(o->gt, map);
        const auto clusters =
            o->clusters.empty() ? std::unordered_map<std::string, int>{} : read_cluster_labels(o->clusters);
        auto m = pipeline::read_matrix(o->features);
        std::optional<std::vector<int>> cl;
        if (!o->clusters.empty()) {
          cl.emplace(m.row_keys.size());
          for (size_t i = 0; i < m.row_keys.size(); ++i) {
            auto it = clusters.find(m.row_keys[i]);
            if (it == clusters.end()) {
              throw FormatError(o->clusters + ": no row for '" + m.row_keys[i] + "' of " + o->features);
            }
            (*cl)[i] = it->second;
          }
        }
        analyze::EvaluateOptions eo;
        eo.scale = o->scale;
        eo.metric = o->metric;
        eo.categories = o->categories;
        eo.k = o->k;
        eo.min_class = o->min_class;
        eo.mirai = o->mirai;
        eo.labelled_only = o->labelled_only;
        eo.include_unknown = o->include_unknown;
        eo.threads = o->threads;
        eo.gt_files = o->gt;
        const nlohmann::json out = analyze::evaluate_table(m, o->features, gt, cl ? &*cl : nullptr, o->clusters, eo);
        const size_t n = out["features"]["rows"].get<size_t>();
        const size_t labelled = out["ground_truth"]["labelled_rows"].get<size_t>();
        const auto& left = out["ground_truth"]["min_class"];
        const auto& knn = out["knn"];
        if (o->json) {
          std::cout << dump_json(out, 2) << "\n";
          return 0;
        }
        std::cout << o->features << ": " << n << " rows, " << labelled << " with a ground-truth label ("
                  << gt.labels_.size() << " classes)\n";
        if (left["classes_left_out"].get<size_t>() > 0) {
          std::cout << "--min-class " << left["members"].get<size_t>() << ": " << left["classes_left_out"].get<size_t>()
                    << " classes of fewer sources (" << left["sources_left_out"].get<size_t>()
                    << " sources) left out of the scores\n";
        }
        if (out.contains("clusters")) {
          const auto& c = out["clusters"];
          std::cout << "clusters (" << o->clusters << "): " << c["clusters"].get<size_t>() << "\n";
          if (c.contains("silhouette")) {
            std::cout << "  silhouette " << fixed(c["silhouette"]) << "  davies-bouldin " << fixed(c["davies_bouldin"])
                      << "  calinski-harabasz " << fixed(c["calinski_harabasz"], 1) << "\n";
          }
          const auto& a = c["against_ground_truth"];
          std::cout << "  against the ground truth (" << a["rows"].get<size_t>() << " labelled rows): ARI "
                    << fixed(a["ari"]) << "  NMI " << fixed(a["nmi"]) << "  AMI " << fixed(a["ami"]) << "  homogeneity "
                    << fixed(a["homogeneity"]) << "  completeness " << fixed(a["completeness"]) << "\n";
        }
        std::cout << "leave-one-out " << o->k << "-NN (" << o->metric << ", neighbours among "
                  << (o->labelled_only ? "labelled rows" : "all rows") << "): accuracy " << fixed(knn["accuracy"])
                  << ", macro F1 " << fixed(knn["macro_f1"]) << " over " << knn["evaluated"].get<size_t>() << " rows\n";
        const auto names = knn["confusion"]["labels"].get<std::vector<std::string>>();
        size_t width = 5;
        for (const auto& c : names) width = std::max(width, c.size());
        std::printf("  %-*s %8s %9s %7s %6s\n", static_cast<int>(width), "class", "support", "precision", "recall",
                    "f1");
        for (const auto& c : knn["classes"]) {
          std::printf("  %-*s %8zu %9.4f %7.4f %6.4f\n", static_cast<int>(width), c["class"].get<std::string>().c_str(),
                      c["support"].get<size_t>(), c["precision"].get<double>(), c["recall"].get<double>(),
                      c["f1"].get<double>());
        }
        std::cout << "confusion matrix (rows: true class, columns: predicted, in the order above)\n";
        const auto confusion = knn["confusion"]["matrix"].get<std::vector<std::vector<size_t>>>();
        for (size_t r = 0; r < confusion.size(); ++r) {
          std::printf("  %-*s", static_cast<int>(width), names[r].c_str());
          for (size_t v : confusion[r]) std::printf(" %6zu", v);
          std::printf("\n");
        }
        return 0;
      }};
}

}  // namespace darklens::cli
