// Leave-one-out k-nearest-neighbour classification over nanoflann's
// kd-tree. Candidates are grouped by identical rows (one kd-tree point per
// group, with its class counts), so copies cost one point and ties at the
// k-th distance are shared by rule, not by row order.
#include <algorithm>
#include <cmath>
#include <map>

#include "../core/parallel.hpp"
#include "../core/points.hpp"
#include "darklens/error.hpp"
#include "darklens/evaluate/evaluate.hpp"

namespace darklens::evaluate {

namespace {

// Rows marked `candidate` vote; rows marked `query` are classified (a query
// that is also a candidate leaves itself out).
Classification classify(const transform::Matrix& X, const std::vector<int>& truth,
                        const std::vector<std::string>& classes, const KnnParams& p,
                        const std::vector<uint8_t>& candidate, const std::vector<uint8_t>& query) {
  const auto n = static_cast<size_t>(X.rows());
  const int K = static_cast<int>(classes.size());  // index K = unknown
  if (p.k_ < 1) throw ParamError("knn: k must be at least 1");
  if (truth.size() != n) {
    throw ParamError("knn: " + std::to_string(truth.size()) + " labels for " + std::to_string(n) + " rows");
  }
  if (!X.allFinite()) throw ParamError("knn: NaN or infinite values");
  for (int t : truth) {
    if (t != kUnknown && (t < 0 || t >= K)) throw ParamError("knn: class index " + std::to_string(t) + " out of range");
  }
  auto cls = [&](size_t i) { return truth[i] == kUnknown ? K : truth[i]; };
  std::vector<size_t> cand, queries;
  for (size_t i = 0; i < n; ++i) {
    if (candidate[i]) cand.push_back(i);
    if (query[i]) queries.push_back(i);
  }
  if (cand.size() < 2 || queries.empty()) throw ParamError("knn: needs at least two rows to compare");
  RowMatrix P(static_cast<Eigen::Index>(n), X.cols());
  P = X;
  if (p.metric_ == Metric::kCosine) {
    for (Eigen::Index i = 0; i < P.rows(); ++i) {
      const double norm = P.row(i).norm();
      if (norm > 0) P.row(i) /= norm;
    }
  }
  RowMatrix C(static_cast<Eigen::Index>(cand.size()), X.cols());
  for (size_t c = 0; c < cand.size(); ++c)
    C.row(static_cast<Eigen::Index>(c)) = P.row(static_cast<Eigen::Index>(cand[c]));
  const UniqueRows u = unique_rows(C);
  const size_t m = static_cast<size_t>(u.unique_.rows());
  std::vector<std::map<int, uint32_t>> group_classes(m);
  std::vector<int64_t> group_of_row(n, -1);
  for (size_t c = 0; c < cand.size(); ++c) {
    ++group_classes[u.group_of_[c]][cls(cand[c])];
    group_of_row[cand[c]] = u.group_of_[c];
  }
  PointCloud cloud{u.unique_};
  KdTree tree(static_cast<int>(X.cols()), cloud, nanoflann::KDTreeSingleIndexAdaptorParams(16));

  Classification r;
  r.predicted_.assign(n, kUnknown);
  std::vector<int> pred(n, K);
  const double k = p.k_;
  parallel_for(
      queries.size(), p.threads_,
      [&](size_t lo, size_t hi) {
        const size_t want = std::min(m, static_cast<size_t>(p.k_) + 1);
        std::vector<uint32_t> idx(want), near;
        std::vector<double> d2(want), near_d2, votes(static_cast<size_t>(K) + 1), nearest(static_cast<size_t>(K) + 1);
        for (size_t q = lo; q < hi; ++q) {
          const size_t i = queries[q];
          const double* x = P.data() + static_cast<Eigen::Index>(i) * P.cols();
          const int64_t own = group_of_row[i];
          auto rows_in = [&](uint32_t g) {
            return static_cast<double>(u.weight_[g]) - (static_cast<int64_t>(g) == own ? 1.0 : 0.0);
          };
          nanoflann::KNNResultSet<double, uint32_t> res(want);
          res.init(idx.data(), d2.data());
          tree.findNeighbors(res, x, nanoflann::SearchParams());
          // The k-th neighbour's distance.
          double seen = 0, boundary = d2[res.size() - 1];
          for (size_t j = 0; j < res.size(); ++j) {
            seen += rows_in(idx[j]);
            if (seen >= k) {
              boundary = d2[j];
              break;
            }
          }
          // Every group within it (ties beyond nanoflann's list included).
          WithinResult within(boundary, near);
          tree.findNeighbors(within, x, nanoflann::SearchParams(32, 0.0f, false));
          double closer = 0, tied = 0;
          near_d2.resize(near.size());
          for (size_t j = 0; j < near.size(); ++j) {
            near_d2[j] =
                squared_distance(x, u.unique_.data() + static_cast<Eigen::Index>(near[j]) * P.cols(), P.cols());
            (near_d2[j] < boundary ? closer : tied) += rows_in(near[j]);
          }
          const double share = tied > 0 ? std::max(0.0, std::min(k, closer + tied) - closer) / tied : 0.0;
          std::fill(votes.begin(), votes.end(), 0.0);
          std::fill(nearest.begin(), nearest.end(), std::numeric_limits<double>::infinity());
          for (size_t j = 0; j < near.size(); ++j) {
            const uint32_t g = near[j];
            const double d = near_d2[j];
            const double weight = d < boundary ? 1.0 : share;
            for (const auto& [c, count] : group_classes[g]) {
              const double rows = count - (static_cast<int64_t>(g) == own && c == cls(i) ? 1.0 : 0.0);
              if (rows <= 0 || weight <= 0) continue;
              votes[static_cast<size_t>(c)] += weight * rows;
              nearest[static_cast<size_t>(c)] = std::min(nearest[static_cast<size_t>(c)], d);
            }
          }
          int best = 0;
          for (int c = 1; c <= K; ++c) {
            const double a = votes[static_cast<size_t>(c)], b = votes[static_cast<size_t>(best)];
            if (a > b + 1e-9 ||
                (std::abs(a - b) <= 1e-9 && nearest[static_cast<size_t>(c)] < nearest[static_cast<size_t>(best)])) {
              best = c;
            }
          }
          pred[i] = best;
        }
      },
      64);

  const bool unknown_class = !p.labelled_only_ || p.include_unknown_;
  r.classes_ = classes;
  if (unknown_class) r.classes_.push_back("unknown");
  const size_t nc = r.classes_.size();
  r.confusion_.assign(nc, std::vector<size_t>(nc, 0));
  size_t correct = 0;
  for (size_t i : queries) {
    ++r.confusion_[static_cast<size_t>(cls(i))][static_cast<size_t>(pred[i])];
    correct += cls(i) == pred[i];
    r.predicted_[i] = pred[i] == K ? kUnknown : pred[i];
  }
  r.evaluated_ = queries.size();
  r.accuracy_ = static_cast<double>(correct) / static_cast<double>(queries.size());
  // Per class, as scikit-learn's precision_recall_fscore_support over the
  // classes present among the true or predicted labels (zero_division 0).
  double f1_sum = 0;
  size_t present = 0;
  for (size_t c = 0; c < nc; ++c) {
    size_t tp = r.confusion_[c][c], col = 0, row = 0;
    for (size_t o = 0; o < nc; ++o) col += r.confusion_[o][c], row += r.confusion_[c][o];
    ClassScores s;
    s.name = r.classes_[c];
    s.support = row;
    s.precision = col ? static_cast<double>(tp) / static_cast<double>(col) : 0.0;
    s.recall = row ? static_cast<double>(tp) / static_cast<double>(row) : 0.0;
    s.f1 = s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0.0;
    r.per_class_.push_back(s);
    if (row || col) f1_sum += s.f1, ++present;
  }
  r.macro_f1_ = present ? f1_sum / static_cast<double>(present) : 0.0;
  return r;
}

}  // namespace

Classification knn_leave_one_out(const transform::Matrix& X, const std::vector<int>& truth,
                                 const std::vector<std::string>& classes, const KnnParams& p) {
  std::vector<uint8_t> candidate(truth.size()), query(truth.size());
  for (size_t i = 0; i < truth.size(); ++i) {
    candidate[i] = !p.labelled_only_ || truth[i] != kUnknown;
    query[i] = truth[i] != kUnknown || p.include_unknown_;
  }
  return classify(X, truth, classes, p, candidate, query);
}

Classification knn_classify(const transform::Matrix& train, const std::vector<int>& train_truth,
                            const transform::Matrix& test, const std::vector<int>& test_truth,
                            const std::vector<std::string>& classes, const KnnParams& p) {
  if (train.cols() != test.cols()) {
    throw ParamError("knn: " + std::to_string(train.cols()) + " training columns, " + std::to_string(test.cols()) +
                     " test columns");
  }
  if (static_cast<Eigen::Index>(train_truth.size()) != train.rows()) {
    throw ParamError("knn: " + std::to_string(train_truth.size()) + " labels for " + std::to_string(train.rows()) +
                     " rows");
  }
  transform::Matrix both(train.rows() + test.rows(), train.cols());
  both << train, test;
  std::vector<int> truth(train_truth);
  truth.insert(truth.end(), test_truth.begin(), test_truth.end());
  const size_t nt = train_truth.size();
  std::vector<uint8_t> candidate(truth.size(), 0), query(truth.size(), 0);
  for (size_t i = 0; i < truth.size(); ++i) {
    if (i < nt) {
      candidate[i] = !p.labelled_only_ || truth[i] != kUnknown;
    } else {
      query[i] = truth[i] != kUnknown || p.include_unknown_;
    }
  }
  Classification r = classify(both, truth, classes, p, candidate, query);
  r.predicted_.erase(r.predicted_.begin(), r.predicted_.begin() + static_cast<std::ptrdiff_t>(nt));
  return r;
}

}  // namespace darklens::evaluate
