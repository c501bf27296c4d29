// The HTML report, drawn as inline SVG from one JSON document.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "darklens/core/text.hpp"
#include "darklens/error.hpp"
#include "darklens/report/report.hpp"

namespace darklens::report {
namespace {

using nlohmann::json;

std::string esc(const std::string& text) {
  const std::string s = escape_invalid_utf8(text);  // valid UTF-8 out, whatever came in
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      case '\'':
        o += "&#39;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::string fmt(double v, int digits = 3) {
  if (!std::isfinite(v)) return "–";
  char buf[48];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  }
  return buf;
}

std::string pct(double share) { return fmt(100.0 * share, 3) + "%"; }

std::string text_of(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number()) return fmt(v.get<double>(), 4);
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_null()) return "–";
  return dump_json(v);
}

const json& need(const json& j, const char* key, const char* section) {
  if (!j.is_object() || !j.contains(key)) {
    throw FormatError(std::string("report: section '") + section + "' lacks '" + key + "'");
  }
  return j.at(key);
}

std::string cluster_name(int c) { return c < 0 ? "noise" : "cluster " + std::to_string(c); }

// A profile's display name: its "name" when the document gives one
// (classify: "pattern 3"), else "cluster N".
std::string profile_name(const json& p) {
  return p.contains("name") ? p["name"].get<std::string>() : cluster_name(p.at("cluster").get<int>());
}

// A horizontal bar chart: label, value, colour; the axis includes 0.
std::string bars(const std::vector<std::tuple<std::string, double, std::string>>& rows, const std::string& unit) {
  const int w = 660, row_h = 18, left = 130, right = 110;
  const int h = static_cast<int>(rows.size()) * row_h + 10;
  double hi = 0;
  for (const auto& r : rows) hi = std::max(hi, std::get<1>(r));
  double min_v = 0;
  for (const auto& r : rows) min_v = std::min(min_v, std::get<1>(r));
  const double span = hi - min_v > 0 ? hi - min_v : 1;
  const double zero_x = left + (0 - min_v) / span * (w - left - right);
  std::ostringstream s;
  s << "<svg class=\"chart\" width=\"" << w << "\" height=\"" << h << "\" viewBox=\"0 0 " << w << " " << h
    << "\" role=\"img\">";
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& [label, v, colour] = rows[i];
    const double y = 5 + static_cast<double>(i) * row_h;
    const double x1 = left + (v - min_v) / span * (w - left - right);
    const double x = std::min(zero_x, x1), bw = std::max(1.0, std::fabs(x1 - zero_x));
    s << "<text x=\"" << left - 6 << "\" y=\"" << y + 13 << "\" text-anchor=\"end\">" << esc(label) << "</text>";
    s << "<rect x=\"" << x << "\" y=\"" << y + 2 << "\" width=\"" << bw << "\" height=\"" << row_h - 4 << "\" fill=\""
      << colour << "\"><title>" << esc(label) << ": " << fmt(v, 4) << unit << "</title></rect>";
    s << "<text x=\"" << std::max(x1, zero_x) + 4 << "\" y=\"" << y + 13 << "\">" << fmt(v, 3) << unit << "</text>";
  }
  s << "</svg>";
  return s.str();
}

std::string scatter(const json& pj) {
  const auto& xs = need(pj, "x", "projection");
  const auto& ys = need(pj, "y", "projection");
  const auto& cs = need(pj, "cluster", "projection");
  if (xs.size() != ys.size() || xs.size() != cs.size()) {
    throw FormatError("report: section 'projection' has x, y and cluster of different lengths");
  }
  const int w = 640, h = 440, pad = 30;
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (size_t i = 0; i < xs.size(); ++i) {
    x0 = std::min(x0, xs[i].get<double>()), x1 = std::max(x1, xs[i].get<double>());
    y0 = std::min(y0, ys[i].get<double>()), y1 = std::max(y1, ys[i].get<double>());
  }
  const double sx = x1 > x0 ? (w - 2 * pad) / (x1 - x0) : 1, sy = y1 > y0 ? (h - 2 * pad) / (y1 - y0) : 1;
  std::ostringstream s;
  s << "<svg class=\"chart\" id=\"projection\" width=\"" << w << "\" height=\"" << h << "\" viewBox=\"0 0 " << w << " "
    << h << "\" role=\"img\"><rect x=\"0\" y=\"0\" width=\"" << w << "\" height=\"" << h
    << "\" fill=\"#fafafa\" stroke=\"#ddd\"/>";
  // Noise first, so clusters are drawn over it.
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t i = 0; i < xs.size(); ++i) {
      const int c = cs[i].get<int>();
      if ((c < 0) != (pass == 0)) continue;
      const double px = x1 > x0 ? pad + (xs[i].get<double>() - x0) * sx : w / 2.0;
      const double py = y1 > y0 ? h - pad - (ys[i].get<double>() - y0) * sy : h / 2.0;
      s << "<circle cx=\"" << fmt(px, 5) << "\" cy=\"" << fmt(py, 5) << "\" r=\"2.2\" fill=\"" << cluster_colour(c)
        << "\" fill-opacity=\"0.7\"/>";
    }
  }
  s << "</svg>";
  return s.str();
}

