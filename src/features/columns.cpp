#include "columns.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <map>
#include <string>

#include "../core/parallel.hpp"
#include "../core/radix_sort.hpp"

namespace darklens::features {
namespace {

// Each family is written in two passes over the same code: one declares
// its columns (names, in order; no rows), then, with the column-major
// buffer allocated once, others fill disjoint ranges of rows, on as many
// threads (each cell depends on its row only: the same table on any
// number). A family asks for its columns in the same order in every pass.
struct Builder;
struct Col {
  Builder* b;
  size_t index;
  double& operator[](size_t row) const;
};
struct Builder {
  FeatureTable& t;
  size_t rows;
  bool declaring;
  size_t next = 0;  // the index of the next column asked for
  Builder(FeatureTable& table, size_t n, bool declare) : t(table), rows(n), declaring(declare) {}
  Col column(std::string name) {
    if (declaring) t.columns_.push_back(std::move(name));
    return {this, next++};
  }
};
double& Col::operator[](size_t row) const { return b->t.values_[index * b->rows + row]; }

// The rows one pass fills.
struct Range {
  size_t begin, end;
};

void agm(Builder& b, const std::vector<RowRef>& rows, Range range) {
  auto packets = b.column("agm_packets");
  Col c[kAgmFields][3];
  for (int f = 0; f < kAgmFields; ++f) {
    const std::string n = std::string("agm_") + kAgmFieldNames[f];
    c[f][0] = b.column(n + "_distinct");
    c[f][1] = b.column(n + "_mode");
    c[f][2] = b.column(n + "_mode_packets");
  }
  for (size_t r = range.begin; r < range.end; ++r) {
    const AgmCounts& a = *rows[r].state.all;
    packets[r] = static_cast<double>(a.packets);
    for (int f = 0; f < kAgmFields; ++f) {
      const auto mode = a.fields[f].mode();
      c[f][0][r] = static_cast<double>(a.fields[f].distinct());
      c[f][1][r] = mode.value;
      c[f][2][r] = static_cast<double>(mode.count);
    }
  }
}

// The 29 columns of the numerical AGM (docs/features.md), over TCP packets.
void agm_num(Builder& b, const std::vector<RowRef>& rows, Range range, const std::vector<WindowTraffic>& windows) {
  auto packets = b.column("num_packets");
  auto dst_distinct = b.column("num_dst_ip_distinct");
  auto dst_mode_pk = b.column("num_dst_ip_mode_packets");
  auto sport_distinct = b.column("num_src_port_distinct");
  auto sport_mode_pk = b.column("num_src_port_mode_packets");
  auto dport_distinct = b.column("num_dst_port_distinct");
  auto dport_mode_pk = b.column("num_dst_port_mode_packets");
  std::vector<Col> top;
  for (int k = 1; k <= 10; ++k) top.push_back(b.column("num_dst_port_top" + std::to_string(k)));
  auto ttl_distinct = b.column("num_ttl_distinct");
  auto ttl_mode = b.column("num_ttl_mode");
  auto ttl_mode_pk = b.column("num_ttl_mode_packets");
  auto flags_distinct = b.column("num_tcp_flags_distinct");
  auto flags_mode_pk = b.column("num_tcp_flags_mode_packets");
  constexpr uint8_t kFlagDummies[4] = {0x02, 0x10, 0x18, 0x14};
  std::vector<Col> flag_cols = {b.column("num_tcp_flags_is_syn"), b.column("num_tcp_flags_is_ack"),
                                b.column("num_tcp_flags_is_psh_ack"), b.column("num_tcp_flags_is_rst_ack")};
  auto size_distinct = b.column("num_size_distinct");
  auto size_mode = b.column("num_size_mode");
  auto size_mode_pk = b.column("num_size_mode_packets");

  for (size_t r = range.begin; r < range.end; ++r) {
    const AgmCounts& a = *rows[r].state.tcp;
    if (a.packets == 0) continue;  // no TCP: all zero
    packets[r] = static_cast<double>(a.packets);
    auto fill = [&](AgmField f, Col distinct, const Col* mode, Col mode_pk) {
      const auto m = a.fields[f].mode();
      distinct[r] = static_cast<double>(a.fields[f].distinct());
      if (mode) (*mode)[r] = m.value;
      mode_pk[r] = static_cast<double>(m.count);
      return m.value;
    };
    fill(kDstIp, dst_distinct, nullptr, dst_mode_pk);
    fill(kSrcPort, sport_distinct, nullptr, sport_mode_pk);
    const uint32_t port = fill(kDstPort, dport_distinct, nullptr, dport_mode_pk);
    for (const auto& w : windows) {
      if (w.window != rows[r].window) continue;
      for (size_t k = 0; k < w.top_ports.size(); ++k) top[k][r] = port == w.top_ports[k];
    }
    fill(kTtl, ttl_distinct, &ttl_mode, ttl_mode_pk);
    const uint32_t flags = fill(kTcpFlags, flags_distinct, nullptr, flags_mode_pk);
    for (int k = 0; k < 4; ++k) flag_cols[k][r] = flags == kFlagDummies[k];
    fill(kSize, size_distinct, &size_mode, size_mode_pk);
  }
}

void temporal(Builder& b, const std::vector<RowRef>& rows, Range range) {
  std::vector<Col> hours;
  for (int h = 0; h < 24; ++h) {
    char name[16];
    std::snprintf(name, sizeof name, "tmp_hour_%02d", h);
    hours.push_back(b.column(name));
  }
  auto active = b.column("tmp_active_hours");
  auto first = b.column("tmp_first_seen_s");
  auto last = b.column("tmp_last_seen_s");
  auto iat_mean = b.column("tmp_iat_mean_s");
  auto iat_cv = b.column("tmp_iat_cv");
  auto burst = b.column("tmp_burstiness");
  for (size_t r = range.begin; r < range.end; ++r) {
    const Temporal& t = *rows[r].state.time;
    if (t.first_arrival == Temporal::kNone) continue;
    int on = 0;
    for (int h = 0; h < 24; ++h) {
      hours[h][r] = static_cast<double>(t.hourly[h]);
      on += t.hourly[h] > 0;
    }
    active[r] = on;
    first[r] = (t.first - rows[r].window) / 1e9;
    last[r] = (t.last - rows[r].window) / 1e9;
    if (t.gaps == 0) continue;
    // Mean and standard deviation from exact integer sums (ns).
    const long double n = t.gaps;
    const long double mean = t.gap_sum / n;
    long double var = static_cast<long double>(t.gap_sq) / n - mean * mean;
    if (var < 0) var = 0;
    const long double sd = std::sqrt(var);
    iat_mean[r] = static_cast<double>(mean / 1e9L);
    iat_cv[r] = mean > 0 ? static_cast<double>(sd / mean) : 0.0;
    burst[r] = sd + mean > 0 ? static_cast<double>((sd - mean) / (sd + mean)) : 0.0;
  }
}

void fingerprints(Builder& b, const std::vector<RowRef>& rows, Range range) {
  auto mirai = b.column("fp_mirai");
  auto zmap = b.column("fp_zmap");
  auto masscan = b.column("fp_masscan");
  auto no_opts = b.column("fp_no_tcp_options");
  auto ttl200 = b.column("fp_ttl_ge_200");
  auto win1024 = b.column("fp_win_1024");
  auto mss = b.column("fp_syn_mss_mode");
  auto win = b.column("fp_syn_win_mode");
  auto layout = b.column("fp_syn_options_mode");
  auto validated = b.column("fp_validated");
  auto share = [](uint64_t k, uint64_t n) { return n ? static_cast<double>(k) / n : 0.0; };
  for (size_t r = range.begin; r < range.end; ++r) {
    const Fingerprints& f = *rows[r].state.fp;
    validated[r] = rows[r].state.validated;
    mirai[r] = share(f.mirai, f.syn);
    zmap[r] = share(f.zmap, f.packets);
    masscan[r] = share(f.masscan, f.tcp);
    no_opts[r] = share(f.no_options, f.syn);
    ttl200[r] = share(f.ttl_ge_200, f.packets);
    win1024[r] = share(f.win_1024, f.tcp);
    if (f.syn == 0) continue;
    mss[r] = f.syn_mss.mode().value;
    win[r] = f.syn_win.mode().value;
    layout[r] = f.syn_layout.mode().value;
  }
}

// The AGM counts, and one-hot dummies of the mode values in the vocabulary.
// The agm-ext vocabulary: given, or the values that are the mode of at
// least min_share of the rows.
AgmExtVocab agm_ext_vocab(const std::vector<RowRef>& rows, const FeatureOptions& opt) {
  if (opt.agm_ext_vocab_) return *opt.agm_ext_vocab_;
  AgmExtVocab vocab;
  const double need = opt.agm_ext_min_share_ * static_cast<double>(rows.size());
  for (int f = 0; f < kAgmFields; ++f) {
    std::map<uint32_t, uint64_t> modes;
    for (const auto& r : rows) ++modes[r.state.all->fields[f].mode().value];
    for (const auto& [v, n] : modes) {
      if (n > 0 && static_cast<double>(n) >= need) vocab[f].push_back(v);
    }
  }
  return vocab;
}

void agm_ext(Builder& b, const std::vector<RowRef>& rows, Range range, const AgmExtVocab& vocab) {
  auto packets = b.column("ext_packets");
  std::vector<Col> distinct, mode_pk;
  for (int f = 0; f < kAgmFields; ++f) {
    distinct.push_back(b.column(std::string("ext_") + kAgmFieldNames[f] + "_distinct"));
    mode_pk.push_back(b.column(std::string("ext_") + kAgmFieldNames[f] + "_mode_packets"));
  }
  std::vector<std::vector<Col>> dummies(kAgmFields);
  for (int f = 0; f < kAgmFields; ++f) {
    for (uint32_t v : vocab[f]) {
      dummies[f].push_back(b.column(std::string("ext_") + kAgmFieldNames[f] + "_mode_is_" + std::to_string(v)));
    }
  }
  for (size_t r = range.begin; r < range.end; ++r) {
    const AgmCounts& a = *rows[r].state.all;
    packets[r] = static_cast<double>(a.packets);
    for (int f = 0; f < kAgmFields; ++f) {
      const auto m = a.fields[f].mode();
      distinct[f][r] = static_cast<double>(a.fields[f].distinct());
      mode_pk[f][r] = static_cast<double>(m.count);
      for (size_t k = 0; k < vocab[f].size(); ++k) dummies[f][k][r] = m.value == vocab[f][k];
    }
  }
  if (b.declaring) b.t.agm_ext_vocab_ = vocab;
}

void intensity(Builder& b, const std::vector<RowRef>& rows, Range range) {
  auto packets = b.column("int_packets");
  auto bytes = b.column("int_bytes");
  auto flows = b.column("int_flows");
  std::vector<Col> fp, ff, pp, pf, sp, sf;
  for (auto* name : kFlagGroupNames) fp.push_back(b.column(std::string("int_") + name + "_packets"));
  for (auto* name : kFlagGroupNames) ff.push_back(b.column(std::string("int_") + name + "_flows"));
  for (auto* name : kProtoGroupNames) pp.push_back(b.column(std::string("int_") + name + "_packets"));
  for (auto* name : kProtoGroupNames) pf.push_back(b.column(std::string("int_") + name + "_flows"));
  for (auto* name : kServiceGroupNames) sp.push_back(b.column(std::string("int_svc_") + name + "_packets"));
  for (auto* name : kServiceGroupNames) sf.push_back(b.column(std::string("int_svc_") + name + "_flows"));
  auto dsts = b.column("int_dst_distinct");
  auto ports = b.column("int_dst_port_distinct");
  auto nets = b.column("int_dst24_distinct");
  for (size_t r = range.begin; r < range.end; ++r) {
    const Intensity& t = *rows[r].state.intensity;
    packets[r] = static_cast<double>(t.packets);
    bytes[r] = static_cast<double>(t.bytes);
    flows[r] = static_cast<double>(t.flows);
    for (int i = 0; i < kFlagGroups; ++i) {
      fp[i][r] = static_cast<double>(t.flag_packets[i]);
      ff[i][r] = static_cast<double>(t.flag_flows[i]);
    }
    for (int i = 0; i < kProtoGroups; ++i) {
      pp[i][r] = static_cast<double>(t.proto_packets[i]);
      pf[i][r] = static_cast<double>(t.proto_flows[i]);
    }
    for (int i = 0; i < kServiceGroups; ++i) {
      sp[i][r] = static_cast<double>(t.service_packets[i]);
      sf[i][r] = static_cast<double>(t.service_flows[i]);
    }
    const AgmCounts* agm = rows[r].state.all;
    dsts[r] = static_cast<double>((agm ? agm->fields[kDstIp] : t.dst).distinct());
    ports[r] = static_cast<double>(t.dports(agm ? &agm->fields[kDstPort] : nullptr).distinct());
    nets[r] = static_cast<double>(t.dst24.distinct());
  }
}

}  // namespace

std::vector<WindowTraffic> top_tcp_ports(const std::vector<RowRef>& rows, size_t k) {
  std::map<int64_t, std::map<uint32_t, uint64_t>> per_window;
  for (const auto& r : rows) {
    if (r.state.tcp->packets == 0) continue;
    auto& ports = per_window[r.window];
    r.state.tcp->fields[kDstPort].for_each([&](uint32_t port, uint64_t n) { ports[port] += n; });
  }
  std::vector<WindowTraffic> out;
  for (const auto& [window, ports] : per_window) {
    std::vector<std::pair<uint32_t, uint64_t>> v(ports.begin(), ports.end());
    std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    WindowTraffic w{window, {}};
    for (size_t i = 0; i < std::min(k, v.size()); ++i) w.top_ports.push_back(static_cast<uint16_t>(v[i].first));
    out.push_back(std::move(w));
  }
  return out;
}

const char* const kAgmFieldNames[7] = {"dst_ip", "src_port", "dst_port", "proto", "ttl", "tcp_flags", "size"};

namespace {

// Row positions in output order: by window, then source.
std::vector<uint32_t> output_order(const std::vector<RowRef>& rows) {
  std::vector<uint32_t> order(rows.size());
  const bool all_v4 = std::all_of(rows.begin(), rows.end(), [](const RowRef& r) { return r.source.is_v4(); });
  if (!all_v4) {
    struct Key {
      int64_t window;
      IpAddr source;
      uint32_t row;
    };
    std::vector<Key> keys;
    keys.reserve(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) keys.push_back({rows[i].window, rows[i].source, static_cast<uint32_t>(i)});
    std::sort(keys.begin(), keys.end(), [](const Key& x, const Key& y) {
      return x.window != y.window ? x.window < y.window : x.source < y.source;
    });
    for (size_t i = 0; i < keys.size(); ++i) order[i] = keys[i].row;
    return order;
  }
  // IPv4 sources (the usual case): one 64-bit key per row, the window's
  // rank above the address, radix-sorted (digits of at most 11 bits, as
  // many as the largest key needs): linear, where comparing sorts took
  // 10 ms for 100,000 rows.
  std::vector<int64_t> windows;
  for (const auto& r : rows) {
    if (windows.empty() || windows.back() != r.window) windows.push_back(r.window);
  }
  std::sort(windows.begin(), windows.end());
  windows.erase(std::unique(windows.begin(), windows.end()), windows.end());
  struct Key {
    uint64_t key;
    uint32_t row;
  };
  std::vector<Key> keys(rows.size()), tmp;
  uint64_t max_key = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto rank =
        static_cast<uint64_t>(std::lower_bound(windows.begin(), windows.end(), rows[i].window) - windows.begin());
    keys[i] = {rank << 32 | rows[i].source.v4_value(), static_cast<uint32_t>(i)};
    max_key = std::max(max_key, keys[i].key);
  }
  radix_sort(keys, tmp, static_cast<int>(std::bit_width(max_key)), 11, [](const Key& k) { return k.key; });
  for (size_t i = 0; i < keys.size(); ++i) order[i] = keys[i].row;
  return order;
}

}  // namespace

