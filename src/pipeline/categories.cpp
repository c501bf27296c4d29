// The category rule: category and address columns become indicator
// columns of their frequent values (or drop out) before any stage measures
// a distance, and the encoding is kept as the first fitted transform.
#include <algorithm>
#include <cmath>
#include <string>

#include "darklens/core/memory.hpp"
#include "darklens/error.hpp"
#include "stages.hpp"

namespace darklens::pipeline {
namespace {

using features::ColumnKind;

void check_columns(const MatrixRef& X, const Columns& c) {
  const auto n = static_cast<size_t>(X.cols());
  if (c.names.size() != n || c.kinds.size() != n) {
    throw ParamError("the table has " + std::to_string(n) + " columns but " + std::to_string(c.names.size()) +
                     " names and " + std::to_string(c.kinds.size()) + " kinds were given");
  }
  if (!(c.min_share > 0 && c.min_share <= 1)) {
    throw ParamError("category rule: min_share " + std::to_string(c.min_share) + " is not in (0, 1]");
  }
}

// The values of column `col` held by enough rows, ascending, and the rows
// holding one of them.
std::vector<double> frequent_values(const MatrixRef& X, Eigen::Index col, double min_share, size_t& covered) {
  std::vector<double> v;
  v.reserve(static_cast<size_t>(X.rows()));
  for (Eigen::Index r = 0; r < X.rows(); ++r) {
    if (!std::isnan(X(r, col))) v.push_back(X(r, col));
  }
  std::sort(v.begin(), v.end());
  const auto rows = static_cast<double>(X.rows());
  const size_t need = std::max<size_t>(2, static_cast<size_t>(std::ceil(min_share * rows - 1e-9)));
  std::vector<std::pair<size_t, double>> counted;  // (rows, value)
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j < v.size() && v[j] == v[i]) ++j;
    if (j - i >= need) counted.emplace_back(j - i, v[i]);
    i = j;
  }
  // Most rows first, ties by the smaller value; then ascending for the columns.
  std::stable_sort(counted.begin(), counted.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  if (counted.size() > kMaxIndicators) counted.resize(kMaxIndicators);
  std::vector<double> values;
  covered = 0;
  for (const auto& [n, value] : counted) {
    values.push_back(value);
    covered += n;
  }
  std::sort(values.begin(), values.end());
  return values;
}

}  // namespace

Categories parse_categories(std::string_view text) {
  if (text == "indicators") return Categories::kIndicators;
  if (text == "drop") return Categories::kDrop;
  if (text == "numbers") return Categories::kNumbers;
  throw ParamError("--categories '" + std::string(text) + "': expected indicators, drop or numbers");
}

std::string_view categories_name(Categories c) {
  switch (c) {
    case Categories::kIndicators:
      return "indicators";
    case Categories::kDrop:
      return "drop";
    case Categories::kNumbers:
      break;
  }
  return "numbers";
}

Columns columns_of(const features::FeatureTable& t, Categories categories) {
  Columns c;
  c.names = t.columns_;
  c.kinds = t.kinds_;
  c.categories = categories;
  return c;
}

Columns columns_named(const std::vector<std::string>& names, Categories categories) {
  Columns c;
  c.names = names;
  for (const auto& n : names) c.kinds.push_back(features::column_kind(n));
  c.categories = categories;
  return c;
}