// Small multiples: one 24-bar histogram per cluster.
std::string hourly(const json& profiles, size_t limit) {
  std::ostringstream s;
  s << "<div class=\"multiples\">";
  for (size_t k = 0; k < profiles.size() && k < limit; ++k) {
    const auto& p = profiles[k];
    const auto hours = need(p, "hourly_packets", "profiles").get<std::vector<double>>();
    if (hours.size() != 24) throw FormatError("report: a profile's hourly_packets is not 24 values");
    const double hi = std::max(1.0, *std::max_element(hours.begin(), hours.end()));
    const int c = p.at("cluster").get<int>();
    const int w = 200, h = 80;
    s << "<figure><svg class=\"chart\" width=\"" << w << "\" height=\"" << h + 14 << "\" viewBox=\"0 0 " << w << " "
      << h + 14 << "\" role=\"img\">";
    for (int i = 0; i < 24; ++i) {
      const double bh = hours[static_cast<size_t>(i)] / hi * (h - 4);
      s << "<rect x=\"" << 4 + i * 8 << "\" y=\"" << fmt(h - bh, 5) << "\" width=\"7\" height=\"" << fmt(bh, 5)
        << "\" fill=\"" << cluster_colour(c) << "\"><title>" << i << ":00 UTC: " << fmt(hours[static_cast<size_t>(i)])
        << " packets</title></rect>";
    }
    s << "<text x=\"4\" y=\"" << h + 12 << "\" class=\"small\">0h</text><text x=\"" << w - 4 << "\" y=\"" << h + 12
      << "\" text-anchor=\"end\" class=\"small\">23h</text></svg><figcaption>" << esc(profile_name(p)) << " ("
      << fmt(p.at("sources").get<double>()) << " sources)</figcaption></figure>";
  }
  s << "</div>";
  return s.str();
}

// A matrix as coloured cells (row labels, column labels, values).
std::string heatmap(const std::vector<std::string>& rows, const std::vector<std::string>& cols,
                    const std::vector<std::vector<double>>& v, const std::string& id) {
  const int cell = std::clamp(480 / std::max<int>(1, static_cast<int>(cols.size())), 10, 36);
  const int left = rows.empty() ? 4 : 120, top = cols.empty() ? 4 : 90;
  const int w = left + cell * static_cast<int>(cols.empty() ? (v.empty() ? 0 : v[0].size()) : cols.size()) + 10;
  const int h = top + cell * static_cast<int>(v.size()) + 10;
  double hi = 0;
  for (const auto& r : v) {
    for (double x : r) hi = std::max(hi, x);
  }
  std::ostringstream s;
  s << "<svg class=\"chart\" id=\"" << id << "\" width=\"" << w << "\" height=\"" << h << "\" viewBox=\"0 0 " << w
    << " " << h << "\" role=\"img\">";
  for (size_t j = 0; j < cols.size(); ++j) {
    const int x = left + static_cast<int>(j) * cell + cell / 2;
    s << "<text transform=\"translate(" << x << "," << top - 4 << ") rotate(-60)\" class=\"small\">" << esc(cols[j])
      << "</text>";
  }
  for (size_t i = 0; i < v.size(); ++i) {
    const int y = top + static_cast<int>(i) * cell;
    if (i < rows.size()) {
      s << "<text x=\"" << left - 4 << "\" y=\"" << y + cell * 0.7 << "\" text-anchor=\"end\" class=\"small\">"
        << esc(rows[i]) << "</text>";
    }
    for (size_t j = 0; j < v[i].size(); ++j) {
      const double t = hi > 0 ? v[i][j] / hi : 0;
      const int shade = static_cast<int>(std::lround(255 - 200 * t));
      char colour[16];
      std::snprintf(colour, sizeof colour, "#%02x%02x%02x", shade, shade, 255);
      s << "<rect x=\"" << left + static_cast<int>(j) * cell << "\" y=\"" << y << "\" width=\"" << cell - 1
        << "\" height=\"" << cell - 1 << "\" fill=\"" << colour << "\"><title>" << fmt(v[i][j], 4) << "</title></rect>";
    }
  }
  s << "</svg>";
  return s.str();
}

