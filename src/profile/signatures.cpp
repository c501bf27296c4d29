// The signature catalog: a readable INI-like file of conditions over a
// profile, parsed with line numbers for its errors.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "darklens/error.hpp"
#include "darklens/profile/profile.hpp"

namespace darklens::profile {
namespace {

// Metrics that take a list argument, and those that take none.
const std::vector<std::string> kListMetrics = {"port",        "proto", "class", "flag",
                                               "fingerprint", "label", "asn",   "country"};
const std::vector<std::string> kPlainMetrics = {"sources",        "packets_per_source", "destinations",
                                                "distinct_ports", "source_blocks",      "blocks_per_source"};

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return std::string(s.substr(b, e - b));
}

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> w;
  std::istringstream in(s);
  for (std::string t; in >> t;) w.push_back(t);
  return w;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> v;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = s.find(',', start);
    const std::string item = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) v.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return v;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// The names the profile uses for protocols and TCP flag combinations.
const std::set<std::string>& names_of(bool flags) {
  static const auto build = [](bool f) {
    std::set<std::string> n;
    for (int v = 0; v < 256; ++v)
      n.insert(f ? tcp_flag::names(static_cast<uint8_t>(v)) : ip_proto::name(static_cast<uint8_t>(v)));
    return n;
  };
  static const std::set<std::string> protos = build(false), flag_names = build(true);
  return flags ? flag_names : protos;
}

bool is_port(std::string_view s) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size() && v <= 65535;
}

// An item of a list metric that can never match is a mistake in the
// catalog: refused with the line, not silently never matched.
void check_item(const std::string& metric, const std::string& a, const std::string& where) {
  if (metric == "fingerprint" && a != "mirai" && a != "zmap" && a != "masscan") {
    throw FormatError(where + ": unknown fingerprint '" + a + "' (mirai, zmap, masscan)");
  }
  if (metric == "port") {
    const size_t slash = a.find('/');
    const bool ok = slash == std::string::npos
                        ? is_port(a)
                        : names_of(false).count(a.substr(0, slash)) && is_port(std::string_view(a).substr(slash + 1));
    if (!ok) throw FormatError(where + ": '" + a + "' is not a port (23, tcp/23, udp/53: 0 to 65535)");
  }
  if (metric == "proto" && !names_of(false).count(a)) {
    throw FormatError(where + ": unknown protocol '" + a +
                      "' (tcp, udp, icmp, icmpv6, gre, ... as darklens stats names them)");
  }
  if (metric == "flag" && !names_of(true).count(a)) {
    throw FormatError(where + ": unknown TCP flags '" + a + "' (SYN, SYN+ACK, RST, RST+ACK, ACK, PSH+ACK, ...)");
  }
  if (metric == "class" && a != "scan" && a != "backscatter" && a != "other") {
    throw FormatError(where + ": unknown traffic class '" + a + "' (scan, backscatter, other)");
  }
  if (metric == "asn" && a != "*") {
    std::string_view n = a;
    if (n.size() > 2 && (n.substr(0, 2) == "AS" || n.substr(0, 2) == "as")) n.remove_prefix(2);
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), v);
    if (n.empty() || ec != std::errc() || p != n.data() + n.size() || v == 0 || v > UINT32_MAX) {
      throw FormatError(where + ": '" + a + "' is not an AS number (13335 or AS13335: 1 to 4294967295)");
    }
  }
  if (metric == "country" && a != "*" &&
      (a.size() != 2 || !std::isupper(static_cast<unsigned char>(a[0])) ||
       !std::isupper(static_cast<unsigned char>(a[1])))) {
    throw FormatError(where + ": '" + a + "' is not a country code (two capital letters, ISO 3166-1: US, CN)");
  }
}

// The AS number of a checked `asn` item.
uint32_t asn_of(std::string_view a) {
  if (a.substr(0, 2) == "AS" || a.substr(0, 2) == "as") a.remove_prefix(2);
  uint32_t v = 0;
  std::from_chars(a.data(), a.data() + a.size(), v);
  return v;
}

Condition parse_condition(const std::string& text, const std::string& where) {
  const auto w = split_words(text);
  Condition c;
  c.text = text;
  if (w.empty()) throw FormatError(where + ": empty condition");
  c.metric = w[0];
  const bool list = contains(kListMetrics, c.metric);
  if (!list && !contains(kPlainMetrics, c.metric)) {
    throw FormatError(where + ": unknown metric '" + c.metric + "' (known: " + join(kListMetrics) + ", " +
                      join(kPlainMetrics) + ")");
  }
  const size_t need = list ? 4 : 3;
  if (w.size() != need) {
    throw FormatError(where + ": '" + text + "' should read '" + c.metric + (list ? " ITEM,ITEM" : "") +
                      " OP VALUE' (OP one of >=, <=, >, <, =)");
  }
  if (list) {
    c.args = split_list(w[1]);
    if (c.args.empty()) throw FormatError(where + ": '" + text + "' names no " + c.metric);
    for (const auto& a : c.args) check_item(c.metric, a, where);
  }
  c.op = w[need - 2];
  if (c.op != ">=" && c.op != "<=" && c.op != ">" && c.op != "<" && c.op != "=") {
    throw FormatError(where + ": unknown comparison '" + c.op + "' (>=, <=, >, <, =)");
  }
  const std::string& num = w[need - 1];
  auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), c.value);
  if (ec != std::errc() || p != num.data() + num.size() || !std::isfinite(c.value)) {
    throw FormatError(where + ": '" + num + "' is not a number");
  }
  return c;
}

double share_of(const std::vector<Share>& v, const std::vector<std::string>& keys) {
  double s = 0;
  for (const auto& x : v) {
    if (contains(keys, x.key)) s += x.share;
  }
  return s;
}

