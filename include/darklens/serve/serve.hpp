// darklens serve (docs/serve.md): the pattern database over HTTP/JSON.
//
//   handle()  one request -> one response, no socket: the whole API, tested
//             as a function (tests/serve/) and over loopback (tests/cli/)
//   Server    cpp-httplib around handle(): bounded bodies, timeouts, a
//             fixed thread pool, one log line per request
//
// Every read opens the database read-only (WAL: readers never wait for a
// writer, and see whole runs only). No part of a request names a file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "darklens/labels/origin.hpp"
#include "darklens/profile/profile.hpp"

namespace darklens::serve {

struct Request {
  std::string method = "GET";
  std::string path;                          // "/v1/ip/198.51.100.7", without the query
  std::map<std::string, std::string> query;  // decoded parameters
  std::string authorization;                 // the Authorization header ("" when absent)
  std::string body;                          // POST /v1/jobs: the uploaded capture
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class Jobs;

struct ApiOptions {
  std::string db;        // the pattern database (darklens analyze --db)
  std::string token;     // "" = none: every request is answered (but jobs)
  std::string version;   // darklens's, for /v1/version
  Jobs* jobs = nullptr;  // POST /v1/jobs, GET /v1/jobs/{id}; null: none are run
  /// Set: /v1/ip/{address} says the address's origin AS and country.
  const origin::Origins* origins = nullptr;
};

/// A refusal of a job, with its HTTP status (413, 429, 400).
struct JobRefused {
  int status;
  std::string message;
};

struct JobOptions {
  std::string db;         // the only writer among the server's parts
  std::string dir;        // uploads wait here (created; files named by the server)
  size_t max_queued = 4;  // jobs waiting; more are refused (429)
  size_t max_upload = 64u << 20;
  size_t keep = 1000;  // finished jobs remembered (in memory)
  const profile::Catalog* catalog = nullptr;
  const origin::Origins* origins = nullptr;  // jobs' profiles get their sources' origins
  int threads = 0;
};

/// The job runner of `serve` (docs/serve.md, "Jobs"): an uploaded capture
/// analysed or classified on one worker thread, one job at a time, its run
/// stored in the database; queued jobs are kept in memory (lost when the
/// server stops) and their uploads in `dir`, removed once run.
class Jobs {
 public:
  explicit Jobs(JobOptions options);
  ~Jobs();  // the running job finishes; queued ones are dropped
  Jobs(const Jobs&) = delete;
  Jobs& operator=(const Jobs&) = delete;
  /// Queues a job: kind "analyze" (params: window) or "classify" (params:
  /// model). Returns its record. Throws JobRefused.
  nlohmann::json submit(const std::string& kind, const std::map<std::string, std::string>& params,
                        const std::string& capture);
  /// A job's record ({id, kind, status: queued|running|done|failed, ...});
  /// nullopt when unknown.
  std::optional<nlohmann::json> status(int64_t id) const;
  /// Waits until no job is queued or running (tests).
  void wait_idle() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The API: GET /, /v1/health, /v1/version, /v1/openapi.json,
/// /v1/ip/{address}, /v1/patterns, /v1/patterns/{id}, /v1/runs,
/// /v1/runs/{id}, /v1/runs/{id}/report, /v1/events?since=N&limit=M; POST
/// /v1/jobs and GET /v1/jobs/{id} with `options.jobs` (always with a token). With a token, every request but
/// /v1/health needs `Authorization: Bearer TOKEN`. Never throws: an error
/// is a JSON body {"error": {"status": N, "message": "..."}} with that
/// HTTP status (400 bad input, 401 no or wrong token, 404 unknown, 405
/// another method, 500 a damaged database).
Response handle(const ApiOptions& options, const Request& request);

/// The OpenAPI 3 document of the API (served at /v1/openapi.json).
std::string openapi_json(const std::string& version);

struct ServerOptions {
  ApiOptions api;
  std::string host = "127.0.0.1";  // another address needs a token
  int port = 8080;                 // 0: any free port (port() tells which)
  int threads = 8;                 // requests answered at once
  size_t max_body = 1 << 20;       // bytes of a request body (but an upload: JobOptions::max_upload)
  size_t max_upload = 64u << 20;   // bytes of POST /v1/jobs
  int timeout_s = 10;              // reading a request, writing a response
  /// One line per request ("GET /v1/runs 200 1.2 ms"); none when empty.
  std::function<void(const std::string&)> log;
};

class Server {
 public:
  /// Throws ParamError for a non-loopback host without a token, IoError
  /// when the database is missing or the address cannot be bound.
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  int port() const;
  /// Answers requests until stop() (from another thread or a signal handler's thread).
  void run();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace darklens::serve
