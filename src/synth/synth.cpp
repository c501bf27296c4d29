// The synthetic darknet engine: members per group persist across days with
// churn; each active member sends a heavy-tailed number of packets whose
// ports, fingerprints and timing follow its group's row in groups.hpp.
#include "darklens/synth/synth.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <iterator>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "../core/rng.hpp"
#include "darklens/core/atomic_file.hpp"
#include "darklens/core/text.hpp"
#include "darklens/error.hpp"
#include "darklens/synth/pcap_writer.hpp"
#include "groups.hpp"

namespace darklens::synth {
namespace {

constexpr int64_t kDayNs = 86'400'000'000'000;
constexpr double kDaySeconds = 86400.0;

struct Member {
  uint32_t ip = 0;
  uint8_t hops = 0;
  uint8_t variant = 0;  // backscatter: 0 SYN-ACK, 1 RST, 2 RST-ACK, 3 ICMP
  bool udp = false;     // background member speaking UDP
  uint16_t mss = 1460;
  double rate = 1.0;
  double phase = 0.0;  // hours
  std::vector<uint16_t> ports;
};

struct Group {
  const GroupSpec* spec;
  std::vector<uint32_t> blocks;    // /24 bases when spec->blocks > 0
  std::vector<uint16_t> universe;  // ports pool members draw from
  std::vector<Member> members;     // active today
};

struct Rec {
  int64_t ts;
  uint32_t src, dst, seq, ack;
  uint16_t sport, dport, ip_id, window, mss;
  uint8_t proto, flags, ttl, options, icmp_type, icmp_code;
};

// Ports a background source is likely to probe (weights fall off as 1/rank).
constexpr uint16_t kPopularPorts[] = {80,    8080,  443,  22,   23,   445,  3389, 5555, 6379,  8443,
                                      37215, 52869, 2375, 9200, 8000, 81,   21,   25,   3306,  5900,
                                      8088,  7547,  110,  143,  1900, 8888, 9000, 2222, 10000, 60001};

bool is_routable_source(uint32_t a) {
  const uint8_t o1 = a >> 24, o2 = (a >> 16) & 0xff;
  if (o1 == 0 || o1 == 10 || o1 == 127 || o1 >= 224) return false;
  if (o1 == 100 && (o2 & 0xc0) == 64) return false;  // 100.64/10
  if (o1 == 169 && o2 == 254) return false;
  if (o1 == 172 && (o2 & 0xf0) == 16) return false;
  if (o1 == 192 && o2 == 168) return false;
  if ((a & 0xffffff00) == 0xc0000200 || (a & 0xffffff00) == 0xc6336400 || (a & 0xffffff00) == 0xcb007100) {
    return false;  // documentation ranges
  }
  if ((a & 0xff) == 0 || (a & 0xff) == 255) return false;
  return true;
}

int64_t days_from_civil(int y, unsigned m, unsigned d) {  // H. Hinnant
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return int64_t{era} * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::string civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(y), m, d);
  return buf;
}

int64_t parse_date(const std::string& s) {
  int y = 0;
  unsigned m = 0, d = 0;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || std::from_chars(s.data(), s.data() + 4, y).ec != std::errc() ||
      std::from_chars(s.data() + 5, s.data() + 7, m).ec != std::errc() ||
      std::from_chars(s.data() + 8, s.data() + 10, d).ec != std::errc() || y < 1970 || y > 2100 || m < 1 || m > 12 ||
      d < 1 || d > 31) {
    throw ParamError("start date '" + s + "' is not a date YYYY-MM-DD (1970..2100)");
  }
  // The day exists in its month (2021-02-30 does not).
  const int64_t day = days_from_civil(y, m, d);
  if (m == 12 ? d > 31 : day >= days_from_civil(y, m + 1, 1)) {
    throw ParamError("start date '" + s + "' is not a date: that month has no day " + std::to_string(d));
  }
  return day;
}

