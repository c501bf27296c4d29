// The main job, as two library calls the CLI (and later the server) wrap:
//   analyze():  captures -> features -> pipeline -> profiles + signatures
//               -> evaluation -> report document; store() keeps it as a model.
//   classify(): captures of a later window -> the model's features and
//               transforms -> nearest known pattern within its radius, else
//               new groups (clustered with the model's clusterer) -> profiles.
// docs/analyze.md.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "darklens/core/output_set.hpp"
#include "darklens/embed/embed.hpp"
#include "darklens/features/features.hpp"
#include "darklens/labels/ground_truth.hpp"
#include "darklens/labels/origin.hpp"
#include "darklens/patterns/patterns.hpp"
#include "darklens/pipeline/pipeline.hpp"
#include "darklens/profile/profile.hpp"
#include "darklens/report/document.hpp"

namespace darklens::analyze {

/// Defaults chosen on synthetic days (docs/analyze.md): AGM, intensity and
/// fingerprint columns, and the one default pipeline (pipeline.hpp).
inline constexpr const char* kDefaultFamilies = "agm,intensity,fingerprints";
inline constexpr const char* kDefaultPipeline = pipeline::kDefaultPipeline;

/// The DarkVec embedding as a feature family (`--family ...,embed`,
/// docs/analyze.md "Embeddings as features"): each source's word2vec vector
/// of its window (docs/embed.md) joins its row as columns dv_0..dv_{dim-1}.
/// The captures, window and packet selection are the features' own.
struct EmbedOptions {
  std::string services;                  // services file; empty: the shipped one
  int64_t bin_ns = 3600LL * 1000000000;  // one sentence per service and bin
  embed::Word2VecParams params;
};
nlohmann::json to_json(const EmbedOptions& e);
/// Throws FormatError naming `origin` when `j` is not what to_json wrote.
EmbedOptions embed_options_from_json(const nlohmann::json& j, const std::string& origin);

/// A --family list of analyze, classify or track: the feature families,
/// and whether `embed` is among the names (the embedding joins them).
/// Throws ParamError for an unknown name, or `embed` alone (the embedding
/// joins other families; `darklens embed` then `darklens cluster` cluster
/// embeddings alone).
std::pair<std::vector<features::Family>, bool> parse_families(const std::string& list);

struct Options {
  features::FeatureOptions features;  // families_ default: kDefaultFamilies
  /// Set: the embedding joins the features (its model is stored with the
  /// run, so that classify continues from it on a later window).
  std::optional<EmbedOptions> embed;
  std::string pipeline = kDefaultPipeline;
  /// How category and address columns enter the distances (docs/cluster.md).
  pipeline::Categories categories = pipeline::Categories::kIndicators;
  const ground_truth::GroundTruth* gt = nullptr;  // optional
  const profile::Catalog* catalog = nullptr;      // optional; no catalog = every cluster unexplained
  /// Optional: each profile gets its sources' origin AS and country.
  const origin::Origins* origins = nullptr;
  /// Optional (--rdns N): each profile lists its N heaviest sources with
  /// their reverse-DNS names.
  const profile::NameOptions* names = nullptr;
  /// Ground-truth classes with fewer labelled sources are left out of the scores.
  size_t min_class = 1;
  int threads = 0;
  size_t projection_points = 5000;  // sources drawn in the report's scatter plot (seeded sample)
  size_t silhouette_rows = 5000;    // rows of the per-cluster silhouette (seeded sample)
  size_t top = 4;                   // the largest clusters, summarised first (the source study inspected 4)
  uint64_t seed = 0;
  /// Called with one line per stage ("features: 5000 sources from 113739 packets").
  std::function<void(const std::string&)> progress;
};

struct Analysis {
  features::FeatureTable table;
  embed::Model embedding;           // with Options::embed: the model a later window continues from
  std::vector<std::string> labels;  // each row's ground-truth label ("" none); empty without ground truth
  features::AggregateCounters counters;
  pipeline::Result result;
  std::vector<profile::ClusterProfile> profiles;  // largest first, noise included
  nlohmann::json summary;                         // summary.json
  report::Document report;                        // report.html (report::to_json, render_html)
};

/// Throws as the stages it runs (IoError / FormatError naming the file,
/// ParamError for a bad spec or too few sources to cluster).
Analysis analyze(const std::vector<std::string>& captures, const Options& options);

/// Stores an analysis as a model: the run, one pattern per cluster (noise
/// has none) with centroid and radius (patterns::radius_for), its members
/// and sightings. Returns the run id.
/// `token` names the run in its output directory's marker (publish()).
int64_t store(patterns::Store& db, const Analysis& a, const std::vector<std::string>& inputs, const Options& options,
              const std::string& token = "");

/// The files publish() writes into an analysis's OUTDIR.
inline const std::vector<std::string> kAnalysisFiles = {"features.csv", "clusters.csv", "profiles.json", "summary.json",
                                                        "report.html"};
/// Writes an analysis into `out` and, with `db`, stores it, all or nothing
/// (core/output_set.hpp, docs/outputs.md): the files are staged, the run
/// is stored in a database batch (its id in summary.json's "stored"), the
/// directory is swapped in, then the batch commits. Returns the run id (0
/// without a database). Nothing is published or stored when it throws.
int64_t publish(OutputDir& out, Analysis& a, patterns::Store* db, const std::vector<std::string>& inputs,
                const Options& options);

struct ClassifyOptions {
  int64_t model = 0;  // 0 = the newest analyze run
  const ground_truth::GroundTruth* gt = nullptr;
  const profile::Catalog* catalog = nullptr;
  const origin::Origins* origins = nullptr;     // as Options::origins
  const profile::NameOptions* names = nullptr;  // as Options::names
  size_t min_class = 1;                         // as Options::min_class
  int threads = 0;
  uint64_t max_memory = 0;         // bytes (core/memory.hpp); 0 = no budget
  size_t min_new_to_cluster = 20;  // fewer new sources form one new group
  size_t min_group = 1;            // new groups of fewer sources are noise (no pattern)
  size_t projection_points = 5000;
  uint64_t seed = 0;
  /// Set: only packets stamped in [first, second) are read, and they form
  /// one window that starts at `first` (darklens watch's rolling windows);
  /// unset: the model's windows.
  std::optional<std::pair<int64_t, int64_t>> span;
  std::function<void(const std::string&)> progress;
};

struct Classification {
  patterns::RunRecord model;
  features::WindowSpec window;  // the windows the rows were cut into
  std::vector<patterns::Pattern> known;
  features::FeatureTable table;
  std::vector<std::string> labels;                // each row's ground-truth label; empty without ground truth
  std::vector<int> known_of_row;                  // index into `known`, or -1
  std::vector<int> new_of_row;                    // new group index, -1 (not new), or cluster::kNoise... see docs
  std::vector<patterns::Pattern> fresh;           // the new groups, as patterns (ids 0 until stored)
  std::vector<profile::ClusterProfile> profiles;  // labels: known index, then known.size() + new group
  nlohmann::json summary;                         // classify.json
  report::Document report;                        // report.html; store() fills in the new patterns' ids
};

/// What analyze and classify read besides the captures, given by path
/// (the commands' --gt, --label-map, --signatures, --asn-db, --geo-db and
/// --rdns; the Python module's arguments of the same names).
struct Extras {
  std::vector<std::string> gt;
  std::string label_map;
  std::string signatures;  // empty: the shipped catalog (core/data_files.hpp)
  std::string asn_db, geo_db;
  profile::NameOptions names;  // heaviest 0: no reverse-DNS names
};
/// Extras read, before any work. attach() points a run's options at them,
/// so they must outlive the run.
struct Loaded {
  profile::Catalog catalog;
  std::optional<ground_truth::GroundTruth> gt;
  origin::Origins origins;
  profile::NameOptions names;
  void attach(Options& o) const;
  void attach(ClassifyOptions& o) const;
};
/// Throws as the loaders do: IoError / FormatError naming the file.
Loaded load(const Extras& e);
/// Every file a run reads or updates: the captures, the extras' files and
/// the database (db empty: none). Its outputs may replace none of them
/// (core/output_set.hpp).
std::vector<std::string> inputs_of(const std::vector<std::string>& captures, const Extras& e, const std::string& db);

/// Throws ParamError when the database has no model (or not `model`), or
/// when the model's families cannot be recomputed on a new window (agm-num
/// picks its port columns per window); FormatError when the new table's
/// columns differ from the model's.
Classification classify(const patterns::Store& db, const std::vector<std::string>& captures,
                        const ClassifyOptions& options);

/// Stores a classification: a classify run under its model, the new groups
/// as patterns of that model, members and sightings. Returns the run id.
int64_t store(patterns::Store& db, Classification& c, const std::vector<std::string>& inputs,
              const std::string& token = "");

/// The files publish() writes into a classification's OUTDIR.
inline const std::vector<std::string> kClassificationFiles = {"assignments.csv", "profiles.json", "classify.json",
                                                              "report.html"};
/// As publish() of an analysis; `db` null: the run is not stored.
int64_t publish(OutputDir& out, Classification& c, patterns::Store* db, const std::vector<std::string>& inputs);

}  // namespace darklens::analyze
