// Per-cluster profiles, accumulated packet by packet.
#include "darklens/profile/profile.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "../core/flat_set.hpp"
#include "../core/key_index.hpp"
#include "../core/quantile.hpp"
#include "darklens/error.hpp"

namespace darklens::profile {
namespace {

struct Acc {
  uint64_t packets = 0, bytes = 0, tcp = 0, syn = 0, mirai = 0, zmap = 0, masscan = 0;
  std::array<uint64_t, 256> protocols{};
  std::array<uint64_t, 3> classes{};
  FlatCounts ports;  // proto << 16 | port
  std::array<uint64_t, 256> flags{};
  std::array<uint64_t, 24> hourly{};
  IpSet destinations;
  bool capped = false;
};

std::string flag_name(uint8_t f) {
  std::string s = tcp_flag::names(f);
  std::replace(s.begin(), s.end(), ',', '+');
  return s;
}

std::vector<Share> sorted_shares(std::vector<Share> v, uint64_t whole) {
  for (auto& s : v) s.share = whole ? static_cast<double>(s.count) / static_cast<double>(whole) : 0.0;
  std::sort(v.begin(), v.end(),
            [](const Share& a, const Share& b) { return a.count != b.count ? a.count > b.count : a.key < b.key; });
  return v;
}

// The source's /24 (IPv4) or /48 (IPv6) as one number.
uint64_t block_of(const IpAddr& a) { return a.is_v4() ? (uint64_t{1} << 63) | (a.v4_value() >> 8) : a.hi_ >> 16; }

}  // namespace

// The rows and their clusters: built once, shared by forks.
struct RowIndex {
  std::vector<IpAddr> sources;
  KeyIndex rows;
  std::vector<int> label_of_index;  // dense index -> label
  std::vector<uint32_t> index_of_row;
  features::WindowSpec window;
  ProfileOptions options;
};

struct Profiler::Impl {
  std::shared_ptr<const RowIndex> index;
  std::vector<uint64_t> row_packets;
  std::vector<Acc> acc;
  uint64_t skipped = 0;
};

Profiler::Profiler(const std::vector<IpAddr>& sources, const std::vector<int64_t>& window_starts,
                   const std::vector<int>& labels, features::WindowSpec window, ProfileOptions options)
    : impl_(std::make_unique<Impl>()) {
  if (sources.size() != window_starts.size() || sources.size() != labels.size()) {
    throw ParamError("profile: " + std::to_string(sources.size()) + " sources, " +
                     std::to_string(window_starts.size()) + " window starts and " + std::to_string(labels.size()) +
                     " labels; they must be as many");
  }
  auto x = std::make_shared<RowIndex>();
  x->sources = sources;
  x->window = window;
  x->options = options;
  std::vector<int> distinct = labels;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  x->label_of_index = distinct;
  x->index_of_row.resize(sources.size());
  for (size_t r = 0; r < sources.size(); ++r) {
    const SourceKey key{sources[r], window_starts[r]};
    bool fresh = false;
    if (x->rows.find_or_insert(key, hash_of(key), fresh) != r) {
      throw ParamError("profile: source " + sources[r].to_string() + " has two rows in one window");
    }
    x->index_of_row[r] =
        static_cast<uint32_t>(std::lower_bound(distinct.begin(), distinct.end(), labels[r]) - distinct.begin());
  }
  impl_->row_packets.assign(sources.size(), 0);
  impl_->acc.resize(distinct.size());
  impl_->index = std::move(x);
}
Profiler::Profiler(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Profiler::~Profiler() = default;
Profiler::Profiler(Profiler&&) noexcept = default;
Profiler& Profiler::operator=(Profiler&&) noexcept = default;

Profiler Profiler::fork() const {
  Profiler p(std::make_unique<Impl>());
  p.impl_->index = impl_->index;
  p.impl_->row_packets.assign(impl_->row_packets.size(), 0);
  p.impl_->acc.resize(impl_->acc.size());
  return p;
}

void Profiler::merge(const Profiler& other) {
  Impl& m = *impl_;
  const Impl& o = *other.impl_;
  if (m.index != o.index) throw ParamError("profile: merge() takes a fork of the same profiler");
  const uint64_t cap = m.index->options.destination_cap_;
  for (size_t r = 0; r < m.row_packets.size(); ++r) m.row_packets[r] += o.row_packets[r];
  m.skipped += o.skipped;
  for (size_t c = 0; c < m.acc.size(); ++c) {
    Acc& a = m.acc[c];
    const Acc& b = o.acc[c];
    a.packets += b.packets, a.bytes += b.bytes, a.tcp += b.tcp, a.syn += b.syn;
    a.mirai += b.mirai, a.zmap += b.zmap, a.masscan += b.masscan;
    for (size_t i = 0; i < a.protocols.size(); ++i) a.protocols[i] += b.protocols[i];
    for (size_t i = 0; i < a.classes.size(); ++i) a.classes[i] += b.classes[i];
    b.ports.for_each([&](uint32_t k, uint64_t n) { a.ports.add(k, n); });
    for (size_t i = 0; i < a.flags.size(); ++i) a.flags[i] += b.flags[i];
    for (size_t i = 0; i < a.hourly.size(); ++i) a.hourly[i] += b.hourly[i];
    b.destinations.for_each([&](const IpAddr& d) {
      if (a.destinations.size() < cap) a.destinations.insert(d);
    });
    a.capped = a.destinations.size() >= cap;
  }
}

uint64_t Profiler::skipped() const { return impl_->skipped; }

void Profiler::add(const Packet& p) { add(std::span<const Packet>(&p, 1)); }

void Profiler::add(std::span<const Packet> packets) {
  // The index lookups of a group of packets are prefetched together: each
  // is a likely cache miss in a table of every source.
  constexpr size_t kGroup = 16;
  const RowIndex& x = *impl_->index;
  std::array<SourceKey, kGroup> keys;
  std::array<uint64_t, kGroup> hashes;
  for (size_t base = 0; base < packets.size(); base += kGroup) {
    const size_t n = std::min(kGroup, packets.size() - base);
    for (size_t j = 0; j < n; ++j) {
      const Packet& p = packets[base + j];
      keys[j] = {p.src_, x.window.start_of(p.ts_ns_)};
      hashes[j] = hash_of(keys[j]);
      x.rows.prefetch(hashes[j]);
    }
    for (size_t j = 0; j < n; ++j) add_row(packets[base + j], x.rows.find(keys[j], hashes[j]));
  }
}

void Profiler::add_row(const Packet& p, std::optional<uint32_t> row) {
  Impl& m = *impl_;
  const RowIndex& x = *m.index;
  if (!row) {
    ++m.skipped;
    return;
  }
  ++m.row_packets[*row];
  Acc& a = m.acc[x.index_of_row[*row]];
  ++a.packets;
  a.bytes += p.ip_len_;
  ++a.protocols[p.proto_];
  ++a.classes[static_cast<size_t>(filter::classify(p))];
  if ((p.proto_ == ip_proto::kTcp || p.proto_ == ip_proto::kUdp) && p.has(Packet::kHasTransport)) {
    a.ports.add(uint32_t{p.proto_} << 16 | p.dport_);
  }
  const auto marks = features::fingerprint_marks(p);
  a.zmap += marks.zmap;
  if (marks.tcp) {
    ++a.tcp;
    ++a.flags[p.tcp_flags_];
    a.masscan += marks.masscan;
    a.syn += marks.syn;
    a.mirai += marks.mirai;
  }
  constexpr int64_t kHour = 3'600'000'000'000;
  constexpr int64_t kDay = 24 * kHour;
  const int64_t in_day = ((p.ts_ns_ % kDay) + kDay) % kDay;
  ++a.hourly[static_cast<size_t>(in_day / kHour)];
  if (a.destinations.size() < x.options.destination_cap_) {
    a.destinations.insert(p.dst_);
    a.capped = a.destinations.size() >= x.options.destination_cap_;
  }
}

std::vector<ClusterProfile> Profiler::finish(const ground_truth::GroundTruth* gt) const {
  const Impl& m = *impl_;
  const RowIndex& x = *m.index;
  std::vector<ClusterProfile> out(m.acc.size());
  std::vector<std::vector<uint64_t>> per_source(m.acc.size());
  std::vector<std::unordered_set<uint64_t>> blocks(m.acc.size());
  std::vector<std::map<std::string, uint64_t>> labels(m.acc.size());
  // A source's packets in a cluster, over its windows (only when asked).
  std::vector<std::unordered_map<IpAddr, uint64_t, IpAddrHash>> by_source(x.options.heaviest_ ? m.acc.size() : 0);
  for (size_t r = 0; r < x.sources.size(); ++r) {
    const size_t c = x.index_of_row[r];
    per_source[c].push_back(m.row_packets[r]);
    if (!by_source.empty()) by_source[c][x.sources[r]] += m.row_packets[r];
    blocks[c].insert(block_of(x.sources[r]));
    if (gt) {
      if (auto l = gt->label_of(x.sources[r])) ++labels[c][*l];
    }
  }
  for (size_t c = 0; c < m.acc.size(); ++c) {
    const Acc& a = m.acc[c];
    ClusterProfile& p = out[c];
    p.cluster_ = x.label_of_index[c];
    p.sources_ = per_source[c].size();
    p.packets_ = a.packets;
    p.bytes_ = a.bytes;
    std::vector<Share> v;
    for (size_t proto = 0; proto < a.protocols.size(); ++proto) {
      if (a.protocols[proto]) v.push_back({ip_proto::name(static_cast<uint8_t>(proto)), a.protocols[proto], 0});
    }
    p.protocols_ = sorted_shares(std::move(v), a.packets);
    v.clear();
    for (size_t k = 0; k < a.classes.size(); ++k) {
      if (a.classes[k])
        v.push_back({std::string(filter::class_name(static_cast<filter::TrafficClass>(k))), a.classes[k], 0});
    }
    p.classes_ = sorted_shares(std::move(v), a.packets);
    v.clear();
    a.ports.for_each([&](uint32_t key, uint64_t n) {
      v.push_back({ip_proto::name(static_cast<uint8_t>(key >> 16)) + "/" + std::to_string(key & 0xffff), n, 0});
    });
    p.ports_ = sorted_shares(std::move(v), a.packets);
    v.clear();
    for (size_t f = 0; f < a.flags.size(); ++f) {
      if (a.flags[f]) v.push_back({flag_name(static_cast<uint8_t>(f)), a.flags[f], 0});
    }
    p.tcp_flags_ = sorted_shares(std::move(v), a.tcp);
    std::sort(per_source[c].begin(), per_source[c].end());
    const double qs[5] = {0, 0.25, 0.5, 0.75, 1};
    for (int i = 0; i < 5; ++i) p.packets_per_source_[static_cast<size_t>(i)] = linear_quantile(per_source[c], qs[i]);
    p.destinations_ = a.destinations.size();
    p.destinations_capped_ = a.capped;
    p.source_blocks_ = blocks[c].size();
    p.hourly_ = a.hourly;
    p.tcp_ = a.tcp;
    p.syn_ = a.syn;
    p.mirai_ = a.syn ? static_cast<double>(a.mirai) / static_cast<double>(a.syn) : 0;
    p.zmap_ = a.packets ? static_cast<double>(a.zmap) / static_cast<double>(a.packets) : 0;
    p.masscan_ = a.tcp ? static_cast<double>(a.masscan) / static_cast<double>(a.tcp) : 0;
    v.clear();
    for (const auto& [label, n] : labels[c]) v.push_back({label, n, 0});
    p.ground_truth_ = sorted_shares(std::move(v), p.sources_);
    if (!by_source.empty()) {
      p.heaviest_.resize(by_source[c].size());
      size_t k = 0;
      for (const auto& [ip, n] : by_source[c]) {
        p.heaviest_[k].source = ip;
        p.heaviest_[k++].packets = n;
      }
      const size_t keep = std::min(x.options.heaviest_, p.heaviest_.size());
      std::partial_sort(p.heaviest_.begin(), p.heaviest_.begin() + static_cast<std::ptrdiff_t>(keep), p.heaviest_.end(),
                        [](const HeavySource& a, const HeavySource& b) {
                          return a.packets != b.packets ? a.packets > b.packets : a.source < b.source;
                        });
      p.heaviest_.resize(keep);
    }
  }
  std::sort(out.begin(), out.end(), [](const ClusterProfile& a, const ClusterProfile& b) {
    return a.sources_ != b.sources_ ? a.sources_ > b.sources_ : a.cluster_ < b.cluster_;
  });
  for (size_t i = 0; i < out.size(); ++i) out[i].rank_ = static_cast<int>(i + 1);
  return out;
}

double port_share(const ClusterProfile& p, const std::vector<std::string>& ports) {
  uint64_t n = 0;
  for (const auto& s : p.ports_) {
    const std::string bare = s.key.substr(s.key.find('/') + 1);
    for (const auto& want : ports) {
      if (want == s.key || want == bare) {
        n += s.count;
        break;
      }
    }
  }
  return p.packets_ ? static_cast<double>(n) / static_cast<double>(p.packets_) : 0;
}

namespace {

nlohmann::json shares_json(const std::vector<Share>& v, size_t limit) {
  nlohmann::json a = nlohmann::json::array();
  for (size_t i = 0; i < v.size() && i < limit; ++i) {
    a.push_back({{"key", v[i].key}, {"count", v[i].count}, {"share", v[i].share}});
  }
  return a;
}

std::vector<Share> shares_from(const nlohmann::json& a) {
  std::vector<Share> v;
  for (const auto& s : a)
    v.push_back({s.at("key").get<std::string>(), s.at("count").get<uint64_t>(), s.at("share").get<double>()});
  return v;
}

// At most this many ASNs and countries per profile in its JSON.
constexpr size_t kTopOrigins = 10;

nlohmann::json origin_json(const OriginCounts& o) {
  nlohmann::json asns = nlohmann::json::array();
  for (size_t i = 0; i < o.asns.size() && i < kTopOrigins; ++i) {
    const auto& a = o.asns[i];
    asns.push_back({{"asn", a.asn}, {"org", a.org}, {"sources", a.sources}, {"share", a.share}});
  }
  nlohmann::json j = {{"asn_db", o.asn_db},
                      {"geo_db", o.geo_db},
                      {"asns", asns},
                      {"distinct_asns", o.asns.size()},
                      {"countries", shares_json(o.countries, kTopOrigins)},
                      {"distinct_countries", o.countries.size()},
                      {"sources_without_asn", o.without_asn},
                      {"sources_without_country", o.without_country}};
  return j;
}

OriginCounts origin_from(const nlohmann::json& j) {
  OriginCounts o;
  o.asn_db = j.at("asn_db").get<bool>();
  o.geo_db = j.at("geo_db").get<bool>();
  for (const auto& a : j.at("asns")) {
    o.asns.push_back({a.at("asn").get<uint32_t>(), a.at("org").get<std::string>(), a.at("sources").get<uint64_t>(),
                      a.at("share").get<double>()});
  }
  o.countries = shares_from(j.at("countries"));
  o.without_asn = j.at("sources_without_asn").get<uint64_t>();
  o.without_country = j.at("sources_without_country").get<uint64_t>();
  return o;
}

}  // namespace

nlohmann::json to_json(const ClusterProfile& p, size_t top_ports) {
  nlohmann::json acts = nlohmann::json::array();
  for (const auto& m : p.activities_) {
    acts.push_back({{"id", m.id}, {"activity", m.activity}, {"reference", m.reference}, {"evidence", m.evidence}});
  }
  nlohmann::json j = {{"cluster", p.cluster_},
                      {"rank", p.rank_},
                      {"sources", p.sources_},
                      {"packets", p.packets_},
                      {"bytes", p.bytes_},
                      {"protocols", shares_json(p.protocols_, SIZE_MAX)},
                      {"classes", shares_json(p.classes_, SIZE_MAX)},
                      {"top_ports", shares_json(p.ports_, top_ports)},
                      {"distinct_ports", p.ports_.size()},
                      {"tcp_flags", shares_json(p.tcp_flags_, SIZE_MAX)},
                      {"packets_per_source",
                       {{"min", p.packets_per_source_[0]},
                        {"q25", p.packets_per_source_[1]},
                        {"median", p.packets_per_source_[2]},
                        {"q75", p.packets_per_source_[3]},
                        {"max", p.packets_per_source_[4]}}},
                      {"destinations", p.destinations_},
                      {"destinations_capped", p.destinations_capped_},
                      {"source_blocks", p.source_blocks_},
                      {"hourly_packets", p.hourly_},
                      {"tcp_packets", p.tcp_},
                      {"syn_packets", p.syn_},
                      {"fingerprints", {{"mirai", p.mirai_}, {"zmap", p.zmap_}, {"masscan", p.masscan_}}},
                      {"ground_truth", shares_json(p.ground_truth_, SIZE_MAX)},
                      {"activities", acts},
                      {"explained", !p.activities_.empty()}};
  if (p.origin_) j["origin"] = origin_json(*p.origin_);
  if (!p.heaviest_.empty()) {
    nlohmann::json h = nlohmann::json::array();
    for (const auto& s : p.heaviest_) {
      h.push_back({{"source", s.source.to_string()},
                   {"packets", s.packets},
                   {"ptr", s.ptr ? nlohmann::json(*s.ptr) : nlohmann::json(nullptr)}});
    }
    j["heaviest_sources"] = std::move(h);
  }
  return j;
}

std::string activity_of(const nlohmann::json& profile) {
  const auto& acts = profile.at("activities");
  return acts.empty() ? "unexplained" : acts[0].at("activity").get<std::string>();
}

ClusterProfile from_json(const nlohmann::json& j) {
  try {
    ClusterProfile p;
    p.cluster_ = j.at("cluster").get<int>();
    p.rank_ = j.at("rank").get<int>();
    p.sources_ = j.at("sources").get<uint64_t>();
    p.packets_ = j.at("packets").get<uint64_t>();
    p.bytes_ = j.at("bytes").get<uint64_t>();
    p.protocols_ = shares_from(j.at("protocols"));
    p.classes_ = shares_from(j.at("classes"));
    p.ports_ = shares_from(j.at("top_ports"));
    p.tcp_flags_ = shares_from(j.at("tcp_flags"));
    const auto& q = j.at("packets_per_source");
    p.packets_per_source_ = {q.at("min").get<double>(), q.at("q25").get<double>(), q.at("median").get<double>(),
                             q.at("q75").get<double>(), q.at("max").get<double>()};
    p.destinations_ = j.at("destinations").get<uint64_t>();
    p.destinations_capped_ = j.at("destinations_capped").get<bool>();
    p.source_blocks_ = j.at("source_blocks").get<uint64_t>();
    p.hourly_ = j.at("hourly_packets").get<std::array<uint64_t, 24>>();
    p.tcp_ = j.at("tcp_packets").get<uint64_t>();
    p.syn_ = j.at("syn_packets").get<uint64_t>();
    p.mirai_ = j.at("fingerprints").at("mirai").get<double>();
    p.zmap_ = j.at("fingerprints").at("zmap").get<double>();
    p.masscan_ = j.at("fingerprints").at("masscan").get<double>();
    p.ground_truth_ = shares_from(j.at("ground_truth"));
    if (const auto o = j.find("origin"); o != j.end()) p.origin_ = origin_from(*o);
    if (const auto h = j.find("heaviest_sources"); h != j.end()) {
      for (const auto& e : *h) {
        const auto ip = IpAddr::parse(e.at("source").get<std::string>());
        if (!ip)
          throw FormatError("profile: heaviest_sources: '" + e.at("source").get<std::string>() +
                            "' is not an IP address");
        HeavySource& hs = p.heaviest_.emplace_back();
        hs.source = *ip;
        hs.packets = e.at("packets").get<uint64_t>();
        if (const auto& ptr = e.at("ptr"); !ptr.is_null()) hs.ptr = ptr.get<std::string>();
      }
    }
    for (const auto& a : j.at("activities")) {
      p.activities_.push_back({a.at("id").get<std::string>(), a.at("activity").get<std::string>(),
                               a.at("reference").get<std::string>(), a.at("evidence").get<std::vector<std::string>>()});
    }
    return p;
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(std::string("profile: ") + e.what());
  }
}

}  // namespace darklens::profile
