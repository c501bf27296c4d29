// The API as a function: a request in, a response out (docs/serve.md).
#include <bit>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "darklens/core/text.hpp"
#include "darklens/error.hpp"
#include "darklens/patterns/patterns.hpp"
#include "darklens/profile/profile.hpp"
#include "darklens/report/report.hpp"
#include "darklens/serve/serve.hpp"
#include "darklens/types.hpp"

namespace darklens::serve {
namespace {

using nlohmann::json;

// A refusal with its HTTP status; handle() turns it into the JSON error.
struct HttpError {
  int status;
  std::string message;
};

Response json_response(const json& j, int status = 200) { return {status, "application/json", dump_json(j, 2) + "\n"}; }

Response error_response(int status, const std::string& message) {
  return json_response({{"error", {{"status", status}, {"message", terminal_text(message)}}}}, status);
}

// Path segments of "/v1/runs/3/report": {"v1", "runs", "3", "report"}.
std::vector<std::string> segments(const std::string& path) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < path.size()) {
    if (path[at] == '/') {
      ++at;
      continue;
    }
    const size_t end = path.find('/', at);
    out.push_back(path.substr(at, end == std::string::npos ? std::string::npos : end - at));
    if (end == std::string::npos) break;
    at = end;
  }
  return out;
}

int64_t id_of(const std::string& text, const char* what) {
  int64_t v = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || text.size() > 18 || ec != std::errc() || p != end || v <= 0) {
    throw HttpError{400, "'" + text.substr(0, 64) + "' is not a " + what + " id (a positive whole number)"};
  }
  return v;
}

bool same_token(const std::string& a, const std::string& b) {
  // Constant time in the length of the given one: no early exit on the first difference.
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % (b.empty() ? 1 : b.size())]);
  return diff == 0 && !b.empty();
}

json or_null(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

json pattern_brief(const patterns::Pattern& p) {
  return {{"id", p.id},           {"model_run", p.model_run}, {"first_run", p.first_run},
          {"cluster", p.cluster}, {"name", or_null(p.name)},  {"sources", p.sources},
          {"packets", p.packets}, {"radius", p.radius},       {"activity", profile::activity_of(p.profile)}};
}

json run_brief(const patterns::RunRecord& r) {
  return {{"id", r.id},
          {"kind", r.kind},
          {"model_run", r.model_run},
          {"created", r.created},
          {"window_start", iso8601_utc(r.window_start_ns)},
          {"window_end", iso8601_utc(r.window_end_ns)},
          {"inputs", r.inputs},
          {"pipeline", r.pipeline},
          {"sources", r.summary.value("sources", json(nullptr))}};
}

// A member's float32 feature row as {column: value}; null when it does not fit the columns.
json feature_values(const std::string& bytes, const std::vector<std::string>& columns) {
  if (bytes.empty() || bytes.size() != columns.size() * 4) return nullptr;
  json out = json::object();
  for (size_t c = 0; c < columns.size(); ++c) {
    uint32_t u = 0;
    for (size_t b = 0; b < 4; ++b) u |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[c * 4 + b])) << (8 * b);
    const auto v = static_cast<double>(std::bit_cast<float>(u));
    out[columns[c]] = std::isfinite(v) ? json(v) : json(nullptr);
  }
  return out;
}