class Generator {
 public:
  Generator(const SynthParams& p, Prefix4 darknet) : p_(p), darknet_(darknet), rng_(p.seed_) {
    if (p.profile_ == Profile::kTelescope) {
      // One universe for every organisation: the popular ports and 500 others.
      std::unordered_set<uint16_t> seen(std::begin(kPopularPorts), std::end(kPopularPorts));
      shared_universe_.assign(std::begin(kPopularPorts), std::end(kPopularPorts));
      while (shared_universe_.size() < std::size(kPopularPorts) + 500) {
        auto port = static_cast<uint16_t>(rng_.between(1, 65535));
        if (seen.insert(port).second) shared_universe_.push_back(port);
      }
    }
    for (const auto& spec : group_table(p.profile_)) groups_.push_back(make_group(spec));
  }

  // Advances membership to `day` and returns the day's packets, time-sorted.
  std::vector<Rec> day(int day, DayOutput& out) {
    const int64_t day_start = day_ns_ + int64_t{day} * kDayNs;
    std::vector<Rec> recs;
    double planted = 0;
    for (auto& g : groups_) {
      const GroupSpec& s = *g.spec;
      double target;
      if (s.label[0] != '\0') {
        target = s.share * p_.sources_ * (day == 0 ? 1.0 : std::exp(0.1 * rng_.normal()));
        planted += target;
      } else {
        target = std::max(0.0, p_.sources_ - planted);
      }
      churn(g, static_cast<size_t>(std::lround(target)), day == 0);
      for (auto& m : g.members) emit(g, m, day_start, recs);
      if (s.label[0] != '\0') out.group_sources_[s.label] = g.members.size();
      out.sources_ += g.members.size();
    }
    std::stable_sort(recs.begin(), recs.end(), [](const Rec& a, const Rec& b) { return a.ts < b.ts; });
    return recs;
  }

  void set_start(int64_t days_since_epoch) { day_ns_ = days_since_epoch * kDayNs; }
  const std::vector<std::pair<uint32_t, std::string>>& planted() const { return planted_; }

 private:
  Group make_group(const GroupSpec& spec) {
    Group g{&spec, {}, {}, {}};
    for (int b = 0; b < spec.blocks; ++b) g.blocks.push_back(random_block());
    if (spec.shared_universe) {
      g.universe = shared_universe_;
    } else if (spec.ports.empty() && spec.pool_max > 1) {
      // Scanning universe: the popular ports plus many random ones.
      std::unordered_set<uint16_t> seen(std::begin(kPopularPorts), std::end(kPopularPorts));
      g.universe.assign(std::begin(kPopularPorts), std::end(kPopularPorts));
      while (g.universe.size() < 3000) {
        auto port = static_cast<uint16_t>(rng_.between(1, 65535));
        if (seen.insert(port).second) g.universe.push_back(port);
      }
    }
    return g;
  }

  uint32_t random_block() {
    uint32_t base;
    do {
      base = static_cast<uint32_t>(rng_.next()) & 0xffffff00u;
    } while (!is_routable_source(base | 1) || darknet_.contains(base) || used_ips_.count(base | 1));
    return base;
  }

  // A new address for a member of g. Groups that live in /24 blocks get
  // another block when theirs are (nearly) full, so any size terminates.
  uint32_t fresh_ip(Group& g) {
    for (int tries = 0;; ++tries) {
      if (!g.blocks.empty() && tries > 0 && tries % 64 == 0) g.blocks.push_back(random_block());
      uint32_t a = g.blocks.empty()
                       ? static_cast<uint32_t>(rng_.next())
                       : g.blocks[rng_.between(0, g.blocks.size() - 1)] | static_cast<uint32_t>(rng_.between(1, 254));
      if (is_routable_source(a) && !darknet_.contains(a) && used_ips_.insert(a).second) {
        return a;
      }
    }
  }

