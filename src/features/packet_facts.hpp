// What the feature families read of a packet, in 32 bytes. The aggregator
// turns each packet it uses into Facts as it reads a chunk (in order), then
// visits the chunk's records grouped by source, that is scattered: one
// record is one cache line or less, where a Packet spans two.
#pragma once

#include <cstdint>

#include "darklens/features/features.hpp"
#include "darklens/types.hpp"

namespace darklens::features {

/// A 32-bit value for an address (IPv6: folded, only used for counting).
inline uint32_t address_value(const IpAddr& a) {
  if (a.is_v4()) return a.v4_value();
  const uint64_t x = a.hi_ ^ (a.lo_ * 0x9e3779b97f4a7c15ULL);
  return static_cast<uint32_t>(x ^ (x >> 32));
}

/// TCP option layout as one number: the kinds of the first four options.
inline uint32_t layout_code(const TcpOptionLayout& l) {
  uint32_t code = 0;
  for (int i = 0; i < 4; ++i) code = (code << 8) | (i < l.count_ ? l.kinds_[i] : 0);
  return code;
}

struct Facts {
  // Bits of `bits`.
  static constexpr uint16_t kV4 = 0x01;         // the darknet-side address is IPv4
  static constexpr uint16_t kTransport = 0x02;  // ports and flags were decoded
  static constexpr uint16_t kNoOptions = 0x04;  // no TCP options, no MSS
  static constexpr uint16_t kTcp = 0x08;        // FingerprintMarks, as bits
  static constexpr uint16_t kSyn = 0x10;
  static constexpr uint16_t kZmap = 0x20;
  static constexpr uint16_t kMasscan = 0x40;
  static constexpr uint16_t kMirai = 0x80;

  int64_t ts = 0;       // ns
  uint32_t addr = 0;    // address_value() of the darknet side: the destination, or a responder's own address
  uint32_t layout = 0;  // layout_code() of the TCP options
  uint16_t sport = 0, dport = 0, ip_len = 0, tcp_win = 0;
  uint16_t tcp_mss = 0;  // 0 without the option
  uint16_t bits = 0;
  uint8_t proto = 0, ttl = 0, tcp_flags = 0;
  uint8_t use = 0;  // what the aggregator uses the packet for

  bool has(uint16_t bit) const { return (bits & bit) != 0; }
  bool is_tcp_segment() const { return proto == ip_proto::kTcp && has(kTransport); }

  /// `responder`: the packet comes from the darknet (a SYN-ACK it sends).
  [[gnu::always_inline]] static Facts of(const Packet& p, bool responder, uint8_t use) {
    Facts f;
    const IpAddr& darknet_side = responder ? p.src_ : p.dst_;
    f.ts = p.ts_ns_;
    f.addr = address_value(darknet_side);
    f.layout = layout_code(p.tcp_opts_);
    f.sport = p.sport_;
    f.dport = p.dport_;
    f.ip_len = p.ip_len_;
    f.tcp_win = p.tcp_win_;
    f.tcp_mss = p.has(Packet::kHasMss) ? p.tcp_mss_ : 0;
    f.proto = p.proto_;
    f.ttl = p.ttl_;
    f.tcp_flags = p.tcp_flags_;
    f.use = use;
    const FingerprintMarks m = fingerprint_marks(p);
    f.bits = static_cast<uint16_t>((darknet_side.is_v4() ? kV4 : 0) | (p.has(Packet::kHasTransport) ? kTransport : 0) |
                                   (p.tcp_opts_.count_ == 0 && !p.has(Packet::kHasMss) ? kNoOptions : 0) |
                                   (m.tcp ? kTcp : 0) | (m.syn ? kSyn : 0) | (m.zmap ? kZmap : 0) |
                                   (m.masscan ? kMasscan : 0) | (m.mirai ? kMirai : 0));
    return f;
  }
};
static_assert(sizeof(Facts) == 32, "one chunk record per half cache line");

}  // namespace darklens::features
