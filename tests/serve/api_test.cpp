// The API as a function (serve::handle): every endpoint on a database
// analyze wrote, checked against what analyze itself computed; refusals
// with their status and message. Over real HTTP: tests/cli/serve_test.py.
#include <gtest/gtest.h>

#include <filesystem>
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
  for (const char* p : {"/v1/health", "/v1/version", "/v1/ip/{address}", "/v1/patterns", "/v1/patterns/{id}",
                        "/v1/runs", "/v1/runs/{id}", "/v1/runs/{id}/report", "/v1/events"}) {
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
  expect(serve::handle({fx().dir.file("none.db"), "", "1"}, serve::Request{"GET", "/v1/runs", {}, ""}), 500,
         fx().dir.file("none.db") + ": no such pattern database");
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