FeatureTable build_table(const FeatureOptions& opt, const std::vector<RowRef>& rows,
                         const std::vector<WindowTraffic>& windows) {
  FeatureTable t;
  const std::vector<uint32_t> order = output_order(rows);
  t.source_.reserve(rows.size());
  t.window_start_ns_.reserve(rows.size());
  for (uint32_t r : order) {
    t.source_.push_back(rows[r].source);
    t.window_start_ns_.push_back(rows[r].window);
  }
  AgmExtVocab vocab;
  for (Family f : opt.families_) {
    if (f == Family::kAgmExt) vocab = agm_ext_vocab(rows, opt);
  }
  auto families = [&](Builder& b, Range range) {
    for (Family f : opt.families_) {
      switch (f) {
        case Family::kAgm:
          agm(b, rows, range);
          break;
        case Family::kAgmExt:
          agm_ext(b, rows, range, vocab);
          break;
        case Family::kAgmNum:
          agm_num(b, rows, range, windows);
          break;
        case Family::kTemporal:
          temporal(b, rows, range);
          break;
        case Family::kFingerprints:
          fingerprints(b, rows, range);
          break;
        case Family::kIntensity:
          intensity(b, rows, range);
          break;
      }
    }
  };
  Builder names(t, rows.size(), /*declare=*/true);
  families(names, {0, 0});
  t.values_.assign(t.columns_.size() * rows.size(), 0.0);
  // Filled in the order the rows were given...
  parallel_for(
      rows.size(), opt.threads_,
      [&](size_t begin, size_t end) {
        Builder cells(t, rows.size(), /*declare=*/false);
        families(cells, {begin, end});
      },
      4096);
  // ...then each column put in output order (a gather within one column).
  parallel_for(
      t.columns_.size(), opt.threads_,
      [&](size_t begin, size_t end) {
        std::vector<double> given(rows.size());
        for (size_t c = begin; c < end; ++c) {
          double* column = t.values_.data() + c * rows.size();
          std::copy(column, column + rows.size(), given.begin());
          for (size_t i = 0; i < order.size(); ++i) column[i] = given[order[i]];
        }
      },
      8);
  for (const auto& w : windows) t.top_ports_.emplace_back(w.window, w.top_ports);
  return t;
}

}  // namespace darklens::features
