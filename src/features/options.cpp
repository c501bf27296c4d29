// Parsing of the user-facing feature options: families, classes, windows.
#include <charconv>
#include <nlohmann/json.hpp>

#include "darklens/error.hpp"
#include "darklens/features/features.hpp"

namespace darklens::features {
namespace {

template <typename F>
void for_each_item(std::string_view list, F&& f) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string_view item = list.substr(start, comma - start);
    if (!item.empty()) f(item);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
}

constexpr Family kFamilies[] = {Family::kAgm,      Family::kAgmExt,       Family::kAgmNum,
                                Family::kTemporal, Family::kFingerprints, Family::kIntensity};

}  // namespace

std::string_view family_name(Family f) {
  switch (f) {
    case Family::kAgm:
      return "agm";
    case Family::kAgmExt:
      return "agm-ext";
    case Family::kAgmNum:
      return "agm-num";
    case Family::kTemporal:
      return "temporal";
    case Family::kFingerprints:
      return "fingerprints";
    case Family::kIntensity:
      return "intensity";
  }
  return "?";
}

std::vector<Family> parse_families(std::string_view list) {
  std::vector<Family> out;
  for_each_item(list, [&](std::string_view item) {
    for (Family f : kFamilies) {
      if (item == family_name(f)) {
        for (Family g : out) {
          if (g == f) return;  // listed twice: once is enough
        }
        out.push_back(f);
        return;
      }
    }
    throw ParamError("unknown feature family '" + std::string(item) +
                     "' (known: agm, agm-ext, agm-num, temporal, fingerprints, intensity)");
  });
  if (out.empty()) throw ParamError("no feature family given");
  return out;
}

TrafficClass classify(const Packet& p) {
  if (p.proto_ == ip_proto::kTcp && p.has(Packet::kHasTransport)) {
    const uint8_t f = p.tcp_flags_ & (tcp_flag::kSyn | tcp_flag::kAck | tcp_flag::kRst);
    if (f == tcp_flag::kSyn) return TrafficClass::kScan;
    if (f == (tcp_flag::kSyn | tcp_flag::kAck) || (f & tcp_flag::kRst)) {
      return TrafficClass::kBackscatter;
    }
    return TrafficClass::kOther;
  }
  if (p.proto_ == ip_proto::kUdp) return TrafficClass::kScan;
  if (p.proto_ == ip_proto::kIcmp && p.has(Packet::kHasTransport)) {
    switch (p.icmp_type_) {
      case 8:
        return TrafficClass::kScan;  // echo request
      case 0:                        // echo reply
      case 3:                        // destination unreachable
      case 4:                        // source quench
      case 5:                        // redirect
      case 11:                       // time exceeded
      case 12:                       // parameter problem
        return TrafficClass::kBackscatter;
      default:
        return TrafficClass::kOther;
    }
  }
  if (p.proto_ == ip_proto::kIcmpV6 && p.has(Packet::kHasTransport)) {
    if (p.icmp_type_ == 128) return TrafficClass::kScan;  // echo request
    if (p.icmp_type_ == 129 || p.icmp_type_ < 128) return TrafficClass::kBackscatter;
    return TrafficClass::kOther;
  }
  return TrafficClass::kOther;
}

std::string_view class_name(TrafficClass c) {
  switch (c) {
    case TrafficClass::kScan:
      return "scan";
    case TrafficClass::kBackscatter:
      return "backscatter";
    case TrafficClass::kOther:
      return "other";
  }
  return "?";
}

uint8_t parse_classes(std::string_view list) {
  uint8_t mask = 0;
  for_each_item(list, [&](std::string_view item) {
    for (auto c : {TrafficClass::kScan, TrafficClass::kBackscatter, TrafficClass::kOther}) {
      if (item == class_name(c)) {
        mask |= static_cast<uint8_t>(1u << static_cast<int>(c));
        return;
      }
    }
    throw ParamError("unknown traffic class '" + std::string(item) + "' (known: scan, backscatter, other)");
  });
  if (mask == 0) throw ParamError("no traffic class given");
  return mask;
}

