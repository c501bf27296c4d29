// The pattern database: round trip, migration from schema 1, refusal of
// foreign and newer files, all-or-nothing writes; radii and assignment by
// hand; re-applying a pipeline's fitted transforms.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "darklens/error.hpp"
#include "darklens/patterns/patterns.hpp"
#include "darklens/pipeline/pipeline.hpp"
#include "support/error_of.hpp"
#include "support/temp_dir.hpp"

using namespace darklens;

namespace {

patterns::RunRecord model_run() {
  patterns::RunRecord r;
  r.kind = "analyze";
  r.created = "2026-11-23T00:00:00Z";
  r.window_start_ns = 100;
  r.window_end_ns = 200;
  r.inputs = {"day1.pcap"};
  r.features = {{"families", "agm"}};
  r.columns = {"a", "b"};
  r.pipeline = "zscore|kmeans:k=2";
  r.transforms = nlohmann::json::array({{{"type", "scaler"}}});
  r.summary = {{"clusters", 2}};
  return r;
}

std::vector<patterns::Pattern> two_patterns() {
  patterns::Pattern a, b;
  a.cluster = 0, a.centroid = {0, 0}, a.radius = 1, a.sources = 2, a.packets = 9,
  a.profile = {{"activities", nlohmann::json::array()}};
  b.cluster = 1, b.centroid = {10, 0}, b.radius = 2, b.sources = 1, b.packets = 3,
  b.profile = {{"activities", nlohmann::json::array()}};
  return {a, b};
}

void sql(const std::string& path, const std::string& text) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, text.c_str(), nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

}  // namespace

TEST(PatternStore, RoundTrip) {
  test::TempDir dir;
  const std::string path = dir.file("p.db");
  int64_t run = 0;
  std::vector<patterns::Pattern> fresh = two_patterns();
  {
    patterns::Store db(path);
    EXPECT_EQ(db.schema_version(), patterns::kSchemaVersion);
    EXPECT_EQ(test::error_of<ParamError>([&] { db.latest_model(); }),
              path + ": holds no analysed window yet; run 'darklens analyze --db " + path + "' first");
    run = db.save_run(model_run(), fresh,
                      {{"1.1.1.1", 100, -1, {}, {}, {}},
                       {"1.1.1.2", 100, -1, {}, {}, {}},
                       {"2.2.2.2", 100, -2, {}, {}, {}},
                       {"3.3.3.3", 100, 0, {}, {}, {}}},
                      {{0, -1, 2, 9}, {0, -2, 1, 3}});
  }
  patterns::Store db(path);  // reopened: nothing to migrate
  EXPECT_EQ(db.latest_model(), run);
  const auto r = db.run(run);
  EXPECT_EQ(r.kind, "analyze");
  EXPECT_EQ(r.model_run, run);  // an analyze run is its own model
  EXPECT_EQ(r.inputs, std::vector<std::string>{"day1.pcap"});
  EXPECT_EQ(r.columns, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.transforms, model_run().transforms);
  EXPECT_EQ(r.summary, model_run().summary);
  const auto ps = db.patterns(run);
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0].id, fresh[0].id);
  EXPECT_EQ(ps[1].id, fresh[1].id);
  EXPECT_EQ(ps[1].centroid, (std::vector<double>{10, 0}));
  EXPECT_EQ(ps[1].radius, 2);
  EXPECT_EQ(ps[0].first_run, run);
  EXPECT_EQ(ps[0].model_run, run);
  const auto m = db.members(run);
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0].pattern, fresh[0].id);
  EXPECT_EQ(m[2].pattern, fresh[1].id);
  EXPECT_EQ(m[3].pattern, 0);
  const auto s = db.sightings(fresh[0].id);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].sources, 2u);
  db.set_name(fresh[0].id, "Mirai telnet");
  EXPECT_EQ(db.pattern(fresh[0].id).name, "Mirai telnet");
  EXPECT_EQ(test::error_of<ParamError>([&] { db.set_name(99, "x"); }), path + ": no pattern 99");
  EXPECT_EQ(test::error_of<ParamError>([&] { db.set_name(1, std::string(201, 'x')); }),
            "pattern name longer than 200 characters");
  EXPECT_EQ(test::error_of<ParamError>([&] { db.pattern(99); }), path + ": no pattern 99");
  EXPECT_EQ(test::error_of<ParamError>([&] { db.run(99); }), path + ": no run 99");
}

