// Cluster lineage between two windows, worked by hand.
#include <gtest/gtest.h>

#include "darklens/evaluate/evaluate.hpp"

using namespace darklens;

TEST(Lineage, ContinuedSplitMergedNewVanished) {
  // Day 1: A0 = {a,b,c,d}, A1 = {e,f,g,h}, A2 = {i,j}, A3 = {k,l}, noise m.
  // Day 2: B0 = {a,b,c,d,x} (A0 continues), B1 = {e,f}, B2 = {g,h} (A1 splits),
  //        B3 = {i,j,k,l} (A2 and A3 merge), B4 = {y,z} (new); A? none vanish
  //        except A4 = {n,o} whose members are gone.
  std::vector<std::pair<std::string, int>> d1 = {{"a", 0}, {"b", 0}, {"c", 0},  {"d", 0}, {"e", 1},
                                                 {"f", 1}, {"g", 1}, {"h", 1},  {"i", 2}, {"j", 2},
                                                 {"k", 3}, {"l", 3}, {"m", -1}, {"n", 4}, {"o", 4}};
  std::vector<std::pair<std::string, int>> d2 = {{"a", 0}, {"b", 0}, {"c", 0}, {"d", 0}, {"x", 0}, {"e", 1},
                                                 {"f", 1}, {"g", 2}, {"h", 2}, {"i", 3}, {"j", 3}, {"k", 3},
                                                 {"l", 3}, {"y", 4}, {"z", 4}, {"m", 4}};
  const auto l = evaluate::lineage(d1, d2, 0.2);
  using E = std::vector<std::pair<int, std::string>>;
  EXPECT_EQ(l.from_events_, (E{{0, "continued"}, {1, "split"}, {2, "merged"}, {3, "merged"}, {4, "vanished"}}));
  EXPECT_EQ(l.to_events_, (E{{0, "continued"}, {1, "split"}, {2, "split"}, {3, "merged"}, {4, "new"}}));
  ASSERT_EQ(l.links_.size(), 5u);
  EXPECT_EQ(l.links_[0].from, 0);
  EXPECT_EQ(l.links_[0].shared, 4u);
  EXPECT_DOUBLE_EQ(l.links_[0].jaccard, 4.0 / 5);  // {a,b,c,d} vs {a,b,c,d,x}
  EXPECT_DOUBLE_EQ(l.links_[1].jaccard, 2.0 / 4);  // A1 vs B1
  // A higher link threshold cuts the weaker links: A1's halves (1/2) stay, at 0.6 they do not.
  const auto strict = evaluate::lineage(d1, d2, 0.6);
  EXPECT_EQ(strict.from_events_[1].second, "vanished");
  EXPECT_EQ(strict.to_events_[1].second, "new");
}
