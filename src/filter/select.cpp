// Traffic classes and the prefix/class selection of decoded packets.
#include "../core/lists.hpp"
#include "darklens/error.hpp"
#include "darklens/filter/filter.hpp"

namespace darklens::filter {

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

std::vector<Cidr> parse_prefixes(std::string_view list) {
  std::vector<Cidr> out;
  for_each_item(list, [&](std::string_view item) {
    auto cidr = Cidr::parse(item);
    if (!cidr) throw ParamError("--prefix: '" + std::string(item) + "' is not an address prefix (a.b.c.d/n or x::/n)");
    out.push_back(*cidr);
  });
  return out;
}

bool in_darknet(const std::vector<Cidr>& darknet, const IpAddr& a) {
  if (darknet.empty()) return true;
  for (const auto& c : darknet) {
    if (c.contains(a)) return true;
  }
  return false;
}

Selected select_packet(const Selection& s, const Packet& p) {
  if (p.ts_ns_ < s.from_ns_ || p.ts_ns_ >= s.to_ns_) return Selected::kOutsideTime;
  if (!s.darknet_.empty() && in_darknet(s.darknet_, p.src_)) return Selected::kResponder;
  if (!in_darknet(s.darknet_, p.dst_)) return Selected::kOutsidePrefix;
  if (!(s.classes_ & (1u << static_cast<int>(classify(p))))) return Selected::kClassFiltered;
  return Selected::kUsed;
}

}  // namespace darklens::filter
