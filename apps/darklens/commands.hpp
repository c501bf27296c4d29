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

#include "darklens/core/memory.hpp"
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

/// "198.51.100.0/24,2001:db8::/32" -> prefixes. Throws ParamError naming the bad one.
std::vector<Cidr> parse_prefixes(const std::string& list);

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
/// --categories indicators|drop|numbers (pipeline::Categories).
CLI::Option* add_categories(CLI::App* sub, std::string& rule);
CLI::Option* add_output(CLI::App* sub, std::string& out, const std::string& what);
/// A number in [lo, hi]; unlike CLI::Range, NaN and infinities are refused.
CLI::Validator finite_range(double lo, double hi);

/// True when standard error is a terminal (progress displays go there).
bool stderr_is_tty();

/// "[##########....................] 33%  700000 packets": a bar over the
/// inputs' bytes when their size is known, else the packet count alone.
std::string progress_line(const features::ReadProgress& p);

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
