// The report document from typed parts: sections left out when empty,
// the summary table in order, "top" marks, the projection's axes and
// sample, the kNN and agreement sections as render_html reads them.
#include "darklens/report/document.hpp"

#include <gtest/gtest.h>

#include "darklens/report/report.hpp"

using namespace darklens;
using nlohmann::json;

namespace {

profile::ClusterProfile cluster_profile(int cluster, uint64_t sources) {
  profile::ClusterProfile p;
  p.cluster_ = cluster;
  p.sources_ = sources;
  p.packets_ = sources * 2;
  return p;
}

}  // namespace

TEST(ReportDocument, EmptySectionsAreLeftOutAndNumbersKeepTheirOrder) {
  report::Document d;
  d.title = "t";
  d.numbers = {{"b", 2}, {"a", "x"}};
  const json j = report::to_json(d);
  EXPECT_EQ(j["numbers"], json::parse(R"([["b", 2], ["a", "x"]])"));
  for (const char* key :
       {"projection", "silhouette", "silhouette_note", "knn", "agreement", "series", "patterns", "som", "top"}) {
    EXPECT_FALSE(j.contains(key)) << key;
  }
  d.silhouette = json::array();
  d.silhouette_note = "On all sources.";
  d.top = 2;
  const json k = report::to_json(d);
  EXPECT_EQ(k["silhouette_note"], "On all sources.");
  EXPECT_EQ(k["top"], 2);
  EXPECT_NE(report::render_html(k).find("<h1>t</h1>"), std::string::npos);
}

TEST(ReportDocument, TopMarksTheLargestClustersNeverNoise) {
  // Largest first, as profile_clusters gives them; noise (-1) among them.
  const std::vector<profile::ClusterProfile> ps = {cluster_profile(2, 50), cluster_profile(-1, 40),
                                                   cluster_profile(0, 30), cluster_profile(1, 10)};
  const json a = report::profiles_section(ps, 2);
  ASSERT_EQ(a.size(), 4u);
  EXPECT_EQ(a[0]["top"], true);
  EXPECT_EQ(a[1]["top"], false);  // noise
  EXPECT_EQ(a[2]["top"], true);
  EXPECT_EQ(a[3]["top"], false);
  EXPECT_FALSE(report::profiles_section(ps)[0].contains("top"));
}

TEST(ReportDocument, ProjectionSamplesRowsAndNamesItsAxes) {
  Eigen::MatrixXd Y(6, 3);
  Y << 1, 0, 0, 2, 0, 0, 3, 1, 0, 4, 1, 0, 5, 2, 1, 6, 2, 1;
  const std::vector<int> labels = {0, 0, 1, 1, 2, -1};
  const json all = report::projection_section(Y, labels, 100, 7);
  EXPECT_EQ(all["x"].size(), 6u);
  EXPECT_EQ(all["cluster"], json(labels));
  EXPECT_EQ(all["note"], "Axes: the first two principal components of the 3-dimensional embedding.");
  // The first component spreads the rows most: its values have the
  // variance of the largest eigenvalue, more than the second's.
  auto variance = [](const json& v) {
    double m = 0, s = 0;
    for (const auto& x : v) m += x.get<double>();
    m /= static_cast<double>(v.size());
    for (const auto& x : v) s += (x.get<double>() - m) * (x.get<double>() - m);
    return s;
  };
  EXPECT_GT(variance(all["x"]), variance(all["y"]));
  const json some = report::projection_section(Y, labels, 4, 7);
  EXPECT_EQ(some["x"].size(), 4u);
  EXPECT_TRUE(some["note"].get<std::string>().ends_with(" A seeded sample of 4 of the 6 sources.")) << some["note"];
  EXPECT_EQ(some, report::projection_section(Y, labels, 4, 7));  // seeded: the same again
  const json two = report::projection_section(Y.leftCols(2), labels, 100, 7);
  EXPECT_EQ(two["x"][3], 4.0);
  EXPECT_EQ(two["y"][3], 1.0);
}

TEST(ReportDocument, KnnAndAgreementSections) {
  evaluate::Classification c;
  c.classes_ = {"a", "b"};
  c.confusion_ = {{3, 1}, {0, 4}};
  c.per_class_ = {{"a", 1.0, 0.75, 6.0 / 7.0, 4}, {"b", 0.8, 1.0, 8.0 / 9.0, 4}};
  c.accuracy_ = 7.0 / 8.0;
  c.evaluated_ = 8;
  const json k = report::knn_section(c);
  EXPECT_EQ(k["k"], 1);
  EXPECT_EQ(k["confusion"], json::parse("[[3,1],[0,4]]"));
  EXPECT_EQ(k["per_class"][1]["class"], "b");
  EXPECT_EQ(k["accuracy"], 7.0 / 8.0);
  EXPECT_EQ(k["evaluated"], 8);
  evaluate::Agreement ag;
  ag.ari = 0.5;
  ag.ami = 0.25;
  const json g = report::agreement_section(ag);
  EXPECT_EQ(g["ARI"], 0.5);
  EXPECT_EQ(g["AMI"], 0.25);
  EXPECT_TRUE(g.contains("homogeneity") && g.contains("completeness"));
}

TEST(ReportDocument, ChoiceSectionDrawsTheCurvesOverK) {
  pipeline::Summary s;
  EXPECT_TRUE(report::choice_section(s).is_null());  // k given: nothing to draw
  s.clusters = 3;
  s.choice.rule = "best silhouette over clusters of at least 5 rows, ...";
  for (int k = 2; k <= 4; ++k) {
    pipeline::Candidate c;
    c.k = k;
    c.silhouette = 0.1 * k;
    c.silhouette_large = k == 2 ? std::nullopt : std::optional<double>(0.1 * k + 0.01);
    c.stability = 1.0 - 0.1 * k;
    s.choice.candidates.push_back(c);
  }
  const json j = report::choice_section(s);
  EXPECT_EQ(j["k"], 3);
  EXPECT_EQ(j["series"]["x"], json::parse(R"(["2", "3", "4"])"));
  EXPECT_EQ(j["series"]["lines"]["silhouette over the large clusters"][0], nullptr);
  EXPECT_DOUBLE_EQ(j["series"]["lines"]["stability (ARI against refits on halves)"][1].get<double>(), 0.7);
  report::Document d;
  d.choice = j;
  const std::string html = report::render_html(report::to_json(d));
  EXPECT_NE(html.find("<h2>How k was chosen</h2>"), std::string::npos);
  EXPECT_NE(html.find("id=\"choice\""), std::string::npos);
  // select=silhouette: the silhouette alone.
  for (auto& c : s.choice.candidates) c.stability.reset(), c.silhouette_large.reset();
  EXPECT_EQ(report::choice_section(s)["series"]["lines"].size(), 1u);
}
