// The pipeline spec: parsed and checked in one place (every stage's
// arguments become its Params here), then run stage by stage.
#include "darklens/pipeline.hpp"

#include <charconv>
#include <chrono>
#include <map>
#include <optional>

#include "../core/rng.hpp"
#include "darklens/error.hpp"
#include "darklens/evaluate.hpp"

namespace darklens::pipeline {
namespace {

constexpr const char* kKnown = "zscore, minmax, robust, log1p, pca, som, kmeans, dbscan, meanshift, hac";
constexpr const char* kClusterers = "kmeans, dbscan, meanshift, hac";

bool is_clusterer(const std::string& n) { return n == "kmeans" || n == "dbscan" || n == "meanshift" || n == "hac"; }
bool is_scaler(const std::string& n) { return n == "zscore" || n == "minmax" || n == "robust" || n == "log1p"; }

// A stage's arguments, checked against the keys it knows; a positional
// value stands for the first key.
class Args {
 public:
  Args(const Stage& s, std::vector<std::string> known) : s_(s), known_(std::move(known)) {
    for (const auto& [k, v] : s.args) {
      const std::string key = k.empty() && !known_.empty() ? known_[0] : k;
      if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
        if (known_.empty()) throw ParamError("pipeline stage '" + s.name + "' takes no arguments");
        std::string list;
        for (const auto& n : known_) list += (list.empty() ? "" : ", ") + n;
        throw ParamError("pipeline stage '" + s.name + "': unknown argument '" + k + "' (" + list + ")");
      }
      values_.emplace_back(key, v);
    }
  }
  const std::string* get(const std::string& key) const {
    for (const auto& [k, v] : values_) {
      if (k == key) return &v;
    }
    return nullptr;
  }
  bool is_auto(const std::string& key) const { return !get(key) || *get(key) == "auto"; }
  template <typename T>
  T num(const std::string& key, T fallback) const {
    const std::string* text = get(key);
    if (!text) return fallback;
    T v{};
    auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
    if (ec != std::errc() || p != text->data() + text->size()) {
      throw ParamError("pipeline stage '" + s_.name + "': " + key + " '" + *text + "' is not a number");
    }
    return v;
  }
  bool flag(const std::string& key, bool fallback) const {
    const std::string* text = get(key);
    if (!text) return fallback;
    if (*text == "1" || *text == "true" || *text == "yes") return true;
    if (*text == "0" || *text == "false" || *text == "no") return false;
    throw ParamError("pipeline stage '" + s_.name + "': " + key + " '" + *text + "' is not 0/1 or true/false");
  }
  std::string choice(const std::string& key, const std::vector<std::string>& options) const {
    const std::string* text = get(key);
    if (!text) return options[0];
    if (std::find(options.begin(), options.end(), *text) != options.end()) return *text;
    std::string list;
    for (const auto& o : options) list += (list.empty() ? "" : ", ") + o;
    throw ParamError("pipeline stage '" + s_.name + "': " + key + " '" + *text + "' is not one of " + list);
  }

