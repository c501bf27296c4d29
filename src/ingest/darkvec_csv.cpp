// DarkVec packet-log CSV (one packet per row, '-' = absent). Columns are
// found by header name, so the leading unnamed index column and column
// order do not matter. Anonymised address tokens become synthetic
// addresses (synthetic_address).
#include <array>
#include <charconv>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include "darklens/error.hpp"
#include "readers.hpp"

namespace darklens::ingest {
namespace {

constexpr size_t kMaxLine = size_t{64} * 1024;
constexpr size_t kMaxColumns = 256;

enum Col {
  kTs,
  kEthtype,
  kSrcIp,
  kSrcPort,
  kDstIp,
  kDstPort,
  kProto,
  kPckLen,
  kTcpFlags,
  kMirai,
  kTcpSeq,
  kTtl,
  kTMss,
  kTWin,
  kTTs,
  kTSack,
  kTSackp,
  kNumCols
};
constexpr const char* kColNames[kNumCols] = {"ts",    "ethtype", "src_ip",    "src_port", "dst_ip",  "dst_port",
                                             "proto", "pck_len", "tcp_flags", "mirai",    "tcp_seq", "ttl",
                                             "t_mss", "t_win",   "t_ts",      "t_sack",   "t_sackp"};

template <typename T>
bool parse_uint(std::string_view s, T& out) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > std::numeric_limits<T>::max()) {
    return false;
  }
  out = static_cast<T>(v);
  return true;
}

