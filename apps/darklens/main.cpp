#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <new>
#include <vector>

#include "commands.hpp"
#include "darklens/core/atomic_file.hpp"
#include "darklens/core/data_files.hpp"
#include "darklens/core/text.hpp"
#include "darklens/error.hpp"

#ifdef DARKLENS_JEMALLOC
#define DARKLENS_ALLOCATOR "jemalloc (transparent huge pages)"
#else
#define DARKLENS_ALLOCATOR "system malloc"
#endif

namespace darklens::cli {
bool stderr_is_tty() { return ::isatty(STDERR_FILENO) == 1; }

namespace {
// `darklens --version`: the version, how this binary was built, and where
// it finds its shipped data (a bug report wants all three).
std::string version_text() {
#if defined(__clang__)
  const std::string compiler = "clang " + std::string(__clang_version__);
#elif defined(__GNUC__)
  const std::string compiler = "g++ " + std::string(__VERSION__);
#else
  const std::string compiler = "unknown compiler";
#endif
#if defined(__SANITIZE_ADDRESS__) || (defined(__has_feature) && __has_feature(address_sanitizer))
  const char* sanitizers = "address, undefined";
#elif defined(__SANITIZE_THREAD__) || (defined(__has_feature) && __has_feature(thread_sanitizer))
  const char* sanitizers = "thread";
#else
  const char* sanitizers = "none";
#endif
  std::string data;
  for (const auto& d : data_dirs()) {
    std::error_code ec;
    data += d + (std::filesystem::is_directory(d, ec) ? "" : " (missing)");
  }
  return std::string("darklens ") + DARKLENS_VERSION + "\nbuild       " + DARKLENS_BUILD_TYPE + ", " + compiler +
         ", C++" + std::to_string(__cplusplus / 100 % 100) + "\nallocator   " + DARKLENS_ALLOCATOR + "\nsanitizers  " +
         sanitizers + "\ndata        " + (data.empty() ? "not found" : data);
}
}  // namespace
}  // namespace darklens::cli

// Exit codes (docs/cli.md): 0 success, 1 unexpected error, 2 bad usage or
// parameter, 3 I/O error, 4 input format error.
namespace {
int run(int argc, char** argv) {
  using namespace darklens;
  CLI::App app{
      "darklens: find coordinated sources in darknet (network telescope) "
      "traffic.\nRun 'darklens COMMAND --help' for the options of a command.",
      "darklens"};
  app.set_version_flag("--version", cli::version_text,
                       "Print the version, how this binary was built and where its data is, then exit");
  app.require_subcommand(1);
  // Global options may also follow the command ('darklens features ... --sync').
  app.fallthrough();
  bool sync = false;
  app.add_flag("--sync", sync,
               "Make every output durable before it is renamed into place (fsync): it then "
               "survives a power loss the moment darklens ends. Without it, outputs still "
               "appear whole or not at all (docs/cli.md)");
  std::vector<cli::Command> commands = {cli::add_stats(app),    cli::add_features(app), cli::add_embed(app),
                                        cli::add_cluster(app),  cli::add_evaluate(app), cli::add_track(app),
                                        cli::add_gt(app),       cli::add_analyze(app),  cli::add_classify(app),
                                        cli::add_patterns(app), cli::add_serve(app),    cli::add_watch(app),
                                        cli::add_synth(app)};
  for (auto& c : commands) {
    c.sub->footer(
        "Global option (before or after the command): --sync fsyncs every output before it is "
        "renamed into place.");
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  AtomicFile::set_sync(sync);
  try {
    for (auto& c : commands) {
      if (!c.sub->parsed()) continue;
      cli::check_distributed(c.sub->get_name());
      return c.run();
    }
    return 2;
  } catch (const ParamError& e) {
    std::cerr << "darklens: " << terminal_text(e.what()) << "\n";
    return 2;
  } catch (const IoError& e) {
    std::cerr << "darklens: " << terminal_text(e.what()) << "\n";
    return 3;
  } catch (const FormatError& e) {
    std::cerr << "darklens: " << terminal_text(e.what()) << "\n";
    return 4;
  } catch (const ResourceError& e) {
    std::cerr << "darklens: " << terminal_text(e.what()) << "\n";
    return 5;
  } catch (const std::bad_alloc&) {
    std::cerr << "darklens: out of memory: the machine could not give the memory this work needs; set a smaller "
                 "--max-memory to be told what needs it before it runs out, or give the work less at once\n";
    return 5;
  } catch (const std::exception& e) {
    std::cerr << "darklens: unexpected error: " << terminal_text(e.what()) << "\n";
    return 1;
  }
}
}  // namespace

int main(int argc, char** argv) {
  darklens::cli::Process process(argc, argv);
  return process.finish(run(argc, argv));
}
