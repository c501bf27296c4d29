// The API as a function (serve::handle): every endpoint on a database
// analyze wrote, checked against what analyze itself computed; refusals
// with their status and message. Over real HTTP: tests/cli/serve_test.py.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "darklens/analyze/analyze.hpp"
#include "darklens/serve/serve.hpp"
#include "darklens/synth/synth.hpp"
#include "support/temp_dir.hpp"

using namespace darklens;
using nlohmann::json;

namespace {

struct Fixture {
  test::TempDir dir;
  std::string db;
  analyze::Analysis a;
  ground_truth::GroundTruth gt;
  std::string capture;  // the day analysed
  Fixture() {
    synth::SynthParams p;
    p.sources_ = 500;
    p.seed_ = 4;
    const auto out = synth::generate(p, dir.file("s"));
    gt = ground_truth::load({out.ground_truth_path_}, {});
    analyze::Options o;
    o.features.families_ = features::parse_families(analyze::kDefaultFamilies);
    o.pipeline = "log1p|zscore|pca:5|kmeans:k=5";
    o.gt = &gt;
    a = analyze::analyze({out.days_[0].path_}, o);
    capture = out.days_[0].path_;
    db = dir.file("p.db");
    patterns::Store store(db);
    analyze::store(store, a, {out.days_[0].path_}, o);
  }
};

const Fixture& fx() {
  static const Fixture f;
  return f;
}

serve::Response get(const std::string& path, const std::string& token = "", const std::string& auth = "") {
  serve::ApiOptions o{fx().db, token, "9.9.9"};
  serve::Request r;
  r.path = path.substr(0, path.find('?'));
  if (const size_t q = path.find('?'); q != std::string::npos) {  // one key=value, as the server decodes it
    const std::string kv = path.substr(q + 1);
    r.query[kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
  }
  r.authorization = auth;
  return serve::handle(o, r);
}

json body(const serve::Response& r) { return json::parse(r.body); }

std::string error_message(const serve::Response& r) { return body(r)["error"]["message"].get<std::string>(); }

}  // namespace

TEST(ServeApi, HealthVersionAndTheOpenApiDocument) {
  EXPECT_EQ(body(get("/v1/health")), (json{{"status", "ok"}}));
  EXPECT_EQ(body(get("/v1/version")),
            (json{{"darklens", "9.9.9"}, {"api", "v1"}, {"schema", patterns::kSchemaVersion}}));
  const json doc = body(get("/v1/openapi.json"));
  EXPECT_EQ(doc["openapi"], "3.0.3");
  for (const char* p :
       {"/v1/health", "/v1/version", "/v1/ip/{address}", "/v1/patterns", "/v1/patterns/{id}", "/v1/runs",
        "/v1/runs/{id}", "/v1/runs/{id}/report", "/v1/events", "/v1/jobs", "/v1/jobs/{id}"}) {
    EXPECT_TRUE(doc["paths"].contains(p)) << p;
  }
  const auto page = get("/");
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("v1/ip/"), std::string::npos);
}

TEST(ServeApi, AnAddressAsAnalyzeSawIt) {
  const auto& a = fx().a;
  // A labelled source, and where analyze put it.
  size_t row = 0;
  while (a.labels.at(row).empty()) ++row;
  const std::string ip = a.table.source_[row].to_string();
  patterns::Store db(fx().db, patterns::Store::ReadOnly::kYes);
  int64_t pattern = 0;
  for (const auto& m : db.members(1)) {
    if (m.source == ip) pattern = m.pattern;
  }
  const auto r = get("/v1/ip/" + ip);
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = body(r);
  EXPECT_EQ(j["address"], ip);
  EXPECT_EQ(j["windows"], 1);
  EXPECT_EQ(j["first_seen"], iso8601_utc(a.table.window_start_ns_[row]));
  EXPECT_EQ(j["label"], a.labels[row]);
  EXPECT_EQ(j["packets"], a.table.at(row, a.table.column("agm_packets")));
  ASSERT_EQ(j["patterns"].size(), pattern > 0 ? 1U : 0U);
  if (pattern > 0) {
    EXPECT_EQ(j["patterns"][0]["id"], pattern);
  }
  const json& f = j["latest"]["features"];
  ASSERT_EQ(f.size(), a.table.columns_.size());
  for (size_t c = 0; c < a.table.columns_.size(); ++c) {
    EXPECT_EQ(f[a.table.columns_[c]].get<double>(), static_cast<double>(static_cast<float>(a.table.at(row, c))))
        << a.table.columns_[c];
  }
  // The same address written another way is the same record.
  EXPECT_EQ(body(get("/v1/ip/::ffff:" + ip))["address"], ip);
}