double value_of(const Condition& c, const ClusterProfile& p) {
  const auto& m = c.metric;
  if (m == "port") return port_share(p, c.args);
  if (m == "proto") return share_of(p.protocols_, c.args);
  if (m == "class") return share_of(p.classes_, c.args);
  if (m == "flag") return share_of(p.tcp_flags_, c.args);
  if (m == "fingerprint") {
    double best = 0;
    for (const auto& a : c.args) best = std::max(best, a == "mirai" ? p.mirai_ : a == "zmap" ? p.zmap_ : p.masscan_);
    return best;
  }
  if (m == "label") {
    if (c.args.size() == 1 && c.args[0] == "*") {
      uint64_t n = 0;
      for (const auto& g : p.ground_truth_) n += g.count;
      return p.sources_ ? static_cast<double>(n) / static_cast<double>(p.sources_) : 0;
    }
    return share_of(p.ground_truth_, c.args);
  }
  if (m == "asn" || m == "country") {
    // Without the origin databases nothing is known: share 0.
    if (!p.origin_ || p.sources_ == 0) return 0;
    const auto& o = *p.origin_;
    const bool any = c.args.size() == 1 && c.args[0] == "*";
    uint64_t n = 0;
    if (m == "asn") {
      for (const auto& a : o.asns) {
        if (any || std::any_of(c.args.begin(), c.args.end(), [&](const std::string& x) { return asn_of(x) == a.asn; }))
          n += a.sources;
      }
    } else {
      for (const auto& x : o.countries) {
        if (any || contains(c.args, x.key)) n += x.count;
      }
    }
    return static_cast<double>(n) / static_cast<double>(p.sources_);
  }
  if (m == "sources") return static_cast<double>(p.sources_);
  if (m == "packets_per_source") return p.packets_per_source_[2];
  if (m == "destinations") return static_cast<double>(p.destinations_);
  if (m == "distinct_ports") return static_cast<double>(p.ports_.size());
  if (m == "source_blocks") return static_cast<double>(p.source_blocks_);
  return p.sources_ ? static_cast<double>(p.source_blocks_) / static_cast<double>(p.sources_) : 0;  // blocks_per_source
}

bool holds(double v, const std::string& op, double x) {
  if (op == ">=") return v >= x;
  if (op == "<=") return v <= x;
  if (op == ">") return v > x;
  if (op == "<") return v < x;
  return v == x;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

}  // namespace

Catalog Catalog::parse(std::string_view text, const std::string& name) {
  Catalog cat;
  size_t line_no = 0, pos = 0;
  Signature* cur = nullptr;
  size_t cur_line = 0;
  auto finish = [&]() {
    if (!cur) return;
    const std::string where = name + ":" + std::to_string(cur_line);
    if (cur->activity.empty()) throw FormatError(where + ": signature [" + cur->id + "] has no 'activity ='");
    if (cur->when.empty()) throw FormatError(where + ": signature [" + cur->id + "] has no 'when =' condition");
  };
  while (pos <= text.size()) {
    const size_t nl = text.find('\n', pos);
    const std::string line = trim(text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    const std::string where = name + ":" + std::to_string(line_no);
    if (line.empty() || line[0] == '#') continue;
    if (line.size() > 4096) throw FormatError(where + ": line longer than 4096 characters");
    if (line.front() == '[') {
      if (line.back() != ']' || line.size() < 3) throw FormatError(where + ": expected '[id]'");
      finish();
      cur_line = line_no;
      const std::string id = trim(std::string_view(line).substr(1, line.size() - 2));
      for (const auto& s : cat.signatures) {
        if (s.id == id) throw FormatError(where + ": signature [" + id + "] is defined twice");
      }
      cat.signatures.push_back({id, "", "", {}});
      cur = &cat.signatures.back();
      continue;
    }
    const size_t eq = line.find('=');
    if (eq == std::string::npos) throw FormatError(where + ": expected 'key = value' or '[id]'");
    if (!cur) throw FormatError(where + ": '" + line + "' comes before the first [id]");
    const std::string key = trim(std::string_view(line).substr(0, eq));
    const std::string value = trim(std::string_view(line).substr(eq + 1));
    if (key == "activity") {
      cur->activity = value;
    } else if (key == "reference") {
      cur->reference = value;
    } else if (key == "when") {
      cur->when.push_back(parse_condition(value, where));
    } else {
      throw FormatError(where + ": unknown key '" + key + "' (activity, reference, when)");
    }
  }
  finish();
  return cat;
}

Catalog Catalog::load(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw IoError(path + ": is a directory, not a signature catalog");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path + ": cannot open the signature catalog");
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) throw IoError(path + ": read error");
  if (s.str().size() > (16u << 20)) throw FormatError(path + ": larger than 16 MiB; not a signature catalog");
  return parse(s.str(), path);
}

std::vector<Match> match(const Catalog& catalog, const ClusterProfile& p) {
  std::vector<std::pair<size_t, Match>> found;
  for (const auto& sig : catalog.signatures) {
    Match m{sig.id, sig.activity, sig.reference, {}};
    bool all = true;
    for (const auto& c : sig.when) {
      const double v = value_of(c, p);
      if (!holds(v, c.op, c.value)) {
        all = false;
        break;
      }
      std::string args;
      for (const auto& a : c.args) args += (args.empty() ? "" : ",") + a;
      m.evidence.push_back(c.metric + (args.empty() ? "" : " " + args) + " = " + number(v) + " (" + c.op + " " +
                           number(c.value) + ")");
    }
    if (all) found.emplace_back(sig.when.size(), std::move(m));
  }
  std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<Match> out;
  out.reserve(found.size());
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

}  // namespace darklens::profile