// "1619827200.2047381" -> ns, exactly (no floating point).
bool parse_ts(std::string_view s, int64_t& ns) {
  size_t dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  int64_t sec = 0;
  if (!parse_uint(whole, sec) || sec > 9'000'000'000) return false;
  int64_t frac = 0;
  if (dot != std::string_view::npos) {
    std::string_view f = s.substr(dot + 1);
    if (f.empty() || f.size() > 18) return false;
    int digits = 0;
    for (char c : f) {
      if (c < '0' || c > '9') return false;
      if (digits < 9) frac = frac * 10 + (c - '0'), ++digits;
    }
    while (digits++ < 9) frac *= 10;
  }
  ns = sec * 1'000'000'000 + frac;
  return true;
}

bool absent(std::string_view s) { return s.empty() || s == "-"; }

class DarkVecCsvReader final : public CaptureReader {
 public:
  explicit DarkVecCsvReader(std::unique_ptr<ByteStream> stream) : stream_(std::move(stream)), buf_(1 << 20) {
    input_ = stream_.get();
    info_.path_ = stream_->name();
    info_.format_ = Format::kDarkVecCsv;
    info_.compression_ = stream_->compression();
    std::string_view header;
    bool too_long = false;
    if (!next_line(header, too_long) || too_long) {
      throw FormatError(
          info_.path_ + ": cannot read DarkVec CSV header: " +
          (too_long ? "first line longer than " + std::to_string(kMaxLine) + " bytes" : std::string("no header line")));
    }
    cols_.fill(-1);
    int index = 0;
    for_each_field(header, [&](std::string_view name) {
      for (int c = 0; c < kNumCols; ++c) {
        if (name == kColNames[c]) cols_[c] = index;
      }
      ++index;
    });
    ncols_ = index;
    for (Col c : {kTs, kSrcIp, kDstIp, kProto}) {
      if (cols_[c] < 0) {
        throw FormatError(info_.path_ + ": DarkVec CSV header lacks column '" + kColNames[c] + "'");
      }
    }
  }

  bool next(Packet& out) override {
    std::string_view line;
    bool too_long = false;
    while (next_line(line, too_long)) {
      if (too_long) {
        ++counters_.records_;
        counters_.weird_.add(Weird::kCsvLineTooLong);
        continue;
      }
      if (line.empty()) continue;
      out = Packet{};
      if (!parse_row(line, out)) {
        ++counters_.records_;
        counters_.weird_.add(Weird::kCsvBadRow);
        continue;
      }
      counters_.note_record(out.ts_ns_, out.wire_len_);
      if (!keep(out)) continue;
      ++counters_.decoded_;
      return true;
    }
    if (!stream_->error().empty() && counters_.stop_message_.empty()) {
      counters_.stop_message_ = info_.path_ + ": " + stream_->error();
    }
    return false;
  }

 private:
  template <typename F>
  static void for_each_field(std::string_view line, F&& f) {
    size_t start = 0;
    for (size_t fields = 0; fields < kMaxColumns; ++fields) {
      size_t comma = line.find(',', start);
      f(line.substr(start, comma - start));
      if (comma == std::string_view::npos) return;
      start = comma + 1;
    }
  }

  // One line without its terminator. Lines longer than kMaxLine are
  // reported (too_long) and skipped up to their end, in bounded memory.
  bool next_line(std::string_view& line, bool& too_long) {
    too_long = false;
    for (;;) {
      const char* begin = buf_.data() + pos_;
      const void* nl = std::memchr(begin, '\n', len_ - pos_);
      if (nl != nullptr) {
        size_t n = static_cast<const char*>(nl) - begin;
        pos_ += n + 1;
        if (skipping_) {
          skipping_ = false;
          too_long = true;
          line = {};
          return true;
        }
        if (n > kMaxLine) {
          too_long = true;
          line = {};
          return true;
        }
        if (n && begin[n - 1] == '\r') --n;
        line = std::string_view(begin, n);
        return true;
      }
      if (eof_) {
        if (pos_ == len_) return false;
        // Last line without a newline.
        line = std::string_view(begin, len_ - pos_);
        too_long = skipping_ || line.size() > kMaxLine;
        skipping_ = false;
        pos_ = len_;
        return true;
      }
      // Need more bytes: keep the partial line, unless it is already too long.
      if (len_ - pos_ > kMaxLine) {
        skipping_ = true;
        pos_ = len_;
      }
      std::memmove(buf_.data(), buf_.data() + pos_, len_ - pos_);
      len_ -= pos_;
      pos_ = 0;
      size_t k = stream_->read(buf_.data() + len_, buf_.size() - len_);
      if (k == 0) eof_ = true;
      len_ += k;
    }
  }

  IpAddr address(std::string_view s) {
    if (auto a = IpAddr::parse(s)) return *a;
    ++counters_.anonymised_tokens_;
    info_.anonymised_addresses_ = true;
    return synthetic_address(s);
  }

  bool parse_row(std::string_view line, Packet& p) {
    std::array<std::string_view, kNumCols> f{};
    int index = 0;
    for_each_field(line, [&](std::string_view v) {
      for (int c = 0; c < kNumCols; ++c) {
        if (cols_[c] == index) f[c] = v;
      }
      ++index;
    });
    if (index != ncols_) return false;
    if (!parse_ts(f[kTs], p.ts_ns_) || absent(f[kSrcIp]) || absent(f[kDstIp]) || !parse_uint(f[kProto], p.proto_)) {
      return false;
    }
    uint16_t ethtype = 0x0800;
    if (!absent(f[kEthtype]) && !parse_uint(f[kEthtype], ethtype)) return false;
    p.ip_version_ = ethtype == 0x86dd ? 6 : 4;
    p.src_ = address(f[kSrcIp]);
    p.dst_ = address(f[kDstIp]);
    // Optional numeric fields: absent stays 0, malformed rejects the row.
    auto opt = [&](Col c, auto& field) { return absent(f[c]) || parse_uint(f[c], field); };
    uint32_t pck_len = 0;
    uint8_t mirai = 0, sackp = 0;
    if (!opt(kPckLen, pck_len) || !opt(kTtl, p.ttl_) || !opt(kTcpFlags, p.tcp_flags_) || !opt(kTcpSeq, p.tcp_seq_) ||
        !opt(kSrcPort, p.sport_) || !opt(kDstPort, p.dport_) || !opt(kMirai, mirai) || !opt(kTMss, p.tcp_mss_) ||
        !opt(kTWin, p.tcp_wscale_) || !opt(kTTs, p.tcp_tsval_) || !opt(kTSackp, sackp)) {
      return false;
    }
    p.wire_len_ = pck_len;
    // pck_len is the Ethernet frame length; the IP length is not logged.
    p.ip_len_ = static_cast<uint16_t>(std::min<uint32_t>(pck_len > 14 ? pck_len - 14 : 0, 0xffff));
    if (!absent(f[kTMss])) p.flags_ |= Packet::kHasMss;
    if (!absent(f[kTWin])) p.flags_ |= Packet::kHasWscale;
    if (!absent(f[kTTs])) p.flags_ |= Packet::kHasTimestamp;
    if (sackp) p.flags_ |= Packet::kHasSackPerm;
    if (mirai) p.flags_ |= Packet::kMiraiMarked;
    if ((p.proto_ == ip_proto::kTcp || p.proto_ == ip_proto::kUdp) && !absent(f[kDstPort])) {
      p.flags_ |= Packet::kHasTransport;
    }
    return true;
  }

  std::unique_ptr<ByteStream> stream_;
  std::vector<char> buf_;
  size_t pos_ = 0, len_ = 0;
  bool eof_ = false, skipping_ = false;
  std::array<int, kNumCols> cols_{};
  int ncols_ = 0;
};

uint64_t fnv1a(std::string_view s, uint64_t h) {
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

}  // namespace

IpAddr synthetic_address(std::string_view token) {
  auto numbered = [&](std::string_view prefix, uint32_t base) -> std::optional<IpAddr> {
    if (token.substr(0, prefix.size()) != prefix) return std::nullopt;
    uint32_t n = 0;
    if (!parse_uint(token.substr(prefix.size()), n) || n >= (1u << 24)) {
      return std::nullopt;
    }
    return IpAddr::v4(base + n);
  };
  if (auto a = numbered("src_ipaddr", 0xf0000000u)) return *a;  // 240/8
  if (auto a = numbered("dst_ipaddr", 0xf1000000u)) return *a;  // 241/8
  IpAddr a;
  a.hi_ = (uint64_t{0xfd} << 56) | (fnv1a(token, 0xcbf29ce484222325ULL) >> 8);
  a.lo_ = fnv1a(token, 0x84222325cbf29ce4ULL);
  return a;
}

std::unique_ptr<CaptureReader> make_darkvec_csv_reader(std::unique_ptr<ByteStream> stream) {
  return std::make_unique<DarkVecCsvReader>(std::move(stream));
}

}  // namespace darklens::ingest
