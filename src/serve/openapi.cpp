// The OpenAPI 3 document of darklens serve's API (docs/serve.md).
#include <map>
#include <nlohmann/json.hpp>

#include "darklens/core/text.hpp"
#include "darklens/serve/serve.hpp"

namespace darklens::serve {
namespace {

using nlohmann::json;

json ok(const std::string& description, const json& schema, const std::string& type = "application/json") {
  return {{"200", {{"description", description}, {"content", {{type, {{"schema", schema}}}}}}}};
}

json ref(const std::string& name) { return {{"$ref", "#/components/schemas/" + name}}; }

json with_errors(json responses, std::initializer_list<const char*> codes) {
  for (const char* c : codes) {
    static const std::map<std::string, std::string> what = {
        {"400", "bad input (an address, id or parameter that is not one)"},
        {"401", "no token, or not this server's"},
        {"403", "jobs on a server without a token"},
        {"404", "not found"},
        {"413", "the upload is larger than the server takes"},
        {"429", "the job queue is full"}};
    responses[c] = {{"description", what.at(c)}, {"content", {{"application/json", {{"schema", ref("Error")}}}}}};
  }
  return responses;
}

json id_parameter(const std::string& name, const std::string& what) {
  return {{"name", name},
          {"in", "path"},
          {"required", true},
          {"description", what},
          {"schema", {{"type", "integer"}, {"minimum", 1}}}};
}

}  // namespace

std::string openapi_json(const std::string& version) {
  const json string_or_null = {{"type", "string"}, {"nullable", true}};
  const json integer_or_null = {{"type", "integer"}, {"nullable", true}};
  json schemas = {
      {"Error",
       {{"type", "object"},
        {"required", {"error"}},
        {"properties",
         {{"error",
           {{"type", "object"},
            {"properties", {{"status", {{"type", "integer"}}}, {"message", {{"type", "string"}}}}}}}}}}},
      {"PatternBrief",
       {{"type", "object"},
        {"properties",
         {{"id", {{"type", "integer"}}},
          {"model_run", {{"type", "integer"}}},
          {"first_run", {{"type", "integer"}}},
          {"cluster", {{"type", "integer"}}},
          {"name", string_or_null},
          {"sources", {{"type", "integer"}}},
          {"packets", {{"type", "integer"}}},
          {"radius", {{"type", "number"}}},
          {"activity", {{"type", "string"}, {"description", "the best-matching known activity, or UNEXPLAINED"}}}}}}},
      {"RunBrief",
       {{"type", "object"},
        {"properties",
         {{"id", {{"type", "integer"}}},
          {"kind", {{"type", "string"}, {"enum", {"analyze", "classify"}}}},
          {"model_run", {{"type", "integer"}}},
          {"created", {{"type", "string"}, {"format", "date-time"}}},
          {"window_start", {{"type", "string"}, {"format", "date-time"}}},
          {"window_end", {{"type", "string"}, {"format", "date-time"}}},
          {"inputs", {{"type", "array"}, {"items", {{"type", "string"}}}}},
          {"pipeline", {{"type", "string"}}},
          {"sources", integer_or_null}}}}},
      {"Address",
       {{"type", "object"},
        {"properties",
         {{"address", {{"type", "string"}}},
          {"first_seen", {{"type", "string"}, {"format", "date-time"}, {"description", "start of its first window"}}},
          {"last_seen", {{"type", "string"}, {"format", "date-time"}, {"description", "start of its last window"}}},
          {"windows", {{"type", "integer"}}},
          {"runs", {{"type", "integer"}}},
          {"packets", integer_or_null},
          {"label", string_or_null},
          {"patterns", {{"type", "array"}, {"items", ref("PatternBrief")}}},
          {"history", {{"type", "array"}, {"items", {{"type", "object"}}}}},
          {"latest",
           {{"type", "object"},
            {"description", "its last window's feature values, by column"},
            {"properties",
             {{"run", {{"type", "integer"}}},
              {"window_start", {{"type", "string"}}},
              {"features", {{"type", "object"}, {"nullable", true}}}}}}},
          {"origin",
           {{"type", "object"},
            {"nullable", true},
            {"description", "origin AS and country (serve --asn-db/--geo-db); null without them"},
            {"properties", {{"asn", integer_or_null}, {"as_org", string_or_null}, {"country", string_or_null}}}}}}}}}};
  json paths = {
      {"/v1/health",
       {{"get", {{"summary", "Liveness (no token needed)"}, {"responses", ok("ok", {{"type", "object"}})}}}}},
      {"/v1/version",
       {{"get",
         {{"summary", "darklens, API and database schema versions"},
          {"responses", ok("versions", {{"type", "object"}})}}}}},
      {"/v1/openapi.json",
       {{"get", {{"summary", "This document"}, {"responses", ok("the OpenAPI 3 document", {{"type", "object"}})}}}}},
      {"/v1/ip/{address}",
       {{"get",
         {{"summary", "One address: when it was seen, its patterns and their activities, its label, its features"},
          {"parameters",
           {{{"name", "address"},
             {"in", "path"},
             {"required", true},
             {"schema", {{"type", "string"}, {"maxLength", 64}}},
             {"description", "IPv4 or IPv6"}}}},
          {"responses", with_errors(ok("the address's record", ref("Address")), {"400", "401", "404"})}}}}},
      {"/v1/patterns",
       {{"get",
         {{"summary", "Every pattern (or one model's)"},
          {"parameters",
           {{{"name", "model"},
             {"in", "query"},
             {"required", false},
             {"schema", {{"type", "integer"}, {"minimum", 1}}},
             {"description", "the analyze run whose patterns to list"}}}},
          {"responses",
           with_errors(ok("patterns", {{"type", "array"}, {"items", ref("PatternBrief")}}), {"400", "401"})}}}}},
      {"/v1/patterns/{id}",
       {{"get",
         {{"summary", "One pattern: profile, centroid, sightings over runs"},
          {"parameters", {id_parameter("id", "pattern id")}},
          {"responses", with_errors(ok("the pattern", {{"type", "object"}}), {"400", "401", "404"})}}}}},
      {"/v1/events",
       {{"get",
         {{"summary", "darklens watch's events numbered after `since`, oldest first (docs/watch.md)"},
          {"parameters",
           {{{"name", "since"},
             {"in", "query"},
             {"required", false},
             {"schema", {{"type", "integer"}, {"minimum", 0}}},
             {"description", "the last event already had (0: from the first)"}},
            {{"name", "limit"},
             {"in", "query"},
             {"required", false},
             {"schema", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}}},
             {"description", "at most this many (default 100)"}}}},
          {"responses", with_errors(ok("{events: [...], next: the since of the next call}", {{"type", "object"}}),
                                    {"400", "401"})}}}}},
      {"/v1/jobs",
       {{"post",
         {{"summary",
           "Upload a capture (the request body, application/octet-stream) to be analysed or classified "
           "and stored; always needs the token"},
          {"parameters",
           {{{"name", "kind"},
             {"in", "query"},
             {"required", true},
             {"schema", {{"type", "string"}, {"enum", {"analyze", "classify"}}}}},
            {{"name", "model"},
             {"in", "query"},
             {"required", false},
             {"schema", {{"type", "integer"}, {"minimum", 1}}},
             {"description", "classify: the analyze run to classify against (default: the newest)"}},
            {{"name", "window"},
             {"in", "query"},
             {"required", false},
             {"schema", {{"type", "string"}}},
             {"description", "analyze: the window length (default 24h)"}}}},
          {"requestBody",
           {{"required", true},
            {"content", {{"application/octet-stream", {{"schema", {{"type", "string"}, {"format", "binary"}}}}}}}}},
          {"responses", with_errors({{"202",
                                      {{"description", "queued: the job's record"},
                                       {"content", {{"application/json", {{"schema", {{"type", "object"}}}}}}}}}},
                                    {"400", "401", "403", "413", "429"})}}}}},
      {"/v1/jobs/{id}",
       {{"get",
         {{"summary", "A job: queued, running, done (its run, report and summary) or failed (why)"},
          {"parameters", {id_parameter("id", "job id")}},
          {"responses", with_errors(ok("the job", {{"type", "object"}}), {"400", "401", "403", "404"})}}}}},
      {"/v1/runs",
       {{"get",
         {{"summary", "Every stored run"},
          {"responses", with_errors(ok("runs", {{"type", "array"}, {"items", ref("RunBrief")}}), {"401"})}}}}},
      {"/v1/runs/{id}",
       {{"get",
         {{"summary",
           "One run: feature options, columns, summary; pruned: its members and report were deleted "
           "by watch --retain"},
          {"parameters", {id_parameter("id", "run id")}},
          {"responses", with_errors(ok("the run", {{"type", "object"}}), {"400", "401", "404"})}}}}},
      {"/v1/runs/{id}/report",
       {{"get",
         {{"summary", "The run's HTML report"},
          {"parameters", {id_parameter("id", "run id")}},
          {"responses", with_errors(ok("the report", {{"type", "string"}}, "text/html"), {"400", "401", "404"})}}}}}};
  const json doc = {
      {"openapi", "3.0.3"},
      {"info",
       {{"title", "darklens"},
        {"version", version},
        {"description", "The pattern database of darklens analyze/classify over HTTP (docs/serve.md)"}}},
      {"paths", paths},
      {"components",
       {{"schemas", schemas}, {"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}}}},
      {"security", {{{"bearer", json::array()}}}}};
  return dump_json(doc, 2) + "\n";
}

}  // namespace darklens::serve
