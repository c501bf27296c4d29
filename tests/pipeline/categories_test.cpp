// The category rule: category and address columns become indicators of
// their frequent values (docs/cluster.md, "Column kinds"), checked against
// a count done by hand, and replayed on later rows by project().
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "darklens/error.hpp"
#include "darklens/features/features.hpp"
#include "darklens/pipeline/pipeline.hpp"
#include "support/error_of.hpp"

using namespace darklens;
using features::ColumnKind;

namespace {

// 200 rows: a count column (the row number), a port column whose values
// are 23 (100 rows), 22 (60), 80 (30), 443 (8) and 2 rows each of 1 and
// 2; an address column with one value per row but 3325256704 on 4 rows.
cluster::Matrix table() {
  cluster::Matrix X(200, 3);
  for (int r = 0; r < 200; ++r) {
    X(r, 0) = r;
    X(r, 1) = r < 100 ? 23 : r < 160 ? 22 : r < 190 ? 80 : r < 198 ? 443 : r < 199 ? 1 : 2;
    X(r, 2) = r < 4 ? 3325256704.0 : 3325256704.0 + r;
  }
  return X;
}

pipeline::Columns kinds(pipeline::Categories rule, double min_share = 0.01) {
  pipeline::Columns c;
  c.names = {"agm_packets", "agm_dst_port_mode", "agm_dst_ip_mode"};
  c.kinds = {ColumnKind::kCount, ColumnKind::kCategory, ColumnKind::kAddress};
  c.categories = rule;
  c.min_share = min_share;
  return c;
}

}  // namespace

TEST(Categories, FrequentValuesBecomeIndicatorsCountedByHand) {
  const cluster::Matrix X = table();
  // 1% of 200 rows is 2 rows: 1 and 2 (one row each) stay out, so do the
  // 196 addresses held by one row.
  const auto e = pipeline::encode(X, kinds(pipeline::Categories::kIndicators));
  ASSERT_EQ(e.X.cols(), 1 + 4 + 1);
  EXPECT_EQ(e.X.col(0), X.col(0));  // counts kept as they are, first
  const double ports[] = {22, 23, 80, 443};
  for (int j = 0; j < 4; ++j) {
    for (int r = 0; r < 200; ++r) ASSERT_EQ(e.X(r, 1 + j), X(r, 1) == ports[j] ? 1.0 : 0.0) << r;
  }
  for (int r = 0; r < 200; ++r) ASSERT_EQ(e.X(r, 5), r < 4 ? 1.0 : 0.0);
  ASSERT_EQ(e.summary.columns.size(), 2u);
  EXPECT_EQ(e.summary.columns[0].name, "agm_dst_port_mode");
  EXPECT_EQ(e.summary.columns[0].kind, "category");
  EXPECT_EQ(e.summary.columns[0].values, (std::vector<double>{22, 23, 80, 443}));
  EXPECT_EQ(e.summary.columns[0].rows_covered, 198u);
  EXPECT_EQ(e.summary.columns[1].kind, "address");
  EXPECT_EQ(e.summary.columns[1].rows_covered, 4u);
  EXPECT_EQ(e.summary.columns_out, 6);

  // A share of 10% (20 rows): only 23, 22 and 80.
  const auto tight = pipeline::encode(X, kinds(pipeline::Categories::kIndicators, 0.1));
  EXPECT_EQ(tight.summary.columns[0].values, (std::vector<double>{22, 23, 80}));
  EXPECT_TRUE(tight.summary.columns[1].values.empty());
  EXPECT_EQ(tight.X.cols(), 1 + 3);
}

