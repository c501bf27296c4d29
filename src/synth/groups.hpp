// The planted groups of the synthetic darknet: one row per behaviour.
// docs/synth.md explains each row; change both together.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace darklens::synth {

enum class Kind : uint8_t { kTcpSyn, kBackscatter, kUdp, kIcmpEcho, kGre };
enum class Fingerprint : uint8_t { kNone, kMirai, kZmap, kMasscan };
enum class Options : uint8_t { kNone, kMss, kLinux, kWindows };
enum class Timing : uint8_t { kUniform, kDiurnal, kPeriodic, kBurst };

struct GroupSpec {
  const char* label;       // "" = unlabelled background
  double share;            // of the day's sources
  double p_stay;           // chance a member is active again the next day
  Kind kind;
  std::vector<std::pair<uint16_t, double>> ports;  // weighted; empty = pool
  int pool_min, pool_max;  // ports per member, drawn from a group universe
  Fingerprint fingerprint;
  Options options;
  uint8_t initial_ttl;     // 64 Linux/IoT, 128 Windows, 255 Masscan
  uint16_t window;         // 0 = random per packet
  double median_packets, sigma;  // lognormal packets per member and day
  Timing timing;
  int blocks;              // > 0: members live in this many /24 blocks
  bool one_port_each = false;  // each member keeps one of `ports` (by weight)
};

inline const std::vector<GroupSpec>& group_table() {
  static const std::vector<GroupSpec> kGroups = {
      // label, share, stay, kind, ports, pool, fp, opts, ttl, win, median, sigma, timing, blocks
      {"scanorg-alpha", 0.004, 0.95, Kind::kTcpSyn, {}, 40, 400,
       Fingerprint::kZmap, Options::kMss, 64, 65535, 1500, 0.5, Timing::kPeriodic, 3},
      {"scanorg-beta", 0.002, 0.95, Kind::kTcpSyn, {}, 20, 200,
       Fingerprint::kNone, Options::kLinux, 64, 64240, 500, 0.6, Timing::kBurst, 2},
      {"mirai", 0.10, 0.6, Kind::kTcpSyn, {{23, 0.9}, {2323, 0.1}}, 0, 0,
       Fingerprint::kMirai, Options::kNone, 64, 0, 14, 0.9, Timing::kDiurnal, 0},
      {"mirai-iot", 0.03, 0.6, Kind::kTcpSyn,
       {{81, 0.3}, {7547, 0.3}, {5555, 0.25}, {8080, 0.15}}, 0, 0,
       Fingerprint::kMirai, Options::kNone, 64, 0, 8, 0.9, Timing::kDiurnal, 0, true},
      {"ssh-bruteforce", 0.03, 0.7, Kind::kTcpSyn, {{22, 1.0}}, 0, 0,
       Fingerprint::kNone, Options::kLinux, 64, 64240, 5, 0.8, Timing::kUniform, 0},
      {"masscan", 0.01, 0.8, Kind::kTcpSyn, {}, 10, 120,
       Fingerprint::kMasscan, Options::kNone, 255, 1024, 250, 0.7, Timing::kUniform, 0},
      {"mssql-scan", 0.02, 0.7, Kind::kTcpSyn, {{1433, 1.0}}, 0, 0,
       Fingerprint::kNone, Options::kWindows, 128, 8192, 6, 0.8, Timing::kUniform, 0},
      {"rdp-scan", 0.02, 0.7, Kind::kTcpSyn, {{3389, 1.0}}, 0, 0,
       Fingerprint::kNone, Options::kWindows, 128, 64240, 6, 0.8, Timing::kUniform, 0},
      {"smb-scan", 0.03, 0.7, Kind::kTcpSyn, {{445, 1.0}}, 0, 0,
       Fingerprint::kNone, Options::kWindows, 128, 8192, 4, 0.7, Timing::kUniform, 0},
      {"backscatter", 0.03, 0.2, Kind::kBackscatter, {{80, 0.5}, {443, 0.4}, {53, 0.1}}, 0, 0,
       Fingerprint::kNone, Options::kNone, 64, 0, 40, 1.2, Timing::kBurst, 0},
      {"icmp-scan", 0.01, 0.6, Kind::kIcmpEcho, {}, 0, 0,
       Fingerprint::kNone, Options::kNone, 64, 0, 6, 0.8, Timing::kUniform, 0},
      {"dns-scan", 0.01, 0.7, Kind::kUdp, {{53, 1.0}}, 0, 0,
       Fingerprint::kNone, Options::kNone, 64, 0, 4, 0.8, Timing::kUniform, 0},
      {"ntp-scan", 0.005, 0.7, Kind::kUdp, {{123, 1.0}}, 0, 0,
       Fingerprint::kNone, Options::kNone, 64, 0, 4, 0.8, Timing::kUniform, 0},
      {"sip-scan", 0.01, 0.7, Kind::kUdp, {{5060, 1.0}}, 0, 0,
       Fingerprint::kNone, Options::kNone, 64, 0, 5, 0.8, Timing::kDiurnal, 0},
      {"gre", 0.002, 0.8, Kind::kGre, {}, 0, 0,
       Fingerprint::kNone, Options::kNone, 64, 0, 20, 0.8, Timing::kUniform, 0},
      // Unorganised background: the rest of the sources (see synth.cpp).
      {"", 0.0, 0.1, Kind::kTcpSyn, {}, 1, 1,
       Fingerprint::kNone, Options::kLinux, 64, 0, 0, 0, Timing::kUniform, 0},
  };
  return kGroups;
}

}  // namespace darklens::synth
