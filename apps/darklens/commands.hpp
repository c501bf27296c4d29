// Each subcommand registers its flags on the CLI11 app and returns the
// function that runs it once parsing succeeded. main.cpp maps exceptions to
// exit codes in one place.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
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

/// Ground-truth class index (or evaluate::kUnknown) of every row of a
/// feature table, by the source address its key starts with. Throws
/// FormatError naming `path` and the row when a key is not an address.
std::vector<int> label_rows(const pipeline::MatrixFile& m, const ground_truth::GroundTruth& gt, const std::string& path);

/// True when standard error is a terminal (progress displays go there).
bool stderr_is_tty();

}  // namespace darklens::cli
