// Ground-truth files: hosts and ranges, several files, the label map, and
// every error naming file and line. Also the shared DarkVec ground truth.
#include "darklens/labels/ground_truth.hpp"

#include <gtest/gtest.h>

#include "darklens/error.hpp"
#include "support/error_of.hpp"
#include "support/temp_dir.hpp"

using namespace darklens;

TEST(GroundTruth, HostsRangesAndLabelMap) {
  test::TempDir dir;
  const auto a =
      dir.write("a.csv", std::string("ip,label\n192.0.2.1,censys.io\n192.0.2.1,censys.io\n2001:db8::5,shodan\n"));
  const auto b = dir.write("b.csv", std::string("cidr,label\n198.51.100.0/24,uni\n198.51.100.128/25,uni-lab\n"
                                                "# a comment\n192.0.2.0/24,other\n"));
  const auto map = dir.write("map.csv", std::string("from,to\ncensys.io,censys\n"));
  const auto gt = ground_truth::load({a, b}, ground_truth::load_label_map(map));
  EXPECT_EQ(gt.labels_, (std::vector<std::string>{"censys", "other", "shodan", "uni", "uni-lab"}));
  EXPECT_EQ(gt.label_of(*IpAddr::parse("192.0.2.1")), "censys");  // host beats range
  EXPECT_EQ(gt.label_of(*IpAddr::parse("192.0.2.2")), "other");
  EXPECT_EQ(gt.label_of(*IpAddr::parse("198.51.100.200")), "uni-lab");  // longest prefix
  EXPECT_EQ(gt.label_of(*IpAddr::parse("198.51.100.7")), "uni");
  EXPECT_EQ(gt.label_of(*IpAddr::parse("2001:db8::5")), "shodan");
  EXPECT_FALSE(gt.label_of(*IpAddr::parse("203.0.113.9")).has_value());
}

TEST(GroundTruth, ErrorsNameFileAndLine) {
  test::TempDir dir;
  auto msg = [](const std::vector<std::string>& files) {
    return test::error_of([&] { ground_truth::load(files, {}); });
  };
  const auto bad = dir.write("bad.csv", std::string("ip,label\n192.0.2.1,x\nnot-an-ip,y\n"));
  EXPECT_EQ(msg({bad}), bad + ":3: 'not-an-ip' is not an IP address or prefix");
  const auto three = dir.write("three.csv", std::string("192.0.2.1,x,z\n"));
  EXPECT_EQ(msg({three}), three + ":1: expected two fields 'address,label'");
  const auto empty = dir.write("empty.csv", std::string("192.0.2.1,\n"));
  EXPECT_EQ(msg({empty}), empty + ":1: empty label");
  const auto other = dir.write("other.csv", std::string("192.0.2.1,y\n"));
  const auto m = msg({dir.write("one.csv", std::string("192.0.2.1,x\n")), other});
  EXPECT_NE(m.find("192.0.2.1/32 is labelled 'y' here and 'x' at"), std::string::npos) << m;
  EXPECT_EQ(msg({dir.file("missing.csv")}), dir.file("missing.csv") + ": cannot open");
  const auto open_quote = dir.write("quote.csv", std::string("192.0.2.1,\"x\n"));
  EXPECT_EQ(msg({open_quote}), open_quote + ":1: a quoted field is not closed, or text follows its quote");
}

TEST(GroundTruth, ByteOrderMarkAndRfc4180Quoting) {
  // As spreadsheets save CSV: a UTF-8 BOM, a quoted header, quoted labels
  // with a comma and a doubled quote inside, CRLF line ends.
  test::TempDir dir;
  const auto f = dir.write("excel.csv", std::string("\xEF\xBB\xBF\"ip\",\"label\"\r\n"
                                                    "192.0.2.1,\"Censys, Inc.\"\r\n"
                                                    "\"192.0.2.2\",\"say \"\"hi\"\"\"\r\n"
                                                    "192.0.2.3, plain \r\n"));
  const auto gt = ground_truth::load({f}, {});
  ASSERT_EQ(gt.labels_.size(), 3u);
  EXPECT_EQ(gt.labels_[static_cast<size_t>(gt.index_of(*IpAddr::parse("192.0.2.1")))], "Censys, Inc.");
  EXPECT_EQ(gt.labels_[static_cast<size_t>(gt.index_of(*IpAddr::parse("192.0.2.2")))], "say \"hi\"");
  EXPECT_EQ(gt.labels_[static_cast<size_t>(gt.index_of(*IpAddr::parse("192.0.2.3")))], "plain");
}

