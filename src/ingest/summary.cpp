#include "darklens/ingest/summary.hpp"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

#include "../core/flat_set.hpp"

namespace darklens::ingest {

struct SummaryBuilder::State {
  CaptureSummary sum;
  bool timed = false;  // first/last times set from some file
  IpSet sources, destinations;
  std::array<uint64_t, 256> protocols{};
  std::array<uint64_t, 256> tcp_flags{};
  std::vector<uint64_t> tcp_ports = std::vector<uint64_t>(65536);
  std::vector<uint64_t> udp_ports = std::vector<uint64_t>(65536);
};

SummaryBuilder::SummaryBuilder() : s_(std::make_unique<State>()) {}
SummaryBuilder::~SummaryBuilder() = default;

void SummaryBuilder::add(const Packet& p) {
  State& s = *s_;
  ++s.sum.decoded_;
  (p.ip_version_ == 6 ? s.sum.ipv6_ : s.sum.ipv4_)++;
  if (p.has(Packet::kFragment)) ++s.sum.fragments_;
  s.sources.insert(p.src_);
  s.destinations.insert(p.dst_);
  ++s.protocols[p.proto_];
  if (!p.has(Packet::kHasTransport)) return;
  if (p.proto_ == ip_proto::kTcp) {
    ++s.tcp_flags[p.tcp_flags_];
    ++s.tcp_ports[p.dport_];
  } else if (p.proto_ == ip_proto::kUdp) {
    ++s.udp_ports[p.dport_];
  }
}

void SummaryBuilder::add_counters(const CaptureInfo& info, const ReadCounters& c) {
  CaptureSummary& sum = s_->sum;
  sum.files_.push_back({info, c});
  if (c.timed_) {
    if (!s_->timed) {
      s_->timed = true;
      sum.first_ts_ns_ = c.first_ts_ns_;
      sum.last_ts_ns_ = c.last_ts_ns_;
    } else {
      sum.first_ts_ns_ = std::min(sum.first_ts_ns_, c.first_ts_ns_);
      sum.last_ts_ns_ = std::max(sum.last_ts_ns_, c.last_ts_ns_);
    }
  }
  sum.records_ += c.records_;
  sum.wire_bytes_ += c.wire_bytes_;
  sum.weird_.merge(c.weird_);
  if (!c.stop_message_.empty()) sum.warnings_.push_back(c.stop_message_);
  if (info.format_ == Format::kFlowTuple && c.records_ > 0) {
    sum.warnings_.push_back(info.path_ + ": FlowTuple records (" + std::to_string(c.flow_records_) + " for " +
                            std::to_string(c.records_) +
                            " packets) keep packet counts per time bin, not packets: times are the bins' "
                            "starts, and IP IDs, sequence numbers and TCP options are not recorded "
                            "(timing gaps and most fingerprint columns are not measured; docs/ingest.md)");
  }
  if (info.anonymised_addresses_) {
    sum.warnings_.push_back(info.path_ + ": addresses are anonymised tokens; " + std::to_string(c.anonymised_tokens_) +
                            " tokens were mapped to synthetic addresses (240.0.0.0/8 for "
                            "src_ipaddrN, 241.0.0.0/8 for dst_ipaddrN)");
  }
}

void SummaryBuilder::add_file(const std::string& path, const std::function<void(uint64_t)>& progress) {
  auto reader = CaptureReader::open(path);
  // Packets go in small batches so the hash-table lines of a whole batch
  // are fetched while the previous ones are counted.
  constexpr size_t kBatch = 32;
  std::array<Packet, kBatch> batch;
  uint64_t batches = 0;
  for (;;) {
    size_t n = 0;
    while (n < kBatch && reader->next(batch[n])) ++n;
    for (size_t i = 0; i < n; ++i) s_->sources.prefetch(batch[i].src_);
    for (size_t i = 0; i < n; ++i) add(batch[i]);
    if (n < kBatch) break;
    if (progress && (++batches & 0x7fff) == 0) progress(reader->counters().records_);
  }
  add_counters(reader->info(), reader->counters());
}

CaptureSummary SummaryBuilder::finish(size_t top_ports) const {
  const State& s = *s_;
  CaptureSummary sum = s.sum;
  sum.distinct_sources_ = s.sources.size();
  sum.distinct_destinations_ = s.destinations.size();
  for (int i = 0; i < 256; ++i) {
    if (s.protocols[i]) sum.protocols_[static_cast<uint8_t>(i)] = s.protocols[i];
    if (s.tcp_flags[i]) sum.tcp_flags_[static_cast<uint8_t>(i)] = s.tcp_flags[i];
  }
  std::vector<PortCount> ports;
  for (uint32_t port = 0; port < 65536; ++port) {
    if (s.tcp_ports[port]) {
      ports.push_back({ip_proto::kTcp, static_cast<uint16_t>(port), s.tcp_ports[port]});
    }
    if (s.udp_ports[port]) {
      ports.push_back({ip_proto::kUdp, static_cast<uint16_t>(port), s.udp_ports[port]});
    }
  }
  // Most packets first; ties by protocol then port, so output is stable.
  auto by_count = [](const PortCount& a, const PortCount& b) {
    if (a.packets_ != b.packets_) return a.packets_ > b.packets_;
    if (a.proto_ != b.proto_) return a.proto_ < b.proto_;
    return a.port_ < b.port_;
  };
  size_t k = std::min(top_ports, ports.size());
  std::partial_sort(ports.begin(), ports.begin() + k, ports.end(), by_count);
  ports.resize(k);
  sum.top_dst_ports_ = std::move(ports);
  return sum;
}

nlohmann::json to_json(const CaptureSummary& s) {
  using nlohmann::json;
  json j;
  json files = json::array();
  for (const auto& f : s.files_) {
    files.push_back({{"path", f.info_.path_},
                     {"format", format_name(f.info_.format_)},
                     {"compression", compression_name(f.info_.compression_)},
                     {"linktype", f.info_.linktype_},
                     {"snaplen", f.info_.snaplen_},
                     {"records", f.counters_.records_},
                     {"decoded", f.counters_.decoded_},
                     {"flow_records", f.counters_.flow_records_},
                     {"anonymised_addresses", f.info_.anonymised_addresses_}});
  }
  j["files"] = files;
  j["packets"] = s.records_;
  j["bytes"] = s.wire_bytes_;
  j["first_ts_ns"] = s.first_ts_ns_;
  j["last_ts_ns"] = s.last_ts_ns_;
  j["duration_s"] = s.records_ ? (s.last_ts_ns_ - s.first_ts_ns_) / 1e9 : 0.0;
  j["decoded"] = s.decoded_;
  j["ipv4"] = s.ipv4_;
  j["ipv6"] = s.ipv6_;
  j["fragments"] = s.fragments_;
  j["distinct_sources"] = s.distinct_sources_;
  j["distinct_destinations"] = s.distinct_destinations_;
  json protos = json::array();
  for (auto [proto, n] : s.protocols_) {
    protos.push_back({{"proto", proto}, {"name", ip_proto::name(proto)}, {"packets", n}});
  }
  j["protocols"] = protos;
  json ports = json::array();
  for (const auto& p : s.top_dst_ports_) {
    ports.push_back({{"proto", ip_proto::name(p.proto_)}, {"port", p.port_}, {"packets", p.packets_}});
  }
  j["top_dst_ports"] = ports;
  json flags = json::array();
  for (auto [f, n] : s.tcp_flags_) {
    flags.push_back({{"flags", f}, {"names", tcp_flag::names(f)}, {"packets", n}});
  }
  j["tcp_flags"] = flags;
  json weird = json::object();
  for (size_t i = 1; i < kWeirdCount; ++i) {
    if (s.weird_.n_[i]) weird[std::string(weird_name(static_cast<Weird>(i)))] = s.weird_.n_[i];
  }
  j["anomalies"] = weird;
  j["warnings"] = s.warnings_;
  return j;
}

}  // namespace darklens::ingest
