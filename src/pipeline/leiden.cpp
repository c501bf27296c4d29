// The leiden clusterer stage: the rows' kNN graph split into communities
// (cluster::fit_leiden), with the evidence a user needs to judge it;
// resolution=auto chooses the resolution as k=auto chooses k.
#include <cmath>
#include <map>

#include "../core/rng.hpp"
#include "args.hpp"
#include "heuristics.hpp"
#include "stages.hpp"

namespace darklens::pipeline::detail {
namespace {

struct LeidenStage {
  cluster::LeidenParams p;
  bool automatic = false;  // resolution=auto
  Select select = Select::kStable;
  size_t search = 20000;  // resolution=auto: candidates on a seeded sample of this many rows (0 = all)
};

LeidenStage leiden_params(const Stage& s) {
  Args a(s, {"neighbours", "resolution", "iterations", "seed", "select", "search", "index"});
  LeidenStage st;
  st.p.neighbours_ = a.num_in<int>("neighbours", 15, 1, 1000, "each row's links in the graph");
  st.automatic = a.is_auto("resolution") && a.get("resolution");
  if (!st.automatic) {
    st.p.resolution_ = a.num_in<double>("resolution", 1.0, 1e-6, 1000.0, "larger: more, smaller communities");
  }
  st.p.iterations_ = a.num_in<int>("iterations", 50, 1, 1000, "passes; fewer when one changes nothing");
  st.p.seed_ = a.num<uint64_t>("seed", 0);
  const std::string index = a.choice("index", {"auto", "exact", "hnsw"});
  st.p.index_ = index == "exact"  ? cluster::NeighbourIndex::kExact
                : index == "hnsw" ? cluster::NeighbourIndex::kHnsw
                                  : cluster::NeighbourIndex::kAuto;
  st.select = select_of(a);
  st.search = a.num<size_t>("search", 20000);
  return st;
}

// resolution=auto tries 2^-6 .. 2^1.
std::vector<double> resolution_grid() {
  std::vector<double> g;
  for (int e = -6; e <= 1; ++e) g.push_back(std::ldexp(1.0, e));
  return g;
}

std::string number(double v) { return Args::number_text(v); }

}  // namespace

void check_leiden(const Stage& s) { leiden_params(s); }

Clustering run_leiden(const Stage& s, const cluster::Matrix& Y, int threads) {
  LeidenStage st = leiden_params(s);
  cluster::LeidenParams& p = st.p;
  p.threads_ = threads;
  Clustering c;
  std::string resolution_rule;
  if (st.automatic) {
    // The candidates on a seeded sample (as k-means' search), the chosen
    // resolution then on every row.
    const bool sampled = st.search > 0 && static_cast<size_t>(Y.rows()) > st.search;
    const cluster::Matrix S =
        sampled ? cluster::Matrix(Y(seeded_sample(static_cast<size_t>(Y.rows()), st.search, p.seed_), Eigen::all))
                : cluster::Matrix();
    const cluster::Matrix& search = sampled ? S : Y;
    const std::vector<double> grid = resolution_grid();
    const auto fits = cluster::fit_leiden(search, p, grid);
    std::vector<Candidate> candidates;
    std::vector<std::vector<int>> labelings;
    for (size_t q = 0; q < grid.size(); ++q) {
      Candidate& candidate = candidates.emplace_back();
      candidate.k = fits[q].clusters_;
      candidate.resolution = grid[q];
      labelings.push_back(fits[q].labels_);
    }
    // Each half's graph once, split at every resolution.
    std::map<size_t, std::vector<cluster::LeidenResult>> halves;
    const HalfFit half_fit = [&](const cluster::Matrix& half, size_t half_id,
                                 size_t q) -> std::optional<cluster::Matrix> {
      if (half.rows() < 2) return std::nullopt;
      auto it = halves.find(half_id);
      if (it == halves.end()) it = halves.emplace(half_id, cluster::fit_leiden(half, p, grid)).first;
      const auto& r = it->second[q];
      return cluster::cluster_means(half, r.labels_, r.clusters_);
    };
    const auto best =
        pick_candidate(search, labelings, "resolution = " + number(grid.front()) + ".." + number(grid.back()),
                       st.select, p.seed_, threads, half_fit, candidates, c.choice);
    if (!best) throw ParamError("pipeline stage 'leiden': no resolution gave two or more communities");
    p.resolution_ = grid[*best];
    if (sampled) {
      c.choice.rule += "; candidates on a seeded sample of " + std::to_string(st.search) +
                       " rows; the chosen resolution then on all " + std::to_string(Y.rows()) + " rows";
    }
    if (*best + 1 == grid.size() || *best == 0) {
      c.choice.note = (c.choice.note ? *c.choice.note + "; " : std::string()) +
                      "the chosen resolution is at the end of the range tried; give resolution=R to go further";
    }
    resolution_rule = "resolution " + number(p.resolution_) + " chosen: ";
  }
  auto r = cluster::fit_leiden(Y, p);
  c.labels = std::move(r.labels_);
  c.clusters = r.clusters_;
  c.centroids = cluster::cluster_means(Y, c.labels, c.clusters);
  c.silhouette = silhouette(Y, c.labels, p.seed_, threads, &c.silhouette_per_cluster);
  const std::string graph = "communities of the " + std::to_string(p.neighbours_) + "-nearest-neighbour graph" +
                            (r.approximate_ ? " (approximate neighbours: HNSW)" : "") +
                            " by Leiden, modularity at resolution " + number(p.resolution_) + ": modularity " +
                            std::to_string(r.modularity_) + " over " + std::to_string(r.edges_) + " links after " +
                            std::to_string(r.iterations_) + " passes";
  c.choice.rule = st.automatic ? graph + "; " + resolution_rule + c.choice.rule : graph;
  c.algorithm = "leiden";
  c.parameters = {{"neighbours", int64_t{p.neighbours_}},
                  {"resolution", p.resolution_},
                  {"modularity", r.modularity_},
                  {"links", static_cast<uint64_t>(r.edges_)},
                  {"index", std::string(r.approximate_ ? "hnsw" : "exact")},
                  {"seed", p.seed_}};
  return c;
}

}  // namespace darklens::pipeline::detail