std::string lines(const json& series, const std::string& id) {
  const auto xs = need(series, "x", "series").get<std::vector<std::string>>();
  const auto& ls = need(series, "lines", "series");
  const int w = 640, h = 220, left = 40, bottom = 30, top = 10;
  std::ostringstream s;
  s << "<svg class=\"chart\" id=\"" << id << "\" width=\"" << w << "\" height=\"" << h << "\" viewBox=\"0 0 " << w
    << " " << h << "\" role=\"img\"><line x1=\"" << left << "\" y1=\"" << h - bottom << "\" x2=\"" << w - 10
    << "\" y2=\"" << h - bottom << "\" stroke=\"#999\"/>";
  const double step = xs.size() > 1 ? static_cast<double>(w - left - 20) / static_cast<double>(xs.size() - 1) : 0;
  auto px = [&](size_t i) { return left + step * static_cast<double>(i) + (xs.size() > 1 ? 0 : (w - left) / 2.0); };
  auto py = [&](double v) { return top + (1 - std::clamp(v, 0.0, 1.0)) * (h - top - bottom); };
  for (size_t i = 0; i < xs.size(); ++i) {
    s << "<text x=\"" << px(i) << "\" y=\"" << h - 12 << "\" text-anchor=\"middle\" class=\"small\">" << esc(xs[i])
      << "</text>";
  }
  s << "<text x=\"4\" y=\"" << py(1) + 4 << "\" class=\"small\">1</text><text x=\"4\" y=\"" << py(0)
    << "\" class=\"small\">0</text>";
  int k = 0;
  std::ostringstream legend;
  for (const auto& [name, vals] : ls.items()) {
    const std::string colour = cluster_colour(k++);
    std::string pts;
    for (size_t i = 0; i < vals.size() && i < xs.size(); ++i) {
      if (vals[i].is_null()) continue;
      pts += fmt(px(i), 5) + "," + fmt(py(vals[i].get<double>()), 5) + " ";
      s << "<circle cx=\"" << fmt(px(i), 5) << "\" cy=\"" << fmt(py(vals[i].get<double>()), 5) << "\" r=\"3\" fill=\""
        << colour << "\"><title>" << esc(name) << " " << esc(xs[i]) << ": " << fmt(vals[i].get<double>(), 4)
        << "</title></circle>";
    }
    s << "<polyline points=\"" << pts << "\" fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"2\"/>";
    legend << "<span class=\"key\" style=\"background:" << colour << "\"></span>" << esc(name) << " ";
  }
  s << "</svg><p>" << legend.str() << "</p>";
  return s.str();
}

std::string shares_text(const json& a, size_t limit) {
  std::string s;
  for (size_t i = 0; i < a.size() && i < limit; ++i) {
    s += (s.empty() ? "" : ", ") + a[i].at("key").get<std::string>() + " " + pct(a[i].at("share").get<double>());
  }
  return s.empty() ? "–" : s;
}