Encoded encode(const MatrixRef& X, const Columns& columns) {
  check_columns(X, columns);
  Encoded e;
  CategorySummary& sum = e.summary;
  sum.rule = categories_name(columns.categories);
  sum.min_share = columns.min_share;
  const Eigen::Index in_cols = X.cols();
  if (columns.categories == Categories::kNumbers) {
    sum.columns_out = in_cols;
    e.X = X;
    return e;
  }
  nlohmann::json code = {{"type", "categories"}, {"input_columns", in_cols}};
  code["keep"] = nlohmann::json::array();
  code["indicators"] = nlohmann::json::array();
  for (Eigen::Index c = 0; c < in_cols; ++c) {
    const ColumnKind k = columns.kinds[static_cast<size_t>(c)];
    if (!features::is_label(k)) {
      code["keep"].push_back(c);
      continue;
    }
    CategoryColumn cc{columns.names[static_cast<size_t>(c)], std::string(features::kind_name(k)), {}, 0};
    if (columns.categories == Categories::kIndicators) {
      cc.values = frequent_values(X, c, columns.min_share, cc.rows_covered);
      if (!cc.values.empty()) code["indicators"].push_back({{"column", c}, {"values", cc.values}});
    }
    sum.columns.push_back(std::move(cc));
  }
  size_t out = code["keep"].size();
  for (const auto& i : code["indicators"]) out += i["values"].size();
  const auto rows = static_cast<uint64_t>(X.rows());
  MemoryBudget{columns.max_memory}.check(
      columns.held + rows * ((static_cast<uint64_t>(in_cols) + out) * sizeof(double) + 256),
      "encoding categories: " + std::to_string(rows) + " rows x " + std::to_string(out) + " columns",
      "raise it, or cluster fewer rows (--min-packets, shorter captures), or use --categories drop");
  e.X = detail::apply_categories(code, X);
  if (e.X.cols() == 0) {
    throw ParamError("no column is left once category and address columns are encoded (--categories " + sum.rule +
                     "): add count or share columns (--family), or use --categories numbers");
  }
  sum.columns_out = e.X.cols();
  e.fitted = std::move(code);
  return e;
}

Result run(const MatrixRef& X, std::string_view spec, int threads, const Columns& columns) {
  const Eigen::Index in_cols = X.cols();
  Encoded e = encode(X, columns);
  Result r = run(std::move(e.X), spec, threads);
  if (!e.fitted.is_null()) r.fitted_.insert(r.fitted_.begin(), std::move(e.fitted));
  r.summary_.columns = in_cols;
  r.summary_.categories = std::move(e.summary);
  return r;
}

namespace detail {

cluster::Matrix apply_categories(const nlohmann::json& code, const MatrixRef& X) {
  const auto bad = [](const std::string& what) { return FormatError("fitted categories: " + what); };
  for (const char* key : {"input_columns", "keep", "indicators"}) {
    if (!code.contains(key)) throw bad(std::string("no ") + key);
  }
  const auto& in = code["input_columns"];
  if (!in.is_number_integer() || in.get<int64_t>() != static_cast<int64_t>(X.cols())) {
    throw ParamError("categories were fitted on " + in.dump() + " columns, the rows have " + std::to_string(X.cols()));
  }
  const auto& keep = code["keep"];
  const auto& ind = code["indicators"];
  if (!keep.is_array() || !ind.is_array()) throw bad("keep and indicators must be arrays");
  auto column = [&](const nlohmann::json& j) {
    if (!j.is_number_integer() || j.get<int64_t>() < 0 || j.get<int64_t>() >= X.cols()) {
      throw bad("column " + j.dump() + " is not one of the " + std::to_string(X.cols()));
    }
    return static_cast<Eigen::Index>(j.get<int64_t>());
  };
  size_t out = keep.size();
  for (const auto& i : ind) {
    if (!i.is_object() || !i.contains("column") || !i.contains("values") || !i["values"].is_array() ||
        i["values"].size() > kMaxIndicators) {
      throw bad("an indicator entry needs a column and at most " + std::to_string(kMaxIndicators) + " values");
    }
    out += i["values"].size();
  }
  if (out > static_cast<size_t>(X.cols()) * (kMaxIndicators + 1)) throw bad("more columns than the rule makes");
  cluster::Matrix Y(X.rows(), static_cast<Eigen::Index>(out));
  Eigen::Index o = 0;
  for (const auto& k : keep) Y.col(o++) = X.col(column(k));
  for (const auto& i : ind) {
    const Eigen::Index c = column(i["column"]);
    for (const auto& v : i["values"]) {
      if (!v.is_number()) throw bad("an indicator value is not a number");
      const double value = v.get<double>();
      Y.col(o++) = (X.col(c).array() == value).cast<double>();
    }
  }
  return Y;
}

}  // namespace detail

}  // namespace darklens::pipeline