 private:
  const Stage& s_;
  std::vector<std::string> known_;
  std::vector<std::pair<std::string, std::string>> values_;
};

// A k range for the "best silhouette" heuristics.
struct KRange {
  bool automatic = true;
  int k = 0, kmin = 2, kmax = 10;
};
KRange k_range(const Stage& s, const Args& a) {
  KRange r;
  r.automatic = a.is_auto("k");
  if (!r.automatic) r.k = a.num<int>("k", 0);
  r.kmin = a.num<int>("kmin", 2);
  r.kmax = a.num<int>("kmax", 10);
  if (!r.automatic && r.k < 1) throw ParamError("pipeline stage '" + s.name + "': k must be at least 1");
  if (r.automatic && (r.kmin < 2 || r.kmin > r.kmax)) {
    throw ParamError("pipeline stage '" + s.name + "': need 2 <= kmin <= kmax");
  }
  return r;
}

transform::PcaParams pca_params(const Stage& s) {
  Args a(s, {"n", "variance"});
  transform::PcaParams p;
  p.n_components_ = a.num<int>("n", 0);
  p.variance_ = a.num<double>("variance", 0.0);
  if (p.n_components_ == 0 && p.variance_ == 0) {
    throw ParamError("pipeline stage 'pca': say how many components (pca:3) or how much variance (pca:variance=0.9)");
  }
  return p;
}

transform::SomParams som_params(const Stage& s) {
  Args a(s, {"grid", "topology", "neighbourhood", "training", "iterations", "sigma", "learning_rate", "seed"});
  transform::SomParams p;
  if (!a.is_auto("grid")) {
    const std::string& g = *a.get("grid");
    const size_t x = g.find('x');
    int r = 0, c = 0;
    const bool ok = x != std::string::npos &&
                    std::from_chars(g.data(), g.data() + x, r).ptr == g.data() + x &&
                    std::from_chars(g.data() + x + 1, g.data() + g.size(), c).ptr == g.data() + g.size();
    if (!ok || r < 1 || c < 1) throw ParamError("pipeline stage 'som': grid '" + g + "' is not ROWSxCOLS (som:20x20)");
    p.rows_ = r, p.cols_ = c;
  }
  p.topology_ = a.choice("topology", {"rect", "hex"}) == "rect" ? transform::SomTopology::kRectangular
                                                                  : transform::SomTopology::kHexagonal;
  p.neighbourhood_ = a.choice("neighbourhood", {"gaussian", "bubble"}) == "gaussian"
                         ? transform::SomNeighbourhood::kGaussian
                         : transform::SomNeighbourhood::kBubble;
  p.training_ = a.choice("training", {"batch", "online"}) == "batch" ? transform::SomTraining::kBatch
                                                                     : transform::SomTraining::kOnline;
  p.iterations_ = a.num<int>("iterations", 0);
  p.sigma_ = a.num<double>("sigma", 0.0);
  p.learning_rate_ = a.num<double>("learning_rate", 0.5);
  p.seed_ = a.num<uint64_t>("seed", 0);
  return p;
}

struct KMeansStage {
  cluster::KMeansParams p;
  KRange range;
  size_t search = 20000;  // k=auto: candidates fitted on a seeded sample of this many rows (0 = all)
};
KMeansStage kmeans_params(const Stage& s) {
  Args a(s, {"k", "n_init", "max_iter", "seed", "kmin", "kmax", "algorithm", "search"});
  KMeansStage st;
  st.search = a.num<size_t>("search", 20000);
  st.p.algorithm_ = a.choice("algorithm", {"hamerly", "lloyd"}) == "hamerly" ? cluster::KMeansAlgorithm::kHamerly
                                                                             : cluster::KMeansAlgorithm::kLloyd;
  st.range = k_range(s, a);
  st.p.k_ = st.range.k;
  st.p.n_init_ = a.num<int>("n_init", 10);
  st.p.max_iter_ = a.num<int>("max_iter", 300);
  st.p.seed_ = a.num<uint64_t>("seed", 0);
  return st;
}

cluster::DbscanParams dbscan_params(const Stage& s) {
  Args a(s, {"eps", "min_samples"});
  cluster::DbscanParams p;
  p.eps_ = a.is_auto("eps") ? 0.0 : a.num<double>("eps", 0.0);
  p.min_samples_ = a.num<int>("min_samples", 5);
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
  p.quantile_ = a.num<double>("quantile", 0.3);
  p.bandwidth_sample_ = a.num<size_t>("sample", 10000);
  p.bin_seeding_ = a.flag("bin_seeding", false);
  p.min_bin_freq_ = a.num<int>("min_bin_freq", 1);
  p.cluster_all_ = a.flag("cluster_all", true);
  p.max_iter_ = a.num<int>("max_iter", 300);
  p.seed_ = a.num<uint64_t>("seed", 0);
  return p;
}

struct HacStage {
  cluster::HierarchicalParams p;
  KRange range;
  std::optional<double> distance;
  uint64_t seed = 0;
};
HacStage hac_params(const Stage& s) {
  Args a(s, {"linkage", "k", "distance", "kmin", "kmax", "max_rows", "seed"});
  HacStage st;
  st.p.linkage_ = cluster::parse_linkage(a.choice("linkage", {"ward", "average", "complete", "single"}));
  st.range = k_range(s, a);
  if (a.get("distance")) {
    if (a.get("k")) throw ParamError("pipeline stage 'hac': give k or distance, not both");
    st.distance = a.num<double>("distance", 0.0);
  }
  st.p.max_pairwise_rows_ = a.num<size_t>("max_rows", st.p.max_pairwise_rows_);
  st.seed = a.num<uint64_t>("seed", 0);
  return st;
}

void check_stage(const Stage& s) {
  if (s.name == "pca") {
    pca_params(s);
  } else if (s.name == "som") {
    som_params(s);
  } else if (is_scaler(s.name)) {
    Args(s, {});
  } else if (s.name == "kmeans") {
    kmeans_params(s);
  } else if (s.name == "dbscan") {
    dbscan_params(s);
  } else if (s.name == "meanshift") {
    meanshift_params(s);
  } else if (s.name == "hac") {
    hac_params(s);
  }
}

constexpr size_t kSilhouetteSample = 5000;

// The rows of Y listed, in that order.
cluster::Matrix rows_of(const cluster::Matrix& Y, const std::vector<size_t>& rows) {
  cluster::Matrix S(static_cast<Eigen::Index>(rows.size()), Y.cols());
  for (size_t i = 0; i < rows.size(); ++i) S.row(static_cast<Eigen::Index>(i)) = Y.row(static_cast<Eigen::Index>(rows[i]));
  return S;
}

// Per-row silhouette values of labelings that all leave out the same rows
// (noise): on the `kept` rows, exact up to kSilhouetteSample of them, else
// on a seeded sample of that many (the k heuristics' allowance for large
// n): silhouette_score_sampled's rows. Also the sampled rows' labels. A
// labeling with fewer than 2 clusters in the sample, or every row its own,
// gets no values.
struct SampleSilhouettes {
  std::vector<std::vector<int>> labels;
  std::vector<std::vector<double>> values;
};
SampleSilhouettes sample_silhouettes(const cluster::Matrix& Y, const std::vector<size_t>& kept,
                                     const std::vector<std::vector<int>>& labelings, uint64_t seed, int threads) {
  std::vector<size_t> rows = kept;
  if (kept.size() > kSilhouetteSample) {
    rows.clear();
    for (size_t i : seeded_sample(kept.size(), kSilhouetteSample, seed)) rows.push_back(kept[i]);
  }
  SampleSilhouettes out;
  for (const auto& labels : labelings) {
    std::vector<int> l(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) l[i] = labels[rows[i]];
    out.labels.push_back(std::move(l));
  }
  out.values = evaluate::silhouette_samples(rows_of(Y, rows), out.labels, threads);
  return out;
}

std::optional<double> mean_of(const std::vector<double>& v) {
  if (v.empty()) return std::nullopt;
  double total = 0;
  for (double x : v) total += x;
  return total / static_cast<double>(v.size());
}

// Silhouette of a clustering without its noise rows (sample_silhouettes):
// silhouette_score_sampled's value. With per_cluster, also each cluster's
// mean over those rows. nullopt when fewer than 2 clusters remain or every
// row is its own cluster.
std::optional<double> silhouette(const cluster::Matrix& Y, const std::vector<int>& labels, uint64_t seed,
                                 int threads, nlohmann::json* per_cluster = nullptr) {
  std::vector<size_t> kept;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] != cluster::kNoise) kept.push_back(i);
  }
  const auto sample = sample_silhouettes(Y, kept, {labels}, seed, threads);
  const auto& l = sample.labels[0];
  const auto& s = sample.values[0];
  if (s.empty()) return std::nullopt;
  if (per_cluster) {
    std::map<int, std::pair<double, size_t>> by;
    for (size_t i = 0; i < s.size(); ++i) by[l[i]].first += s[i], ++by[l[i]].second;
    *per_cluster = nlohmann::json::array();
    for (const auto& [c, v] : by) {
      per_cluster->push_back({{"cluster", c}, {"value", v.first / static_cast<double>(v.second)}, {"rows", v.second}});
    }
  }
  return mean_of(s);
}