TEST(ServeApi, PatternsAndRuns) {
  const json pats = body(get("/v1/patterns"));
  EXPECT_EQ(pats.size(), static_cast<size_t>(fx().a.result.summary_.clusters));
  const int64_t id = pats[0]["id"];
  const json one = body(get("/v1/patterns/" + std::to_string(id)));
  EXPECT_EQ(one["history"].size(), 1U);
  EXPECT_EQ(one["history"][0]["run"], 1);
  EXPECT_TRUE(one["profile"].contains("top_ports"));
  EXPECT_EQ(body(get("/v1/patterns?model=1")), pats);
  const json runs = body(get("/v1/runs"));
  ASSERT_EQ(runs.size(), 1U);
  EXPECT_EQ(runs[0]["kind"], "analyze");
  EXPECT_EQ(runs[0]["sources"], fx().a.table.rows());
  const json run = body(get("/v1/runs/1"));
  EXPECT_EQ(run["columns"], fx().a.table.columns_);
  EXPECT_EQ(run["report"], "/v1/runs/1/report");
  const auto report = get("/v1/runs/1/report");
  EXPECT_EQ(report.status, 200);
  EXPECT_EQ(report.content_type, "text/html; charset=utf-8");
  EXPECT_NE(report.body.find("<svg"), std::string::npos);
}

TEST(ServeApi, RefusalsSayWhatIsWrong) {
  auto expect = [](const serve::Response& r, int status, const std::string& message) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(error_message(r), message);
    EXPECT_EQ(body(r)["error"]["status"], status);
  };
  expect(get("/v1/ip/not-an-address"), 400, "'not-an-address' is not an IPv4 or IPv6 address");
  expect(get("/v1/ip/" + std::string(65, '1')), 400, "an address is at most 64 characters");
  expect(get("/v1/ip/203.0.113.250"), 404, "203.0.113.250 is in no stored run");
  expect(get("/v1/runs/99"), 404, "no run 99");
  expect(get("/v1/runs/-1"), 400, "'-1' is not a run id (a positive whole number)");
  expect(get("/v1/runs/99999999999999999999"), 400, "'99999999999999999999' is not a run id (a positive whole number)");
  expect(get("/v1/patterns/0"), 400, "'0' is not a pattern id (a positive whole number)");
  expect(get("/v1/patterns/999"), 404, "no pattern 999");
  expect(get("/v1/patterns?model=x"), 400, "'x' is not a run id (a positive whole number)");
  expect(get("/v1/nothing"), 404, "no such resource: /v1/nothing");
  expect(get("/etc/passwd"), 404, "no such resource: /etc/passwd (the API is under /v1)");
  serve::Request post;
  post.method = "POST";
  post.path = "/v1/runs";
  expect(serve::handle({fx().db, "", "1"}, post), 405, "POST is not answered here; the API reads with GET");
  expect(serve::handle({fx().dir.file("none.db"), "", "1"}, serve::Request{"GET", "/v1/runs", {}, "", ""}), 500,
         fx().dir.file("none.db") + ": no such pattern database");
}