TEST(PatternStore, PruneForgetsOldClassifyDetailOnly) {
  test::TempDir dir;
  patterns::Store db(dir.file("p.db"));
  std::vector<patterns::Pattern> fresh = two_patterns();
  auto model = model_run();
  model.blobs = {{"report.json", "{}"}};
  const int64_t m = db.save_run(model, fresh, {{"1.1.1.1", 100, -1, {}, {}, {}}}, {{0, -1, 1, 9}});
  // Three classify windows ending at 300, 400 and 500.
  std::vector<int64_t> runs;
  for (int64_t end : {300, 400, 500}) {
    auto r = model_run();
    r.kind = "classify";
    r.model_run = m;
    r.window_start_ns = end - 100;
    r.window_end_ns = end;
    r.blobs = {{"report.json", "{}"}};
    std::vector<patterns::Pattern> none;
    runs.push_back(
        db.save_run(r, none, {{"1.1.1.1", end - 100, fresh[0].id, 5, "scanner", "abcd"}}, {{0, fresh[0].id, 1, 5}}));
  }
  EXPECT_EQ(db.prune(400), 1u);  // ended before 400: the first classify run only
  EXPECT_EQ(db.prune(400), 0u);  // pruned once
  EXPECT_TRUE(db.run(runs[0]).pruned);
  EXPECT_FALSE(db.run(runs[1]).pruned);
  EXPECT_TRUE(db.members(runs[0]).empty());
  EXPECT_FALSE(db.blob(runs[0], "report.json"));
  EXPECT_EQ(db.members(runs[1]).size(), 1u);
  EXPECT_TRUE(db.blob(runs[1], "report.json"));
  // The record, its summary and the pattern's sightings stay.
  EXPECT_EQ(db.run(runs[0]).summary, model_run().summary);
  EXPECT_EQ(db.sightings(fresh[0].id).size(), 4u);
  // The model is never pruned, however old.
  EXPECT_EQ(db.prune(1000), 2u);
  EXPECT_FALSE(db.run(m).pruned);
  EXPECT_EQ(db.members(m).size(), 1u);
  EXPECT_TRUE(db.blob(m, "report.json"));
  const auto history = db.source_history("1.1.1.1");
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].run, m);
}

TEST(PatternStore, DamagedStoredJsonIsAFormatError) {
  test::TempDir dir;
  const std::string path = dir.file("p.db");
  std::vector<patterns::Pattern> fresh = two_patterns();
  int64_t run = 0;
  {
    patterns::Store db(path);
    run = db.save_run(model_run(), fresh, {}, {});
  }
  sql(path, "UPDATE runs SET summary = '{\"clusters\": ' WHERE id = " + std::to_string(run) + ";");
  patterns::Store db(path);
  EXPECT_EQ(test::error_of<FormatError>([&] { db.run(run); }).substr(0, path.size() + 37),
            path + ": a stored JSON value is damaged: [js");
  // Found by the database fuzz target: valid JSON of another shape ended
  // the process (nlohmann's type_error escaped).
  sql(path, "UPDATE runs SET summary = '{}', columns = '{\"a\": 1}' WHERE id = " + std::to_string(run) + ";");
  EXPECT_EQ(test::error_of<FormatError>([&] { db.run(run); }),
            path + ": stored run's columns: not a JSON list of the right type");
  sql(path, "UPDATE runs SET columns = '[]'; UPDATE patterns SET centroid = '[\"x\"]';");
  EXPECT_EQ(test::error_of<FormatError>([&] { db.patterns(); }),
            path + ": stored pattern's centroid: not a JSON list of the right type");
}