TEST(Categories, AtMostThirtyTwoValuesMostRowsFirstTiesBySmallerValue) {
  // 40 values: value v on 10 + (v % 3) rows; every one passes 1%.
  std::vector<double> col;
  for (int v = 0; v < 40; ++v) {
    for (int i = 0; i < 10 + v % 3; ++i) col.push_back(v);
  }
  cluster::Matrix X(static_cast<Eigen::Index>(col.size()), 1);
  for (size_t i = 0; i < col.size(); ++i) X(static_cast<Eigen::Index>(i), 0) = col[i];
  pipeline::Columns c;
  c.names = {"fp_syn_win_mode"};
  c.kinds = {ColumnKind::kCategory};
  // Oracle: sort (rows desc, value asc), keep 32, list ascending.
  std::map<double, size_t> n;
  for (double v : col) ++n[v];
  std::vector<std::pair<size_t, double>> order;
  order.reserve(n.size());
  for (auto [v, k] : n) order.emplace_back(k, v);
  std::stable_sort(order.begin(), order.end(), [](auto a, auto b) { return a.first > b.first; });
  std::vector<double> want;
  for (size_t i = 0; i < pipeline::kMaxIndicators; ++i) want.push_back(order[i].second);
  std::sort(want.begin(), want.end());
  const auto e = pipeline::encode(X, c);
  EXPECT_EQ(e.summary.columns[0].values, want);
  EXPECT_EQ(e.X.cols(), 32);
}

TEST(Categories, DropAndNumbers) {
  const cluster::Matrix X = table();
  const auto dropped = pipeline::encode(X, kinds(pipeline::Categories::kDrop));
  EXPECT_EQ(dropped.X.cols(), 1);
  EXPECT_EQ(dropped.X.col(0), X.col(0));
  const auto numbers = pipeline::encode(X, kinds(pipeline::Categories::kNumbers));
  EXPECT_EQ(numbers.X, X);
  EXPECT_TRUE(numbers.fitted.is_null());
  EXPECT_EQ(pipeline::parse_categories("drop"), pipeline::Categories::kDrop);
  EXPECT_EQ(test::error_of<ParamError>([] { pipeline::parse_categories("onehot"); }),
            "--categories 'onehot': expected indicators, drop or numbers");
}

TEST(Categories, RunKeepsTheEncodingAndProjectReplaysItOnLaterRows) {
  const cluster::Matrix X = table();
  const auto r = pipeline::run(X, "zscore|kmeans:k=2", 1, kinds(pipeline::Categories::kIndicators));
  ASSERT_EQ(r.fitted_.size(), 2u);
  EXPECT_EQ(r.fitted_[0]["type"], "categories");
  EXPECT_EQ(r.summary_.columns, 3);
  ASSERT_TRUE(r.summary_.categories.has_value());
  EXPECT_EQ(r.summary_.categories->columns_out, 6);
  EXPECT_EQ(pipeline::to_json(r.summary_)["categories"]["columns"][0]["indicators"], nlohmann::json({22, 23, 80, 443}));
  // The same rows projected land where the run put them.
  const cluster::Matrix again = pipeline::project(X, r.fitted_, 2);
  EXPECT_LT((again - r.embedding_).cwiseAbs().maxCoeff(), 1e-12);
  // A later window: a port never seen has every indicator 0.
  cluster::Matrix later(1, 3);
  later << 5, 8080, 1;
  const cluster::Matrix raw = pipeline::project(later, nlohmann::json::array({r.fitted_[0]}));
  EXPECT_EQ(raw.cols(), 6);
  EXPECT_EQ(raw(0, 0), 5);
  EXPECT_EQ(raw.rightCols(5).sum(), 0);
}

