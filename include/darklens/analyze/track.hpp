// track(): the same sources over consecutive windows (darklens track).
//
//   auto gt = darklens::ground_truth::load({"gt.csv"}, {});
//   auto t = darklens::analyze::track({"day1.csv", "day2.csv"}, gt, {});
//   t.days[1].ami_vs_previous;   // how much the clusters held
//
// Per day: leave-one-out k-NN accuracy of the labelled sources, the
// accuracy of classifying them with day 1's sources, the day's clusters
// (the same pipeline every day), their AMI with day 1's and the previous
// day's over the sources present on both, and their lineage (continued,
// split, merged, new, vanished). docs/evaluate.md.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "darklens/analyze/analyze.hpp"
#include "darklens/evaluate/evaluate.hpp"
#include "darklens/labels/ground_truth.hpp"
#include "darklens/pipeline/pipeline.hpp"

namespace darklens::analyze {

struct TrackOptions {
  std::string pipeline = ::darklens::pipeline::kDefaultPipeline;
  std::string families = kDefaultFamilies;  // for inputs that are captures (analyze's); may name embed
  EmbedOptions embed;                       // with embed among the families
  std::string scale = "zscore";             // k-NN distances; fitted on day 1; "none"
  /// Category and address columns, encoded by day 1's values (docs/cluster.md).
  pipeline::Categories categories = pipeline::Categories::kIndicators;
  int k = 1;
  size_t min_class = 1;               // ground-truth classes with fewer sources on a day are left out of its scores
  double link = 0.2;                  // Jaccard overlap that links a cluster to the next day's
  std::optional<double> mirai_share;  // also label 'mirai' the unlabelled sources at or above this fp_mirai
  int threads = 0;                    // 0 = all cores; the result does not depend on it
  uint64_t max_memory = 0;            // bytes (core/memory.hpp); 0 = no budget
  std::function<void(const std::string&)> progress;
};

struct TrackDay {
  std::string input;
  size_t rows = 0, labelled = 0;
  ground_truth::LeftOut left_out;             // --min-class
  std::optional<double> knn_accuracy;         // leave-one-out, at least 2 labelled sources
  std::optional<double> day1_model_accuracy;  // day 1's sources as the training set (days 2..)
  int clusters = 0;
  size_t noise = 0;
  std::vector<size_t> sizes;
  std::optional<double> ami_vs_day1, ami_vs_previous;  // over the sources on both days
  std::optional<evaluate::Lineage> lineage;            // from the previous day (days 2..)
  std::map<std::string, size_t> events;                // continued, split, merged, new, vanished (days 2..)
};

struct Tracking {
  std::vector<std::string> classes;  // the ground truth's labels (with "mirai" under mirai_share)
  std::vector<TrackDay> days;
};

/// Ground truth of each row of a feature table (ground_truth::label_rows),
/// and with mirai_share DarkVec's Mirai rule on its fp_mirai column.
/// Throws FormatError naming `path` when a key is not an address or the
/// column is missing.
std::vector<int> label_table(const pipeline::MatrixFile& m, ground_truth::GroundTruth& gt, const std::string& path,
                             std::optional<double> mirai_share);

/// inputs: feature tables (.csv, .npy) or captures of consecutive days, in
/// order, one row per source. Throws ParamError for a bad pipeline or
/// family list (before any reading), FormatError naming the file when its
/// columns differ from day 1's or a source has several rows, and what
/// reading an input throws.
Tracking track(const std::vector<std::string>& inputs, ground_truth::GroundTruth gt, const TrackOptions& options);

/// track.json, track.csv and lineage.csv, as darklens track writes them.
nlohmann::json to_json(const Tracking& t, const TrackOptions& options);
std::string track_csv(const Tracking& t);
std::string lineage_csv(const Tracking& t);

}  // namespace darklens::analyze
