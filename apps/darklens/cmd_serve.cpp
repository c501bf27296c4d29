// darklens serve: the pattern database over HTTP/JSON (docs/serve.md).
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include "commands.hpp"
#include "darklens/core/data_files.hpp"
#include "darklens/core/text.hpp"
#include "darklens/error.hpp"
#include "darklens/serve/serve.hpp"

namespace darklens::cli {
namespace {

// "127.0.0.1:8080", "localhost:8080", "[::1]:8080" -> host, port.
std::pair<std::string, int> parse_listen(const std::string& text) {
  auto bad = [&] {
    return ParamError("--listen '" + text +
                      "': expected HOST:PORT, such as 127.0.0.1:8080 or [::1]:8080 (port 0: any free one)");
  };
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || text.size() > 300) throw bad();
  std::string host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.back() != ']') throw bad();
    host = host.substr(1, host.size() - 2);
  }
  const std::string port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) throw bad();
  const int p = std::stoi(port);
  if (p > 65535) throw bad();
  return {host, p};
}

std::string read_token(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path + ": cannot read the token file");
  std::string token(4097, '\0');
  in.read(token.data(), static_cast<std::streamsize>(token.size()));
  token.resize(static_cast<size_t>(in.gcount()));
  if (token.size() > 4096) throw FormatError(path + ": a token is at most 4,096 bytes");
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.empty()) throw FormatError(path + ": the token file is empty");
  if (token.find_first_of(" \t\r\n") != std::string::npos) throw FormatError(path + ": a token is one word");
  return token;
}

// "64M", "1G", "500K", "1048576" -> bytes, 1 KiB .. 64 GiB.
size_t parse_upload_size(const std::string& text) {
  size_t unit = 1;
  std::string digits = text;
  if (!digits.empty() && std::string("KMG").find(digits.back()) != std::string::npos) {
    unit = digits.back() == 'K' ? size_t{1} << 10 : digits.back() == 'M' ? size_t{1} << 20 : size_t{1} << 30;
    digits.pop_back();
  }
  if (digits.empty() || digits.size() > 12 || digits.find_first_not_of("0123456789") != std::string::npos ||
      std::stoull(digits) * unit < 1024 || std::stoull(digits) * unit > (size_t{64} << 30)) {
    throw ParamError("--max-upload '" + terminal_text(text) + "': expected a size such as 500K, 64M or 1G (1K to 64G)");
  }
  return std::stoull(digits) * unit;
}

}  // namespace