json address(const patterns::Store& db, const std::string& text, const origin::Origins* origins) {
  if (text.size() > 64) throw HttpError{400, "an address is at most 64 characters"};
  const auto ip = IpAddr::parse(text);
  if (!ip) throw HttpError{400, "'" + text + "' is not an IPv4 or IPv6 address"};
  const std::string key = ip->to_string();
  const auto history = db.source_history(key);
  if (history.empty()) throw HttpError{404, key + " is in no stored run"};
  std::map<int64_t, patterns::Pattern> pattern_of;
  std::map<int64_t, size_t> windows_in;
  json rows = json::array();
  uint64_t packets = 0;
  bool packets_known = false;
  std::string label;
  std::set<int64_t> windows;
  for (const auto& h : history) {
    json p = nullptr;
    if (h.pattern > 0) {
      if (!pattern_of.count(h.pattern)) pattern_of.emplace(h.pattern, db.pattern(h.pattern));
      ++windows_in[h.pattern];
      const auto& pat = pattern_of.at(h.pattern);
      p = {{"id", pat.id}, {"name", or_null(pat.name)}, {"activity", profile::activity_of(pat.profile)}};
    }
    windows.insert(h.window_start_ns);
    if (h.packets) packets += *h.packets, packets_known = true;
    if (!h.label.empty()) label = h.label;
    rows.push_back({{"run", h.run},
                    {"kind", h.kind},
                    {"model_run", h.model_run},
                    {"window_start", iso8601_utc(h.window_start_ns)},
                    {"pattern", p},
                    {"packets", h.packets ? json(*h.packets) : json(nullptr)},
                    {"label", or_null(h.label)}});
  }
  json pats = json::array();
  for (const auto& [id, p] : pattern_of) {
    json b = pattern_brief(p);
    b["windows"] = windows_in[id];
    pats.push_back(b);
  }
  const auto& last = history.back();
  // The origin as the databases given to serve say now (null: none given).
  json from = nullptr;
  if (origins && !origins->empty()) {
    const auto og = origins->lookup(*ip);
    from = {{"asn", origins->has_asn() && og.asn ? json(og.asn) : json(nullptr)},
            {"as_org", origins->has_asn() && og.asn ? json(og.as_org) : json(nullptr)},
            {"country", origins->has_country() && !og.country.empty() ? json(og.country) : json(nullptr)}};
  }
  return {{"address", key},
          {"origin", from},
          {"first_seen", iso8601_utc(history.front().window_start_ns)},
          {"last_seen", iso8601_utc(last.window_start_ns)},
          {"windows", windows.size()},
          {"runs", history.size()},
          {"packets", packets_known ? json(packets) : json(nullptr)},
          {"label", or_null(label)},
          {"patterns", pats},
          {"history", rows},
          {"latest",
           {{"run", last.run},
            {"window_start", iso8601_utc(last.window_start_ns)},
            {"features", feature_values(last.features, db.run_columns(last.run))}}}};
}

const char* const kPage = R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>darklens</title>
<style>body{font:15px system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em}
input{font:inherit;padding:.3em}pre{background:#f4f4f4;padding:1em;overflow:auto}</style></head>
<body><h1>darklens</h1>
<form id="lookup"><label>Address <input id="ip" name="ip" placeholder="198.51.100.7" required></label>
<label>Token <input id="token" type="password" placeholder="(if the server needs one)"></label>
<button>Look up</button></form>
<p id="summary"></p><pre id="out"></pre>
<p>API: <a href="v1/openapi.json">v1/openapi.json</a> · <a href="v1/runs">v1/runs</a> · <a href="v1/patterns">v1/patterns</a></p>
<script>
document.getElementById('lookup').addEventListener('submit', async (e) => {
  e.preventDefault();
  const ip = document.getElementById('ip').value.trim(), token = document.getElementById('token').value;
  const r = await fetch('v1/ip/' + encodeURIComponent(ip), {headers: token ? {Authorization: 'Bearer ' + token} : {}});
  const j = await r.json();
  const s = document.getElementById('summary');
  s.textContent = r.ok ? j.address + ': seen in ' + j.windows + ' window(s), ' + j.first_seen + ' to ' + j.last_seen +
      (j.patterns.length ? '; patterns: ' + j.patterns.map(p => '#' + p.id + (p.name ? ' ' + p.name : '') + ' (' + p.activity + ')').join(', ') : '')
    : j.error.message;
  document.getElementById('out').textContent = JSON.stringify(j, null, 2);
});
</script></body></html>
)html";

