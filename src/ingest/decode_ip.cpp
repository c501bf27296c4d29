// Network and transport layers. Only fixed headers that Packet needs are
// mandatory; a missing one is a Weird and the packet is skipped. TCP options
// are parsed as far as they are present and well formed.
#include <algorithm>

#include "bytes.hpp"
#include "darklens/ingest/ingest.hpp"

namespace darklens::ingest {
namespace {

constexpr int kMaxIpv6ExtensionHeaders = 16;

void tcp_options(const uint8_t* p, size_t n, Packet& out) {
  size_t i = 0;
  while (i < n) {
    uint8_t kind = p[i];
    if (kind == 0) break;  // end of option list
    auto& layout = out.tcp_opts_;
    if (layout.count_ < TcpOptionLayout::kMaxKinds) {
      layout.kinds_[layout.count_++] = kind;
    }
    if (kind == 1) {  // NOP
      ++i;
      continue;
    }
    if (i + 1 >= n || p[i + 1] < 2 || i + p[i + 1] > n) {
      out.flags_ |= Packet::kBadTcpOptions;
      return;
    }
    const uint8_t len = p[i + 1];
    const uint8_t* v = p + i + 2;
    if (kind == 2 && len == 4) {
      out.tcp_mss_ = bytes::be16(v);
      out.flags_ |= Packet::kHasMss;
    } else if (kind == 3 && len == 3) {
      out.tcp_wscale_ = v[0];
      out.flags_ |= Packet::kHasWscale;
    } else if (kind == 4 && len == 2) {
      out.flags_ |= Packet::kHasSackPerm;
    } else if (kind == 8 && len == 10) {
      out.tcp_tsval_ = bytes::be32(v);
      out.flags_ |= Packet::kHasTimestamp;
    }
    i += len;
  }
}

// `n` is what the IP header says the transport segment spans, clipped to
// what was captured.
Weird transport(const uint8_t* p, size_t n, Packet& out) {
  switch (out.proto_) {
    case ip_proto::kTcp: {
      if (n < 20) return Weird::kTruncatedTcpHeader;
      const size_t header_len = static_cast<size_t>(p[12] >> 4) * 4;
      if (header_len < 20) return Weird::kBadTcpDataOffset;
      out.sport_ = bytes::be16(p);
      out.dport_ = bytes::be16(p + 2);
      out.tcp_seq_ = bytes::be32(p + 4);
      out.tcp_ack_ = bytes::be32(p + 8);
      out.tcp_flags_ = p[13];
      out.tcp_win_ = bytes::be16(p + 14);
      tcp_options(p + 20, std::min(header_len, n) - 20, out);
      break;
    }
    case ip_proto::kUdp:
      if (n < 8) return Weird::kTruncatedUdpHeader;
      out.sport_ = bytes::be16(p);
      out.dport_ = bytes::be16(p + 2);
      break;
    case ip_proto::kIcmp:
    case ip_proto::kIcmpV6:
      if (n < 4) return Weird::kTruncatedIcmpHeader;
      out.icmp_type_ = p[0];
      out.icmp_code_ = p[1];
      break;
    default:
      return Weird::kNone;  // GRE and the rest: protocol number only
  }
  out.flags_ |= Packet::kHasTransport;
  return Weird::kNone;
}

Weird ipv4(const uint8_t* p, size_t n, Packet& out) {
  if (n < 20) return Weird::kTruncatedIpv4Header;
  const size_t header_len = static_cast<size_t>(p[0] & 0x0f) * 4;
  if (header_len < 20) return Weird::kBadIpv4HeaderLength;
  if (n < header_len) return Weird::kTruncatedIpv4Header;
  const uint16_t total_len = bytes::be16(p + 2);
  if (total_len < header_len) return Weird::kBadIpv4TotalLength;
  out.ip_version_ = 4;
  out.ip_len_ = total_len;
  out.ip_id_ = bytes::be16(p + 4);
  out.ttl_ = p[8];
  out.proto_ = p[9];
  out.src_ = IpAddr::v4(bytes::be32(p + 12));
  out.dst_ = IpAddr::v4(bytes::be32(p + 16));
  const uint16_t frag_offset = bytes::be16(p + 6) & 0x1fff;
  if (frag_offset != 0) {
    out.flags_ |= Packet::kFragment;
    return Weird::kNone;
  }
  // Ethernet may pad short packets: trust the IP length, clipped to caplen.
  const size_t end = std::min<size_t>(n, total_len);
  return transport(p + header_len, end - header_len, out);
}

bool is_ipv6_extension(uint8_t next) {
  switch (next) {
    case 0:    // hop-by-hop options
    case 43:   // routing
    case 44:   // fragment
    case 51:   // authentication header
    case 60:   // destination options
    case 135:  // mobility
    case 139:  // HIP
    case 140:  // shim6
      return true;
    default:
      return false;
  }
}

Weird ipv6(const uint8_t* p, size_t n, Packet& out) {
  if (n < 40) return Weird::kTruncatedIpv6Header;
  const uint16_t payload_len = bytes::be16(p + 4);
  out.ip_version_ = 6;
  out.ip_len_ = static_cast<uint16_t>(std::min(40 + payload_len, 0xffff));
  out.ttl_ = p[7];
  out.src_ = IpAddr::v6(p + 8);
  out.dst_ = IpAddr::v6(p + 24);
  uint8_t next = p[6];
  // A jumbogram says payload length 0; otherwise trust it, clipped.
  const size_t end = payload_len == 0 ? n : std::min<size_t>(n, 40 + payload_len);
  size_t off = 40;
  for (int count = 0; is_ipv6_extension(next); ++count) {
    if (count == kMaxIpv6ExtensionHeaders) {
      return Weird::kTooManyIpv6ExtensionHeaders;
    }
    if (end < off + 8) return Weird::kTruncatedIpv6ExtensionHeader;
    const uint8_t* h = p + off;
    size_t len = 0;
    if (next == 44) {
      len = 8;
      out.ip_id_ = static_cast<uint16_t>(bytes::be32(h + 4));
      if ((bytes::be16(h + 2) >> 3) != 0) {
        out.proto_ = h[0];
        out.flags_ |= Packet::kFragment;
        return Weird::kNone;
      }
    } else if (next == 51) {
      len = (size_t{h[1]} + 2) * 4;
    } else {
      len = (size_t{h[1]} + 1) * 8;
    }
    if (end < off + len) return Weird::kTruncatedIpv6ExtensionHeader;
    next = h[0];
    off += len;
  }
  out.proto_ = next;
  return transport(p + off, end - off, out);
}

}  // namespace

Weird decode_ip(const uint8_t* p, size_t n, Packet& out) {
  if (n < 1) return Weird::kTruncatedIpv4Header;
  switch (p[0] >> 4) {
    case 4:
      return ipv4(p, n, out);
    case 6:
      return ipv6(p, n, out);
    default:
      return Weird::kBadIpVersion;
  }
}

}  // namespace darklens::ingest