TEST(GroundTruth, SharedDarkVecFile) {
  const auto gt = ground_truth::load({std::string(DARKLENS_TEST_DATA) + "/darkvec_ground_truth.csv"}, {});
  EXPECT_EQ(gt.hosts_.size(), 9125u);  // 10,164 rows, 9,125 distinct addresses (repeats carry the same label)
  EXPECT_EQ(gt.label_of(*IpAddr::parse("71.6.232.5")), "quadmetrics");
  EXPECT_NE(std::find(gt.labels_.begin(), gt.labels_.end(), "censys"), gt.labels_.end());
}

TEST(GroundTruth, RowsOfATableAndTheMiraiRule) {
  test::TempDir dir;
  auto gt =
      ground_truth::load({dir.write("gt.csv", std::string("ip,label\n192.0.2.1,censys\n198.51.100.0/24,uni\n"))}, {});
  const std::vector<std::string> keys = {"192.0.2.1,2021-05-01T00:00:00Z", "198.51.100.9,2021-05-01T00:00:00Z",
                                         "203.0.113.5,2021-05-01T00:00:00Z", "203.0.113.6"};
  auto truth = ground_truth::label_rows(gt, keys, "t.csv");
  EXPECT_EQ(truth, (std::vector<int>{0, 1, -1, -1}));
  // DarkVec's rule: unlabelled rows at or above the share become "mirai";
  // labelled rows keep their class.
  const std::vector<double> fp_mirai = {1.0, 1.0, 0.5, 0.49};
  ground_truth::label_mirai(gt, truth, fp_mirai, 0.5);
  EXPECT_EQ(gt.labels_, (std::vector<std::string>{"censys", "uni", "mirai"}));
  EXPECT_EQ(truth, (std::vector<int>{0, 1, 2, -1}));
  ground_truth::label_mirai(gt, truth, fp_mirai, 0.4);  // "mirai" is not added twice
  EXPECT_EQ(gt.labels_.size(), 3u);
  EXPECT_EQ(truth, (std::vector<int>{0, 1, 2, 2}));
  EXPECT_EQ(test::error_of<FormatError>([&] { ground_truth::label_rows(gt, {"row7,x"}, "t.csv"); }),
            "t.csv: row 1: key 'row7,x' does not start with a source address (a darklens feature table has)");
}

TEST(GroundTruth, MinClassLeavesSmallClassesOutOfTheScores) {
  // Class 0 has 3 rows, class 1 has 1, class 2 has 2, class 3 none.
  std::vector<int> truth = {0, 1, -1, 0, 2, 0, 2};
  auto left = ground_truth::drop_small_classes(truth, 4, 2);
  EXPECT_EQ(truth, (std::vector<int>{0, -1, -1, 0, 2, 0, 2}));
  EXPECT_EQ(left.classes, 1u);
  EXPECT_EQ(left.rows, 1u);
  left = ground_truth::drop_small_classes(truth, 4, 3);
  EXPECT_EQ(truth, (std::vector<int>{0, -1, -1, 0, -1, 0, -1}));
  EXPECT_EQ(left.classes, 1u);  // class 2; class 1 has no rows any more
  EXPECT_EQ(left.rows, 2u);
  EXPECT_EQ(left.min_members, 3u);
  left = ground_truth::drop_small_classes(truth, 4, 1);  // the default leaves everything
  EXPECT_EQ(left.classes + left.rows, 0u);
}
