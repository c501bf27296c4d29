// Link layers: strip the frame header and hand the IP packet to decode_ip.
#include "bytes.hpp"
#include "darklens/ingest/ingest.hpp"

namespace darklens::ingest {
namespace {

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherIpv6 = 0x86dd;
constexpr int kMaxVlanTags = 8;

bool is_vlan(uint16_t ethertype) { return ethertype == 0x8100 || ethertype == 0x88a8 || ethertype == 0x9100; }

Weird by_ethertype(uint16_t ethertype, const uint8_t* p, size_t n, Packet& out) {
  if (ethertype != kEtherIpv4 && ethertype != kEtherIpv6) return Weird::kNonIp;
  return decode_ip(p, n, out);
}

Weird ethernet(const uint8_t* p, size_t n, Packet& out) {
  if (n < 14) return Weird::kTruncatedEthernet;
  uint16_t type = bytes::be16(p + 12);
  size_t off = 14;
  for (int tags = 0; is_vlan(type); ++tags) {
    if (tags == kMaxVlanTags) return Weird::kTooManyVlanTags;
    if (n < off + 4) return Weird::kTruncatedVlan;
    type = bytes::be16(p + off + 2);
    off += 4;
  }
  return by_ethertype(type, p + off, n - off, out);
}

// BSD loopback: a 4-byte address family, host byte order for DLT_NULL (so
// either order), network order for DLT_LOOP. AF_INET is 2 everywhere;
// AF_INET6 is 10 (Linux), 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS).
Weird null_loopback(const uint8_t* p, size_t n, Packet& out) {
  if (n < 4) return Weird::kTruncatedNull;
  uint32_t family = bytes::be32(p);
  if (family > 0xffff) family = bytes::le32(p);
  switch (family) {
    case 2:
    case 10:
    case 24:
    case 28:
    case 30:
      return decode_ip(p + 4, n - 4, out);
    default:
      return Weird::kUnknownNullFamily;
  }
}

}  // namespace

Weird decode_frame(int linktype, const uint8_t* p, size_t n, Packet& out) {
  switch (linktype) {
    case 1:  // DLT_EN10MB
      return ethernet(p, n, out);
    case 12:   // DLT_RAW (most systems)
    case 14:   // DLT_RAW (OpenBSD)
    case 101:  // LINKTYPE_RAW
    case 228:  // DLT_IPV4
    case 229:  // DLT_IPV6
      return decode_ip(p, n, out);
    case 113:  // DLT_LINUX_SLL: protocol type at offset 14
      if (n < 16) return Weird::kTruncatedSll;
      return by_ethertype(bytes::be16(p + 14), p + 16, n - 16, out);
    case 276:  // DLT_LINUX_SLL2: protocol type at offset 0
      if (n < 20) return Weird::kTruncatedSll;
      return by_ethertype(bytes::be16(p), p + 20, n - 20, out);
    case 0:    // DLT_NULL
    case 108:  // DLT_LOOP
      return null_loopback(p, n, out);
    default:
      return Weird::kUnsupportedLinktype;
  }
}

}  // namespace darklens::ingest
