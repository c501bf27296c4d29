#include "darklens/types.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace darklens {

IpAddr IpAddr::v6(const uint8_t b[16]) {
  IpAddr a;
  for (int i = 0; i < 8; ++i) a.hi_ = (a.hi_ << 8) | b[i];
  for (int i = 8; i < 16; ++i) a.lo_ = (a.lo_ << 8) | b[i];
  return a;
}

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  in_addr a4{};
  if (inet_pton(AF_INET, buf, &a4) == 1) return IpAddr::v4(ntohl(a4.s_addr));
  uint8_t v6bytes[16];
  if (inet_pton(AF_INET6, buf, v6bytes) == 1) return v6(v6bytes);
  return std::nullopt;
}

std::string IpAddr::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  if (is_v4()) {
    // Dotted decimal by hand: inet_ntop goes through printf, and every
    // output row names its source.
    size_t n = 0;
    for (int i = 3; i >= 0; --i) {
      const unsigned byte = (v4_value() >> (8 * i)) & 0xff;
      if (byte >= 100) buf[n++] = static_cast<char>('0' + byte / 100);
      if (byte >= 10) buf[n++] = static_cast<char>('0' + byte / 10 % 10);
      buf[n++] = static_cast<char>('0' + byte % 10);
      if (i) buf[n++] = '.';
    }
    return std::string(buf, n);
  } else {
    uint8_t b[16];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(hi_ >> (56 - 8 * i));
    for (int i = 0; i < 8; ++i) b[8 + i] = static_cast<uint8_t>(lo_ >> (56 - 8 * i));
    inet_ntop(AF_INET6, b, buf, sizeof buf);
  }
  return buf;
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  const size_t slash = text.find('/');
  auto addr = IpAddr::parse(text.substr(0, slash));
  if (!addr) return std::nullopt;
  const int max_len = addr->is_v4() ? 32 : 128;
  int len = max_len;
  if (slash != std::string_view::npos) {
    auto digits = text.substr(slash + 1);
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
    if (ec != std::errc() || p != digits.data() + digits.size() || len < 0 || len > max_len) {
      return std::nullopt;
    }
  }
  Cidr c;
  c.len_ = addr->is_v4() ? len + 96 : len;
  // Clear the host bits.
  const int low = c.len_ - 64;
  c.base_.hi_ = c.len_ >= 64 ? addr->hi_ : (c.len_ == 0 ? 0 : addr->hi_ & ~(~uint64_t{0} >> c.len_));
  c.base_.lo_ = low <= 0 ? 0 : (low == 64 ? addr->lo_ : addr->lo_ & ~(~uint64_t{0} >> low));
  return c;
}

std::string Cidr::to_string() const {
  return base_.to_string() + "/" + std::to_string(base_.is_v4() && len_ >= 96 ? len_ - 96 : len_);
}

std::string iso8601_utc(int64_t ns) {
  int64_t sec = ns / 1'000'000'000;
  int64_t frac = ns % 1'000'000'000;
  if (frac < 0) frac += 1'000'000'000, --sec;
  const time_t t = static_cast<time_t>(sec);
  tm parts{};
  gmtime_r(&t, &parts);
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", parts.tm_year + 1900, parts.tm_mon + 1,
                        parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec);
  if (frac) {
    n += std::snprintf(buf + n, sizeof buf - n, ".%09lld", static_cast<long long>(frac));
    while (buf[n - 1] == '0') --n;
  }
  buf[n] = 'Z';
  return std::string(buf, n + 1);
}

std::string tcp_flag::names(uint8_t flags) {
  static constexpr const char* kNames[8] = {"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"};
  if (flags == 0) return "none";
  std::string s;
  for (int bit = 0; bit < 8; ++bit) {
    if (flags & (1u << bit)) {
      if (!s.empty()) s += ',';
      s += kNames[bit];
    }
  }
  return s;
}

std::string ip_proto::name(uint8_t proto) {
  switch (proto) {
    case kIcmp:
      return "icmp";
    case kTcp:
      return "tcp";
    case kUdp:
      return "udp";
    case kGre:
      return "gre";
    case kIcmpV6:
      return "icmpv6";
    case 41:
      return "ipv6-in-ipv4";
    case 50:
      return "esp";
    case 51:
      return "ah";
    case 132:
      return "sctp";
    default:
      return std::to_string(proto);
  }
}

std::string TcpOptionLayout::to_string() const {
  std::string s;
  for (int i = 0; i < count_; ++i) {
    if (i) s += ',';
    switch (kinds_[i]) {
      case 1:
        s += "NOP";
        break;
      case 2:
        s += "MSS";
        break;
      case 3:
        s += "WS";
        break;
      case 4:
        s += "SACKP";
        break;
      case 5:
        s += "SACK";
        break;
      case 8:
        s += "TS";
        break;
      default:
        s += 'K';
        s += std::to_string(kinds_[i]);
        break;
    }
  }
  return s;
}

}  // namespace darklens