TEST(PatternStore, FailedWriteLeavesNothing) {
  test::TempDir dir;
  patterns::Store db(dir.file("p.db"));
  std::vector<patterns::Pattern> fresh = two_patterns();
  EXPECT_EQ(test::error_of<ParamError>([&] {
              db.save_run(model_run(), fresh, {{"1.1.1.1", 1, -5, {}, {}, {}}}, {});
            }),
            "save_run: member refers to new pattern 4 of 2");
  EXPECT_TRUE(db.runs().empty());
  EXPECT_TRUE(db.patterns().empty());
}

TEST(PatternStore, MigratesSchemaOne) {
  test::TempDir dir;
  const std::string path = dir.file("old.db");
  // A database as darklens with schema 1 left it.
  sql(path, R"(
PRAGMA application_id = 1145785422;
CREATE TABLE runs(id INTEGER PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('analyze', 'classify')),
  model_run INTEGER REFERENCES runs(id), created TEXT NOT NULL, window_start INTEGER NOT NULL,
  window_end INTEGER NOT NULL, inputs TEXT NOT NULL, features TEXT NOT NULL, columns TEXT NOT NULL,
  pipeline TEXT NOT NULL, transforms TEXT NOT NULL, summary TEXT NOT NULL);
CREATE TABLE patterns(id INTEGER PRIMARY KEY, model_run INTEGER NOT NULL REFERENCES runs(id),
  first_run INTEGER NOT NULL REFERENCES runs(id), cluster INTEGER NOT NULL, name TEXT NOT NULL DEFAULT '',
  centroid TEXT NOT NULL, radius REAL NOT NULL, sources INTEGER NOT NULL, packets INTEGER NOT NULL,
  profile TEXT NOT NULL);
CREATE INDEX patterns_by_model ON patterns(model_run);
CREATE TABLE members(run INTEGER NOT NULL REFERENCES runs(id), source TEXT NOT NULL,
  window_start INTEGER NOT NULL, pattern INTEGER REFERENCES patterns(id),
  PRIMARY KEY (run, source, window_start)) WITHOUT ROWID;
CREATE INDEX members_by_source ON members(source);
INSERT INTO runs VALUES (1, 'analyze', 1, '2026-01-01T00:00:00Z', 0, 1, '["a.pcap"]', '{}', '["x"]', 'kmeans',
  '[]', '{}');
INSERT INTO patterns VALUES (1, 1, 1, 0, 'old name', '[1.5]', 0.5, 3, 4, '{"activities": []}');
PRAGMA user_version = 1;
)");
  patterns::Store db(path);
  EXPECT_EQ(db.schema_version(), patterns::kSchemaVersion);
  EXPECT_EQ(db.pattern(1).name, "old name");
  EXPECT_TRUE(db.sightings(1).empty());  // the new table exists
  std::vector<patterns::Pattern> none;
  patterns::RunRecord r = model_run();
  r.kind = "classify";
  r.model_run = 1;
  const int64_t id = db.save_run(r, none, {}, {{0, 1, 7, 8}});
  EXPECT_EQ(db.sightings(1).at(0).sources, 7u);
  EXPECT_FALSE(db.run(1).pruned);  // schema 7's column, defaulted on the old run
  EXPECT_EQ(db.prune(1000), 1u);
  EXPECT_TRUE(db.run(id).pruned);
}

TEST(PatternStore, RefusesADatabaseWithCodeOfItsOwn) {
  // A received database with a trigger: refused on open, before anything
  // (a write that would fire it, or a read) runs.
  test::TempDir dir;
  const std::string path = dir.file("p.db");
  { patterns::Store db(path); }
  sql(path, "CREATE TABLE log(x); CREATE TRIGGER spy AFTER INSERT ON runs BEGIN INSERT INTO log VALUES (1); END;");
  const std::string want =
      path + ": holds a trigger spy, which darklens never creates; refusing a database that would run code of its own";
  EXPECT_EQ(test::error_of<FormatError>([&] { patterns::Store db(path); }), want);
  EXPECT_EQ(test::error_of<FormatError>([&] { patterns::Store db(path, patterns::Store::ReadOnly::kYes); }), want);
}

