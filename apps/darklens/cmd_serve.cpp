// darklens serve: the pattern database over HTTP/JSON (docs/serve.md).
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include "commands.hpp"
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

}  // namespace

Command add_serve(CLI::App& app) {
  struct Opts {
    std::string db, listen = "127.0.0.1:8080", token_file;
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
  add_threads(sub, o->threads, "requests answered at once (0: 8)");
  add_quiet(sub, o->quiet);
  return {sub, [o]() {
            allocator_for_long_runs();
            serve::ServerOptions so;
            std::tie(so.host, so.port) = parse_listen(o->listen);
            so.api.db = o->db;
            so.api.version = DARKLENS_VERSION;
            if (!o->token_file.empty()) {
              so.api.token = read_token(o->token_file);
            } else if (const char* env = std::getenv("DARKLENS_TOKEN"); env && *env) {
              so.api.token = env;
              if (so.api.token.size() > 4096) throw ParamError("$DARKLENS_TOKEN: a token is at most 4,096 bytes");
            }
            so.threads = o->threads > 0 ? o->threads : 8;
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
            if (!o->quiet) std::cerr << "darklens serve: stopped\n";
            return 0;
          }};
}

}  // namespace darklens::cli
