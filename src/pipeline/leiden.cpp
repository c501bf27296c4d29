// The leiden clusterer stage: the rows' kNN graph split into communities
// (cluster::fit_leiden), with the evidence a user needs to judge it.
#include "args.hpp"
#include "heuristics.hpp"
#include "stages.hpp"

namespace darklens::pipeline::detail {
namespace {

cluster::LeidenParams leiden_params(const Stage& s) {
  Args a(s, {"neighbours", "resolution", "iterations", "seed"});
  cluster::LeidenParams p;
  p.neighbours_ = a.num_in<int>("neighbours", 15, 1, 1000, "each row's links in the graph");
  p.resolution_ = a.num_in<double>("resolution", 1.0, 1e-6, 1000.0, "larger: more, smaller communities");
  p.iterations_ = a.num_in<int>("iterations", 50, 1, 1000, "passes; fewer when one changes nothing");
  p.seed_ = a.num<uint64_t>("seed", 0);
  return p;
}

}  // namespace

void check_leiden(const Stage& s) { leiden_params(s); }

Clustering run_leiden(const Stage& s, const cluster::Matrix& Y, int threads) {
  cluster::LeidenParams p = leiden_params(s);
  p.threads_ = threads;
  auto r = cluster::fit_leiden(Y, p);
  Clustering c;
  c.labels = std::move(r.labels_);
  c.clusters = r.clusters_;
  c.centroids = cluster::cluster_means(Y, c.labels, c.clusters);
  c.silhouette = silhouette(Y, c.labels, p.seed_, threads, &c.silhouette_per_cluster);
  c.choice.rule = "communities of the " + std::to_string(p.neighbours_) +
                  "-nearest-neighbour graph by Leiden, modularity at resolution " + std::to_string(p.resolution_) +
                  ": modularity " + std::to_string(r.modularity_) + " over " + std::to_string(r.edges_) +
                  " links after " + std::to_string(r.iterations_) + " passes";
  c.algorithm = "leiden";
  c.parameters = {{"neighbours", int64_t{p.neighbours_}},
                  {"resolution", p.resolution_},
                  {"modularity", r.modularity_},
                  {"links", static_cast<uint64_t>(r.edges_)},
                  {"seed", p.seed_}};
  return c;
}

}  // namespace darklens::pipeline::detail