// The database, opened read-only once per thread and kept: each query is
// its own read transaction (WAL), so a kept connection sees every run
// committed since, and opening (schema checks) is not paid per request.
const patterns::Store& store_for(const std::string& path) {
  thread_local std::string kept_path;
  thread_local std::unique_ptr<patterns::Store> kept;
  if (!std::filesystem::is_regular_file(path)) {
    kept.reset();
    throw HttpError{500, path + ": no such pattern database"};
  }
  if (!kept || kept_path != path) {
    kept.reset();
    kept = std::make_unique<patterns::Store>(path, patterns::Store::ReadOnly::kYes);
    kept_path = path;
  }
  return *kept;
}

Response route(const ApiOptions& o, const Request& r) {
  const auto seg = segments(r.path);
  if (seg.empty()) return {200, "text/html; charset=utf-8", kPage};
  if (seg.size() == 1 && seg[0] == "favicon.ico") return {204, "image/x-icon", ""};  // browsers ask; none
  if (seg[0] != "v1") throw HttpError{404, "no such resource: " + r.path.substr(0, 200) + " (the API is under /v1)"};
  if (seg.size() == 2 && seg[1] == "health") return json_response({{"status", "ok"}});
  if (!o.token.empty()) {
    const std::string prefix = "Bearer ";
    if (r.authorization.empty()) throw HttpError{401, "this server needs a token: Authorization: Bearer TOKEN"};
    if (r.authorization.compare(0, prefix.size(), prefix) != 0 ||
        !same_token(r.authorization.substr(prefix.size()), o.token)) {
      throw HttpError{401, "the token is not this server's"};
    }
  }
  if (seg.size() == 2 && seg[1] == "version") {
    return json_response({{"darklens", o.version}, {"api", "v1"}, {"schema", patterns::kSchemaVersion}});
  }
  if (seg.size() == 2 && seg[1] == "openapi.json") return {200, "application/json", openapi_json(o.version)};
  const patterns::Store& db = store_for(o.db);
  if (seg.size() == 3 && seg[1] == "ip") return json_response(address(db, seg[2], o.origins));
  if (seg.size() == 2 && seg[1] == "patterns") {
    int64_t model = 0;
    if (auto it = r.query.find("model"); it != r.query.end()) model = id_of(it->second, "run");
    json out = json::array();
    for (const auto& p : db.patterns(model)) out.push_back(pattern_brief(p));
    return json_response(out);
  }
  if (seg.size() == 3 && seg[1] == "patterns") {
    const int64_t id = id_of(seg[2], "pattern");
    patterns::Pattern p;
    try {
      p = db.pattern(id);
    } catch (const ParamError&) {
      throw HttpError{404, "no pattern " + std::to_string(id)};
    }
    json j = pattern_brief(p);
    j["centroid"] = p.centroid;
    j["profile"] = p.profile;
    json history = json::array();
    for (const auto& s : db.sightings(id)) {
      const auto run = db.run(s.run);
      history.push_back({{"run", s.run},
                         {"kind", run.kind},
                         {"window_start", iso8601_utc(run.window_start_ns)},
                         {"sources", s.sources},
                         {"packets", s.packets}});
    }
    j["history"] = history;
    return json_response(j);
  }
  if ((seg.size() == 2 || seg.size() == 3) && seg[1] == "jobs") {
    if (o.token.empty()) {
      throw HttpError{403,
                      "jobs write the database: they need a token (start serve with --token-file FILE or "
                      "$DARKLENS_TOKEN)"};
    }
    if (!o.jobs) throw HttpError{404, "this server runs no jobs"};
    if (seg.size() == 2) {
      if (r.method != "POST") throw HttpError{405, "POST a capture to /v1/jobs?kind=analyze|classify"};
      const auto kind = r.query.find("kind");
      if (kind == r.query.end()) throw HttpError{400, "kind=analyze or kind=classify is missing"};
      try {
        return json_response(o.jobs->submit(kind->second, r.query, r.body), 202);
      } catch (const JobRefused& e) {
        throw HttpError{e.status, e.message};
      }
    }
    if (r.method != "GET" && r.method != "HEAD") throw HttpError{405, "a job is read with GET"};
    const int64_t id = id_of(seg[2], "job");
    const auto j = o.jobs->status(id);
    if (!j) throw HttpError{404, "no job " + std::to_string(id) + " (jobs are kept in memory while serve runs)"};
    return json_response(*j);
  }
  if (r.method != "GET" && r.method != "HEAD") {
    throw HttpError{405, r.method.substr(0, 16) + " is not answered here; the API reads with GET"};
  }
  if (seg.size() == 2 && seg[1] == "events") {
    // darklens watch's events after `since`, oldest first (docs/watch.md).
    int64_t since = 0;
    int64_t limit = 100;
    auto number = [&](const char* key, int64_t& v) {
      const auto it = r.query.find(key);
      if (it == r.query.end() || it->second == "0") return;
      try {
        v = id_of(it->second, "");
      } catch (const HttpError&) {
        throw HttpError{400, std::string(key) + "='" + it->second.substr(0, 64) + "': expected a whole number"};
      }
    };
    number("since", since);
    number("limit", limit);
    limit = std::clamp<int64_t>(limit, 1, 1000);
    json out = json::array();
    for (const auto& e : db.events(since, static_cast<size_t>(limit))) out.push_back(e.body);
    const int64_t next = out.empty() ? since : out.back()["seq"].get<int64_t>();
    return json_response({{"events", out}, {"next", next}});
  }
  if (seg.size() == 2 && seg[1] == "runs") {
    json out = json::array();
    for (const auto& run : db.runs()) out.push_back(run_brief(run));
    return json_response(out);
  }
  if ((seg.size() == 3 || seg.size() == 4) && seg[1] == "runs") {
    const int64_t id = id_of(seg[2], "run");
    patterns::RunRecord run;
    try {
      run = db.run(id);
    } catch (const ParamError&) {
      throw HttpError{404, "no run " + std::to_string(id)};
    }
    if (seg.size() == 3) {
      json j = run_brief(run);
      j["features"] = run.features;
      j["columns"] = run.columns;
      j["summary"] = run.summary;
      j["report"] = db.blob(id, "report.json") ? json("/v1/runs/" + std::to_string(id) + "/report") : json(nullptr);
      j["pruned"] = run.pruned;
      return json_response(j);
    }
    if (seg[3] == "report") {
      const auto doc = db.blob(id, "report.json");
      if (!doc && run.pruned)
        throw HttpError{404, "run " + std::to_string(id) + "'s report was pruned (older than watch --retain)"};
      if (!doc)
        throw HttpError{404, "run " + std::to_string(id) + " has no stored report (stored by an older darklens)"};
      json parsed;
      try {
        parsed = json::parse(*doc);
      } catch (const json::exception&) {
        throw HttpError{500, o.db + ": run " + std::to_string(id) + "'s stored report is damaged"};
      }
      return {200, "text/html; charset=utf-8", report::render_html(parsed)};
    }
  }
  throw HttpError{404, "no such resource: " + r.path.substr(0, 200)};
}

}  // namespace

Response handle(const ApiOptions& o, const Request& r) {
  try {
    const bool job = r.path.rfind("/v1/jobs", 0) == 0;
    if (r.method != "GET" && r.method != "HEAD" && !(job && r.method == "POST")) {
      return error_response(405, r.method.substr(0, 16) + " is not answered here; the API reads with GET");
    }
    return route(o, r);
  } catch (const HttpError& e) {
    return error_response(e.status, e.message);
  } catch (const IoError& e) {
    return error_response(500, e.what());
  } catch (const Error& e) {
    return error_response(500, e.what());
  } catch (const std::exception& e) {
    return error_response(500, std::string("unexpected error: ") + e.what());
  }
}

}  // namespace darklens::serve