std::string silhouette_rule(const KRange& r, size_t rows) {
  return "best silhouette over k = " + std::to_string(r.kmin) + ".." + std::to_string(r.kmax) +
         (rows > kSilhouetteSample ? " (silhouette on a seeded sample of " + std::to_string(kSilhouetteSample) + " rows)"
                                   : std::string(" (exact silhouette)"));
}

// The silhouettes of several labelings without noise (the k candidates),
// on one sample: silhouette()'s values for each, each distance computed
// once.
std::vector<std::optional<double>> silhouettes(const cluster::Matrix& Y, const std::vector<std::vector<int>>& labelings,
                                               uint64_t seed, int threads) {
  for (const auto& labels : labelings) {
    if (std::find(labels.begin(), labels.end(), cluster::kNoise) != labels.end()) {
      throw std::logic_error("silhouettes: a labeling with noise");
    }
  }
  std::vector<size_t> all(static_cast<size_t>(Y.rows()));
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  std::vector<std::optional<double>> out;
  for (const auto& v : sample_silhouettes(Y, all, labelings, seed, threads).values) out.push_back(mean_of(v));
  return out;
}

// The k heuristic of kmeans and hac: every k in kmin..kmax (at most
// rows - 1); fit(k, candidate) clusters and returns the labels (no noise),
// adding what it reports to `candidate`; then every candidate's silhouette
// is taken on one sample, and keep(i) is called with the index (from kmin)
// of the best. Returns its silhouette.
template <typename Fit, typename Keep>
double best_silhouette_k(const cluster::Matrix& Y, const Stage& s, const KRange& r, uint64_t seed, int threads,
                         nlohmann::json& why, Fit&& fit, Keep&& keep) {
  const int kmax = std::min<int>(r.kmax, static_cast<int>(Y.rows()) - 1);
  if (r.kmin > kmax) throw ParamError("pipeline stage '" + s.name + "': need kmin <= kmax < rows");
  why["rule"] = silhouette_rule({true, 0, r.kmin, kmax}, static_cast<size_t>(Y.rows()));
  std::vector<nlohmann::json> candidates;
  std::vector<std::vector<int>> labelings;
  for (int k = r.kmin; k <= kmax; ++k) {
    candidates.push_back({{"k", k}});
    labelings.push_back(fit(k, candidates.back()));
  }
  const auto sil = silhouettes(Y, labelings, seed, threads);
  std::optional<double> best;
  size_t best_i = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    candidates[i]["silhouette"] = sil[i] ? nlohmann::json(*sil[i]) : nlohmann::json(nullptr);
    why["candidates"].push_back(candidates[i]);
    if (sil[i] && (!best || *sil[i] > *best)) best = sil[i], best_i = i;
  }
  if (!best) throw ParamError("pipeline stage '" + s.name + "': no k gave two or more clusters");
  keep(best_i);
  const int best_k = r.kmin + static_cast<int>(best_i);
  if (best_k == kmax && kmax < static_cast<int>(Y.rows()) - 1) {
    why["note"] = "the best k is the largest tried; a larger kmax (e.g. " + s.name + ":k=auto,kmax=" +
                  std::to_string(2 * kmax) + ") may fit better";
  }
  return *best;
}

