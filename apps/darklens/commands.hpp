// Each subcommand registers its flags on the CLI11 app and returns the
// function that runs it once parsing succeeded. main.cpp maps exceptions to
// exit codes in one place.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "darklens/ground_truth.hpp"
#include "darklens/pipeline.hpp"

namespace darklens::cli {

struct Command {
  CLI::App* sub = nullptr;
  std::function<int()> run;
};

Command add_stats(CLI::App& app);
Command add_synth(CLI::App& app);
Command add_features(CLI::App& app);
Command add_cluster(CLI::App& app);
Command add_evaluate(CLI::App& app);
Command add_track(CLI::App& app);
Command add_gt(CLI::App& app);
Command add_analyze(CLI::App& app);
Command add_classify(CLI::App& app);
Command add_patterns(CLI::App& app);

/// "198.51.100.0/24,2001:db8::/32" -> prefixes. Throws ParamError naming the bad one.
std::vector<Cidr> parse_prefixes(const std::string& list);

/// Ground-truth class index (or evaluate::kUnknown) of every row of a
/// feature table, by the source address its key starts with; with
/// mirai_share, unlabelled rows whose fp_mirai reaches it are class "mirai"
/// (added to gt.labels_ when missing). Throws FormatError naming `path` and
/// the row when a key is not an address, or when fp_mirai is missing.
std::vector<int> label_rows(const pipeline::MatrixFile& m, ground_truth::GroundTruth& gt, const std::string& path,
                            std::optional<double> mirai_share = std::nullopt);

/// True when standard error is a terminal (progress displays go there).
bool stderr_is_tty();

}  // namespace darklens::cli