Command add_serve(CLI::App& app) {
  struct Opts {
    std::string db, listen = "127.0.0.1:8080", token_file, jobs_dir, signatures, max_upload = "64M", asn_db, geo_db;
    size_t max_jobs = 4;
    int threads = 0;
    bool quiet = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand(
      "serve",
      "Answer questions about the pattern database over HTTP/JSON: an address's record (when seen, its "
      "patterns and activities, its label and features), the patterns with their history, the runs and their "
      "reports, and a lookup page at /. The API is under /v1 and described by /v1/openapi.json. Listens on "
      "127.0.0.1 unless told otherwise; any other address needs a token. Reads only: analyze and classify "
      "may write the database meanwhile. docs/serve.md.");
  sub->add_option("--db", o->db, "Pattern database (written by darklens analyze --db)")->required();
  sub->add_option("--listen", o->listen,
                  "HOST:PORT to listen on. Another host than this machine's (127.0.0.1, ::1) needs a token; port 0 "
                  "takes any free port (the address is printed)")
      ->default_val(o->listen);
  sub->add_option("--token-file", o->token_file,
                  "File holding the token clients must send (Authorization: Bearer TOKEN) for everything but "
                  "/v1/health; default: $DARKLENS_TOKEN, or none");
  sub->add_option("--max-upload", o->max_upload, "Largest capture POST /v1/jobs takes (64M, 1G)")
      ->default_val(o->max_upload);
  sub->add_option("--max-jobs", o->max_jobs, "Jobs that may wait; more are refused (HTTP 429)")
      ->default_val(o->max_jobs)
      ->check(CLI::Range(size_t{1}, size_t{1000}));
  sub->add_option("--jobs-dir", o->jobs_dir,
                  "Where uploads wait for their job (files named by the server); default: a new temporary "
                  "directory, removed at exit");
  sub->add_option("--signatures", o->signatures,
                  "Signature catalog for jobs (docs/analyze.md); default: the shipped one");
  add_origin_dbs(sub, o->asn_db, o->geo_db);
  add_threads(sub, o->threads, "requests answered at once (0: 8)");
  add_quiet(sub, o->quiet);
  return {sub, [o]() {
            allocator_for_long_runs();
            serve::ServerOptions so;
            std::tie(so.host, so.port) = parse_listen(o->listen);
            so.api.db = o->db;
            const origin::Origins origins = origin::Origins::open(o->asn_db, o->geo_db);
            so.api.origins = &origins;
            so.api.version = DARKLENS_VERSION;
            if (!o->token_file.empty()) {
              so.api.token = read_token(o->token_file);
            } else if (const char* env = std::getenv("DARKLENS_TOKEN"); env && *env) {
              so.api.token = env;
              if (so.api.token.size() > 4096) throw ParamError("$DARKLENS_TOKEN: a token is at most 4,096 bytes");
            }
            so.threads = o->threads > 0 ? o->threads : 8;
            so.max_upload = parse_upload_size(o->max_upload);
            // Jobs (they write the database) only with a token.
            std::unique_ptr<serve::Jobs> jobs;
            std::string temp_jobs_dir;
            profile::Catalog catalog;
            if (!so.api.token.empty()) {
              catalog = profile::Catalog::load(o->signatures.empty() ? data_file("signatures.txt") : o->signatures);
              serve::JobOptions jo;
              jo.db = o->db;
              jo.dir = o->jobs_dir;
              if (jo.dir.empty()) {
                std::string tmpl = (std::filesystem::temp_directory_path() / "darklens-jobs-XXXXXX").string();
                if (!::mkdtemp(tmpl.data())) throw IoError(tmpl + ": cannot create a directory for uploads");
                jo.dir = temp_jobs_dir = tmpl;
              }
              jo.max_queued = o->max_jobs;
              jo.max_upload = so.max_upload;
              jo.catalog = &catalog;
              jo.origins = &origins;
              jobs = std::make_unique<serve::Jobs>(jo);
              so.api.jobs = jobs.get();
            }
            std::mutex log_mutex;
            if (!o->quiet) {
              so.log = [&log_mutex](const std::string& line) {
                const std::lock_guard<std::mutex> lock(log_mutex);
                std::cerr << "darklens serve: " << terminal_text(line) << "\n";
              };
            }
            // SIGINT and SIGTERM end the server: taken by one thread that stops it.
            sigset_t stop_signals;
            sigemptyset(&stop_signals);
            sigaddset(&stop_signals, SIGINT);
            sigaddset(&stop_signals, SIGTERM);
            pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
            serve::Server server(so);
            const std::string shown = so.host.find(':') != std::string::npos ? "[" + so.host + "]" : so.host;
            std::cout << "listening on http://" << shown << ":" << server.port() << "/ (database " << o->db
                      << (so.api.token.empty() ? "" : ", token required") << ")" << std::endl;
            std::atomic<bool> done = false;
            std::thread waiter([&] {
              const timespec tick{0, 100'000'000};
              bool stopping = false;
              while (!done) {  // run() also returns when the socket fails
                if (!stopping && sigtimedwait(&stop_signals, nullptr, &tick) > 0) stopping = true;
                if (stopping) {  // until run() has returned: a stop() before it listens would be lost
                  server.stop();
                  std::this_thread::sleep_for(std::chrono::milliseconds(50));
                }
              }
            });
            server.run();
            done = true;
            waiter.join();
            jobs.reset();  // the running job finishes
            if (!temp_jobs_dir.empty()) {
              std::error_code ec;
              std::filesystem::remove_all(temp_jobs_dir, ec);
            }
            if (!o->quiet) std::cerr << "darklens serve: stopped\n";
            return 0;
          }};
}

}  // namespace darklens::cli