struct Clustering {
  std::vector<int> labels;
  cluster::Matrix centroids;
  int clusters = 0;
  std::optional<double> silhouette;
  nlohmann::json silhouette_per_cluster;  // on the rows of `silhouette`, when computed for the final labels
  nlohmann::json summary;  // algorithm, parameters, choice, extras
};

Clustering run_kmeans(const cluster::Matrix& Y, const Stage& s, int threads) {
  KMeansStage st = kmeans_params(s);
  st.p.threads_ = threads;
  Clustering c;
  nlohmann::json why;
  cluster::KMeansResult chosen;
  if (st.range.automatic) {
    // Inertia is reported with each k, as the elbow diagnostic. On many
    // rows the candidates are fitted on a seeded sample and only the chosen
    // k on every row.
    const bool sampled = st.search > 0 && static_cast<size_t>(Y.rows()) > st.search;
    const cluster::Matrix S =
        sampled ? rows_of(Y, seeded_sample(static_cast<size_t>(Y.rows()), st.search, st.p.seed_)) : cluster::Matrix();
    const cluster::Matrix& search = sampled ? S : Y;
    std::vector<cluster::KMeansResult> fits;
    int best_k = 0;
    c.silhouette = best_silhouette_k(
        search, s, st.range, st.p.seed_, threads, why,
        [&](int k, nlohmann::json& candidate) {
          st.p.k_ = k;
          fits.push_back(cluster::fit_kmeans(search, st.p));
          candidate["inertia"] = fits.back().inertia_;
          return fits.back().labels_;
        },
        [&](size_t i) { chosen = std::move(fits[i]), best_k = st.range.kmin + static_cast<int>(i); });
    if (sampled) {
      why["rule"] = why["rule"].get<std::string>() + "; candidates fitted on a seeded sample of " +
                    std::to_string(st.search) + " rows; the chosen k then on all " + std::to_string(Y.rows()) +
                    " rows, from the sample's centers";
      // The sample's best centers start the fit on every row.
      st.p.k_ = best_k;
      st.p.init_ = chosen.centroids_;
      chosen = cluster::fit_kmeans(Y, st.p);
      c.silhouette = silhouette(Y, chosen.labels_, st.p.seed_, threads, &c.silhouette_per_cluster);
    }
  } else {
    chosen = cluster::fit_kmeans(Y, st.p);
    why["rule"] = "k given";
    c.silhouette = silhouette(Y, chosen.labels_, st.p.seed_, threads, &c.silhouette_per_cluster);
  }
  c.labels = std::move(chosen.labels_);
  c.centroids = std::move(chosen.centroids_);
  c.clusters = static_cast<int>(c.centroids.rows());
  c.summary["algorithm"] = "kmeans";
  c.summary["parameters"] = {{"k", c.clusters},
                             {"n_init", st.p.n_init_},
                             {"max_iter", st.p.max_iter_},
                             {"seed", st.p.seed_},
                             {"algorithm", st.p.algorithm_ == cluster::KMeansAlgorithm::kHamerly ? "hamerly" : "lloyd"}};
  c.summary["choice"] = why;
  c.summary["inertia"] = chosen.inertia_;
  return c;
}