TEST(Categories, Errors) {
  const cluster::Matrix X = table();
  auto c = kinds(pipeline::Categories::kIndicators);
  c.kinds.pop_back();
  EXPECT_EQ(test::error_of<ParamError>([&] { pipeline::encode(X, c); }),
            "the table has 3 columns but 3 names and 2 kinds were given");
  pipeline::Columns labels_only;
  labels_only.names = {"agm_dst_ip_mode"};
  labels_only.kinds = {ColumnKind::kAddress};
  cluster::Matrix distinct(5, 1);
  distinct << 1, 2, 3, 4, 5;
  EXPECT_EQ(test::error_of<ParamError>([&] { pipeline::encode(distinct, labels_only); }),
            "no column is left once category and address columns are encoded (--categories indicators): add "
            "count or share columns (--family), or use --categories numbers");
  const auto r = pipeline::run(X, "kmeans:k=2", 1, kinds(pipeline::Categories::kIndicators));
  EXPECT_EQ(test::error_of<ParamError>([&] { pipeline::project(X.leftCols(2), r.fitted_); }),
            "categories were fitted on 3 columns, the rows have 2");
  nlohmann::json bad = r.fitted_;
  bad[0]["keep"] = {7};
  EXPECT_EQ(test::error_of<FormatError>([&] { pipeline::project(X, bad); }),
            "fitted categories: column 7 is not one of the 3");
  bad[0].erase("keep");
  EXPECT_EQ(test::error_of<FormatError>([&] { pipeline::project(X, bad); }), "fitted categories: no keep");
}

TEST(Categories, RefusesBeforeWritingIndicatorsOverTheMemoryBudget) {
  auto c = kinds(pipeline::Categories::kIndicators);
  c.max_memory = 10000;  // 200 rows x (3 + 6) columns x 8 bytes + 256 a row is 65,600
  const std::string msg = test::error_of<ResourceError>([&] { pipeline::encode(table(), c); });
  EXPECT_EQ(msg.substr(0, 46), "encoding categories: 200 rows x 6 columns: abo");
  EXPECT_NE(msg.find("or use --categories drop"), std::string::npos) << msg;
  c.max_memory = 65600;
  EXPECT_EQ(pipeline::encode(table(), c).X.cols(), 6);
}

TEST(ColumnKinds, EveryColumnAFamilyWritesHasItsKindAndTheNameGivesItBack) {
  EXPECT_EQ(features::column_kind("agm_dst_ip_mode"), ColumnKind::kAddress);
  EXPECT_EQ(features::column_kind("agm_dst_port_mode"), ColumnKind::kCategory);
  EXPECT_EQ(features::column_kind("agm_dst_port_mode_packets"), ColumnKind::kCount);
  EXPECT_EQ(features::column_kind("num_ttl_mode"), ColumnKind::kCategory);
  EXPECT_EQ(features::column_kind("fp_syn_options_mode"), ColumnKind::kCategory);
  EXPECT_EQ(features::column_kind("fp_mirai"), ColumnKind::kShare);
  EXPECT_EQ(features::column_kind("ext_dst_port_mode_is_23"), ColumnKind::kShare);
  EXPECT_EQ(features::column_kind("tmp_first_seen_s"), ColumnKind::kTime);
  EXPECT_EQ(features::column_kind("tmp_burstiness"), ColumnKind::kRate);
  EXPECT_EQ(features::column_kind("my_own_column"), ColumnKind::kNumber);
  EXPECT_EQ(features::kind_name(ColumnKind::kAddress), "address");
  // A table of every family: each column's kind is the one its name gives.
  features::FeatureOptions o;
  o.families_ = features::parse_families("agm,agm-ext,agm-num,temporal,fingerprints,intensity");
  features::Aggregator agg(o);
  Packet p;
  p.src_ = IpAddr::v4(0x01020304);
  p.dst_ = IpAddr::v4(0xC6336401);
  p.proto_ = ip_proto::kTcp;
  p.dport_ = 23;
  p.tcp_flags_ = tcp_flag::kSyn;
  p.flags_ = Packet::kHasTransport;
  for (int i = 0; i < 3; ++i) agg.add(p);
  const auto t = agg.table();
  ASSERT_EQ(t.kinds_.size(), t.columns_.size());
  size_t labels = 0;
  for (size_t c = 0; c < t.columns_.size(); ++c) {
    EXPECT_EQ(features::column_kind(t.columns_[c]), t.kinds_[c]) << t.columns_[c];
    EXPECT_NE(t.kinds_[c], ColumnKind::kNumber) << t.columns_[c];
    labels += features::is_label(t.kinds_[c]);
  }
  EXPECT_EQ(labels, 7u + 2u + 3u);  // agm's modes, agm-num's ttl and size, fingerprints' SYN modes
}
