// The report's HTML: every section drawn when its data is there, text
// escaped, unexplained clusters first, malformed sections named.
#include "darklens/report/report.hpp"

#include <gtest/gtest.h>

#include "darklens/error.hpp"
#include "support/error_of.hpp"

using namespace darklens;
using nlohmann::json;

namespace {

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

json profile(int cluster, double sources, bool explained) {
  json acts = json::array();
  if (explained) {
    acts.push_back(
        {{"id", "m"}, {"activity", "Mirai <telnet>"}, {"reference", "ref"}, {"evidence", {"port 23 = 1 (>= 0.5)"}}});
  }
  std::vector<double> hours(24, 0);
  hours[3] = 5;
  return {{"cluster", cluster},
          {"sources", sources},
          {"packets", sources * 3},
          {"protocols", {{{"key", "tcp"}, {"count", 3}, {"share", 1.0}}}},
          {"top_ports", {{{"key", "tcp/23"}, {"count", 3}, {"share", 1.0}}}},
          {"tcp_flags", json::array()},
          {"packets_per_source", {{"median", 3}, {"max", 4}}},
          {"fingerprints", {{"mirai", 0.5}, {"zmap", 0.0}, {"masscan", 0.0}}},
          {"ground_truth", json::array()},
          {"hourly_packets", hours},
          {"activities", acts}};
}

}  // namespace

TEST(Report, DrawsEverySection) {
  json doc = {{"title", "Day <1>"},
              {"numbers", json::array({json::array({"sources", 3}), json::array({"pipeline", "a|b"})})},
              {"profiles", {profile(0, 2, true), profile(1, 1, false), profile(-1, 1, false)}},
              {"projection", {{"x", {0.0, 1.0, 2.0, 3.0}}, {"y", {0.0, 1.0, 0.5, 2.0}}, {"cluster", {0, 0, 1, -1}}}},
              {"silhouette", {{{"cluster", 0}, {"value", 0.5}}, {{"cluster", 1}, {"value", -0.2}}}},
              {"knn",
               {{"classes", {"a", "b"}},
                {"confusion", {{2, 0}, {1, 1}}},
                {"accuracy", 0.75},
                {"per_class", {{{"class", "a"}, {"precision", 0.67}, {"recall", 1.0}, {"f1", 0.8}, {"support", 2}}}}}},
              {"series", {{"x", {"d1", "d2"}}, {"lines", {{"AMI", {1.0, 0.5}}}}}},
              {"som", {{"u_matrix", {{0.1, 1.0}, {0.5, 0.2}}}, {"hit_map", {{1, 0}, {2, 3}}}}}};
  const std::string html = report::render_html(doc);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(count(html, "<script"), 0u);  // self-contained, nothing to run or fetch
  EXPECT_EQ(count(html, "http://") + count(html, "https://"), 0u);
  EXPECT_NE(html.find("<title>Day &lt;1&gt;</title>"), std::string::npos);
  EXPECT_NE(html.find("Mirai &lt;telnet&gt;"), std::string::npos);
  // Cluster 1 is unexplained and named in the banner before the summary; noise is not.
  const size_t banner = html.find("1 unexplained cluster</b>");
  ASSERT_NE(banner, std::string::npos);
  EXPECT_LT(banner, html.find("<h2>Summary</h2>"));
  EXPECT_NE(html.find("cluster 1 — 1 sources"), std::string::npos);
  EXPECT_EQ(count(html, "<circle"), 4u + 2u);  // projection dots + series points
  EXPECT_EQ(count(html, "id=\"projection\""), 1u);
  EXPECT_EQ(count(html, "id=\"confusion\""), 1u);
  EXPECT_EQ(count(html, "id=\"series\""), 1u);
  EXPECT_EQ(count(html, "id=\"u_matrix\""), 1u);
  EXPECT_EQ(count(html, "id=\"hit_map\""), 1u);
  EXPECT_EQ(count(html, "<figure>"), 3u);  // one hourly chart per cluster
  EXPECT_NE(html.find("Silhouette per cluster"), std::string::npos);
  EXPECT_EQ(html.find("largest clusters"), std::string::npos);  // no "top" in the document
  doc["top"] = 1;
  const std::string top = report::render_html(doc);
  const size_t at = top.find("<h2>The 1 largest clusters</h2><ol>");
  ASSERT_NE(at, std::string::npos);
  EXPECT_NE(top.find("<b>cluster 0</b>: 2 sources", at), std::string::npos);
  EXPECT_EQ(top.find("<b>cluster 1</b>", at), std::string::npos);
  EXPECT_EQ(report::cluster_colour(-1), "#b0b0b0");
  EXPECT_EQ(report::cluster_colour(0), report::cluster_colour(20));
}

TEST(Report, AllExplainedAndErrors) {
  const std::string ok = report::render_html({{"profiles", {profile(0, 1, true)}}});
  EXPECT_NE(ok.find("Every cluster matched a known activity"), std::string::npos);
  EXPECT_EQ(test::error_of<FormatError>([] {
              report::render_html({{"projection", {{"x", {1.0}}, {"y", {1.0}}}}});
            }),
            "report: section 'projection' lacks 'cluster'");
  EXPECT_EQ(test::error_of<FormatError>([] {
              report::render_html({{"projection", {{"x", {1.0}}, {"y", {1.0, 2.0}}, {"cluster", {0}}}}});
            }),
            "report: section 'projection' has x, y and cluster of different lengths");
  EXPECT_EQ(test::error_of<FormatError>([] {
              report::render_html({{"numbers", {{1, 2, 3}}}});
            }),
            "report: 'numbers' rows must be [name, value]");
  json bad = profile(0, 1, true);
  bad["hourly_packets"] = {1, 2};
  EXPECT_EQ(test::error_of<FormatError>([&] {
              report::render_html({{"profiles", {bad}}});
            }),
            "report: a profile's hourly_packets is not 24 values");
}