Clustering run_dbscan(const cluster::Matrix& Y, const Stage& s, int threads) {
  cluster::DbscanParams p = dbscan_params(s);
  p.threads_ = threads;
  auto r = cluster::fit_dbscan(Y, p);
  Clustering c;
  c.labels = std::move(r.labels_);
  c.clusters = r.clusters_;
  c.centroids = cluster::cluster_means(Y, c.labels, c.clusters);
  c.silhouette = silhouette(Y, c.labels, 0, threads, &c.silhouette_per_cluster);
  nlohmann::json why;
  if (r.knee_) {
    why["rule"] = "eps = the knee of the sorted " + std::to_string(r.knee_->k_) +
                  "-distance curve (farthest point below its chord)";
    // The curve at 201 quantiles, so a user can see the choice.
    nlohmann::json curve = nlohmann::json::array();
    const size_t n = r.knee_->curve_.size();
    for (size_t q = 0; q <= 200; ++q) {
      const size_t i = (n - 1) * q / 200;
      curve.push_back({{"rank", i}, {"distance", r.knee_->curve_[i]}});
    }
    why["k_distance_curve"] = curve;
    why["knee_rank"] = r.knee_->knee_;
  } else {
    why["rule"] = "eps given";
  }
  c.summary["algorithm"] = "dbscan";
  c.summary["parameters"] = {{"eps", r.eps_}, {"min_samples", p.min_samples_}};
  c.summary["choice"] = why;
  c.summary["cores"] = r.cores_;
  return c;
}

Clustering run_meanshift(const cluster::Matrix& Y, const Stage& s, int threads) {
  cluster::MeanShiftParams p = meanshift_params(s);
  p.threads_ = threads;
  auto r = cluster::fit_meanshift(Y, p);
  Clustering c;
  c.labels = std::move(r.labels_);
  c.centroids = std::move(r.centers_);
  c.clusters = static_cast<int>(c.centroids.rows());
  c.silhouette = silhouette(Y, c.labels, p.seed_, threads, &c.silhouette_per_cluster);
  nlohmann::json why;
  why["rule"] = p.bandwidth_ > 0 ? std::string("bandwidth given")
                                 : "bandwidth = mean distance to the " + std::to_string(p.quantile_) +
                                       "-quantile nearest row (scikit-learn's estimate_bandwidth" +
                                       (static_cast<size_t>(Y.rows()) > p.bandwidth_sample_
                                            ? ", on a seeded sample of " + std::to_string(p.bandwidth_sample_) + " rows)"
                                            : std::string(")"));
  c.summary["algorithm"] = "meanshift";
  c.summary["parameters"] = {{"bandwidth", r.bandwidth_},     {"bin_seeding", p.bin_seeding_},
                             {"min_bin_freq", p.min_bin_freq_}, {"cluster_all", p.cluster_all_},
                             {"max_iter", p.max_iter_},       {"seeds", r.seeds_}};
  c.summary["choice"] = why;
  return c;
}

