// Helpers shared by analyze() and classify().
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "darklens/analyze/analyze.hpp"
#include "darklens/core/output_set.hpp"
#include "darklens/evaluate/evaluate.hpp"
#include "darklens/report/document.hpp"

namespace darklens::analyze::detail {

std::string now_utc();
std::string seconds_text(double s);
void say(const std::function<void(const std::string&)>& progress, const std::string& line);

/// Ground-truth class of every row (evaluate::kUnknown when none), classes
/// of fewer than `min_class` rows left out (`left`: what was).
std::vector<int> truth_of(const features::FeatureTable& t, const ground_truth::GroundTruth& gt, size_t min_class,
                          ground_truth::LeftOut& left);
/// {"members", "classes_left_out", "sources_left_out"}: what --min-class left out.
nlohmann::json to_json(const ground_truth::LeftOut& left);

/// Throws ParamError when a capture is standard input ("-"): `what` reads
/// its captures twice (features, then each cluster's profile).
void refuse_stdin(const std::vector<std::string>& captures, const std::string& what);

/// Writes `text` to `path` whole (AtomicFile).
void write_text(const std::string& path, const std::string& text);
/// `path` made absolute (as given when that fails).
std::string absolute_path(const std::string& path);

/// The all-or-nothing step of a run that writes a folder and may store
/// itself (docs/outputs.md): with a database, `store(token)` runs inside one
/// transaction and returns the run id; `write(stored)` then writes every
/// output into `out`'s staging folder (`stored` is {"db", "run"}, or null
/// without a database); the folder is swapped in, the transaction
/// committed, leftovers removed. Returns the run id (0 without a database).
int64_t publish_run(OutputDir& out, patterns::Store* db, const std::function<int64_t(const std::string& token)>& store,
                    const std::function<void(const nlohmann::json& stored)>& write);

/// Appends the captures' embedding (EmbedOptions) to `table`: columns
/// dv_0.. of kind number; a row whose source got no vector in its window
/// (seen fewer than min_count times) gets zeros. Training starts from
/// `init` when given; `last` receives the model a next window would start
/// from. Returns what the summary says about it. Throws as embed's stages
/// (the services file, a memory budget `max_memory` exceeded).
nlohmann::json add_embedding(features::FeatureTable& table, const std::vector<std::string>& captures,
                             const features::FeatureOptions& fo, const EmbedOptions& eo, const embed::Model* init,
                             embed::Model& last, const std::function<void(const std::string&)>& progress);

/// --rdns: the PTR names of each profile's heaviest sources (when
/// `names` asks for any), with a progress line; returns what the summary
/// says ({"resolver", "per_cluster", "addresses", "named", "no_name",
/// "failed", "seconds"}), null when not asked.
nlohmann::json name_heaviest(std::vector<profile::ClusterProfile>& profiles, const profile::NameOptions* names,
                             const std::function<void(const std::string&)>& progress);

/// Each row's ground-truth label ("" for none); empty without ground truth.
std::vector<std::string> row_labels(const features::FeatureTable& t, const ground_truth::GroundTruth* gt);

/// Row `row` as a database member (patterns::Member): in `pattern`, with
/// its packets (the agm or intensity family's count, when present), its
/// label (from `labels`, when not empty) and its feature values.
patterns::Member member_of(const features::FeatureTable& t, size_t row, int64_t pattern,
                           const std::vector<std::string>& labels);

/// The blob a run's report document is stored under (report::to_json), for `serve`.
inline constexpr const char* kReportBlob = "report.json";

/// Names of the blobs a run's embedding model is stored under.
inline constexpr const char* kEmbedWords = "embed.words";
inline constexpr const char* kEmbedInput = "embed.input";
inline constexpr const char* kEmbedOutput = "embed.output";

/// (first window start, last window end) of a table.
std::pair<int64_t, int64_t> window_range(const features::FeatureTable& t, const features::WindowSpec& w);

}  // namespace darklens::analyze::detail
