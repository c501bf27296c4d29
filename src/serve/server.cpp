// cpp-httplib around handle(): the listening socket, a fixed thread pool,
// bounded requests, one log line per request.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "darklens/error.hpp"
#include "darklens/patterns/patterns.hpp"
#include "darklens/serve/serve.hpp"
// Last: it brings <resolv.h>, whose macro _res breaks Eigen's headers (via patterns.hpp).
#include <httplib.h>  // NOLINT(llvm-include-order)

namespace darklens::serve {
namespace {

bool is_loopback(const std::string& host) { return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0; }

std::string status_text(int status) {
  switch (status) {
    case 400:
      return "the request is malformed";
    case 413:
      return "the request body is larger than this server takes";
    case 414:
      return "the request line is too long";
    default:
      return "the request could not be answered (HTTP " + std::to_string(status) + ")";
  }
}

}  // namespace

struct Server::Impl {
  ServerOptions options;
  httplib::Server http;
  int port = 0;
};

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  const auto& o = impl_->options;
  if (!is_loopback(o.host) && o.api.token.empty()) {
    throw ParamError("serve: listening on " + o.host +
                     " (not this machine alone) needs a token: --token-file FILE or $DARKLENS_TOKEN");
  }
  if (o.threads < 1 || o.threads > 256) throw ParamError("serve: threads must be 1..256");
  if (!std::filesystem::is_regular_file(o.api.db)) throw IoError(o.api.db + ": no such pattern database");
  // A database of an older darklens is migrated once, now, when it can be written (requests
  // only read); refused now rather than on every request: not a darklens database, or a newer one.
  if (::access(o.api.db.c_str(), W_OK) == 0) {
    const patterns::Store migrate(o.api.db);
  }
  { const patterns::Store check(o.api.db, patterns::Store::ReadOnly::kYes); }
  auto& http = impl_->http;
  const int threads = o.threads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  http.set_payload_max_length(std::max(o.max_body, o.max_upload));
  http.set_read_timeout(o.timeout_s, 0);
  http.set_write_timeout(o.timeout_s, 0);
  // A client keeps its connection for many requests (httplib's default is 5), and an idle
  // one gives its thread back after a second, so that a few idle clients cannot hold them all.
  http.set_tcp_nodelay(true);  // else Nagle and delayed ACKs add 40 ms to every keep-alive answer
  http.set_keep_alive_max_count(1000);
  http.set_keep_alive_timeout(1);
  auto answer = [this](const httplib::Request& req, httplib::Response& res) {
    const auto t0 = std::chrono::steady_clock::now();
    Request r;
    r.method = req.method;
    r.path = req.path;
    for (const auto& [k, v] : req.params) r.query.emplace(k, v);
    r.authorization = req.get_header_value("Authorization");
    Response out;
    if (req.body.size() > impl_->options.max_body && !(req.method == "POST" && req.path == "/v1/jobs")) {
      out = {413, "application/json",
             nlohmann::json({{"error", {{"status", 413}, {"message", status_text(413)}}}}).dump(2) + "\n"};
    } else {
      r.body = req.body;
      out = handle(impl_->options.api, r);
    }
    res.status = out.status;
    res.set_content(out.body, out.content_type.c_str());
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Content-Type-Options", "nosniff");
    if (impl_->options.log) {
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.1f ms", ms);
      impl_->options.log(req.method + " " + req.path.substr(0, 200) + " " + std::to_string(out.status) + " " + buf);
    }
  };
  http.Get(".*", answer);
  http.Post(".*", answer);
  http.Put(".*", answer);
  http.Delete(".*", answer);
  http.Patch(".*", answer);
  http.Options(".*", answer);
  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    nlohmann::json j = {{"error", {{"status", res.status}, {"message", status_text(res.status)}}}};
    res.set_content(j.dump(2) + "\n", "application/json");
  });
  if (o.port == 0) {
    impl_->port = http.bind_to_any_port(o.host);
  } else {
    impl_->port = http.bind_to_port(o.host, o.port) ? o.port : -1;
  }
  if (impl_->port <= 0) {
    throw IoError("serve: cannot listen on " + o.host + ":" + std::to_string(o.port) +
                  " (in use, or not an address of this machine)");
  }
}

Server::~Server() = default;

int Server::port() const { return impl_->port; }

void Server::run() { impl_->http.listen_after_bind(); }

void Server::stop() { impl_->http.stop(); }

}  // namespace darklens::serve
