// Ground truth: which sources are known to belong together (a scanner
// organisation, a botnet), from CSV files `ip,label` or `cidr,label`
// (header optional; a bare address is a host prefix). A host entry wins
// over a range; among ranges the longest prefix wins. A label map (CSV
// `from,to`) normalises names, e.g. censys.io -> censys.
//
//   auto gt = darklens::ground_truth::load({"gt.csv"}, {});
//   std::optional<std::string> l = gt.label_of(ip);
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "darklens/types.hpp"

namespace darklens::ground_truth {

struct GroundTruth {
  std::vector<std::pair<IpAddr, uint32_t>> hosts_;  // sorted by address
  std::vector<std::pair<Cidr, uint32_t>> ranges_;   // longest prefix first
  std::vector<std::string> labels_;                 // label names (sorted as loaded)
  std::optional<std::string> label_of(const IpAddr& a) const;
  /// Label index (into labels_) or -1.
  int index_of(const IpAddr& a) const;
};

/// Reads `from,to` pairs. Throws IoError / FormatError naming file and line.
std::map<std::string, std::string> load_label_map(const std::string& path);

/// Reads one or more files. Throws IoError / FormatError naming the file
/// and line (a field that is not an address or prefix, an empty label, the
/// same address or prefix with two labels).
GroundTruth load(const std::vector<std::string>& paths, const std::map<std::string, std::string>& label_map);

/// Ground-truth class (index into gt.labels_, or -1 when none) of each row
/// of a table keyed "source,..." (the source address first, as darklens
/// feature tables are). Throws FormatError naming `path` and the row when a
/// key does not start with an address.
std::vector<int> label_rows(const GroundTruth& gt, const std::vector<std::string>& row_keys, const std::string& path);

/// DarkVec's rule: the unlabelled rows (-1) whose share of SYNs with the
/// Mirai fingerprint (fp_mirai[i]) is at least `share` become class
/// "mirai", added to gt.labels_ when missing.
void label_mirai(GroundTruth& gt, std::vector<int>& truth, std::span<const double> fp_mirai, double share);

/// `--min-class N`: classes with fewer than `min_members` rows in `truth`
/// are left out of the scores, their rows counted as unlabelled (-1, so
/// they are not evaluated, and as neighbours they vote "unknown").
struct LeftOut {
  size_t min_members = 1;
  size_t classes = 0;  // classes left out (those with 1 .. min_members-1 rows)
  size_t rows = 0;     // their rows, now unlabelled
};
LeftOut drop_small_classes(std::vector<int>& truth, size_t class_count, size_t min_members);

}  // namespace darklens::ground_truth
