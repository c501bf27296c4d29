// The pattern database: an embedded SQLite file that remembers analysed
// windows (their fitted transforms, cluster centroids and radii, profiles,
// signature matches, user-given names, and which sources belonged where),
// so later windows can be classified against them. Schema and migrations:
// docs/patterns.md.
//
//   darklens::patterns::Store db("patterns.db");      // created / migrated
//   auto model = db.run(db.latest_model());
//   auto known = db.patterns(model->id);
//   auto a = darklens::patterns::assign(Y, known);      // nearest pattern within its radius
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "darklens/cluster/cluster.hpp"
#include "darklens/profile/profile.hpp"

namespace darklens::patterns {

inline constexpr int kSchemaVersion = 7;

struct RunRecord {
  int64_t id = 0;
  std::string kind;       // "analyze" (fits a model) or "classify" (uses one)
  int64_t model_run = 0;  // the analyze run whose transforms embed this run (itself for analyze)
  std::string created;    // ISO 8601 UTC
  int64_t window_start_ns = 0, window_end_ns = 0;
  std::vector<std::string> inputs;
  nlohmann::json features;  // the feature options (families, window, prefix, ...)
  std::vector<std::string> columns;
  std::string pipeline;
  nlohmann::json transforms;  // pipeline::Result::fitted_
  nlohmann::json summary;
  std::string token;  // names the run in its output directory (core/output_set.hpp); "" for none
  /// Past `watch --retain` (Store::prune): its members and blobs are gone;
  /// the record, summary, sightings and events stay.
  bool pruned = false;
  /// Binary parts of the model, by name, written by save_run (read back
  /// one at a time with Store::blob, not by run()/runs()).
  std::vector<std::pair<std::string, std::string>> blobs;
};

struct Pattern {
  int64_t id = 0;
  int64_t model_run = 0;  // the embedding its centroid lives in
  int64_t first_run = 0;  // the run that found it
  int cluster = 0;        // its label in that run
  std::string name;       // given by the user ("" until then)
  std::vector<double> centroid;
  double radius = 0;
  uint64_t sources = 0, packets = 0;
  nlohmann::json profile;  // profile::to_json, activities included
};

/// A source's place in a run: pattern id, or 0 for a source that matched none.
struct Member {
  std::string source;
  int64_t window_start_ns = 0;
  int64_t pattern = 0;
  std::optional<uint64_t> packets;  // the source's packets in the window, when a family counts them
  std::string label;                // its ground-truth label ("" for none)
  std::string features;             // its feature row: float32 little-endian, one per run column ("" for none)
};

/// One run's record of one source (Store::source_history).
struct SourceRecord {
  int64_t run = 0, model_run = 0;
  std::string kind;  // the run's
  int64_t window_start_ns = 0;
  int64_t pattern = 0;  // 0: none
  std::optional<uint64_t> packets;
  std::string label, features;
};

/// How many sources and packets of a run a pattern had.
struct Sighting {
  int64_t run = 0, pattern = 0;
  uint64_t sources = 0, packets = 0;
};

/// One event of `darklens watch` (docs/watch.md): its number (given by
/// the database, increasing, never reused), kind, window, run (0: none)
/// and its document (read back with "seq" set).
struct Event {
  int64_t seq = 0;
  std::string kind;
  int64_t window_start_ns = 0, window_end_ns = 0;
  int64_t run = 0;
  nlohmann::json body;
};

class Store {
 public:
  /// Opens (creating when missing) and migrates to kSchemaVersion, in WAL
  /// mode. Throws IoError when the file cannot be opened, FormatError when it
  /// is not a darklens pattern database or comes from a newer darklens.
  explicit Store(const std::string& path);
  /// For commands that only read (patterns list/show/export, classify
  /// --no-store): never creates, migrates or writes, and works on a
  /// database in a read-only folder. Throws as above, and FormatError for
  /// a database of an older schema (open it once writable to migrate).
  enum class ReadOnly { kYes };
  Store(const std::string& path, ReadOnly);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& path() const { return path_; }
  int schema_version() const;

  /// Writes a whole run in one transaction: the run, its new patterns
  /// (their model_run/first_run are set to the run when 0, their ids filled
  /// in), its members (Member::pattern < 0 means the new pattern at index
  /// -pattern-1 of `fresh`), and one sighting per pattern it saw.
  /// Returns the run id. Nothing is written when it throws.
  int64_t save_run(const RunRecord& run, std::vector<Pattern>& fresh, std::vector<Member> members,
                   const std::vector<Sighting>& sightings);

  /// Writes that become visible together: save_run calls while a Batch is
  /// open wait for its commit(); destroyed uncommitted (or the process
  /// killed), none of them is kept. One Batch at a time per Store.
  class Batch {
   public:
    explicit Batch(Store& s);
    ~Batch();
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;
    void commit();

   private:
    Store& store_;
    bool done_ = false;
  };

