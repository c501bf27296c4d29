// profile_clusters: the second pass over the captures that analyze and
// classify make once the rows are labelled.
#include <algorithm>

#include "../core/parallel.hpp"
#include "darklens/profile/profile.hpp"

namespace darklens::profile {

std::vector<ClusterProfile> profile_clusters(const features::FeatureOptions& options,
                                             const std::vector<std::string>& captures,
                                             const features::FeatureTable& table, const std::vector<int>& labels,
                                             const ground_truth::GroundTruth* gt, const Catalog* catalog,
                                             const origin::Origins* origins, size_t heaviest) {
  ProfileOptions po;
  po.heaviest_ = heaviest;
  Profiler pr(table.source_, table.window_start_ns_, labels, options.window_, po);
  // Packets are read in chunks; each chunk is split into one contiguous
  // part per thread, counted by that part's fork, while the next chunk is
  // read. Reading is most of this pass, so it keeps a thread of its own
  // (produce_ahead; docs/architecture.md).
  const size_t parts = resolve_threads(options.threads_);  // 0: all cores
  std::vector<Profiler> forks;
  for (size_t i = 1; i < parts; ++i) forks.push_back(pr.fork());
  constexpr size_t kChunk = 1 << 16;
  filter::UsedPackets used(options.selection(), captures);
  auto produce = [&](std::vector<Packet>& chunk) { return used.next(chunk, kChunk); };
  auto consume = [&](const std::vector<Packet>& chunk) {
    const size_t n = chunk.size();
    parallel_for(
        parts, static_cast<int>(parts),
        [&](size_t begin, size_t end) {
          for (size_t i = begin; i < end; ++i) {
            Profiler& into = i == 0 ? pr : forks[i - 1];
            into.add(std::span<const Packet>(chunk).subspan(n * i / parts, n * (i + 1) / parts - n * i / parts));
          }
        },
        1);
  };
  std::vector<Packet> first, second;
  produce_ahead(parts > 1, first, second, produce, consume);
  for (const auto& f : forks) pr.merge(f);
  auto profiles = pr.finish(gt);
  if (origins && !origins->empty()) add_origins(profiles, table.source_, labels, *origins);
  if (catalog) {
    for (auto& p : profiles) p.activities_ = match(*catalog, p);
  }
  return profiles;
}

}  // namespace darklens::profile
