// Ground-truth files: `ip,label` / `cidr,label`, several at once, labels
// normalised by a map. Bounded: lines longer than 4 KiB are refused.
#include "darklens/labels/ground_truth.hpp"

#include <algorithm>
#include <fstream>
#include <set>

#include "darklens/core/text.hpp"
#include "darklens/error.hpp"

namespace darklens::ground_truth {
namespace {

constexpr size_t kMaxLine = 4096;

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  size_t b = 0;
  while (b < s.size() && (s[b] == ' ' || s[b] == '\t')) ++b;
  return s.substr(b);
}

// Calls fn(line_number, first, second) for every two-field data line.
template <typename Fn>
void for_each_pair(const std::string& path, Fn&& fn) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path + ": cannot open");
  std::string line;
  std::vector<std::string> fields;
  size_t no = 0;
  while (std::getline(in, line)) {
    ++no;
    if (line.size() > kMaxLine) throw FormatError(path + ":" + std::to_string(no) + ": line longer than 4096 bytes");
    if (no == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // a UTF-8 byte order mark
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    if (!csv_fields(line, fields)) {
      throw FormatError(path + ":" + std::to_string(no) + ": a quoted field is not closed, or text follows its quote");
    }
    if (fields.size() != 2) {
      throw FormatError(path + ":" + std::to_string(no) + ": expected two fields 'address,label'");
    }
    const std::string& a = fields[0];
    const std::string& b = fields[1];
    const bool header = no == 1 && (a == "ip" || a == "cidr" || a == "from" || a == "address" || a == "src_ip");
    if (!header) fn(no, a, b);
  }
  if (in.bad()) throw IoError(path + ": read error");
}

}  // namespace

std::map<std::string, std::string> load_label_map(const std::string& path) {
  std::map<std::string, std::string> m;
  for_each_pair(path, [&](size_t no, const std::string& from, const std::string& to) {
    if (from.empty() || to.empty()) throw FormatError(path + ":" + std::to_string(no) + ": empty label");
    m[from] = to;
  });
  return m;
}

GroundTruth load(const std::vector<std::string>& paths, const std::map<std::string, std::string>& label_map) {
  struct Entry {
    Cidr cidr;
    std::string label, where;
  };
  std::vector<Entry> entries;
  for (const auto& path : paths) {
    for_each_pair(path, [&](size_t no, const std::string& addr, const std::string& raw) {
      const std::string where = path + ":" + std::to_string(no);
      auto cidr = Cidr::parse(addr);
      if (!cidr) throw FormatError(where + ": '" + addr + "' is not an IP address or prefix");
      if (raw.empty()) throw FormatError(where + ": empty label");
      auto it = label_map.find(raw);
      entries.push_back({*cidr, it == label_map.end() ? raw : it->second, where});
    });
  }
  GroundTruth gt;
  std::set<std::string> names;
  for (const auto& e : entries) names.insert(e.label);
  gt.labels_.assign(names.begin(), names.end());
  auto index = [&](const std::string& l) {
    return static_cast<uint32_t>(std::lower_bound(gt.labels_.begin(), gt.labels_.end(), l) - gt.labels_.begin());
  };
  // The same address or prefix twice: fine with one label, an error with two.
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    if (a.cidr.len_ != b.cidr.len_) return a.cidr.len_ > b.cidr.len_;
    return a.cidr.base_ < b.cidr.base_;
  });
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (i > 0 && entries[i - 1].cidr.len_ == e.cidr.len_ && entries[i - 1].cidr.base_ == e.cidr.base_) {
      if (entries[i - 1].label != e.label) {
        throw FormatError(e.where + ": " + e.cidr.to_string() + " is labelled '" + e.label + "' here and '" +
                          entries[i - 1].label + "' at " + entries[i - 1].where);
      }
      continue;
    }
    if (e.cidr.len_ == 128) {
      gt.hosts_.emplace_back(e.cidr.base_, index(e.label));
    } else {
      gt.ranges_.emplace_back(e.cidr, index(e.label));
    }
  }
  std::sort(gt.hosts_.begin(), gt.hosts_.end());
  return gt;
}

int GroundTruth::index_of(const IpAddr& a) const {
  auto it = std::lower_bound(hosts_.begin(), hosts_.end(), std::make_pair(a, uint32_t{0}));
  if (it != hosts_.end() && it->first == a) return static_cast<int>(it->second);
  for (const auto& [c, l] : ranges_) {
    if (c.contains(a)) return static_cast<int>(l);
  }
  return -1;
}

std::optional<std::string> GroundTruth::label_of(const IpAddr& a) const {
  const int i = index_of(a);
  if (i < 0) return std::nullopt;
  return labels_[static_cast<size_t>(i)];
}

std::vector<int> label_rows(const GroundTruth& gt, const std::vector<std::string>& row_keys, const std::string& path) {
  std::vector<int> truth(row_keys.size(), -1);
  for (size_t i = 0; i < truth.size(); ++i) {
    const std::string& key = row_keys[i];
    const auto ip = IpAddr::parse(key.substr(0, key.find(',')));
    if (!ip) {
      throw FormatError(path + ": row " + std::to_string(i + 1) + ": key '" + key +
                        "' does not start with a source address (a darklens feature table has)");
    }
    truth[i] = gt.index_of(*ip);
  }
  return truth;
}

void label_mirai(GroundTruth& gt, std::vector<int>& truth, std::span<const double> fp_mirai, double share) {
  auto it = std::find(gt.labels_.begin(), gt.labels_.end(), "mirai");
  if (it == gt.labels_.end()) it = gt.labels_.insert(gt.labels_.end(), "mirai");
  const int mirai = static_cast<int>(it - gt.labels_.begin());
  for (size_t i = 0; i < truth.size() && i < fp_mirai.size(); ++i) {
    if (truth[i] == -1 && fp_mirai[i] >= share) truth[i] = mirai;
  }
}

LeftOut drop_small_classes(std::vector<int>& truth, size_t class_count, size_t min_members) {
  LeftOut out;
  out.min_members = min_members;
  std::vector<size_t> members(class_count, 0);
  for (int t : truth) {
    if (t >= 0 && static_cast<size_t>(t) < class_count) ++members[static_cast<size_t>(t)];
  }
  for (size_t n : members) out.classes += n > 0 && n < min_members;
  for (int& t : truth) {
    if (t >= 0 && static_cast<size_t>(t) < class_count && members[static_cast<size_t>(t)] < min_members) {
      t = -1;
      ++out.rows;
    }
  }
  return out;
}

}  // namespace darklens::ground_truth