  /// Whether a run with this token is stored.
  bool has_token(const std::string& token) const;

  std::vector<RunRecord> runs() const;
  /// Throws ParamError naming the id when there is no such run.
  RunRecord run(int64_t id) const;
  /// What the report's lines over time need of a model's newest `newest`
  /// classify runs, oldest first: {window_start, tracking.ami_vs_model,
  /// evaluation.knn_accuracy, share_known} of each summary (null when absent).
  std::vector<nlohmann::json> classify_series(int64_t model_run, size_t newest) const;
  /// A binary part a run was saved with (RunRecord::blobs); nullopt when none.
  std::optional<std::string> blob(int64_t run, const std::string& name) const;
  /// A run's column names alone (run() parses every stored JSON of it).
  std::vector<std::string> run_columns(int64_t id) const;
  /// The newest analyze run; throws ParamError when the database holds none.
  int64_t latest_model() const;
  /// Patterns of one model (0 = all), by id.
  std::vector<Pattern> patterns(int64_t model_run = 0) const;
  /// Throws ParamError naming the id when there is no such pattern.
  Pattern pattern(int64_t id) const;
  std::vector<Sighting> sightings(int64_t pattern) const;
  /// A run's members with their packets and labels (not their feature rows).
  std::vector<Member> members(int64_t run) const;
  /// The pattern (0: none) of each of `sources` in a run, in its last
  /// window there; sources not in the run are left out. One indexed lookup
  /// each: for a few sources of a large run.
  std::unordered_map<std::string, int64_t> member_patterns(int64_t run, const std::vector<std::string>& sources) const;
  /// Every run's record of `source` (an address as IpAddr::to_string
  /// writes it), oldest window first, at most `limit`.
  std::vector<SourceRecord> source_history(const std::string& source, size_t limit = 1000) const;
  /// Forgets the detail of classify runs whose window ended before
  /// `end_before_ns`: their members (what an address lookup answers) and
  /// blobs (the report) are deleted and the run marked pruned; runs,
  /// summaries, patterns, sightings and events stay, and analyze runs (the
  /// models) are never pruned. In one transaction (or the open Batch).
  /// Returns how many runs it pruned.
  size_t prune(int64_t end_before_ns);
  /// Adds (or replaces) a binary part of a stored run (RunRecord::blobs).
  void save_blob(int64_t run, const std::string& name, const std::string& data);
  /// Appends events in one transaction (or the open Batch), filling in
  /// their seq (and body["seq"]).
  void append_events(std::vector<Event>& events);
  /// Events numbered after `since`, oldest first, at most `limit`.
  std::vector<Event> events(int64_t since, size_t limit) const;
  /// The number of the newest event (0: none).
  int64_t last_seq() const;
  /// The newest event of a kind numbered after `after`; nullopt when there is none.
  std::optional<Event> last_event(const std::string& kind, int64_t after = 0) const;
  /// Throws ParamError when there is no such pattern.
  void set_name(int64_t pattern, const std::string& name);

 private:
  void open(bool read_only);  // checks, then (writable) WAL and migrations
  struct Db;
  std::unique_ptr<Db> db_;
  std::string path_;
};

/// The documents `darklens patterns show` and `patterns export` print
/// (docs/patterns.md), shared with the Python module: one pattern with its
/// centroid, profile and sightings; one run record without its blobs; the
/// whole database (schema version, every run, every pattern).
nlohmann::json to_json(const Store& db, const Pattern& p);
nlohmann::json to_json(const RunRecord& r);
nlohmann::json export_json(const Store& db);

/// For output recovery (core's CommittedFn): whether the database at `db`
/// holds the run with `token`; true when it cannot tell (no such file, not
/// readable), so that recovery never discards outputs on a doubt.
bool committed(const std::string& db, const std::string& token);

/// A pattern's radius: the 95th percentile of its members' distances to
/// the centroid, at least a quarter of the distance to the nearest other
/// centroid (so a tight group still accepts a neighbour), and at least 1e-9.
/// `centroids` are all the model's centroids; `self` indexes this one.
double radius_for(const cluster::Matrix& members, const cluster::Matrix& centroids, Eigen::Index self);

/// A cluster as a pattern (analyze's clusters, classify's new groups): the
/// centroid centroids.row(self), the radius_for its member rows of Y, and
/// its profile's counts and document.
Pattern pattern_of(const cluster::Matrix& Y, const std::vector<Eigen::Index>& members, const cluster::Matrix& centroids,
                   Eigen::Index self, int cluster, const profile::ClusterProfile& prof);

/// Each row's nearest pattern (Euclidean, in the model's embedding) when
/// within that pattern's radius: index into `known`, or -1 ("new"). Ties go
/// to the lower index.
std::vector<int> assign(const cluster::Matrix& Y, const std::vector<Pattern>& known, int threads = 0);

}  // namespace darklens::patterns
