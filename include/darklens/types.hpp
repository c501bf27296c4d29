// Plain values shared by every stage: addresses and the decoded packet.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace darklens {

/// An IPv4 or IPv6 address in one 128-bit value. IPv4 is stored as the
/// IPv4-mapped IPv6 address ::ffff:a.b.c.d, so both families compare, hash
/// and sort in one type. hi_ holds the first 8 bytes, lo_ the last 8, both
/// as big-endian numbers (so numeric order is address order).
struct IpAddr {
  uint64_t hi_ = 0;
  uint64_t lo_ = 0;

  static constexpr IpAddr v4(uint32_t host_order) { return IpAddr{0, (uint64_t{0xffff} << 32) | host_order}; }
  static IpAddr v6(const uint8_t bytes[16]);
  /// Parses dotted IPv4 or textual IPv6; nullopt when malformed.
  static std::optional<IpAddr> parse(std::string_view text);

  constexpr bool is_v4() const { return hi_ == 0 && (lo_ >> 32) == 0xffff; }
  /// The IPv4 address in host byte order (only meaningful when is_v4()).
  constexpr uint32_t v4_value() const { return static_cast<uint32_t>(lo_); }
  std::string to_string() const;

  friend constexpr bool operator==(const IpAddr&, const IpAddr&) = default;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>
  friend constexpr auto operator<=>(const IpAddr&, const IpAddr&) = default;
};

struct IpAddrHash {
  size_t operator()(const IpAddr& a) const noexcept {
    // splitmix64-style finaliser over both halves: cheap and well mixed.
    uint64_t x = a.hi_ * 0x9e3779b97f4a7c15ULL ^ a.lo_;
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return static_cast<size_t>(x);
  }
};

/// An address prefix such as 198.51.100.0/24 or 2001:db8::/32. IPv4
/// prefixes are stored IPv4-mapped (len + 96), like IpAddr.
struct Cidr {
  IpAddr base_;
  int len_ = 128;  // in the 128-bit space
  /// Parses "a.b.c.d/n" (0..32) or "x::/n" (0..128); a bare address is a
  /// host prefix. nullopt when malformed.
  static std::optional<Cidr> parse(std::string_view text);
  bool contains(const IpAddr& a) const {
    if (len_ == 0) return true;
    if (len_ <= 64) {
      const uint64_t m = len_ == 64 ? ~uint64_t{0} : ~(~uint64_t{0} >> len_);
      return (a.hi_ & m) == (base_.hi_ & m);
    }
    const int low = len_ - 64;
    const uint64_t m = low == 64 ? ~uint64_t{0} : ~(~uint64_t{0} >> low);
    return a.hi_ == base_.hi_ && (a.lo_ & m) == (base_.lo_ & m);
  }
  std::string to_string() const;
};

/// "2021-05-01T00:00:00Z" (fractional seconds only when non-zero, up to ns).
std::string iso8601_utc(int64_t ts_ns);

/// TCP flag bits as they appear in the TCP header's flags byte.
namespace tcp_flag {
inline constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10, kUrg = 0x20, kEce = 0x40,
                         kCwr = 0x80;
/// "SYN,ACK" style name of a flag combination ("none" for 0).
std::string names(uint8_t flags);
}  // namespace tcp_flag

/// IANA protocol numbers used across darklens.
namespace ip_proto {
inline constexpr uint8_t kIcmp = 1, kTcp = 6, kUdp = 17, kGre = 47, kIcmpV6 = 58;
/// "tcp", "udp", ... or the number as text.
std::string name(uint8_t proto);
}  // namespace ip_proto

/// Up to kMaxKinds TCP option kinds in the order they appeared (p0f-style
/// layout), e.g. {2,4,8,1,3} = MSS,SACK-permitted,timestamps,NOP,wscale.
struct TcpOptionLayout {
  static constexpr int kMaxKinds = 7;
  uint8_t count_ = 0;  // number of kinds stored (<= kMaxKinds)
  std::array<uint8_t, kMaxKinds> kinds_{};
  std::string to_string() const;  // "MSS,SACKP,TS,NOP,WS" ("" when none)
  friend bool operator==(const TcpOptionLayout&, const TcpOptionLayout&) = default;
};

/// One decoded packet: everything later stages need, nothing more.
/// Fields that do not apply to the packet's protocol are zero.
struct Packet {
  /// Bits of Packet::flags_.
  static constexpr uint8_t kFragment = 0x01;      // not the first fragment: no transport header
  static constexpr uint8_t kHasTransport = 0x02;  // ports/flags/ICMP type were decoded
  static constexpr uint8_t kHasMss = 0x04;
  static constexpr uint8_t kHasWscale = 0x08;
  static constexpr uint8_t kHasSackPerm = 0x10;
  static constexpr uint8_t kHasTimestamp = 0x20;
  static constexpr uint8_t kBadTcpOptions = 0x40;  // option list malformed; parsed up to the fault
  static constexpr uint8_t kMiraiMarked = 0x80;    // the input said so (DarkVec CSV `mirai` column)

  int64_t ts_ns_ = 0;  // capture time, ns since the Unix epoch (UTC)
  IpAddr src_;
  IpAddr dst_;
  uint32_t wire_len_ = 0;  // frame length on the wire
  uint32_t tcp_seq_ = 0;
  uint32_t tcp_ack_ = 0;
  uint32_t tcp_tsval_ = 0;  // TCP timestamp option value (kHasTimestamp)
  uint16_t ip_len_ = 0;     // IPv4 total length; IPv6 40 + payload length
  uint16_t ip_id_ = 0;      // IPv4 identification; IPv6 fragment id low bits
  uint16_t sport_ = 0;
  uint16_t dport_ = 0;
  uint16_t tcp_win_ = 0;
  uint16_t tcp_mss_ = 0;    // kHasMss
  uint8_t ip_version_ = 0;  // 4 or 6
  uint8_t proto_ = 0;       // IPv4 protocol / IPv6 last next-header
  uint8_t ttl_ = 0;         // TTL or hop limit
  uint8_t tcp_flags_ = 0;
  uint8_t tcp_wscale_ = 0;  // kHasWscale
  uint8_t icmp_type_ = 0;
  uint8_t icmp_code_ = 0;
  uint8_t flags_ = 0;
  TcpOptionLayout tcp_opts_;

  bool has(uint8_t bit) const { return (flags_ & bit) != 0; }
};
static_assert(sizeof(Packet) <= 88, "Packet is copied per packet: keep it small");

}  // namespace darklens
