// The pipeline spec: parsed in one place, run stage by stage.
#include "darklens/pipeline.hpp"

#include <charconv>
#include <chrono>
#include <optional>

#include "../core/rng.hpp"
#include "darklens/error.hpp"
#include "darklens/evaluate.hpp"

namespace darklens::pipeline {
namespace {

constexpr const char* kKnown = "zscore, minmax, robust, log1p, pca, kmeans";

template <typename T>
T number(const Stage& s, const std::string& key, const std::string& text) {
  T v{};
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) {
    throw ParamError("pipeline stage '" + s.name + "': " + (key.empty() ? "value" : key) + " '" +
                     text + "' is not a number");
  }
  return v;
}

// Silhouette of a clustering, exact up to `sample` rows, else on a seeded
// sample of that many rows (the k heuristic's allowance for large n).
double silhouette(const cluster::Matrix& Y, const std::vector<int>& labels, size_t sample, uint64_t seed) {
  const size_t n = labels.size();
  if (n <= sample) return evaluate::silhouette_score(Y, labels);
  Rng rng(seed);
  std::vector<size_t> idx(n);
  for (size_t i = 0; i < n; ++i) idx[i] = i;
  for (size_t i = 0; i < sample; ++i) std::swap(idx[i], idx[i + rng.between(0, n - 1 - i)]);
  idx.resize(sample);
  std::sort(idx.begin(), idx.end());
  cluster::Matrix S(sample, Y.cols());
  std::vector<int> l(sample);
  for (size_t i = 0; i < sample; ++i) S.row(i) = Y.row(idx[i]), l[i] = labels[idx[i]];
  return evaluate::silhouette_score(S, l);
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
    const bool transform = n == "zscore" || n == "minmax" || n == "robust" || n == "log1p" || n == "pca";
    const bool clusterer = n == "kmeans";
    if (!transform && !clusterer) {
      throw ParamError("pipeline: unknown stage '" + n + "' (known: " + kKnown + ")");
    }
    if (clusterer != (i + 1 == stages.size())) {
      throw ParamError("pipeline '" + std::string(spec) + "': the last stage, and only it, must cluster (kmeans)");
    }
  }
  return stages;
}

Result run(const cluster::Matrix& X, std::string_view spec) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto stages = parse_spec(spec);
  Result r;
  cluster::Matrix Y = X;
  std::optional<double> silhouette_of_result;  // set by the clustering stage
  r.fitted_ = nlohmann::json::array();
  for (const Stage& s : stages) {
    if (s.name == "pca") {
      transform::PcaParams p;
      for (const auto& [k, v] : s.args) {
        if (k.empty() || k == "n") {
          p.n_components_ = number<int>(s, k, v);
        } else if (k == "variance") {
          p.variance_ = number<double>(s, k, v);
        } else {
          throw ParamError("pipeline stage 'pca': unknown argument '" + k + "' (n, variance)");
        }
      }
      if (p.n_components_ == 0 && p.variance_ == 0) {
        throw ParamError("pipeline stage 'pca': say how many components (pca:3) or how much variance (pca:variance=0.9)");
      }
      auto pca = transform::fit_pca(Y, p);
      Y = pca.transform(Y);
      r.fitted_.push_back(pca.to_json());
    } else if (s.name != "kmeans") {
      if (!s.args.empty()) throw ParamError("pipeline stage '" + s.name + "' takes no arguments");
      auto scaler = transform::fit_scaler(Y, transform::parse_scaler(s.name));
      Y = scaler.apply(Y);
      r.fitted_.push_back(scaler.to_json());
    } else {
      cluster::KMeansParams p;
      bool automatic = true;
      int kmin = 2, kmax = 10;
      for (const auto& [k, v] : s.args) {
        if (k == "k" || k.empty()) {
          automatic = v == "auto";
          if (!automatic) p.k_ = number<int>(s, k, v);
        } else if (k == "n_init") {
          p.n_init_ = number<int>(s, k, v);
        } else if (k == "max_iter") {
          p.max_iter_ = number<int>(s, k, v);
        } else if (k == "seed") {
          p.seed_ = number<uint64_t>(s, k, v);
        } else if (k == "kmin") {
          kmin = number<int>(s, k, v);
        } else if (k == "kmax") {
          kmax = number<int>(s, k, v);
        } else {
          throw ParamError("pipeline stage 'kmeans': unknown argument '" + k +
                           "' (k, n_init, max_iter, seed, kmin, kmax)");
        }
      }
      nlohmann::json why;
      constexpr size_t kSilhouetteSample = 5000;
      if (automatic) {
        // The k heuristic: the best silhouette over kmin..kmax (sampled for
        // large inputs); inertia is reported as the elbow diagnostic.
        kmax = std::min<int>(kmax, static_cast<int>(Y.rows()) - 1);
        if (kmin < 2 || kmin > kmax) throw ParamError("pipeline stage 'kmeans': need 2 <= kmin <= kmax < rows");
        double best = -2;
        cluster::KMeansResult chosen;
        why["rule"] = "best silhouette over k = " + std::to_string(kmin) + ".." + std::to_string(kmax) +
                      (static_cast<size_t>(Y.rows()) > kSilhouetteSample
                           ? " (silhouette on a seeded sample of " + std::to_string(kSilhouetteSample) + " rows)"
                           : std::string(" (exact silhouette)"));
        for (int k = kmin; k <= kmax; ++k) {
          p.k_ = k;
          auto km = cluster::fit_kmeans(Y, p);
          const double sil = silhouette(Y, km.labels_, kSilhouetteSample, p.seed_);
          why["candidates"].push_back({{"k", k}, {"silhouette", sil}, {"inertia", km.inertia_}});
          if (sil > best) best = sil, chosen = std::move(km);
        }
        silhouette_of_result = best;
        r.labels_ = chosen.labels_;
        r.centroids_ = chosen.centroids_;
        p.k_ = static_cast<int>(chosen.centroids_.rows());
        r.summary_["inertia"] = chosen.inertia_;
      } else {
        auto km = cluster::fit_kmeans(Y, p);
        why["rule"] = "k given";
        r.labels_ = km.labels_;
        r.centroids_ = km.centroids_;
        r.summary_["inertia"] = km.inertia_;
        if (p.k_ >= 2 && p.k_ < Y.rows()) {
          silhouette_of_result = silhouette(Y, r.labels_, kSilhouetteSample, p.seed_);
        }
      }
      r.summary_["algorithm"] = "kmeans";
      r.summary_["parameters"] = {{"k", p.k_}, {"n_init", p.n_init_}, {"max_iter", p.max_iter_}, {"seed", p.seed_}};
      r.summary_["choice"] = why;
    }
  }
  std::vector<size_t> sizes(static_cast<size_t>(r.centroids_.rows()), 0);
  for (int l : r.labels_) ++sizes[static_cast<size_t>(l)];
  r.summary_["pipeline"] = std::string(spec);
  r.summary_["rows"] = X.rows();
  r.summary_["columns"] = X.cols();
  r.summary_["embedded_columns"] = Y.cols();
  r.summary_["clusters"] = r.centroids_.rows();
  r.summary_["sizes"] = sizes;
  // The silhouette the choice was made on (same rows, same sample).
  r.summary_["silhouette"] = silhouette_of_result ? nlohmann::json(*silhouette_of_result)
                                                  : nlohmann::json(nullptr);
  r.summary_["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.embedding_ = std::move(Y);
  return r;
}

}  // namespace darklens::pipeline