TEST(ServeApi, APrunedRunSaysSo) {
  const std::string path = fx().dir.file("pruned.db");
  std::filesystem::copy_file(fx().db, path, std::filesystem::copy_options::overwrite_existing);
  int64_t id = 0;
  {
    patterns::Store s(path);
    patterns::RunRecord r = s.run(1);
    r.kind = "classify";
    r.model_run = 1;
    r.token.clear();
    r.blobs = {{"report.json", *s.blob(1, "report.json")}};
    std::vector<patterns::Pattern> none;
    id = s.save_run(r, none, {}, {});
    EXPECT_EQ(s.prune(r.window_end_ns + 1), 1u);
  }
  auto at = [&](const std::string& p) {
    serve::Request r;
    r.path = p;
    return serve::handle({path, "", "1"}, r);
  };
  const std::string run = "/v1/runs/" + std::to_string(id);
  EXPECT_EQ(body(at(run))["pruned"], true);
  EXPECT_EQ(body(at(run))["report"], nullptr);
  EXPECT_EQ(body(at("/v1/runs/1"))["pruned"], false);
  EXPECT_EQ(at(run + "/report").status, 404);
  EXPECT_EQ(error_message(at(run + "/report")),
            "run " + std::to_string(id) + "'s report was pruned (older than watch --retain)");
  EXPECT_EQ(at("/v1/runs/1/report").status, 200);
}

