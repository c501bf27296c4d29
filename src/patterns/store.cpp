// The pattern database on SQLite: numbered migrations kept in PRAGMA
// user_version, WAL journal, every write in one transaction.
#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <unordered_map>

#include "darklens/core/output_set.hpp"
#include "darklens/core/text.hpp"
#include "darklens/error.hpp"
#include "darklens/patterns/patterns.hpp"

namespace darklens::patterns {
namespace {

// Migration i takes the schema from version i to i + 1. Never edit one that
// has shipped; append a new one and raise kSchemaVersion.
const char* const kMigrations[] = {
    // 0 -> 1: runs, patterns, members.
    R"sql(
CREATE TABLE runs(
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('analyze', 'classify')),
  model_run INTEGER REFERENCES runs(id),
  created TEXT NOT NULL,
  window_start INTEGER NOT NULL,
  window_end INTEGER NOT NULL,
  inputs TEXT NOT NULL,
  features TEXT NOT NULL,
  columns TEXT NOT NULL,
  pipeline TEXT NOT NULL,
  transforms TEXT NOT NULL,
  summary TEXT NOT NULL);
CREATE TABLE patterns(
  id INTEGER PRIMARY KEY,
  model_run INTEGER NOT NULL REFERENCES runs(id),
  first_run INTEGER NOT NULL REFERENCES runs(id),
  cluster INTEGER NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  centroid TEXT NOT NULL,
  radius REAL NOT NULL,
  sources INTEGER NOT NULL,
  packets INTEGER NOT NULL,
  profile TEXT NOT NULL);
CREATE INDEX patterns_by_model ON patterns(model_run);
CREATE TABLE members(
  run INTEGER NOT NULL REFERENCES runs(id),
  source TEXT NOT NULL,
  window_start INTEGER NOT NULL,
  pattern INTEGER REFERENCES patterns(id),
  PRIMARY KEY (run, source, window_start)) WITHOUT ROWID;
CREATE INDEX members_by_source ON members(source);
)sql",
    // 1 -> 2: how many sources each pattern had in each run (back / absent).
    R"sql(
CREATE TABLE sightings(
  run INTEGER NOT NULL REFERENCES runs(id),
  pattern INTEGER NOT NULL REFERENCES patterns(id),
  sources INTEGER NOT NULL,
  packets INTEGER NOT NULL,
  PRIMARY KEY (run, pattern)) WITHOUT ROWID;
)sql",
    // 2 -> 3: the run's token, also in its output directory's marker, so a
    // run killed while publishing its outputs can be told committed or not
    // (docs/outputs.md).
    R"sql(
ALTER TABLE runs ADD COLUMN token TEXT;
CREATE UNIQUE INDEX runs_by_token ON runs(token) WHERE token IS NOT NULL;
)sql",
    // 3 -> 4: binary parts of a run's model (the embedding's vectors a later
    // window continues from), by name.
    R"sql(
CREATE TABLE blobs(
  run INTEGER NOT NULL REFERENCES runs(id),
  name TEXT NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (run, name)) WITHOUT ROWID;
)sql",
    // 4 -> 5: what `serve` answers about one address: its packets, its
    // ground-truth label and its feature values in each run.
    R"sql(
ALTER TABLE members ADD COLUMN packets INTEGER;
ALTER TABLE members ADD COLUMN label TEXT;
ALTER TABLE members ADD COLUMN features BLOB;
)sql",
    // 5 -> 6: the events of `darklens watch` (docs/watch.md), numbered for
    // `serve`'s /v1/events?since= and for a restarted watch; a model's
    // newest runs by index (watch stores one every few minutes).
    R"sql(
CREATE TABLE events(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  window_start INTEGER NOT NULL,
  window_end INTEGER NOT NULL,
  run INTEGER REFERENCES runs(id),
  body TEXT NOT NULL);
