// A capinfos-like summary of one or more captures (`darklens stats`).
//
//   darklens::ingest::SummaryBuilder b;
//   b.add_file(path);                 // reads and summarises the capture
//   darklens::ingest::CaptureSummary s = b.finish();
//   std::cout << darklens::ingest::to_json(s).dump(2);
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "darklens/ingest/ingest.hpp"

namespace darklens::ingest {

struct PortCount {
  uint8_t proto_ = 0;  // tcp or udp
  uint16_t port_ = 0;
  uint64_t packets_ = 0;
};

struct CaptureSummary {
  struct File {
    CaptureInfo info_;
    ReadCounters counters_;
  };
  std::vector<File> files_;
  // Over every record of every file (decoded or not), as capinfos counts.
  uint64_t records_ = 0;
  uint64_t wire_bytes_ = 0;
  int64_t first_ts_ns_ = 0;
  int64_t last_ts_ns_ = 0;
  // Over decoded IP packets.
  uint64_t decoded_ = 0;
  uint64_t ipv4_ = 0, ipv6_ = 0, fragments_ = 0;
  uint64_t distinct_sources_ = 0;
  uint64_t distinct_destinations_ = 0;
  std::map<uint8_t, uint64_t> protocols_;  // IP protocol -> packets
  std::vector<PortCount> top_dst_ports_;   // TCP and UDP, most packets first
  std::map<uint8_t, uint64_t> tcp_flags_;  // flag byte -> TCP packets
  WeirdCounts weird_;                      // skipped records by reason
  std::vector<std::string> warnings_;      // files that ended early, ...
};

class SummaryBuilder {
 public:
  SummaryBuilder();
  ~SummaryBuilder();
  /// Reads a whole capture (throws what CaptureReader::open throws).
  /// `progress`, when set, is called now and then with records read so far.
  void add_file(const std::string& path, const std::function<void(uint64_t)>& progress = {});
  /// Adds one decoded packet (for callers that read packets themselves).
  void add(const Packet& p);
  /// Adds what a reader counted (totals, weird, warnings).
  void add_counters(const CaptureInfo& info, const ReadCounters& c);
  CaptureSummary finish(size_t top_ports = 10) const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

/// Machine-readable form (the `--json` output of `darklens stats`).
nlohmann::json to_json(const CaptureSummary& s);

}  // namespace darklens::ingest