TEST(PatternStore, ReadOnlyOpeningWritesNothing) {
  // What lets list/show/export and classify --no-store work on a database
  // that cannot be written: the read-only Store changes nothing in it.
  test::TempDir dir;
  const std::string folder = dir.file("ro");
  std::filesystem::create_directory(folder);
  const std::string path = folder + "/p.db";
  {
    patterns::Store db(path);
    std::vector<patterns::Pattern> fresh(1);
    fresh[0].centroid = {1.0};
    fresh[0].profile = nlohmann::json::object();
    db.save_run(model_run(), fresh, {}, {});
  }
  auto listing = [&] {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(folder)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  };
  ASSERT_EQ(listing(), std::vector<std::string>{"p.db"});
  const auto bytes = test::read_bytes(path);
  {
    const patterns::Store ro(path, patterns::Store::ReadOnly::kYes);
    EXPECT_EQ(ro.runs().size(), 1u);
    EXPECT_EQ(ro.patterns().size(), 1u);
  }
  EXPECT_EQ(test::read_bytes(path), bytes);
  // Where the WAL index cannot be created (a read-only folder; here a
  // directory in its place, which stops root too): read as an immutable
  // file, still without writing anything.
  for (const auto& f : listing()) {
    if (f != "p.db") std::filesystem::remove(folder + "/" + f);
  }
  std::filesystem::create_directory(path + "-shm");
  {
    const patterns::Store ro(path, patterns::Store::ReadOnly::kYes);
    EXPECT_EQ(ro.runs().size(), 1u);
    EXPECT_EQ(ro.patterns().size(), 1u);
  }
  EXPECT_EQ(test::read_bytes(path), bytes);
  // (SQLite's first, read-only attempt may leave an empty -wal beside it.)
  EXPECT_TRUE(!std::filesystem::exists(path + "-wal") || std::filesystem::file_size(path + "-wal") == 0);
  EXPECT_EQ(test::error_of<IoError>([&] {
              patterns::Store db(dir.file("none.db"), patterns::Store::ReadOnly::kYes);
            }).substr(0, dir.file("none.db").size() + 36),
            dir.file("none.db") + ": cannot open the pattern database: ");
}

TEST(PatternStore, RefusesForeignAndNewerFiles) {
  test::TempDir dir;
  const std::string other = dir.file("other.db");
  sql(other, "CREATE TABLE t(x);");
  EXPECT_EQ(test::error_of<FormatError>([&] { patterns::Store db(other); }),
            other + ": an SQLite database, but not a darklens pattern database");
  const std::string text = dir.write("notes.txt", std::string(4096, 'x'));
  EXPECT_EQ(test::error_of<FormatError>([&] { patterns::Store db(text); }),
            text + ": not an SQLite database (not a darklens pattern database)");
  const std::string newer = dir.file("newer.db");
  { patterns::Store db(newer); }
  sql(newer, "PRAGMA user_version = 9;");
  EXPECT_EQ(test::error_of<FormatError>([&] { patterns::Store db(newer); }),
            newer + ": schema version 9 is newer than this darklens knows (7); use a newer darklens");
  // Found by the database fuzz target: a negative version indexed the
  // migrations at -1.
  sql(newer, "PRAGMA user_version = -1;");
  EXPECT_EQ(test::error_of<FormatError>([&] { patterns::Store db(newer); }),
            newer + ": schema version -1 is not one darklens writes");
  EXPECT_EQ(test::error_of<IoError>([&] { patterns::Store db("/nonexistent/dir/p.db"); }).substr(0, 60),
            "/nonexistent/dir/p.db: cannot open the pattern database: una");
}

