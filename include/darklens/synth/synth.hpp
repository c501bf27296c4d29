// A synthetic darknet: one pcap per day for a monitored prefix, with planted
// coordinated groups (scanning organisations, a Mirai-like botnet, SSH
// brute-forcers, Masscan, SQL/RDP/SMB scanners, backscatter, ICMP, GRE, UDP
// services) over a heavy-tailed unorganised background, and the ground truth
// of who belongs to which group. The model is documented in docs/synth.md.
//
//   darklens::synth::SynthParams p;  p.days = 3;  p.sources = 20000;
//   auto out = darklens::synth::generate(p, "demo/");
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "darklens/ingest/ingest.hpp"

namespace darklens::synth {

/// An IPv4 prefix, host byte order.
struct Prefix4 {
  uint32_t base_ = 0;
  int len_ = 32;
  uint64_t size() const { return uint64_t{1} << (32 - len_); }
  bool contains(uint32_t a) const { return len_ == 0 || (a >> (32 - len_)) == (base_ >> (32 - len_)); }
};
/// Parses "a.b.c.d/len" with 8 <= len <= 30. Throws ParamError.
Prefix4 parse_prefix4(std::string_view text);

/// Which world to write (docs/synth.md):
/// - planted: well-separated groups, each with its own ports and tools,
///   every member labelled (the easy case; the demo's);
/// - telescope: as a real /24 sees it: most sources send one or two
///   packets, scanning organisations share one port universe and one of
///   them holds half the labelled sources, unlabelled coordinated groups,
///   a background on the same popular ports with a few heavy hitters.
enum class Profile : uint8_t { kPlanted, kTelescope };
/// "planted" | "telescope"; throws ParamError.
Profile parse_profile(std::string_view text);

struct SynthParams {
  int days_ = 1;             // 1..366
  uint32_t sources_ = 5000;  // active sources per day (about)
  uint64_t seed_ = 1;
  std::string prefix_ = "198.51.100.0/24";  // the monitored darknet
  std::string start_date_ = "2021-05-01";   // first day, UTC (YYYY-MM-DD)
  Profile profile_ = Profile::kPlanted;
  ingest::Compression compression_ = ingest::Compression::kNone;
  /// The darknet answers every TCP SYN with a SYN-ACK (as the source
  /// study's did); clients complete the handshake with an ACK, stateless
  /// scanners (Mirai, ZMap, Masscan) answer with a RST.
  bool responder_ = false;
  /// Called after each day is written (day index, packets of that day).
  std::function<void(int, uint64_t)> progress_;
};

struct DayOutput {
  std::string path_;
  std::string date_;
  uint64_t packets_ = 0;
  uint64_t sources_ = 0;
  std::map<std::string, uint64_t> group_sources_;  // label -> active members
};

struct SynthOutput {
  std::vector<DayOutput> days_;
  std::string ground_truth_path_;  // ip,label of every planted member
  std::string manifest_path_;      // synth.json: parameters and per-day counts
  uint64_t ground_truth_rows_ = 0;
};

/// Writes `<out_dir>/darknet-<date>.pcap[.gz|.zst]` per day,
/// `<out_dir>/ground_truth.csv` and `<out_dir>/synth.json` (all atomically).
/// Same parameters = byte-identical files. Throws ParamError / IoError.
SynthOutput generate(const SynthParams& params, const std::string& out_dir);

/// Names of the labelled groups of a profile (the labels of ground_truth.csv).
std::vector<std::string> group_labels(Profile profile = Profile::kPlanted);

}  // namespace darklens::synth
