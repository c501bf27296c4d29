// The clusterer stages: kmeans, dbscan, meanshift, hac, each with its
// hyper-parameter heuristic and the evidence of its choice.
#include <map>

#include "../core/rng.hpp"
#include "args.hpp"
#include "heuristics.hpp"
#include "stages.hpp"

namespace darklens::pipeline::detail {
namespace {

// select=stable: k-means starts of each half's refit.
constexpr int kHalfStarts = 1;

struct KMeansStage {
  cluster::KMeansParams p;
  KRange range;
  Select select = Select::kStable;
  size_t search = 20000;  // k=auto: candidates fitted on a seeded sample of this many rows (0 = all)
};
KMeansStage kmeans_params(const Stage& s) {
  Args a(s, {"k", "n_init", "max_iter", "seed", "kmin", "kmax", "algorithm", "search", "select"});
  KMeansStage st;
  st.select = select_of(a);
  st.search = a.num<size_t>("search", 20000);
  st.p.algorithm_ = a.choice("algorithm", {"hamerly", "lloyd"}) == "hamerly" ? cluster::KMeansAlgorithm::kHamerly
                                                                             : cluster::KMeansAlgorithm::kLloyd;
  st.range = k_range(s, a);
  st.p.k_ = st.range.k;
  st.p.n_init_ = a.num_in<int>("n_init", 10, 1, 100, "each is a full fit from new seeds");
  st.p.max_iter_ = a.num_in<int>("max_iter", 300, 1, 10000);
  st.p.seed_ = a.num<uint64_t>("seed", 0);
  return st;
}

cluster::DbscanParams dbscan_params(const Stage& s) {
  Args a(s, {"eps", "min_samples", "algorithm"});
  cluster::DbscanParams p;
  const std::string algorithm = a.choice("algorithm", {"auto", "kd_tree", "brute"});
  p.algorithm_ = algorithm == "auto"      ? cluster::DbscanAlgorithm::kAuto
                 : algorithm == "kd_tree" ? cluster::DbscanAlgorithm::kKdTree
                                          : cluster::DbscanAlgorithm::kBrute;
  p.eps_ = a.is_auto("eps") ? 0.0 : a.num<double>("eps", 0.0);
  p.min_samples_ = a.num_in<int>("min_samples", 5, 1, 100000);
  if (!a.is_auto("eps") && !(p.eps_ > 0)) throw ParamError("pipeline stage 'dbscan': eps must be positive, or auto");
  return p;
}

cluster::MeanShiftParams meanshift_params(const Stage& s) {
  Args a(s, {"bandwidth", "quantile", "sample", "bin_seeding", "min_bin_freq", "cluster_all", "max_iter", "seed"});
  cluster::MeanShiftParams p;
  p.bandwidth_ = a.is_auto("bandwidth") ? 0.0 : a.num<double>("bandwidth", 0.0);
  if (!a.is_auto("bandwidth") && !(p.bandwidth_ > 0)) {
    throw ParamError("pipeline stage 'meanshift': bandwidth must be positive, or auto");
  }
  p.quantile_ = a.num_in<double>("quantile", 0.3, 0.0, 1.0);
  p.bandwidth_sample_ = a.num_in<size_t>("sample", 10000, 1, 100000, "the bandwidth estimate is quadratic in it");
  p.bin_seeding_ = a.flag("bin_seeding", false);
  p.min_bin_freq_ = a.num_in<int>("min_bin_freq", 1, 1, 1000000000);
  p.cluster_all_ = a.flag("cluster_all", true);
  p.max_iter_ = a.num_in<int>("max_iter", 300, 1, 10000);
  p.seed_ = a.num<uint64_t>("seed", 0);
  return p;
}

struct HacStage {
  cluster::HierarchicalParams p;
  KRange range;
  Select select = Select::kStable;
  std::optional<double> distance;
  uint64_t seed = 0;
};
HacStage hac_params(const Stage& s) {
  Args a(s, {"linkage", "k", "distance", "kmin", "kmax", "max_rows", "seed", "select"});
  HacStage st;
  st.select = select_of(a);
  st.p.linkage_ = cluster::parse_linkage(a.choice("linkage", {"ward", "average", "complete", "single"}));
  st.range = k_range(s, a);
  if (a.get("distance")) {
    if (a.get("k")) throw ParamError("pipeline stage 'hac': give k or distance, not both");
    st.distance = a.num<double>("distance", 0.0);
    if (!(*st.distance > 0)) throw ParamError("pipeline stage 'hac': distance must be positive");
  }
  st.p.max_pairwise_rows_ = a.num_in<size_t>("max_rows", st.p.max_pairwise_rows_, 2, 50000,
                                             "pairwise distances: 8 bytes a pair, 10 GB at 50,000 rows");
  st.seed = a.num<uint64_t>("seed", 0);
  return st;
}

}  // namespace

void check_kmeans(const Stage& s) { kmeans_params(s); }

Clustering run_kmeans(const Stage& s, const cluster::Matrix& Y, int threads) {
  KMeansStage st = kmeans_params(s);
  st.p.threads_ = threads;
  Clustering c;
  cluster::KMeansResult chosen;
  if (st.range.automatic) {
    // Inertia is reported with each k, as the elbow diagnostic. On many
    // rows the candidates are fitted on a seeded sample and only the chosen
    // k on every row.
    const bool sampled = st.search > 0 && static_cast<size_t>(Y.rows()) > st.search;
    const cluster::Matrix S =
        sampled ? cluster::Matrix(Y(seeded_sample(static_cast<size_t>(Y.rows()), st.search, st.p.seed_), Eigen::all))
                : cluster::Matrix();
    const cluster::Matrix& search = sampled ? S : Y;
    std::vector<cluster::KMeansResult> fits;
    int best_k = 0;
    // The stability check's refits of each half: fewer starts than the
    // candidates' own fits (kHalfStarts), each from its own seed.
    const HalfFit half_fit = [&](const cluster::Matrix& half, size_t half_id,
                                 size_t q) -> std::optional<cluster::Matrix> {
      cluster::KMeansParams hp = st.p;
      hp.k_ = st.range.kmin + static_cast<int>(q);
      hp.n_init_ = std::min(hp.n_init_, kHalfStarts);
      hp.seed_ = st.p.seed_ + 1 + half_id;
      return cluster::fit_kmeans(half, hp).centroids_;
    };
    c.silhouette = choose_k(
        search, s, st.range, st.select, st.p.seed_, threads, c.choice,
        [&](int k, Candidate& candidate) {
          st.p.k_ = k;
          fits.push_back(cluster::fit_kmeans(search, st.p));
          candidate.inertia = fits.back().inertia_;
          return fits.back().labels_;
        },
        half_fit, [&](size_t i) { chosen = std::move(fits[i]), best_k = st.range.kmin + static_cast<int>(i); });
    if (sampled) {
      c.choice.rule += "; candidates fitted on a seeded sample of " + std::to_string(st.search) +
                       " rows; the chosen k then on all " + std::to_string(Y.rows()) +
                       " rows, from the sample's centers";
      // The sample's best centers start the fit on every row.
      st.p.k_ = best_k;
      st.p.init_ = chosen.centroids_;
      chosen = cluster::fit_kmeans(Y, st.p);
      c.silhouette = silhouette(Y, chosen.labels_, st.p.seed_, threads, &c.silhouette_per_cluster);
    }
  } else {
    chosen = cluster::fit_kmeans(Y, st.p);
    c.choice.rule = "k given";
    c.silhouette = silhouette(Y, chosen.labels_, st.p.seed_, threads, &c.silhouette_per_cluster);
  }
  c.labels = std::move(chosen.labels_);
  c.centroids = std::move(chosen.centroids_);
  c.clusters = static_cast<int>(c.centroids.rows());
  c.algorithm = "kmeans";
  c.parameters = {
      {"k", int64_t{c.clusters}},
      {"n_init", int64_t{st.p.n_init_}},
      {"max_iter", int64_t{st.p.max_iter_}},
      {"seed", uint64_t{st.p.seed_}},
      {"algorithm", std::string(st.p.algorithm_ == cluster::KMeansAlgorithm::kHamerly ? "hamerly" : "lloyd")}};
  c.inertia = chosen.inertia_;
  return c;
}

void check_dbscan(const Stage& s) { dbscan_params(s); }

Clustering run_dbscan(const Stage& s, const cluster::Matrix& Y, int threads) {
  cluster::DbscanParams p = dbscan_params(s);
  p.threads_ = threads;
  auto r = cluster::fit_dbscan(Y, p);
  Clustering c;
  c.labels = std::move(r.labels_);
  c.clusters = r.clusters_;
  c.centroids = cluster::cluster_means(Y, c.labels, c.clusters);
  c.silhouette = silhouette(Y, c.labels, 0, threads, &c.silhouette_per_cluster);
  if (r.knee_) {
    c.choice.rule = "eps = the knee of the sorted " + std::to_string(r.knee_->k_) +
                    "-distance curve (farthest point below its chord)";
    // The curve at 201 quantiles, so a user can see the choice.
    const size_t n = r.knee_->curve_.size();
    for (size_t q = 0; q <= 200; ++q) {
      const size_t i = (n - 1) * q / 200;
      c.choice.k_distance.emplace_back(i, r.knee_->curve_[i]);
    }
    c.choice.knee_rank = r.knee_->knee_;
  } else {
    c.choice.rule = "eps given";
  }
  c.algorithm = "dbscan";
  c.parameters = {{"eps", r.eps_},
                  {"min_samples", int64_t{p.min_samples_}},
                  {"algorithm", std::string(r.algorithm_ == cluster::DbscanAlgorithm::kBrute ? "brute" : "kd_tree")}};
  if (r.tree_share_) c.parameters.push_back({"kd_tree_share", *r.tree_share_});
  c.cores = r.cores_;
  return c;
}

void check_meanshift(const Stage& s) { meanshift_params(s); }

Clustering run_meanshift(const Stage& s, const cluster::Matrix& Y, int threads) {
  cluster::MeanShiftParams p = meanshift_params(s);
  p.threads_ = threads;
  auto r = cluster::fit_meanshift(Y, p);
  Clustering c;
  c.labels = std::move(r.labels_);
  c.centroids = std::move(r.centers_);
  c.clusters = static_cast<int>(c.centroids.rows());
  c.silhouette = silhouette(Y, c.labels, p.seed_, threads, &c.silhouette_per_cluster);
  c.choice.rule = p.bandwidth_ > 0
                      ? std::string("bandwidth given")
                      : "bandwidth = mean distance to the " + std::to_string(p.quantile_) +
                            "-quantile nearest row (scikit-learn's estimate_bandwidth" +
                            (static_cast<size_t>(Y.rows()) > p.bandwidth_sample_
                                 ? ", on a seeded sample of " + std::to_string(p.bandwidth_sample_) + " rows)"
                                 : std::string(")"));
  c.algorithm = "meanshift";
  c.parameters = {
      {"bandwidth", r.bandwidth_},     {"bin_seeding", p.bin_seeding_},    {"min_bin_freq", int64_t{p.min_bin_freq_}},
      {"cluster_all", p.cluster_all_}, {"max_iter", int64_t{p.max_iter_}}, {"seeds", uint64_t{r.seeds_}}};
  return c;
}

void check_hac(const Stage& s) { hac_params(s); }

Clustering run_hac(const Stage& s, const cluster::Matrix& Y, int threads) {
  HacStage st = hac_params(s);
  st.p.threads_ = threads;
  const auto dg = cluster::fit_hierarchical(Y, st.p);
  Clustering c;
  if (st.distance) {
    c.labels = dg.cut_below(*st.distance);
    c.choice.rule = "cut below distance " + std::to_string(*st.distance);
  } else if (!st.range.automatic) {
    if (static_cast<Eigen::Index>(st.range.k) > Y.rows()) {
      throw ParamError("pipeline stage 'hac': k is larger than the number of rows (" + std::to_string(Y.rows()) + ")");
    }
    c.labels = dg.cut(static_cast<size_t>(st.range.k));
    c.choice.rule = "k given";
  } else {
    // The height of the first merge not applied is reported with each k.
    std::vector<std::vector<int>> cuts;
    // The stability check: one dendrogram per half, cut at every k.
    std::map<size_t, cluster::Dendrogram> halves;
    const HalfFit half_fit = [&](const cluster::Matrix& half, size_t half_id,
                                 size_t q) -> std::optional<cluster::Matrix> {
      const int k = st.range.kmin + static_cast<int>(q);
      auto it = halves.find(half_id);
      if (it == halves.end()) it = halves.emplace(half_id, cluster::fit_hierarchical(half, st.p)).first;
      return cluster::cluster_means(half, it->second.cut(static_cast<size_t>(k)), k);
    };
    c.silhouette = choose_k(
        Y, s, st.range, st.select, st.seed, threads, c.choice,
        [&](int k, Candidate& candidate) {
          cuts.push_back(dg.cut(static_cast<size_t>(k)));
          candidate.next_merge_height = dg.merges_[dg.rows_ - static_cast<size_t>(k)].height;
          return cuts.back();
        },
        half_fit, [&](size_t i) { c.labels = std::move(cuts[i]); });
  }
  c.clusters = *std::max_element(c.labels.begin(), c.labels.end()) + 1;
  c.centroids = cluster::cluster_means(Y, c.labels, c.clusters);
  if (!c.silhouette) c.silhouette = silhouette(Y, c.labels, st.seed, threads, &c.silhouette_per_cluster);
  c.algorithm = "hac";
  c.parameters = {{"linkage", std::string(cluster::linkage_name(st.p.linkage_))}, {"k", int64_t{c.clusters}}};
  if (st.distance) c.parameters.push_back({"distance", *st.distance});
  return c;
}

}  // namespace darklens::pipeline::detail
