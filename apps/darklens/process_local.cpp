// One process: darklens itself (darklens-mpi has apps/darklens-mpi/
// process_mpi.cpp instead).
#include <chrono>

#include "commands.hpp"

namespace darklens::cli {

Process::Process(int& /*argc*/, char**& /*argv*/) {}
Process::~Process() = default;
int Process::finish(int code) { return code; }

void check_distributed(const std::string& /*command*/) {}

bool writes_outputs() { return true; }

FeatureRead read_features(const features::FeatureOptions& options, const std::vector<std::string>& files,
                          const features::ProgressFn& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  auto agg = std::make_shared<features::Aggregator>(options);
  agg->add_files(files, progress);
  FeatureRead r;
  r.read_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.table = agg->table();
  r.counters = agg->counters();
  r.held = agg;
  return r;
}

}  // namespace darklens::cli