  uint16_t popular_or_random_port() {
    if (rng_.chance(0.5)) {
      // Zipf-like over kPopularPorts: rank r with weight 1/(r+1).
      constexpr size_t kPorts = std::size(kPopularPorts);
      double total = 0;
      for (size_t r = 0; r < kPorts; ++r) total += 1.0 / (r + 1);
      double u = rng_.uniform() * total;
      for (size_t r = 0; r < kPorts; ++r) {
        u -= 1.0 / (r + 1);
        if (u <= 0) return kPopularPorts[r];
      }
      return kPopularPorts[kPorts - 1];
    }
    return static_cast<uint16_t>(rng_.between(1, 65535));
  }

  Member new_member(Group& g) {
    const GroupSpec& s = *g.spec;
    Member m;
    m.ip = fresh_ip(g);
    m.hops = static_cast<uint8_t>(rng_.between(6, 26));
    m.rate = std::exp(0.3 * rng_.normal());
    m.phase = rng_.uniform() * 24.0;
    m.mss = rng_.chance(0.8) ? 1460 : static_cast<uint16_t>(rng_.between(1200, 1460));
    const double v = rng_.uniform();
    m.variant = v < 0.55 ? 0 : v < 0.75 ? 1 : v < 0.9 ? 2 : 3;
    if (s.label[0] == '\0') {  // background
      m.udp = rng_.chance(0.12);
      size_t k = rng_.chance(0.97) ? 1 : rng_.between(2, 6);
      for (size_t i = 0; i < k; ++i) m.ports.push_back(popular_or_random_port());
    } else if (s.one_port_each) {
      m.ports.push_back(weighted_port(s));
    } else if (!g.universe.empty()) {
      size_t k = rng_.between(s.pool_min, s.pool_max);
      for (size_t i = 0; i < k; ++i) {
        m.ports.push_back(g.universe[rng_.between(0, g.universe.size() - 1)]);
      }
    }
    return m;
  }

  void churn(Group& g, size_t target, bool first_day) {
    if (!first_day) {
      std::vector<Member> kept;
      for (auto& m : g.members) {
        if (rng_.chance(g.spec->p_stay)) {
          m.rate *= std::exp(0.15 * rng_.normal());
          kept.push_back(std::move(m));
        }
      }
      g.members = std::move(kept);
    }
    if (g.members.size() > target) g.members.resize(target);
    while (g.members.size() < target) {
      g.members.push_back(new_member(g));
      if (g.spec->label[0] != '\0' && !g.spec->hidden) planted_.emplace_back(g.members.back().ip, g.spec->label);
    }
  }

  uint16_t weighted_port(const GroupSpec& s) {
    double u = rng_.uniform();
    for (const auto& [port, w] : s.ports) {
      if ((u -= w) <= 0) return port;
    }
    return s.ports.back().first;
  }

  double time_of(const GroupSpec& s, const Member& m, uint64_t i, uint64_t n, double burst_start, double burst_len) {
    switch (s.timing) {
      case Timing::kDiurnal:
        for (;;) {
          double h = rng_.uniform() * 24.0;
          double w = (1.0 + 0.6 * std::sin(6.283185307179586 * (h - m.phase) / 24.0)) / 1.6;
          if (rng_.uniform() < w) return h * 3600.0;
        }
      case Timing::kPeriodic: {
        double t = m.phase * 3600.0 + (kDaySeconds / n) * i + 2.0 * rng_.normal();
        t = std::fmod(t, kDaySeconds);
        return t < 0 ? t + kDaySeconds : t;
      }
      case Timing::kBurst:
        return burst_start + rng_.uniform() * burst_len;
      case Timing::kUniform:
        break;
    }
    return rng_.uniform() * kDaySeconds;
  }