constexpr const char* kStyle = R"css(
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:24px;margin-bottom:0}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
.sub{color:#666;margin-top:4px}table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f3f3f3}
td.n{text-align:right}.chart text{font-size:11px;fill:#333}.small{font-size:10px}
.multiples{display:flex;flex-wrap:wrap;gap:8px}figure{margin:0}figcaption{font-size:12px;color:#444}
.alert{background:#fff4e5;border:1px solid #f0b35a;padding:8px 12px;border-radius:4px}
.ok{background:#eef7ee;border:1px solid #9c9;padding:8px 12px;border-radius:4px}
.key{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}
.tag{display:inline-block;background:#eef;border-radius:3px;padding:0 4px;margin:1px}
.unexplained{color:#b45309;font-weight:600}
)css";

}  // namespace

std::string cluster_colour(int c) {
  static const char* const kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                                         "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173",
                                         "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363", "#9c9ede"};
  if (c < 0) return "#b0b0b0";
  return kPalette[static_cast<size_t>(c) % std::size(kPalette)];
}

std::string render_html(const json& doc) {
  std::ostringstream o;
  const std::string title = doc.value("title", "darklens report");
  o << "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" << esc(title) << "</title><style>"
    << kStyle << "</style></head><body><h1>" << esc(title) << "</h1>";
  if (doc.contains("subtitle")) o << "<p class=\"sub\">" << esc(doc["subtitle"].get<std::string>()) << "</p>";

  const json profiles = doc.value("profiles", json::array());
  // What a reader should look at first: clusters no signature explains.
  std::vector<const json*> unexplained;
  for (const auto& p : profiles) {
    if (need(p, "activities", "profiles").empty() && p.at("cluster").get<int>() >= 0) unexplained.push_back(&p);
  }
  if (!profiles.empty()) {
    if (unexplained.empty()) {
      o << "<p class=\"ok\">Every cluster matched a known activity in the signature catalog.</p>";
    } else {
      o << "<div class=\"alert\"><b>" << unexplained.size() << " unexplained cluster"
        << (unexplained.size() == 1 ? "" : "s") << "</b> (no signature matched; look at these first): ";
      for (size_t i = 0; i < unexplained.size(); ++i) {
        const auto& p = *unexplained[i];
        o << (i ? "; " : "") << esc(profile_name(p)) << " — " << fmt(p.at("sources").get<double>())
          << " sources, ports " << esc(shares_text(p.at("top_ports"), 3));
      }
      o << "</div>";
    }
  }

  if (doc.contains("numbers")) {
    o << "<h2>Summary</h2><table>";
    for (const auto& row : doc["numbers"]) {
      if (!row.is_array() || row.size() != 2) throw FormatError("report: 'numbers' rows must be [name, value]");
      o << "<tr><th>" << esc(text_of(row[0])) << "</th><td" << (row[1].is_number() ? " class=\"n\"" : "") << ">"
        << esc(text_of(row[1])) << "</td></tr>";
    }
    o << "</table>";
  }

  if (doc.contains("top") && !profiles.empty()) {
    const size_t n = doc["top"].get<size_t>();
    o << "<h2>The " << n << " largest clusters</h2><ol>";
    size_t shown = 0;
    for (const auto& p : profiles) {
      if (p.at("cluster").get<int>() < 0 || shown++ >= n) continue;
      const auto& acts = p.at("activities");
      o << "<li><span class=\"key\" style=\"background:" << cluster_colour(p.at("cluster").get<int>())
        << "\"></span><b>" << esc(profile_name(p)) << "</b>: " << fmt(p.at("sources").get<double>()) << " sources, "
        << fmt(p.at("packets").get<double>()) << " packets; ports " << esc(shares_text(p.at("top_ports"), 3)) << "; "
        << (acts.empty() ? std::string("<span class=\"unexplained\">unexplained</span>")
                         : "<b>" + esc(acts[0].at("activity").get<std::string>()) + "</b>")
        << "</li>";
    }
    o << "</ol>";
  }

  if (doc.contains("patterns")) {
    o << "<h2>Known patterns in this window</h2><table><tr><th>pattern</th><th>name</th><th>status</th>"
         "<th>sources now</th><th>sources when found</th><th>activity</th></tr>";
    for (const auto& p : doc["patterns"]) {
      o << "<tr><td>" << p.at("id").get<int64_t>() << "</td><td>" << esc(p.value("name", "")) << "</td><td>"
        << esc(p.at("status").get<std::string>()) << "</td><td class=\"n\">" << fmt(p.value("sources", 0.0))
        << "</td><td class=\"n\">" << fmt(p.value("sources_then", 0.0)) << "</td><td>" << esc(p.value("activity", ""))
        << "</td></tr>";
    }
    o << "</table>";
  }

  if (doc.contains("projection")) {
    o << "<h2>Sources in the embedded space</h2><p>Each dot is a source, coloured by cluster (grey: noise). "
      << esc(doc["projection"].value("note", "")) << "</p>" << scatter(doc["projection"]);
    o << "<p>";
    for (const auto& p : profiles) {
      const int c = p.at("cluster").get<int>();
      o << "<span class=\"key\" style=\"background:" << cluster_colour(c) << "\"></span>" << esc(profile_name(p));
    }
    o << "</p>";
  }

  if (!profiles.empty()) {
    std::vector<std::tuple<std::string, double, std::string>> sizes;
    for (const auto& p : profiles) {
      const int c = p.at("cluster").get<int>();
      sizes.emplace_back(profile_name(p), p.at("sources").get<double>(), cluster_colour(c));
    }
    o << "<h2>Cluster sizes</h2>" << bars(sizes, " sources");
    o << "<h2>Hourly traffic per cluster (UTC)</h2>" << hourly(profiles, 16);
    // Origin AS and country, when the run was given the databases.
    const bool origins =
        std::any_of(profiles.begin(), profiles.end(), [](const json& p) { return p.contains("origin"); });
    const bool heaviest =
        std::any_of(profiles.begin(), profiles.end(), [](const json& p) { return p.contains("heaviest_sources"); });
    o << "<h2>Cluster profiles</h2><table><tr><th>cluster</th><th>sources</th><th>packets</th><th>protocols</th>"
         "<th>top destination ports</th><th>TCP flags</th><th>packets/source (median, max)</th>"
         "<th>fingerprints</th><th>ground truth</th>"
      << (origins ? "<th>origin AS, country (share of sources)</th>" : "")
      << (heaviest ? "<th>heaviest sources (packets, reverse DNS)</th>" : "") << "<th>matched activity</th></tr>";
    for (const auto& p : profiles) {
      const int c = p.at("cluster").get<int>();
      const auto& fp = p.at("fingerprints");
      std::string fps;
      for (const char* k : {"mirai", "zmap", "masscan"}) {
        if (fp.at(k).get<double>() > 0)
          fps += std::string(fps.empty() ? "" : ", ") + k + " " + pct(fp.at(k).get<double>());
      }
      o << "<tr><td><span class=\"key\" style=\"background:" << cluster_colour(c) << "\"></span>"
        << esc(profile_name(p)) << "</td><td class=\"n\">" << fmt(p.at("sources").get<double>())
        << "</td><td class=\"n\">" << fmt(p.at("packets").get<double>()) << "</td><td>"
        << esc(shares_text(p.at("protocols"), 3)) << "</td><td>" << esc(shares_text(p.at("top_ports"), 5))
        << "</td><td>" << esc(shares_text(p.at("tcp_flags"), 3)) << "</td><td class=\"n\">"
        << fmt(p.at("packets_per_source").at("median").get<double>()) << ", "
        << fmt(p.at("packets_per_source").at("max").get<double>()) << "</td><td>" << (fps.empty() ? "–" : esc(fps))
        << "</td><td>" << esc(shares_text(p.at("ground_truth"), 3)) << "</td><td>";
      if (origins) {
        std::string as, cc = "–";
        if (const auto og = p.find("origin"); og != p.end()) {
          for (size_t i = 0; i < og->at("asns").size() && i < 3; ++i) {
            const auto& x = og->at("asns")[i];
            const std::string org = x.at("org").get<std::string>();
            as += (as.empty() ? "AS" : ", AS") + std::to_string(x.at("asn").get<uint32_t>()) +
                  (org.empty() ? "" : " " + org) + " " + pct(x.at("share").get<double>());
          }
          cc = shares_text(og->at("countries"), 3);
        }
        o << esc(as.empty() ? "–" : as) << "<br><span class=\"small\">" << esc(cc) << "</span></td><td>";
      }
      if (heaviest) {
        std::string lines;
        if (const auto h = p.find("heaviest_sources"); h != p.end()) {
          for (size_t i = 0; i < h->size() && i < 5; ++i) {
            const auto& x = (*h)[i];
            lines +=
                (lines.empty() ? "" : "<br>") + esc(x.at("source").get<std::string>()) + " (" +
                fmt(x.at("packets").get<double>()) + ")" +
                (x.at("ptr").is_string() ? " <span class=\"small\">" + esc(x.at("ptr").get<std::string>()) + "</span>"
                                         : "");
          }
        }
        o << (lines.empty() ? "–" : lines) << "</td><td>";
      }
      const auto& acts = p.at("activities");
      if (acts.empty()) o << "<span class=\"unexplained\">unexplained</span>";
      for (const auto& a : acts) {
        std::string ev;
        for (const auto& e : a.at("evidence")) ev += e.get<std::string>() + "; ";
        o << "<div><b>" << esc(a.at("activity").get<std::string>()) << "</b><br><span class=\"small\">" << esc(ev)
          << "ref: " << esc(a.at("reference").get<std::string>()) << "</span></div>";
      }
      o << "</td></tr>";
    }
    o << "</table>";
  }

  if (doc.contains("silhouette")) {
    std::vector<std::tuple<std::string, double, std::string>> rows;
    for (const auto& s : doc["silhouette"]) {
      const int c = need(s, "cluster", "silhouette").get<int>();
      rows.emplace_back(cluster_name(c), need(s, "value", "silhouette").get<double>(), cluster_colour(c));
    }
    o << "<h2>Silhouette per cluster</h2><p>Mean silhouette of each cluster's sources (−1..1; higher = tighter and "
         "better separated). "
      << esc(doc.value("silhouette_note", "")) << "</p>" << bars(rows, "");
  }

  if (doc.contains("knn")) {
    const auto& k = doc["knn"];
    const auto classes = need(k, "classes", "knn").get<std::vector<std::string>>();
    const auto confusion = need(k, "confusion", "knn").get<std::vector<std::vector<double>>>();
    o << "<h2>Ground truth: are known groups neighbours?</h2><p>Leave-one-out " << k.value("k", 1)
      << "-nearest-neighbour classification of the labelled sources: accuracy <b>"
      << fmt(need(k, "accuracy", "knn").get<double>(), 4) << "</b>, macro F1 " << fmt(k.value("macro_f1", 0.0), 4)
      << " over " << fmt(k.value("evaluated", 0.0)) << " sources. Rows: true class; columns: predicted.</p>"
      << heatmap(classes, classes, confusion, "confusion");
    o << "<table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>";
    for (const auto& c : k.value("per_class", json::array())) {
      o << "<tr><td>" << esc(c.at("class").get<std::string>()) << "</td><td class=\"n\">"
        << fmt(c.at("precision").get<double>(), 3) << "</td><td class=\"n\">" << fmt(c.at("recall").get<double>(), 3)
        << "</td><td class=\"n\">" << fmt(c.at("f1").get<double>(), 3) << "</td><td class=\"n\">"
        << fmt(c.at("support").get<double>()) << "</td></tr>";
    }
    o << "</table>";
    if (doc.contains("agreement")) {
      o << "<p>Clusters against ground truth (labelled sources): ";
      for (const auto& [name, v] : doc["agreement"].items()) o << esc(name) << " " << fmt(v.get<double>(), 4) << " ";
      o << "</p>";
    }
  }

  if (doc.contains("series")) {
    o << "<h2>Over time</h2>" << lines(doc["series"], "series");
  }

  if (doc.contains("choice")) {
    const auto& c = doc["choice"];
    o << "<h2>How k was chosen</h2><p>" << esc(need(c, "rule", "choice").get<std::string>()) << ": k = <b>"
      << need(c, "k", "choice").get<int>() << "</b>."
      << (c.contains("note") ? " " + esc(c["note"].get<std::string>()) : "")
      << " Silhouette: −1..1, higher = tighter and better separated; stability: agreement (ARI) of the clusterings "
         "of two disjoint halves of the rows, 1 = the same partition.</p>"
      << lines(need(c, "series", "choice"), "choice");
  }

  if (doc.contains("som")) {
    const auto& s = doc["som"];
    o << "<h2>Self-Organizing Map</h2><p>U-matrix (darker = larger distance to neighbouring units, i.e. cluster "
         "borders) and hit map (darker = more sources).</p><div class=\"multiples\">"
      << heatmap({}, {}, need(s, "u_matrix", "som").get<std::vector<std::vector<double>>>(), "u_matrix")
      << heatmap({}, {}, need(s, "hit_map", "som").get<std::vector<std::vector<double>>>(), "hit_map") << "</div>";
  }

  o << "<h2>How to read this</h2><p>darklens turned every source into a feature vector for the window, embedded "
       "the vectors and clustered them; each cluster's profile is computed from its sources' packets and matched "
       "against the signature catalog. Definitions: docs/analyze.md.</p>";
  if (doc.contains("generated_by")) o << "<p class=\"small\">" << esc(doc["generated_by"].get<std::string>()) << "</p>";
  o << "</body></html>\n";
  return o.str();
}

}  // namespace darklens::report