Clustering run_hac(const cluster::Matrix& Y, const Stage& s, int threads) {
  HacStage st = hac_params(s);
  st.p.threads_ = threads;
  const auto dg = cluster::fit_hierarchical(Y, st.p);
  Clustering c;
  nlohmann::json why;
  if (st.distance) {
    c.labels = dg.cut_below(*st.distance);
    why["rule"] = "cut below distance " + std::to_string(*st.distance);
  } else if (!st.range.automatic) {
    if (static_cast<Eigen::Index>(st.range.k) > Y.rows()) {
      throw ParamError("pipeline stage 'hac': k is larger than the number of rows (" + std::to_string(Y.rows()) + ")");
    }
    c.labels = dg.cut(static_cast<size_t>(st.range.k));
    why["rule"] = "k given";
  } else {
    // The height of the first merge not applied is reported with each k.
    std::vector<std::vector<int>> cuts;
    c.silhouette = best_silhouette_k(
        Y, s, st.range, st.seed, threads, why,
        [&](int k, nlohmann::json& candidate) {
          cuts.push_back(dg.cut(static_cast<size_t>(k)));
          candidate["next_merge_height"] = dg.merges_[dg.rows_ - static_cast<size_t>(k)].height;
          return cuts.back();
        },
        [&](size_t i) { c.labels = std::move(cuts[i]); });
  }
  c.clusters = *std::max_element(c.labels.begin(), c.labels.end()) + 1;
  c.centroids = cluster::cluster_means(Y, c.labels, c.clusters);
  if (!c.silhouette) c.silhouette = silhouette(Y, c.labels, st.seed, threads, &c.silhouette_per_cluster);
  c.summary["algorithm"] = "hac";
  c.summary["parameters"] = {{"linkage", cluster::linkage_name(st.p.linkage_)}, {"k", c.clusters}};
  if (st.distance) c.summary["parameters"]["distance"] = *st.distance;
  c.summary["choice"] = why;
  return c;
}

}  // namespace

std::vector<Stage> parse_spec(std::string_view spec) {
  std::vector<Stage> stages;
  size_t start = 0;
  while (start <= spec.size()) {
    const size_t bar = spec.find('|', start);
    std::string_view part = spec.substr(start, bar - start);
    if (part.empty()) throw ParamError("pipeline '" + std::string(spec) + "': empty stage");
    Stage s;
    const size_t colon = part.find(':');
    s.name = std::string(part.substr(0, colon));
    if (colon != std::string_view::npos) {
      std::string_view args = part.substr(colon + 1);
      size_t a = 0;
      while (a <= args.size()) {
        const size_t comma = args.find(',', a);
        std::string_view arg = args.substr(a, comma - a);
        const size_t eq = arg.find('=');
        if (arg.empty()) throw ParamError("pipeline stage '" + s.name + "': empty argument");
        if (eq == std::string_view::npos) {
          s.args.emplace_back("", std::string(arg));
        } else {
          s.args.emplace_back(std::string(arg.substr(0, eq)), std::string(arg.substr(eq + 1)));
        }
        if (comma == std::string_view::npos) break;
        a = comma + 1;
      }
    }
    stages.push_back(std::move(s));
    if (bar == std::string_view::npos) break;
    start = bar + 1;
  }
  for (size_t i = 0; i < stages.size(); ++i) {
    const auto& n = stages[i].name;
    const bool clusterer = is_clusterer(n);
    if (!clusterer && !is_scaler(n) && n != "pca" && n != "som") {
      throw ParamError("pipeline: unknown stage '" + n + "' (known: " + kKnown + ")");
    }
    if (clusterer != (i + 1 == stages.size())) {
      throw ParamError("pipeline '" + std::string(spec) + "': the last stage, and only it, must cluster (" +
                       kClusterers + ")");
    }
    check_stage(stages[i]);
  }
  return stages;
}