  void emit(const Group& g, const Member& m, int64_t day_start, std::vector<Rec>& out) {
    const GroupSpec& s = *g.spec;
    const bool background = s.label[0] == '\0';
    double count = background ? std::min<double>(rng_.pareto(1.25), p_.profile_ == Profile::kTelescope ? 200000 : 3000)
                              : rng_.lognormal(s.median_packets, s.sigma) * m.rate;
    const uint64_t n = std::max<uint64_t>(1, static_cast<uint64_t>(count));
    const double burst_len = 1800.0 + rng_.uniform() * 9000.0;
    const double burst_start = rng_.uniform() * (kDaySeconds - burst_len);
    const uint8_t ttl = static_cast<uint8_t>(s.initial_ttl - m.hops);
    const uint16_t sport_fixed = static_cast<uint16_t>(rng_.between(32768, 60999));
    for (uint64_t i = 0; i < n; ++i) {
      Rec r{};
      double t = time_of(s, m, i, n, burst_start, burst_len);
      r.ts = day_start + static_cast<int64_t>(t * 1e6) * 1000;  // pcap: microseconds
      r.src = m.ip;
      r.dst = darknet_.base_ + static_cast<uint32_t>(rng_.between(0, darknet_.size() - 1));
      r.ttl = ttl;
      r.ip_id = static_cast<uint16_t>(rng_.next());
      r.seq = static_cast<uint32_t>(rng_.next());
      r.window = s.window ? s.window : static_cast<uint16_t>(rng_.between(1024, 65535));
      r.mss = m.mss;
      r.options = static_cast<uint8_t>(s.options);
      r.sport = static_cast<uint16_t>(rng_.between(1024, 65535));
      switch (s.kind) {
        case Kind::kTcpSyn:
          r.proto = m.udp ? 17 : 6;
          r.flags = 0x02;
          r.dport = m.ports.empty() ? weighted_port(s) : m.ports[rng_.between(0, m.ports.size() - 1)];
          if (s.fingerprint == Fingerprint::kZmap) {
            r.ip_id = 54321;
            r.sport = sport_fixed;
          } else if (s.fingerprint == Fingerprint::kMirai) {
            r.seq = r.dst;
          } else if (s.fingerprint == Fingerprint::kMasscan) {
            r.ip_id = static_cast<uint16_t>((r.dst ^ r.dport ^ r.seq) & 0xffff);
          }
          break;
        case Kind::kBackscatter:
          r.sport = weighted_port(s);
          r.dport = static_cast<uint16_t>(rng_.between(1024, 65535));
          if (m.variant == 3) {
            r.proto = 1;
            r.icmp_type = 3;
            r.icmp_code = static_cast<uint8_t>(rng_.chance(0.5) ? 3 : 1);
          } else {
            r.proto = 6;
            r.flags = m.variant == 0 ? 0x12 : m.variant == 1 ? 0x04 : 0x14;
            r.ack = static_cast<uint32_t>(rng_.next());
          }
          break;
        case Kind::kUdp:
          r.proto = 17;
          r.dport = weighted_port(s);
          break;
        case Kind::kIcmpEcho:
          r.proto = 1;
          r.icmp_type = 8;
          break;
        case Kind::kGre:
          r.proto = 47;
          break;
      }
      out.push_back(r);
      if (p_.responder_ && r.proto == 6 && r.flags == 0x02) respond(s, m, r, out);
    }
  }

  // The darknet's SYN-ACK, and the source's ACK (clients) or RST
  // (stateless scanners, whose kernels do not know the connection).
  void respond(const GroupSpec& s, const Member& m, const Rec& syn, std::vector<Rec>& out) {
    const int64_t rtt = (10 + 2 * int64_t{m.hops}) * 1'000'000;  // ms, µs-aligned
    Rec sa{};
    sa.ts = syn.ts + rtt / 2;
    sa.src = syn.dst, sa.dst = syn.src;
    sa.sport = syn.dport, sa.dport = syn.sport;
    sa.proto = 6;
    sa.flags = 0x12;
    sa.seq = static_cast<uint32_t>(rng_.next());
    sa.ack = syn.seq + 1;
    sa.ttl = 64;
    sa.ip_id = static_cast<uint16_t>(rng_.next());
    sa.window = 65535;
    sa.mss = 1460;
    sa.options = static_cast<uint8_t>(Options::kMss);
    out.push_back(sa);
    const bool stateless = s.fingerprint != Fingerprint::kNone;
    const bool client = !stateless && s.label[0] != '\0';
    if (!stateless && !client) return;  // background: no answer
    Rec a = syn;
    a.ts = syn.ts + rtt;
    a.seq = syn.seq + 1;
    a.ack = client ? sa.seq + 1 : 0;
    a.flags = client ? 0x10 : 0x04;
    a.ip_id = static_cast<uint16_t>(rng_.next());
    out.push_back(a);
  }