TEST(PatternAssign, RadiusAndNearestByHand) {
  // Centroids (0,0) and (10,0). Members of the first at distances 0..20 / 10:
  // the 95th percentile of {0, 0.1, ..., 2.0} is 1.9; a quarter of the
  // distance to the other centroid is 2.5, which wins.
  cluster::Matrix C(2, 2);
  C << 0, 0, 10, 0;
  cluster::Matrix M(21, 2);
  for (int i = 0; i <= 20; ++i) M.row(i) << i / 10.0, 0;
  EXPECT_NEAR(patterns::radius_for(M, C, 0), 2.5, 1e-12);
  // Alone: the percentile decides.
  EXPECT_NEAR(patterns::radius_for(M, C.topRows(1), 0), 1.9, 1e-12);
  auto known = two_patterns();  // radii 1 and 2
  cluster::Matrix Y(5, 2);
  Y << 0.5, 0,  // first
      5, 0,     // equidistant but outside both radii: new
      9, 0,     // second
      1, 0,     // on the first's radius: inside
      12.5, 0;  // beyond the second's radius: new
  EXPECT_EQ(patterns::assign(Y, known, 2), (std::vector<int>{0, -1, 1, 0, -1}));
  known[0].radius = known[1].radius = 5;
  EXPECT_EQ(patterns::assign(Y, known, 1)[1], 0);  // tie at 5: lower index
  cluster::Matrix Z(1, 3);
  Z << 0, 0, 0;
  EXPECT_EQ(test::error_of<ParamError>([&] { patterns::assign(Z, known); }),
            "pattern 0 has a 2-dimensional centroid; the rows are embedded in 3 dimensions");
}

TEST(PatternAssign, PatternOfAClusterByHand) {
  // Rows 1, 3 and 4 of Y are the members of centroid 1, (10, 0): distances
  // 0, 1 and 2, whose 95th percentile (1.9) is below a quarter of the
  // distance to centroid 0, 2.5, which wins. The profile's counts and
  // document go with it.
  cluster::Matrix Y(5, 2);
  Y << 0, 0, 10, 0, 50, 50, 11, 0, 10, 2;
  cluster::Matrix C(2, 2);
  C << 0, 0, 10, 0;
  profile::ClusterProfile prof;
  prof.cluster_ = 7;
  prof.sources_ = 3;
  prof.packets_ = 12;
  const auto p = patterns::pattern_of(Y, {1, 3, 4}, C, 1, 7, prof);
  EXPECT_EQ(p.cluster, 7);
  EXPECT_EQ(p.centroid, (std::vector<double>{10, 0}));
  EXPECT_NEAR(p.radius, 2.5, 1e-12);
  EXPECT_EQ(p.sources, 3u);
  EXPECT_EQ(p.packets, 12u);
  EXPECT_EQ(p.profile, profile::to_json(prof));
}

TEST(PipelineProject, ReappliesFittedTransforms) {
  cluster::Matrix X(60, 4);
  for (int i = 0; i < 60; ++i) X.row(i) << i % 3, (i * 7) % 11, i * 0.5, (i % 5) * (i % 2);
  for (const char* spec : {"log1p|zscore|pca:2|kmeans:k=3", "minmax|som:4x4|kmeans:k=3", "robust|dbscan"}) {
    const auto r = pipeline::run(X, spec, 2);
    const auto Y = pipeline::project(X, r.fitted_, 3);
    ASSERT_EQ(Y.rows(), r.embedding_.rows()) << spec;
    ASSERT_EQ(Y.cols(), r.embedding_.cols()) << spec;
    EXPECT_LT((Y - r.embedding_).cwiseAbs().maxCoeff(), 1e-12) << spec;
  }
  const auto r = pipeline::run(X, "zscore|pca:2|kmeans:k=2", 1);
  EXPECT_EQ(test::error_of<ParamError>([&] { pipeline::project(X.leftCols(3), r.fitted_); }),
            "scaler fitted on 4 columns, applied to 3");
  nlohmann::json pca_only = nlohmann::json::array({r.fitted_[1]});
  EXPECT_EQ(test::error_of<ParamError>([&] { pipeline::project(X.leftCols(3), pca_only); }),
            "pca was fitted on 4 columns, the rows have 3");
  EXPECT_EQ(test::error_of<FormatError>([&] { pipeline::project(X, nlohmann::json::object()); }),
            "fitted transforms: expected a JSON array");
  EXPECT_EQ(test::error_of<FormatError>([&] {
              pipeline::project(X, nlohmann::json::array({{{"type", "umap"}}}));
            }),
            "fitted transforms: unknown transform type 'umap'");
}