Result run(cluster::Matrix X, std::string_view spec, int threads) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto stages = parse_spec(spec);
  Result r;
  const Eigen::Index rows = X.rows(), columns = X.cols();
  cluster::Matrix Y = std::move(X);  // transformed in place where a stage allows
  r.fitted_ = nlohmann::json::array();
  Clustering c;
  for (const Stage& s : stages) {
    if (s.name == "pca") {
      auto pca = transform::fit_pca(Y, pca_params(s));
      Y = pca.transform(Y);
      r.fitted_.push_back(pca.to_json());
    } else if (s.name == "som") {
      auto p = som_params(s);
      p.threads_ = threads;
      auto som = transform::fit_som(Y, p);
      const cluster::Matrix input = std::move(Y);
      Y = som.transform(input, threads);
      r.fitted_.push_back(som.to_json());
      auto grid = [](const cluster::Matrix& M) {
        nlohmann::json rows = nlohmann::json::array();
        for (Eigen::Index i = 0; i < M.rows(); ++i) {
          std::vector<double> row(static_cast<size_t>(M.cols()));
          for (Eigen::Index j = 0; j < M.cols(); ++j) row[static_cast<size_t>(j)] = M(i, j);
          rows.push_back(row);
        }
        return rows;
      };
      r.summary_["som"] = {{"rows", som.rows_},
                           {"cols", som.cols_},
                           {"topology", som.topology_ == transform::SomTopology::kRectangular ? "rectangular" : "hexagonal"},
                           {"quantization_error", som.quantization_error(input)},
                           {"topographic_error", som.topographic_error(input)},
                           {"u_matrix", grid(som.u_matrix())},
                           {"hit_map", grid(som.hit_map(input))}};
    } else if (is_scaler(s.name)) {
      auto scaler = transform::fit_scaler(Y, transform::parse_scaler(s.name));
      scaler.apply_in_place(Y);
      r.fitted_.push_back(scaler.to_json());
    } else if (s.name == "kmeans") {
      c = run_kmeans(Y, s, threads);
    } else if (s.name == "dbscan") {
      c = run_dbscan(Y, s, threads);
    } else if (s.name == "meanshift") {
      c = run_meanshift(Y, s, threads);
    } else {
      c = run_hac(Y, s, threads);
    }
  }
  r.labels_ = std::move(c.labels);
  r.centroids_ = std::move(c.centroids);
  std::vector<size_t> sizes(static_cast<size_t>(c.clusters), 0);
  size_t noise = 0;
  for (int l : r.labels_) l == cluster::kNoise ? ++noise : ++sizes[static_cast<size_t>(l)];
  for (auto& [k, v] : c.summary.items()) r.summary_[k] = v;
  r.summary_["pipeline"] = std::string(spec);
  r.summary_["rows"] = rows;
  r.summary_["columns"] = columns;
  r.summary_["embedded_columns"] = Y.cols();
  r.summary_["clusters"] = c.clusters;
  r.summary_["sizes"] = sizes;
  r.summary_["noise"] = noise;
  // The silhouette the choice was made on (same rows, same sample), noise rows left out.
  r.summary_["silhouette"] = c.silhouette ? nlohmann::json(*c.silhouette) : nlohmann::json(nullptr);
  if (!c.silhouette_per_cluster.is_null()) r.summary_["silhouette_per_cluster"] = c.silhouette_per_cluster;
  r.summary_["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.embedding_ = std::move(Y);
  return r;
}

cluster::Matrix project(const cluster::Matrix& X, const nlohmann::json& fitted, int threads) {
  if (!fitted.is_array()) throw FormatError("fitted transforms: expected a JSON array");
  cluster::Matrix Y = X;
  for (const auto& t : fitted) {
    const std::string type = t.is_object() ? t.value("type", "") : "";
    if (type == "scaler") {
      transform::Scaler::from_json(t).apply_in_place(Y);
    } else if (type == "pca") {
      const auto pca = transform::Pca::from_json(t);
      if (pca.mean_.size() != Y.cols()) {
        throw ParamError("pca was fitted on " + std::to_string(pca.mean_.size()) + " columns, the rows have " +
                         std::to_string(Y.cols()));
      }
      Y = pca.transform(Y);
    } else if (type == "som") {
      const auto som = transform::Som::from_json(t);
      if (som.weights_.cols() != Y.cols()) {
        throw ParamError("som was fitted on " + std::to_string(som.weights_.cols()) + " columns, the rows have " +
                         std::to_string(Y.cols()));
      }
      Y = som.transform(Y, threads);
    } else {
      throw FormatError("fitted transforms: unknown transform type '" + type + "'");
    }
  }
  return Y;
}

}  // namespace darklens::pipeline