  const SynthParams& p_;
  Prefix4 darknet_;
  Rng rng_;
  int64_t day_ns_ = 0;
  std::vector<Group> groups_;
  std::vector<uint16_t> shared_universe_;  // telescope: the organisations' ports
  std::unordered_set<uint32_t> used_ips_;
  std::vector<std::pair<uint32_t, std::string>> planted_;
};

std::vector<uint8_t> tcp_options(Options o, uint16_t mss) {
  const uint8_t hi = mss >> 8, lo = mss & 0xff;
  switch (o) {
    case Options::kMss:
      return {2, 4, hi, lo};
    case Options::kLinux:
      return {2, 4, hi, lo, 4, 2, 8, 10, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0, 1, 3, 3, 7};
    case Options::kWindows:
      return {2, 4, hi, lo, 1, 3, 3, 8, 1, 1, 4, 2};
    case Options::kNone:
      break;
  }
  return {};
}

std::vector<uint8_t> udp_payload(uint16_t dport) {
  switch (dport) {
    case 53: {  // DNS query, A record of "example.com"
      return {0x12, 0x34, 0x01, 0x00, 0,   1, 0,   0,   0,   0, 0, 0, 7, 'e', 'x',
              'a',  'm',  'p',  'l',  'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1};
    }
    case 123: {  // NTP v4 client request
      std::vector<uint8_t> v(48, 0);
      v[0] = 0x23;
      return v;
    }
    case 5060: {
      const std::string s =
          "OPTIONS sip:100@198.51.100.1 SIP/2.0\r\nVia: SIP/2.0/UDP "
          "10.0.0.1:5060\r\nMax-Forwards: 70\r\nCSeq: 1 OPTIONS\r\n\r\n";
      return {s.begin(), s.end()};
    }
    default:
      return {};
  }
}

FrameSpec frame_of(const Rec& r) {
  FrameSpec f;
  f.src = r.src;
  f.dst = r.dst;
  f.proto = r.proto;
  f.ttl = r.ttl;
  f.ip_id = r.ip_id;
  f.sport = r.sport;
  f.dport = r.dport;
  switch (r.proto) {
    case 6:
      f.dont_fragment = static_cast<Options>(r.options) == Options::kLinux;
      f.seq = r.seq;
      f.ack = r.ack;
      f.tcp_flags = r.flags;
      f.window = r.window;
      if (r.flags == 0x02 || r.flags == 0x12) {
        f.tcp_options = tcp_options(static_cast<Options>(r.options), r.mss);
      }
      break;
    case 17:
      f.payload = udp_payload(r.dport);
      break;
    case 1:
      f.icmp_type = r.icmp_type;
      f.icmp_code = r.icmp_code;
      if (r.icmp_type == 3) {
        // Quote the packet that triggered the error: darknet -> victim.
        FrameSpec q;
        q.src = r.dst;
        q.dst = r.src;
        q.proto = 17;
        q.sport = r.dport;
        q.dport = r.sport;
        q.min_frame = 0;
        auto inner = build_frame(q);
        f.payload.assign(inner.begin() + 14, inner.begin() + 14 + 28);
      } else {
        f.payload.assign(32, 0x61);
      }
      break;
    case 47:
      // GRE (RFC 2784, no options) carrying a bare IPv4 header.
      f.payload = {0, 0, 0x08, 0x00, 0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};
      break;
  }
  return f;
}

}  // namespace