int64_t WindowSpec::start_of(int64_t ts) const {
  int64_t k = (ts - origin_ns_) / length_ns_;
  if ((ts - origin_ns_) % length_ns_ < 0) --k;  // floor for times before the origin
  return origin_ns_ + k * length_ns_;
}

WindowSpec parse_window(std::string_view text) {
  auto bad = [&] {
    return ParamError("window '" + std::string(text) +
                      "': expected a length such as 30m, 1h, 6h, 24h or 7d (1s to 366d)");
  };
  if (text.size() < 2) throw bad();
  int64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, n);
  if (ec != std::errc() || p != text.data() + text.size() - 1 || n <= 0) throw bad();
  int64_t unit = 0;
  switch (text.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    default:
      throw bad();
  }
  if (n > int64_t{366} * 86400 / unit) throw bad();
  WindowSpec w;
  w.length_ns_ = n * unit * 1'000'000'000;
  return w;
}

nlohmann::json packets_to_json(const AggregateCounters& c) {
  return {{"decoded", c.packets_},
          {"outside_prefix", c.outside_prefix_},
          {"class_filtered", c.class_filtered_},
          {"used", c.used_},
          {"responder", c.responder_}};
}

nlohmann::json options_to_json(const FeatureOptions& o) {
  std::string families;
  for (Family f : o.families_) {
    if (!families.empty()) families += ',';
    families += family_name(f);
  }
  nlohmann::json prefixes = nlohmann::json::array();
  for (const auto& c : o.darknet_) prefixes.push_back(c.to_string());
  nlohmann::json j = {{"families", families},
                      {"window_ns", o.window_.length_ns_},
                      {"origin_ns", o.window_.origin_ns_},
                      {"prefix", prefixes},
                      {"classes", o.classes_},
                      {"filter", o.bpf_},
                      {"validated_only", o.validated_only_},
                      {"min_packets", o.min_packets_},
                      {"exact_cap", o.exact_cap_},
                      {"flow_timeout_ns", o.flow_timeout_ns_},
                      {"agm_ext_min_share", o.agm_ext_min_share_}};
  if (o.agm_ext_vocab_) j["agm_ext_vocab"] = *o.agm_ext_vocab_;
  return j;
}

FeatureOptions options_from_json(const nlohmann::json& j) {
  FeatureOptions o;
  std::string key;
  try {
    key = "families";
    o.families_ = parse_families(j.at(key).get<std::string>());
    key = "window_ns";
    o.window_.length_ns_ = j.at(key).get<int64_t>();
    key = "origin_ns";
    o.window_.origin_ns_ = j.at(key).get<int64_t>();
    key = "prefix";
    for (const auto& c : j.at(key)) {
      auto cidr = Cidr::parse(c.get<std::string>());
      if (!cidr) throw FormatError("feature options: prefix '" + c.get<std::string>() + "' is not a prefix");
      o.darknet_.push_back(*cidr);
    }
    key = "classes";
    o.classes_ = j.at(key).get<uint8_t>();
    key = "filter";
    o.bpf_ = j.at(key).get<std::string>();
    key = "validated_only";
    o.validated_only_ = j.at(key).get<bool>();
    key = "min_packets";
    o.min_packets_ = j.at(key).get<uint64_t>();
    key = "exact_cap";
    o.exact_cap_ = j.at(key).get<uint32_t>();
    key = "flow_timeout_ns";
    o.flow_timeout_ns_ = j.at(key).get<int64_t>();
    key = "agm_ext_min_share";
    o.agm_ext_min_share_ = j.at(key).get<double>();
    key = "agm_ext_vocab";
    if (j.contains(key)) o.agm_ext_vocab_ = j.at(key).get<AgmExtVocab>();
  } catch (const nlohmann::json::exception& e) {
    throw FormatError("feature options: '" + key + "' is missing or malformed (" + e.what() + ")");
  }
  if (o.window_.length_ns_ <= 0) throw FormatError("feature options: window_ns must be positive");
  return o;
}

}  // namespace darklens::features
