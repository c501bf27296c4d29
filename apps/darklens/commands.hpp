// Each subcommand registers its flags on the CLI11 app and returns the
// function that runs it once parsing succeeded. main.cpp maps exceptions to
// exit codes in one place.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "darklens/analyze/analyze.hpp"
#include "darklens/core/memory.hpp"
#include "darklens/embed/embed.hpp"
#include "darklens/features/features.hpp"
#include "darklens/labels/ground_truth.hpp"
#include "darklens/pipeline/pipeline.hpp"

namespace darklens::cli {

struct Command {
  CLI::App* sub = nullptr;
  std::function<int()> run;
};

Command add_stats(CLI::App& app);
Command add_synth(CLI::App& app);
Command add_features(CLI::App& app);
Command add_embed(CLI::App& app);
Command add_cluster(CLI::App& app);
Command add_evaluate(CLI::App& app);
Command add_track(CLI::App& app);
Command add_gt(CLI::App& app);
Command add_analyze(CLI::App& app);
Command add_classify(CLI::App& app);
Command add_patterns(CLI::App& app);
Command add_serve(CLI::App& app);
Command add_watch(CLI::App& app);

/// The flags several commands share, registered in one place so that each
/// has one spelling, one default and one help text everywhere (docs/cli.md):
/// -t,--threads N (0 = all cores, the default; the same output on any
/// number), -q,--quiet, -o,--output (required). `more` is appended to the
/// help text.
CLI::Option* add_threads(CLI::App* sub, int& threads, const std::string& more = "");
CLI::Option* add_quiet(CLI::App* sub, bool& quiet);
/// --max-memory SIZE (default MemoryBudget::kDefault, 75% of memory);
/// parse_memory_size() gives the bytes.
CLI::Option* add_max_memory(CLI::App* sub, std::string& budget);
/// --min-class N: ground-truth classes of fewer labelled sources are left out of the scores.
CLI::Option* add_min_class(CLI::App* sub, size_t& n);
/// --asn-db and --geo-db: origin AS and country databases (MMDB or CSV).
void add_origin_dbs(CLI::App* sub, std::string& asn_db, std::string& geo_db);
/// --rdns N with --resolver, --timeout-ms, --tries (as `gt build` names them).
void add_rdns(CLI::App* sub, size_t& heaviest, std::string& resolver, int& timeout_ms, int& tries);
/// --categories indicators|drop|numbers (pipeline::Categories).
CLI::Option* add_categories(CLI::App* sub, std::string& rule);
CLI::Option* add_output(CLI::App* sub, std::string& out, const std::string& what);
/// The embedding's flags (docs/embed.md), the same in `embed` and in
/// `analyze`/`track` with embed in --family: --bin, --services, --dim,
/// --context, --negative, --epochs, --min-count, --sample, in option group
/// `group` ("" = none). Returns them, to tell whether any was given.
struct EmbedFlags {
  std::string bin = "1h", services;
  embed::Word2VecParams p;
};
std::vector<CLI::Option*> add_embed_flags(CLI::App* sub, EmbedFlags& f, const std::string& group = "");
/// The flags as the library's options (the bin parsed as a window length).
analyze::EmbedOptions embed_options(const EmbedFlags& f);
/// Throws ParamError when one of `flags` was given but the run has no
/// embedding ("--dim is for the embedding: add embed to --family").
void refuse_unused_embed_flags(const std::vector<CLI::Option*>& flags, bool embedding);

/// For commands that run for days (watch, serve): freed memory goes back to
/// the system after a second (allocator.cpp keeps it, for batch runs).
void allocator_for_long_runs();

/// A number in [lo, hi]; unlike CLI::Range, NaN and infinities are refused.
CLI::Validator finite_range(double lo, double hi);

/// True when standard error is a terminal (progress displays go there).
bool stderr_is_tty();

/// "[##########....................] 33%  700000 packets": a bar over the
/// inputs' bytes when their size is known, else the packet count alone.
std::string progress_line(const features::ReadProgress& p);

/// The process the command runs in: one (darklens, process_local.cpp), or
/// one of several MPI ranks (darklens-mpi, apps/darklens-mpi/). Made
/// first thing in main and kept to the end.
class Process {
 public:
  Process(int& argc, char**& argv);
  ~Process();  // NOLINT(performance-trivially-destructible): darklens-mpi's ends MPI
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  /// The exit code to return; a failure on one rank of several stops them
  /// all (the others would wait for it forever).
  int finish(int code);
};
/// Throws ParamError when `command` cannot run across the ranks there are.
void check_distributed(const std::string& command);
/// Whether this process writes the outputs (every process but MPI ranks
/// other than 0).
bool writes_outputs();
/// The feature table of `files` and what reading counted: read here
/// (Aggregator::add_files), or spread over the ranks (PacketRouter), the
/// same table either way. Empty on a process that does not write.
struct FeatureRead {
  std::optional<features::FeatureTable> table;
  features::AggregateCounters counters;
  std::shared_ptr<void> held;  // the per-source state, kept until exit
  double read_seconds = 0;     // reading and aggregating (the rest: the table)
};
FeatureRead read_features(const features::FeatureOptions& options, const std::vector<std::string>& files,
                          const features::ProgressFn& progress);

/// Takes `obj` and never destroys it: a command's large results (per-source
/// state, tables) are handed back to the system at exit all at once, where
/// freeing millions of small objects one by one costs a noticeable part of
/// a run (docs/performance.md). Call it once the outputs are committed. The
/// library itself frees everything it owns.
template <typename T>
void keep_until_exit(T&& obj) {
  static auto* kept = new std::vector<std::shared_ptr<void>>;  // reachable, never freed
  kept->push_back(std::make_shared<std::decay_t<T>>(std::forward<T>(obj)));
}

}  // namespace darklens::cli