Prefix4 parse_prefix4(std::string_view text) {
  auto bad = [&](const char* why) { return ParamError("prefix '" + std::string(text) + "': " + why); };
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) throw bad("expected a.b.c.d/len");
  auto addr = IpAddr::parse(text.substr(0, slash));
  if (!addr || !addr->is_v4()) throw bad("not an IPv4 address");
  int len = -1;
  auto lens = text.substr(slash + 1);
  auto [ptr, ec] = std::from_chars(lens.data(), lens.data() + lens.size(), len);
  if (ec != std::errc() || ptr != lens.data() + lens.size()) throw bad("bad prefix length");
  if (len < 8 || len > 30) throw bad("prefix length must be between 8 and 30");
  Prefix4 p;
  p.len_ = len;
  p.base_ = addr->v4_value() & ~((uint32_t{1} << (32 - len)) - 1);
  return p;
}

Profile parse_profile(std::string_view text) {
  if (text == "planted") return Profile::kPlanted;
  if (text == "telescope") return Profile::kTelescope;
  throw ParamError("profile '" + std::string(text) + "': expected planted or telescope");
}

std::vector<std::string> group_labels(Profile profile) {
  std::vector<std::string> v;
  for (const auto& g : group_table(profile)) {
    if (g.label[0] != '\0' && !g.hidden) v.emplace_back(g.label);
  }
  return v;
}

SynthOutput generate(const SynthParams& p, const std::string& out_dir) {
  if (p.days_ < 1 || p.days_ > 366) throw ParamError("days must be between 1 and 366");
  if (p.sources_ < 1 || p.sources_ > 20'000'000) {
    throw ParamError("sources must be between 1 and 20000000");
  }
  const Prefix4 darknet = parse_prefix4(p.prefix_);
  const int64_t first_day = parse_date(p.start_date_);
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) throw IoError(out_dir + ": cannot create output directory: " + ec.message());

  Generator gen(p, darknet);
  gen.set_start(first_day);
  SynthOutput out;
  const char* ext = p.compression_ == ingest::Compression::kGzip   ? ".pcap.gz"
                    : p.compression_ == ingest::Compression::kZstd ? ".pcap.zst"
                                                                   : ".pcap";
  for (int d = 0; d < p.days_; ++d) {
    DayOutput day;
    day.date_ = civil_from_days(first_day + d);
    day.path_ = (std::filesystem::path(out_dir) / ("darknet-" + day.date_ + ext)).string();
    std::vector<Rec> recs = gen.day(d, day);
    PcapWriter w(day.path_, 1, p.compression_);
    for (const Rec& r : recs) w.write(r.ts, build_frame(frame_of(r)));
    w.commit();
    day.packets_ = recs.size();
    if (p.progress_) p.progress_(d, day.packets_);
    out.days_.push_back(std::move(day));
  }

  auto planted = gen.planted();
  std::sort(planted.begin(), planted.end());
  out.ground_truth_path_ = (std::filesystem::path(out_dir) / "ground_truth.csv").string();
  {
    AtomicFile f(out.ground_truth_path_);
    f.write("ip,label\n");
    for (const auto& [ip, label] : planted) {
      f.write(IpAddr::v4(ip).to_string() + "," + label + "\n");
    }
    f.commit();
  }
  out.ground_truth_rows_ = planted.size();

  nlohmann::json m;
  m["generator"] = "darklens synth";
  m["seed"] = p.seed_;
  m["sources_per_day"] = p.sources_;
  m["prefix"] = p.prefix_;
  m["start_date"] = p.start_date_;
  m["profile"] = p.profile_ == Profile::kTelescope ? "telescope" : "planted";
  m["responder"] = p.responder_;
  m["ground_truth"] = "ground_truth.csv";
  for (const auto& d : out.days_) {
    m["days"].push_back({{"date", d.date_},
                         {"file", std::filesystem::path(d.path_).filename().string()},
                         {"packets", d.packets_},
                         {"sources", d.sources_},
                         {"group_sources", d.group_sources_}});
  }
  out.manifest_path_ = (std::filesystem::path(out_dir) / "synth.json").string();
  AtomicFile f(out.manifest_path_);
  f.write(dump_json(m, 2) + "\n");
  f.commit();
  return out;
}

}  // namespace darklens::synth