CREATE INDEX events_by_kind ON events(kind, seq);
CREATE INDEX runs_by_model ON runs(model_run, kind, id);
)sql",
    // 6 -> 7: classify runs past `watch --retain` keep their record,
    // summary, sightings and events, but lose their members and report
    // (Store::prune); the index finds the ones not pruned yet.
    R"sql(
ALTER TABLE runs ADD COLUMN pruned INTEGER NOT NULL DEFAULT 0;
CREATE INDEX runs_to_prune ON runs(window_end) WHERE kind = 'classify' AND pruned = 0;
)sql",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql, const std::string& path) : db_(db), path_(path) {
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK) fail("prepare");
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& bind(int i, int64_t v) { return check(sqlite3_bind_int64(s_, i, v)); }
  Stmt& bind(int i, double v) { return check(sqlite3_bind_double(s_, i, v)); }
  Stmt& bind(int i, const std::string& v) {
    return check(sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  Stmt& bind_null(int i) { return check(sqlite3_bind_null(s_, i)); }
  Stmt& bind_blob(int i, const std::string& v) {
    return check(sqlite3_bind_blob64(s_, i, v.data(), v.size(), SQLITE_TRANSIENT));
  }
  /// True while there is a row.
  bool step() {
    const int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) fail("step");
    return false;
  }
  void reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  int64_t i64(int c) const { return sqlite3_column_int64(s_, c); }
  double f64(int c) const { return sqlite3_column_double(s_, c); }
  bool null(int c) const { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
  std::string blob(int c) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(s_, c));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, c))) : "";
  }
  std::string text(int c) const {
    const auto* p = sqlite3_column_text(s_, c);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(s_, c))) : "";
  }
  nlohmann::json json(int c) const {
    try {
      return nlohmann::json::parse(text(c));
    } catch (const nlohmann::json::exception& e) {
      throw FormatError(path_ + ": a stored JSON value is damaged: " + e.what());
    }
  }
  /// Column c's JSON as a T (a list of names, of numbers); FormatError
  /// naming `what` when it is of another shape.
  template <class T>
  T json_as(int c, const char* what) const {
    try {
      return json(c).get<T>();
    } catch (const nlohmann::json::exception&) {
      throw FormatError(path_ + ": stored " + what + ": not a JSON list of the right type");
    }
  }

 private:
  Stmt& check(int rc) {
    if (rc != SQLITE_OK) fail("bind");
    return *this;
  }
  [[noreturn]] void fail(const char* what) const {
    throw IoError(path_ + ": SQLite " + what + ": " + sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
  const std::string& path_;
};

void exec(sqlite3* h, const std::string& sql, const std::string& path) {
  char* err = nullptr;
  if (sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err ? err : sqlite3_errmsg(h);
    sqlite3_free(err);
    throw IoError(path + ": SQLite: " + msg);
  }
}

// Rolls back unless committed. Inside a Store::Batch, a savepoint: its
// writes then wait for the batch's commit.
class Transaction {
 public:
  Transaction(sqlite3* h, const std::string& path) : h_(h), path_(path), nested_(sqlite3_get_autocommit(h) == 0) {
    exec(h_, nested_ ? "SAVEPOINT write" : "BEGIN IMMEDIATE", path_);
    open_ = true;
  }
  void commit() {
    exec(h_, nested_ ? "RELEASE write" : "COMMIT", path_);
    open_ = false;
  }
  ~Transaction() {
    if (open_) sqlite3_exec(h_, nested_ ? "ROLLBACK TO write; RELEASE write" : "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

 private:
  sqlite3* h_;
  const std::string& path_;
  bool nested_;
  bool open_ = false;
};

std::string dump(const std::vector<double>& v) { return nlohmann::json(v).dump(); }

RunRecord read_run(const Stmt& s) {
  RunRecord r;
  r.id = s.i64(0);
  r.kind = s.text(1);
  r.model_run = s.null(2) ? 0 : s.i64(2);
  r.created = s.text(3);
  r.window_start_ns = s.i64(4);
  r.window_end_ns = s.i64(5);
  r.inputs = s.json_as<std::vector<std::string>>(6, "run's inputs");
  r.features = s.json(7);
  r.columns = s.json_as<std::vector<std::string>>(8, "run's columns");
  r.pipeline = s.text(9);
  r.transforms = s.json(10);
  r.summary = s.json(11);
  r.pruned = s.i64(12) != 0;
  return r;
}

Pattern read_pattern(const Stmt& s) {
  Pattern p;
  p.id = s.i64(0);
  p.model_run = s.i64(1);
  p.first_run = s.i64(2);
  p.cluster = static_cast<int>(s.i64(3));
  p.name = s.text(4);
  p.centroid = s.json_as<std::vector<double>>(5, "pattern's centroid");
  p.radius = s.f64(6);
  p.sources = static_cast<uint64_t>(s.i64(7));
  p.packets = static_cast<uint64_t>(s.i64(8));
  p.profile = s.json(9);
  return p;
}

constexpr const char* kRunColumns =
    "SELECT id, kind, model_run, created, window_start, window_end, inputs, features, columns, pipeline, "
    "transforms, summary, pruned FROM runs";
constexpr const char* kPatternColumns =
    "SELECT id, model_run, first_run, cluster, name, centroid, radius, sources, packets, profile FROM patterns";

}  // namespace

struct Store::Db {
  sqlite3* h = nullptr;
  ~Db() { sqlite3_close(h); }
};

namespace {

// "file:" URI of a path (RFC 3986 escapes for what SQLite's URI parser reads).
std::string uri_of(const std::string& path, const char* query) {
  std::string u = "file:";
  for (unsigned char c : path) {
    if (c == '%' || c == '?' || c == '#' || c < 0x20 || c >= 0x7f) {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      u += buf;
    } else {
      u += static_cast<char>(c);
    }
  }
  return u + "?" + query;
}

}  // namespace

Store::Store(const std::string& path) : db_(std::make_unique<Db>()), path_(path) {
  if (sqlite3_open_v2(path.c_str(), &db_->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    throw IoError(path + ": cannot open the pattern database: " + sqlite3_errmsg(db_->h));
  }
  open(false);
}

Store::Store(const std::string& path, ReadOnly) : db_(std::make_unique<Db>()), path_(path) {
  // Read-only, then, where the folder cannot take the WAL's index file, as
  // an immutable file (nothing else may be writing a folder we cannot).
  for (const char* query : {"mode=ro", "immutable=1"}) {
    sqlite3_close(db_->h);
    db_->h = nullptr;
    if (sqlite3_open_v2(uri_of(path, query).c_str(), &db_->h, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr) !=
        SQLITE_OK) {
      throw IoError(path + ": cannot open the pattern database: " + sqlite3_errmsg(db_->h));
    }
    try {
      open(true);
      return;
    } catch (const IoError&) {
      if (std::string(query) == "immutable=1") throw;
    }
  }
}

void Store::open(bool read_only) {
  const std::string& path = path_;
  // No code of the file's own: darklens creates no trigger or view, and a
  // received database that holds one is refused before anything runs.
  sqlite3_db_config(db_->h, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(db_->h, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  sqlite3_busy_timeout(db_->h, 5000);
  // A file that is not SQLite fails on the first statement that reads it.
  int version = 0;
  try {
    int64_t id = 0, n = 0;
    std::string code;
    {
      Stmt v(db_->h, "PRAGMA user_version", path_);
      if (v.step()) version = static_cast<int>(v.i64(0));
      Stmt app(db_->h, "PRAGMA application_id", path_);
      if (app.step()) id = app.i64(0);
      Stmt tables(db_->h, "SELECT count(*) FROM sqlite_master", path_);
      if (tables.step()) n = tables.i64(0);
      Stmt extra(db_->h, "SELECT type || ' ' || name FROM sqlite_master WHERE type IN ('trigger', 'view') LIMIT 1",
                 path_);
      if (extra.step()) code = extra.text(0);
    }                                       // statements finalised: no read transaction stays open
    constexpr int64_t kAppId = 0x444b4c4e;  // "DKLN"
    if (n > 0 && id != kAppId) {
      throw FormatError(path + ": an SQLite database, but not a darklens pattern database");
    }
    if (!code.empty()) {
      throw FormatError(path + ": holds a " + escape_invalid_utf8(code) +
                        ", which darklens never creates; refusing a database that would run code of its own");
    }
    if (version < 0) {
      throw FormatError(path + ": schema version " + std::to_string(version) + " is not one darklens writes");
    }
    if (version > kSchemaVersion) {
      throw FormatError(path + ": schema version " + std::to_string(version) + " is newer than this darklens knows (" +
                        std::to_string(kSchemaVersion) + "); use a newer darklens");
    }
    if (read_only) {
      if (n == 0) throw FormatError(path + ": an empty file, not a darklens pattern database");
      if (version < kSchemaVersion) {
        throw FormatError(path + ": schema version " + std::to_string(version) + " (this darklens writes " +
                          std::to_string(kSchemaVersion) + "); open it once where it can be written to migrate it");
      }
      return;
    }
    exec(db_->h, "PRAGMA journal_mode=WAL", path_);
    exec(db_->h, "PRAGMA foreign_keys=ON", path_);
    // 64 MiB of pages (default 2 MiB): a run's members go into indexes as large as all the runs before.
    exec(db_->h, "PRAGMA cache_size=-65536", path_);
    if (version < kSchemaVersion) {
      Transaction t(db_->h, path_);
      for (int v2 = version; v2 < kSchemaVersion; ++v2) exec(db_->h, kMigrations[v2], path_);
      exec(db_->h, "PRAGMA user_version=" + std::to_string(kSchemaVersion), path_);
      exec(db_->h, "PRAGMA application_id=" + std::to_string(kAppId), path_);
      t.commit();
    }
  } catch (const IoError& e) {
    const std::string what = e.what();
    if (what.find("file is not a database") != std::string::npos) {
      throw FormatError(path + ": not an SQLite database (not a darklens pattern database)");
    }
    throw;
  }
}

Store::~Store() = default;

Store::Batch::Batch(Store& s) : store_(s) { exec(s.db_->h, "BEGIN IMMEDIATE", s.path_); }
Store::Batch::~Batch() {
  if (!done_) sqlite3_exec(store_.db_->h, "ROLLBACK", nullptr, nullptr, nullptr);
}
void Store::Batch::commit() {
  exec(store_.db_->h, "COMMIT", store_.path_);
  done_ = true;
  crash_point();
}

bool Store::has_token(const std::string& token) const {
  Stmt s(db_->h, "SELECT 1 FROM runs WHERE token = ?", path_);
  s.bind(1, token);
  return s.step();
}

bool committed(const std::string& db, const std::string& token) {
  // Only a database that opens and answers can say "no": anything else
  // keeps the outputs as they are.
  std::error_code ec;
  if (db.empty() || !std::filesystem::exists(db, ec)) return true;
  try {
    return Store(db).has_token(token);
  } catch (const Error&) {
    return true;
  }
}

int Store::schema_version() const {
  Stmt v(db_->h, "PRAGMA user_version", path_);
  return v.step() ? static_cast<int>(v.i64(0)) : 0;
}

int64_t Store::save_run(const RunRecord& run, std::vector<Pattern>& fresh, std::vector<Member> members,
                        const std::vector<Sighting>& sightings) {
  Transaction t(db_->h, path_);
  Stmt ins(db_->h,
           "INSERT INTO runs(kind, model_run, created, window_start, window_end, inputs, features, columns, pipeline, "
           "transforms, summary, token) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
           path_);
  ins.bind(1, run.kind);
  if (run.model_run) {
    ins.bind(2, run.model_run);
  } else {
    ins.bind_null(2);
  }
  ins.bind(3, run.created).bind(4, run.window_start_ns).bind(5, run.window_end_ns);
  ins.bind(6, dump_json(nlohmann::json(run.inputs))).bind(7, dump_json(run.features));
  ins.bind(8, nlohmann::json(run.columns).dump()).bind(9, run.pipeline);
  ins.bind(10, dump_json(run.transforms)).bind(11, dump_json(run.summary));
  if (run.token.empty()) {
    ins.bind_null(12);
  } else {
    ins.bind(12, run.token);
  }
  ins.step();
  const int64_t id = sqlite3_last_insert_rowid(db_->h);
  if (!run.model_run) {
    Stmt self(db_->h, "UPDATE runs SET model_run = id WHERE id = ?", path_);
    self.bind(1, id).step();
  }
  Stmt pat(db_->h,
           "INSERT INTO patterns(model_run, first_run, cluster, name, centroid, radius, sources, packets, profile) "
           "VALUES (?,?,?,?,?,?,?,?,?)",
           path_);
  for (auto& p : fresh) {
    if (!p.model_run) p.model_run = run.model_run ? run.model_run : id;
    if (!p.first_run) p.first_run = id;
    pat.bind(1, p.model_run).bind(2, p.first_run).bind(3, int64_t{p.cluster}).bind(4, p.name);
    pat.bind(5, dump(p.centroid)).bind(6, p.radius).bind(7, static_cast<int64_t>(p.sources));
    pat.bind(8, static_cast<int64_t>(p.packets)).bind(9, dump_json(p.profile));
    pat.step();
    pat.reset();
    p.id = sqlite3_last_insert_rowid(db_->h);
  }
  auto resolve = [&](int64_t pattern) -> int64_t {
    if (pattern >= 0) return pattern;
    const size_t i = static_cast<size_t>(-pattern - 1);
    if (i >= fresh.size())
      throw ParamError("save_run: member refers to new pattern " + std::to_string(i) + " of " +
                       std::to_string(fresh.size()));
    return fresh[i].id;
  };
  // In key order (source text, then window), so that both the table and
  // the index by source grow at their ends instead of splitting pages.
  std::sort(members.begin(), members.end(), [](const Member& a, const Member& b) {
    return a.source != b.source ? a.source < b.source : a.window_start_ns < b.window_start_ns;
  });
  Stmt mem(db_->h,
           "INSERT INTO members(run, source, window_start, pattern, packets, label, features) VALUES (?,?,?,?,?,?,?)",
           path_);
  for (const auto& m : members) {
    mem.bind(1, id).bind(2, m.source).bind(3, m.window_start_ns);
    const int64_t pid = resolve(m.pattern);
    if (pid) {
      mem.bind(4, pid);
    } else {
      mem.bind_null(4);
    }
    if (m.packets) {
      mem.bind(5, static_cast<int64_t>(*m.packets));
    } else {
      mem.bind_null(5);
    }
    if (m.label.empty()) {
      mem.bind_null(6);
    } else {
      mem.bind(6, m.label);
    }
    if (m.features.empty()) {
      mem.bind_null(7);
    } else {
      mem.bind_blob(7, m.features);
    }
    mem.step();
    mem.reset();
  }
  Stmt blob(db_->h, "INSERT INTO blobs(run, name, data) VALUES (?,?,?)", path_);
  for (const auto& [name, data] : run.blobs) {
    blob.bind(1, id).bind(2, name).bind_blob(3, data);
    blob.step();
    blob.reset();
  }
  Stmt sig(db_->h, "INSERT INTO sightings(run, pattern, sources, packets) VALUES (?,?,?,?)", path_);
  for (const auto& s : sightings) {
    sig.bind(1, id).bind(2, resolve(s.pattern)).bind(3, static_cast<int64_t>(s.sources));
    sig.bind(4, static_cast<int64_t>(s.packets));
    sig.step();
    sig.reset();
  }
  t.commit();
  return id;
}

std::vector<RunRecord> Store::runs() const {
  Stmt s(db_->h, (std::string(kRunColumns) + " ORDER BY id").c_str(), path_);
  std::vector<RunRecord> out;
  while (s.step()) out.push_back(read_run(s));
  return out;
}

std::unordered_map<std::string, int64_t> Store::member_patterns(int64_t run,
                                                                const std::vector<std::string>& sources) const {
  Stmt s(db_->h, "SELECT pattern FROM members WHERE run = ? AND source = ? ORDER BY window_start DESC LIMIT 1", path_);
  std::unordered_map<std::string, int64_t> out;
  for (const auto& source : sources) {
    s.bind(1, run).bind(2, source);
    if (s.step()) out[source] = s.null(0) ? 0 : s.i64(0);
    s.reset();
  }
  return out;
}

std::vector<nlohmann::json> Store::classify_series(int64_t model_run, size_t newest) const {
  // The few values wanted, taken out by SQLite (summaries list every known
  // pattern: parsing them whole grows with the patterns), newest by index.
  Stmt s(db_->h,
         "SELECT ws, ami, knn, share FROM (SELECT id, json_extract(summary, '$.window_start') AS ws, "
         "json_extract(summary, '$.tracking.ami_vs_model') AS ami, "
         "json_extract(summary, '$.evaluation.knn_accuracy') AS knn, json_extract(summary, '$.share_known') AS share "
         "FROM runs WHERE model_run = ? AND kind = 'classify' ORDER BY id DESC LIMIT ?) ORDER BY id",
         path_);
  s.bind(1, model_run).bind(2, static_cast<int64_t>(std::min<size_t>(newest, INT64_MAX)));
  std::vector<nlohmann::json> out;
  auto number = [&](int c) { return s.null(c) ? nlohmann::json(nullptr) : nlohmann::json(s.f64(c)); };
  while (s.step()) {
    out.push_back({{"window_start", s.text(0)},
                   {"tracking", {{"ami_vs_model", number(1)}}},
                   {"evaluation", {{"knn_accuracy", number(2)}}},
                   {"share_known", number(3)}});
  }
  return out;
}

RunRecord Store::run(int64_t id) const {
  Stmt s(db_->h, (std::string(kRunColumns) + " WHERE id = ?").c_str(), path_);
  s.bind(1, id);
  if (!s.step()) throw ParamError(path_ + ": no run " + std::to_string(id));
  return read_run(s);
}

std::optional<std::string> Store::blob(int64_t run, const std::string& name) const {
  Stmt s(db_->h, "SELECT data FROM blobs WHERE run = ? AND name = ?", path_);
  s.bind(1, run).bind(2, name);
  if (!s.step()) return std::nullopt;
  return s.blob(0);
}

std::vector<std::string> Store::run_columns(int64_t id) const {
  Stmt s(db_->h, "SELECT columns FROM runs WHERE id = ?", path_);
  s.bind(1, id);
  if (!s.step()) throw ParamError(path_ + ": no run " + std::to_string(id));
  return s.json_as<std::vector<std::string>>(0, "run's columns");
}

int64_t Store::latest_model() const {
  Stmt s(db_->h, "SELECT max(id) FROM runs WHERE kind = 'analyze'", path_);
  if (!s.step() || s.null(0)) {
    throw ParamError(path_ + ": holds no analysed window yet; run 'darklens analyze --db " + path_ + "' first");
  }
  return s.i64(0);
}

std::vector<Pattern> Store::patterns(int64_t model_run) const {
  Stmt s(db_->h, (std::string(kPatternColumns) + " WHERE ?1 = 0 OR model_run = ?1 ORDER BY id").c_str(), path_);
  s.bind(1, model_run);
  std::vector<Pattern> out;
  while (s.step()) out.push_back(read_pattern(s));
  return out;
}

Pattern Store::pattern(int64_t id) const {
  Stmt s(db_->h, (std::string(kPatternColumns) + " WHERE id = ?").c_str(), path_);
  s.bind(1, id);
  if (!s.step()) throw ParamError(path_ + ": no pattern " + std::to_string(id));
  return read_pattern(s);
}

std::vector<Sighting> Store::sightings(int64_t pattern) const {
  Stmt s(db_->h, "SELECT run, pattern, sources, packets FROM sightings WHERE pattern = ? ORDER BY run", path_);
  s.bind(1, pattern);
  std::vector<Sighting> out;
  while (s.step()) {
    out.push_back({s.i64(0), s.i64(1), static_cast<uint64_t>(s.i64(2)), static_cast<uint64_t>(s.i64(3))});
  }
  return out;
}

std::vector<Member> Store::members(int64_t run) const {
  Stmt s(db_->h,
         "SELECT source, window_start, pattern, packets, label FROM members WHERE run = ? ORDER BY window_start, "
         "source",
         path_);
  s.bind(1, run);
  std::vector<Member> out;
  while (s.step()) {
    Member m;
    m.source = s.text(0);
    m.window_start_ns = s.i64(1);
    m.pattern = s.null(2) ? 0 : s.i64(2);
    if (!s.null(3)) m.packets = static_cast<uint64_t>(s.i64(3));
    m.label = s.text(4);
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<SourceRecord> Store::source_history(const std::string& source, size_t limit) const {
  Stmt s(db_->h,
         "SELECT m.run, m.window_start, m.pattern, m.packets, m.label, m.features, r.kind, r.model_run "
         "FROM members m JOIN runs r ON r.id = m.run WHERE m.source = ? ORDER BY m.window_start, m.run LIMIT ?",
         path_);
  s.bind(1, source).bind(2, static_cast<int64_t>(limit));
  std::vector<SourceRecord> out;
  while (s.step()) {
    SourceRecord r;
    r.run = s.i64(0);
    r.window_start_ns = s.i64(1);
    r.pattern = s.null(2) ? 0 : s.i64(2);
    if (!s.null(3)) r.packets = static_cast<uint64_t>(s.i64(3));
    r.label = s.text(4);
    r.features = s.blob(5);
    r.kind = s.text(6);
    r.model_run = s.null(7) ? 0 : s.i64(7);
    out.push_back(std::move(r));
  }
  return out;
}

size_t Store::prune(int64_t end_before_ns) {
  Transaction t(db_->h, path_);
  std::vector<int64_t> ids;
  {
    Stmt s(db_->h, "SELECT id FROM runs WHERE kind = 'classify' AND pruned = 0 AND window_end < ? ORDER BY id", path_);
    s.bind(1, end_before_ns);
    while (s.step()) ids.push_back(s.i64(0));
  }
  Stmt members(db_->h, "DELETE FROM members WHERE run = ?", path_);
  Stmt blobs(db_->h, "DELETE FROM blobs WHERE run = ?", path_);
  Stmt mark(db_->h, "UPDATE runs SET pruned = 1 WHERE id = ?", path_);
  for (const int64_t id : ids) {
    for (Stmt* st : {&members, &blobs, &mark}) {
      st->bind(1, id);
      st->step();
      st->reset();
    }
  }
  t.commit();
  return ids.size();
}

void Store::save_blob(int64_t run, const std::string& name, const std::string& data) {
  Transaction t(db_->h, path_);
  Stmt s(db_->h, "INSERT OR REPLACE INTO blobs(run, name, data) VALUES (?,?,?)", path_);
  s.bind(1, run).bind(2, name).bind_blob(3, data);
  s.step();
  t.commit();
}

void Store::append_events(std::vector<Event>& events) {
  Transaction t(db_->h, path_);
  Stmt s(db_->h, "INSERT INTO events(kind, window_start, window_end, run, body) VALUES (?,?,?,?,?)", path_);
  for (auto& e : events) {
    s.bind(1, e.kind).bind(2, e.window_start_ns).bind(3, e.window_end_ns);
    if (e.run) {
      s.bind(4, e.run);
    } else {
      s.bind_null(4);
    }
    s.bind(5, dump_json(e.body));
    s.step();
    s.reset();
    e.seq = sqlite3_last_insert_rowid(db_->h);
    e.body["seq"] = e.seq;
  }
  t.commit();
}

namespace {
Event read_event(const Stmt& s) {
  Event e;
  e.seq = s.i64(0);
  e.kind = s.text(1);
  e.window_start_ns = s.i64(2);
  e.window_end_ns = s.i64(3);
  e.run = s.null(4) ? 0 : s.i64(4);
  e.body = s.json(5);
  if (!e.body.is_object()) e.body = nlohmann::json::object();
  e.body["seq"] = e.seq;
  return e;
}
}  // namespace

std::vector<Event> Store::events(int64_t since, size_t limit) const {
  Stmt s(db_->h, "SELECT seq, kind, window_start, window_end, run, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
         path_);
  s.bind(1, since).bind(2, static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX)));
  std::vector<Event> out;
  while (s.step()) out.push_back(read_event(s));
  return out;
}

int64_t Store::last_seq() const {
  Stmt s(db_->h, "SELECT coalesce(max(seq), 0) FROM events", path_);
  return s.step() ? s.i64(0) : 0;
}

std::optional<Event> Store::last_event(const std::string& kind, int64_t after) const {
  Stmt s(db_->h,
         "SELECT seq, kind, window_start, window_end, run, body FROM events WHERE kind = ? AND seq > ? ORDER BY seq "
         "DESC LIMIT 1",
         path_);
  s.bind(1, kind).bind(2, after);
  if (!s.step()) return std::nullopt;
  return read_event(s);
}

void Store::set_name(int64_t pattern, const std::string& name) {
  if (name.size() > 200) throw ParamError("pattern name longer than 200 characters");
  if (!valid_utf8(name)) {
    throw ParamError("pattern name '" + escape_invalid_utf8(name) +
                     "' is not valid UTF-8 (the \\x bytes); names are stored and shown as text");
  }
  Transaction t(db_->h, path_);
  Stmt s(db_->h, "UPDATE patterns SET name = ? WHERE id = ?", path_);
  s.bind(1, name).bind(2, pattern).step();
  if (sqlite3_changes(db_->h) == 0) throw ParamError(path_ + ": no pattern " + std::to_string(pattern));
  t.commit();
}

nlohmann::json to_json(const Store& db, const Pattern& p) {
  nlohmann::json seen = nlohmann::json::array();
  for (const auto& s : db.sightings(p.id)) {
    seen.push_back({{"run", s.run}, {"sources", s.sources}, {"packets", s.packets}});
  }
  return {{"id", p.id},
          {"name", p.name},
          {"model_run", p.model_run},
          {"first_run", p.first_run},
          {"cluster", p.cluster},
          {"sources", p.sources},
          {"packets", p.packets},
          {"radius", p.radius},
          {"centroid", p.centroid},
          {"profile", p.profile},
          {"sightings", seen}};
}

nlohmann::json to_json(const RunRecord& r) {
  return {{"id", r.id},
          {"kind", r.kind},
          {"model_run", r.model_run},
          {"created", r.created},
          {"window_start", iso8601_utc(r.window_start_ns)},
          {"window_end", iso8601_utc(r.window_end_ns)},
          {"inputs", r.inputs},
          {"pipeline", r.pipeline},
          {"columns", r.columns},
          {"features", r.features},
          {"transforms", r.transforms},
          {"summary", r.summary}};
}

nlohmann::json export_json(const Store& db) {
  nlohmann::json doc = {{"schema_version", db.schema_version()},
                        {"runs", nlohmann::json::array()},
                        {"patterns", nlohmann::json::array()}};
  for (const auto& r : db.runs()) doc["runs"].push_back(to_json(r));
  for (const auto& p : db.patterns()) doc["patterns"].push_back(to_json(db, p));
  return doc;
}

}  // namespace darklens::patterns
