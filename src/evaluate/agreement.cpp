// Agreement between labelings and internal cluster indices, following
// scikit-learn 1.2's formulas and special cases (sklearn/metrics/cluster).
#include <cmath>
#include <map>
#include <numeric>

#include "darklens/error.hpp"
#include "darklens/evaluate/evaluate.hpp"

namespace darklens::evaluate {
namespace {

__extension__ using Int128 = __int128;  // exact pair counts (n^2 products pass 2^63)

// Labels -> dense 0..k-1 in increasing label order.
std::vector<int> dense(const std::vector<int>& labels, int& k) {
  std::map<int, int> m;
  for (int l : labels) m.emplace(l, 0);
  int next = 0;
  for (auto& [l, d] : m) d = next++;
  k = next;
  std::vector<int> out(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) out[i] = m[labels[i]];
  return out;
}

struct Contingency {
  int r = 0, c = 0;
  std::vector<int64_t> a, b;                     // row and column sums
  std::map<std::pair<int, int>, int64_t> cells;  // non-zero cells
};

Contingency contingency(const std::vector<int>& t, const std::vector<int>& p) {
  Contingency ct;
  const auto x = dense(t, ct.r), y = dense(p, ct.c);
  ct.a.assign(static_cast<size_t>(ct.r), 0);
  ct.b.assign(static_cast<size_t>(ct.c), 0);
  for (size_t i = 0; i < x.size(); ++i) {
    ++ct.cells[{x[i], y[i]}];
    ++ct.a[static_cast<size_t>(x[i])];
    ++ct.b[static_cast<size_t>(y[i])];
  }
  return ct;
}

double entropy(const std::vector<int64_t>& counts) {
  if (counts.size() <= 1) return 0.0;
  double sum = 0;
  for (auto v : counts) sum += static_cast<double>(v);
  double h = 0;
  for (auto v : counts) {
    if (v > 0) h -= (static_cast<double>(v) / sum) * (std::log(static_cast<double>(v)) - std::log(sum));
  }
  return h;
}

double mutual_information(const Contingency& ct, double n) {
  if (ct.r == 1 || ct.c == 1) return 0.0;
  double mi = 0;
  for (const auto& [ij, v] : ct.cells) {
    const double nm = static_cast<double>(v) / n;
    const double outer =
        static_cast<double>(ct.a[static_cast<size_t>(ij.first)] * ct.b[static_cast<size_t>(ij.second)]);
    const double term =
        nm * (std::log(static_cast<double>(v)) - std::log(n)) + nm * (-std::log(outer) + 2 * std::log(n));
    if (std::abs(term) >= std::numeric_limits<double>::epsilon()) mi += term;
  }
  return std::max(mi, 0.0);
}

// Expected mutual information of two labelings with these marginals under
// random permutation (the hypergeometric model), in log space.
double expected_mutual_information(const Contingency& ct, int64_t n_samples) {
  if (ct.r == 1 || ct.c == 1) return 0.0;
  const double N = static_cast<double>(n_samples);
  const int64_t max_ab =
      std::max(*std::max_element(ct.a.begin(), ct.a.end()), *std::max_element(ct.b.begin(), ct.b.end()));
  std::vector<double> log_nnij(static_cast<size_t>(max_ab) + 1), gln_nij(static_cast<size_t>(max_ab) + 1);
  for (int64_t v = 0; v <= max_ab; ++v) {
    const double nij = v == 0 ? 1.0 : static_cast<double>(v);
    log_nnij[static_cast<size_t>(v)] = std::log(N) + std::log(nij);
    gln_nij[static_cast<size_t>(v)] = std::lgamma(nij + 1);
  }
  const double gln_N = std::lgamma(N + 1);
  double emi = 0;
  for (int i = 0; i < ct.r; ++i) {
    const double ai = static_cast<double>(ct.a[static_cast<size_t>(i)]);
    const double gln_a = std::lgamma(ai + 1), gln_Na = std::lgamma(N - ai + 1), log_a = std::log(ai);
    for (int j = 0; j < ct.c; ++j) {
      const double bj = static_cast<double>(ct.b[static_cast<size_t>(j)]);
      const double gln_b = std::lgamma(bj + 1), gln_Nb = std::lgamma(N - bj + 1), log_b = std::log(bj);
      const int64_t start =
          std::max<int64_t>(1, ct.a[static_cast<size_t>(i)] - n_samples + ct.b[static_cast<size_t>(j)]);
      const int64_t end = std::min(ct.a[static_cast<size_t>(i)], ct.b[static_cast<size_t>(j)]) + 1;
      for (int64_t v = start; v < end; ++v) {
        const double nij = static_cast<double>(v);
        const double term2 = log_nnij[static_cast<size_t>(v)] - log_a - log_b;
        const double gln = gln_a + gln_b + gln_Na + gln_Nb - gln_N - gln_nij[static_cast<size_t>(v)] -
                           std::lgamma(ai - nij + 1) - std::lgamma(bj - nij + 1) - std::lgamma(N - ai - bj + nij + 1);
        emi += (nij / N) * term2 * std::exp(gln);
      }
    }
  }
  return emi;
}

void check_labels(const transform::Matrix& X, const std::vector<int>& labels, int& k, const char* who) {
  if (static_cast<Eigen::Index>(labels.size()) != X.rows()) {
    throw ParamError(std::string(who) + ": " + std::to_string(labels.size()) + " labels for " +
                     std::to_string(X.rows()) + " rows");
  }
  dense(labels, k);
  if (k < 2 || k > X.rows() - 1) {
    throw ParamError(std::string(who) + ": needs 2 to n-1 distinct labels, got " + std::to_string(k));
  }
}

// ARI from the pair confusion matrix, in exact integers.
double ari(const Contingency& ct, int64_t n) {
  Int128 sum_squares = 0, ct_nk = 0, ct_nc = 0;
  for (const auto& [ij, v] : ct.cells) {
    sum_squares += static_cast<Int128>(v) * v;
    ct_nk += static_cast<Int128>(v) * ct.b[static_cast<size_t>(ij.second)];
    ct_nc += static_cast<Int128>(v) * ct.a[static_cast<size_t>(ij.first)];
  }
  const Int128 tp = sum_squares - n, fp = ct_nk - sum_squares, fn = ct_nc - sum_squares;
  const Int128 tn = static_cast<Int128>(n) * n - fp - fn - sum_squares;
  if (fn == 0 && fp == 0) return 1.0;
  const Int128 num = tp * tn - fn * fp, den = (tp + fn) * (fn + tn) + (tp + fp) * (fp + tn);
  return 2.0 * static_cast<double>(num) / static_cast<double>(den);
}

// Mean of each cluster's rows and the clusters' sizes (labels dense 0..k-1).
transform::Matrix centroids(const transform::Matrix& X, const std::vector<int>& y, int k, std::vector<double>& count) {
  transform::Matrix C = transform::Matrix::Zero(k, X.cols());
  count.assign(static_cast<size_t>(k), 0);
  for (Eigen::Index i = 0; i < X.rows(); ++i) {
    C.row(y[static_cast<size_t>(i)]) += X.row(i);
    ++count[static_cast<size_t>(y[static_cast<size_t>(i)])];
  }
  for (int c = 0; c < k; ++c) C.row(c) /= count[static_cast<size_t>(c)];
  return C;
}

}  // namespace

double adjusted_rand_index(const std::vector<int>& a, const std::vector<int>& b) {
  if (a.size() != b.size()) {
    throw ParamError("adjusted Rand index: " + std::to_string(a.size()) + " and " + std::to_string(b.size()) +
                     " labels");
  }
  if (a.empty()) return 1.0;
  return ari(contingency(a, b), static_cast<int64_t>(a.size()));
}

Agreement compare_labelings(const std::vector<int>& truth, const std::vector<int>& predicted) {
  if (truth.size() != predicted.size()) {
    throw ParamError("compare labelings: " + std::to_string(truth.size()) + " and " + std::to_string(predicted.size()) +
                     " labels");
  }
  Agreement g;
  const auto n = static_cast<int64_t>(truth.size());
  if (n == 0) {
    g.ari = g.nmi = g.ami = g.homogeneity = g.completeness = g.v_measure = 1.0;
    return g;
  }
  const Contingency ct = contingency(truth, predicted);
  const double N = static_cast<double>(n);
  g.ari = ari(ct, n);
  g.mutual_information = mutual_information(ct, N);
  const double ht = entropy(ct.a), hp = entropy(ct.b);
  const double mean_h = (ht + hp) / 2;
  const bool unsplit = ct.r == 1 && ct.c == 1;
  g.nmi = unsplit ? 1.0 : (g.mutual_information == 0 ? 0.0 : g.mutual_information / mean_h);
  if (unsplit) {
    g.ami = 1.0;
  } else {
    const double emi = expected_mutual_information(ct, n);
    double den = mean_h - emi;
    const double eps = std::numeric_limits<double>::epsilon();
    den = den < 0 ? std::min(den, -eps) : std::max(den, eps);
    g.ami = (g.mutual_information - emi) / den;
  }
  g.homogeneity = ht != 0 ? g.mutual_information / ht : 1.0;
  g.completeness = hp != 0 ? g.mutual_information / hp : 1.0;
  g.v_measure =
      g.homogeneity + g.completeness == 0 ? 0.0 : 2 * g.homogeneity * g.completeness / (g.homogeneity + g.completeness);
  return g;
}

double davies_bouldin_score(const transform::Matrix& X, const std::vector<int>& labels) {
  int k = 0;
  check_labels(X, labels, k, "davies-bouldin");
  const auto y = dense(labels, k);
  std::vector<double> count, intra(static_cast<size_t>(k), 0);
  const transform::Matrix C = centroids(X, y, k, count);
  for (Eigen::Index i = 0; i < X.rows(); ++i) {
    const int c = y[static_cast<size_t>(i)];
    intra[static_cast<size_t>(c)] += (X.row(i) - C.row(c)).norm();
  }
  bool intra_zero = true, centroids_zero = true;
  for (int c = 0; c < k; ++c) {
    intra[static_cast<size_t>(c)] /= count[static_cast<size_t>(c)];
    intra_zero = intra_zero && std::abs(intra[static_cast<size_t>(c)]) <= 1e-8;
  }
  transform::Matrix D(k, k);
  for (int a = 0; a < k; ++a) {
    for (int b = 0; b < k; ++b) {
      D(a, b) = (C.row(a) - C.row(b)).norm();
      centroids_zero = centroids_zero && std::abs(D(a, b)) <= 1e-8;
    }
  }
  if (intra_zero || centroids_zero) return 0.0;  // numpy.allclose(., 0)
  double total = 0;
  for (int a = 0; a < k; ++a) {
    double worst = -std::numeric_limits<double>::infinity();
    for (int b = 0; b < k; ++b) {
      const double d = D(a, b) == 0 ? std::numeric_limits<double>::infinity() : D(a, b);
      worst = std::max(worst, (intra[static_cast<size_t>(a)] + intra[static_cast<size_t>(b)]) / d);
    }
    total += worst;
  }
  return total / k;
}

double calinski_harabasz_score(const transform::Matrix& X, const std::vector<int>& labels) {
  int k = 0;
  check_labels(X, labels, k, "calinski-harabasz");
  const auto y = dense(labels, k);
  const Eigen::RowVectorXd mean = X.colwise().mean();
  std::vector<double> count;
  const transform::Matrix C = centroids(X, y, k, count);
  double extra = 0, intra = 0;
  for (int c = 0; c < k; ++c) extra += count[static_cast<size_t>(c)] * (C.row(c) - mean).squaredNorm();
  for (Eigen::Index i = 0; i < X.rows(); ++i) intra += (X.row(i) - C.row(y[static_cast<size_t>(i)])).squaredNorm();
  const double n = static_cast<double>(X.rows());
  return intra == 0 ? 1.0 : extra * (n - k) / (intra * (k - 1.0));
}

}  // namespace darklens::evaluate
