// The transform stages: scalers, pca, som.
#include <algorithm>
#include <charconv>

#include "args.hpp"
#include "stages.hpp"

namespace darklens::pipeline::detail {
namespace {

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
    const bool ok = x != std::string::npos && std::from_chars(g.data(), g.data() + x, r).ptr == g.data() + x &&
                    std::from_chars(g.data() + x + 1, g.data() + g.size(), c).ptr == g.data() + g.size();
    if (!ok || r < 1 || c < 1) throw ParamError("pipeline stage 'som': grid '" + g + "' is not ROWSxCOLS (som:20x20)");
    if (int64_t{r} * c > 4096) {
      throw ParamError("pipeline stage 'som': grid '" + g + "' has " + std::to_string(int64_t{r} * c) +
                       " units; at most 4,096 (64x64)");
    }
    p.rows_ = r, p.cols_ = c;
  }
  p.topology_ = a.choice("topology", {"rect", "hex"}) == "rect" ? transform::SomTopology::kRectangular
                                                                : transform::SomTopology::kHexagonal;
  p.neighbourhood_ = a.choice("neighbourhood", {"gaussian", "bubble"}) == "gaussian"
                         ? transform::SomNeighbourhood::kGaussian
                         : transform::SomNeighbourhood::kBubble;
  p.training_ = a.choice("training", {"batch", "online"}) == "batch" ? transform::SomTraining::kBatch
                                                                     : transform::SomTraining::kOnline;
  p.iterations_ = p.training_ == transform::SomTraining::kBatch
                      ? a.num_in<int>("iterations", 0, 0, 1000, "batch epochs, each over every row and unit; 0 = 10")
                      : a.num_in<int>("iterations", 0, 0, 100000000, "online steps; 0 = 10 per row");
  p.sigma_ = a.num_in<double>("sigma", 0.0, 0.0, 1000.0, "in grid units; 0 = half the larger side");
  p.learning_rate_ = a.num_in<double>("learning_rate", 0.5, 1e-6, 1.0);
  p.seed_ = a.num<uint64_t>("seed", 0);
  return p;
}

}  // namespace

void check_scaler(const Stage& s) { Args(s, {}); }

void run_scaler(const Stage& s, cluster::Matrix& Y, Result& r, int /*threads*/) {
  auto scaler = transform::fit_scaler(Y, transform::parse_scaler(s.name));
  scaler.apply_in_place(Y);
  r.fitted_.push_back(scaler.to_json());
}

void check_pca(const Stage& s) { pca_params(s); }

void run_pca(const Stage& s, cluster::Matrix& Y, Result& r, int /*threads*/) {
  auto p = pca_params(s);
  // More components than the table has rows or columns: as many as it
  // has (a small capture with the default pca:10 still clusters), said so.
  const int most = static_cast<int>(std::min(Y.rows(), Y.cols()));
  if (p.n_components_ > most && most >= 1 && Y.rows() >= 2) {
    r.summary_.notes.push_back("pca:" + std::to_string(p.n_components_) + " kept " + std::to_string(most) +
                               " components: the table has " + std::to_string(Y.rows()) + " rows and " +
                               std::to_string(Y.cols()) + " columns");
    p.n_components_ = most;
  }
  auto pca = transform::fit_pca(Y, p);
  Y = pca.transform(Y);
  r.fitted_.push_back(pca.to_json());
}

void check_som(const Stage& s) { som_params(s); }

void run_som(const Stage& s, cluster::Matrix& Y, Result& r, int threads) {
  auto p = som_params(s);
  p.threads_ = threads;
  auto som = transform::fit_som(Y, p);
  const cluster::Matrix input = std::move(Y);
  Y = som.transform(input, threads);
  r.fitted_.push_back(som.to_json());
  r.summary_.som = SomSummary{som.rows_,
                              som.cols_,
                              som.topology_ == transform::SomTopology::kRectangular ? "rectangular" : "hexagonal",
                              som.quantization_error(input),
                              som.topographic_error(input),
                              som.u_matrix(),
                              som.hit_map(input)};
}

}  // namespace darklens::pipeline::detail