TEST(ServeApi, WatchEventsAfterSince) {
  const std::string path = fx().dir.file("events.db");
  std::filesystem::copy_file(fx().db, path, std::filesystem::copy_options::overwrite_existing);
  {
    patterns::Store s(path);
    std::vector<patterns::Event> ev(3);
    for (size_t i = 0; i < ev.size(); ++i) {
      ev[i].kind = i == 2 ? "window_closed" : "pattern_back";
      ev[i].body = {{"kind", ev[i].kind}, {"n", i}};
    }
    s.append_events(ev);
  }
  auto events = [&](const std::string& query) {
    serve::Request r;
    r.path = "/v1/events";
    for (const auto& kv : {query.substr(0, query.find('&')),
                           query.find('&') == std::string::npos ? "" : query.substr(query.find('&') + 1)}) {
      if (!kv.empty()) r.query[kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
    }
    return serve::handle({path, "", "1"}, r);
  };
  json all = body(events(""));
  ASSERT_EQ(all["events"].size(), 3u);
  EXPECT_EQ(all["events"][0], (json{{"kind", "pattern_back"}, {"n", 0}, {"seq", 1}}));
  EXPECT_EQ(all["next"], 3);
  json one = body(events("since=1&limit=1"));
  EXPECT_EQ(one["events"], (json::array({json{{"kind", "pattern_back"}, {"n", 1}, {"seq", 2}}})));
  EXPECT_EQ(one["next"], 2);
  EXPECT_EQ(body(events("since=3")), (json{{"events", json::array()}, {"next", 3}}));
  EXPECT_EQ(body(get("/v1/events")), (json{{"events", json::array()}, {"next", 0}}));  // no watch yet
  EXPECT_EQ(events("since=x").status, 400);
  EXPECT_EQ(error_message(events("since=-2")), "since='-2': expected a whole number");
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(ServeJobs, AnUploadedCaptureIsClassifiedAndStored) {
  const std::string path = fx().dir.file("jobs.db");
  std::filesystem::copy_file(fx().db, path, std::filesystem::copy_options::overwrite_existing);
  const profile::Catalog catalog = profile::Catalog::parse("", "none");
  serve::JobOptions jo{path, fx().dir.file("uploads"), 4, 1u << 26, 1000, &catalog, nullptr, 1};
  serve::Jobs jobs(jo);
  const serve::ApiOptions o{path, "tok", "1", &jobs};
  auto call = [&](const std::string& method, const std::string& target, const std::string& data = "",
                  const std::string& token = "tok") {
    serve::Request r;
    r.method = method;
    r.path = target.substr(0, target.find('?'));
    if (const size_t q = target.find('?'); q != std::string::npos) {
      const std::string kv = target.substr(q + 1);
      r.query[kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
    }
    r.authorization = token.empty() ? "" : "Bearer " + token;
    r.body = data;
    return serve::handle(o, r);
  };
  const std::string capture = file_bytes(fx().capture);
  const auto queued = call("POST", "/v1/jobs?kind=classify", capture);
  ASSERT_EQ(queued.status, 202) << queued.body;
  EXPECT_EQ(body(queued)["status"], "queued");
  const auto bad = call("POST", "/v1/jobs?kind=analyze", "not a capture");
  ASSERT_EQ(bad.status, 202);
  jobs.wait_idle();
  const json done = body(call("GET", body(queued)["href"].get<std::string>()));
  EXPECT_EQ(done["status"], "done") << done.dump();
  const int64_t run = done["run"].get<int64_t>();
  // The run is in the database, as classify of the same capture stores it.
  patterns::Store db(path, patterns::Store::ReadOnly::kYes);
  EXPECT_EQ(db.run(run).kind, "classify");
  EXPECT_EQ(done["summary"]["sources"], fx().a.table.rows());
  EXPECT_EQ(db.members(run).size(), fx().a.table.rows());
  EXPECT_EQ(done["report"], "/v1/runs/" + std::to_string(run) + "/report");
  const json failed = body(call("GET", body(bad)["href"].get<std::string>()));
  EXPECT_EQ(failed["status"], "failed");
  EXPECT_NE(failed["error"].get<std::string>().find("not a capture"), std::string::npos) << failed.dump();
  EXPECT_TRUE(std::filesystem::is_empty(fx().dir.file("uploads")));  // uploads removed once run

  auto refused = [&](const serve::Response& r, int status, const std::string& message) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(error_message(r), message);
  };
  refused(call("POST", "/v1/jobs?kind=classify", capture, ""), 401,
          "this server needs a token: Authorization: Bearer TOKEN");
  refused(call("POST", "/v1/jobs?kind=track", capture), 400, "kind='track': a job is kind=analyze or kind=classify");
  refused(call("POST", "/v1/jobs", capture), 400, "kind=analyze or kind=classify is missing");
  refused(call("POST", "/v1/jobs?kind=classify"), 400, "no capture: send it as the request body");
  refused(call("GET", "/v1/jobs"), 405, "POST a capture to /v1/jobs?kind=analyze|classify");
  refused(call("GET", "/v1/jobs/77"), 404, "no job 77 (jobs are kept in memory while serve runs)");
  refused(call("POST", "/v1/runs"), 405, "POST is not answered here; the API reads with GET");
  // Without a token, no jobs at all.
  refused(serve::handle({path, "", "1", &jobs}, serve::Request{"POST", "/v1/jobs", {{"kind", "classify"}}, "", "x"}),
          403, "jobs write the database: they need a token (start serve with --token-file FILE or $DARKLENS_TOKEN)");
  // Bounds: the upload's size, the queue's length.
  serve::JobOptions small = jo;
  small.dir = fx().dir.file("uploads2");
  small.max_upload = 10;
  small.max_queued = 0;
  serve::Jobs tight(small);
  try {
    tight.submit("classify", {}, std::string(11, 'x'));
    FAIL();
  } catch (const serve::JobRefused& e) {
    EXPECT_EQ(e.status, 413);
    EXPECT_EQ(e.message, "the capture is larger than this server takes (10 bytes)");
  }
  try {
    tight.submit("classify", {}, "x");
    FAIL();
  } catch (const serve::JobRefused& e) {
    EXPECT_EQ(e.status, 429);
    EXPECT_EQ(e.message, "the job queue is full (0 waiting); try again later");
  }
}

TEST(ServeApi, ATokenGuardsEverythingButHealth) {
  EXPECT_EQ(get("/v1/health", "s3cret").status, 200);
  auto r = get("/v1/runs", "s3cret");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(error_message(r), "this server needs a token: Authorization: Bearer TOKEN");
  r = get("/v1/runs", "s3cret", "Bearer s3cre");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(error_message(r), "the token is not this server's");
  EXPECT_EQ(get("/v1/runs", "s3cret", "Basic s3cret").status, 401);
  EXPECT_EQ(get("/v1/runs", "s3cret", "Bearer s3cret").status, 200);
  EXPECT_EQ(get("/", "s3cret").status, 200);  // the page itself; it sends the token it is given
}
