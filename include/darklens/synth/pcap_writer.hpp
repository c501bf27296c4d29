// Writes classic pcap files (microsecond or nanosecond timestamps),
// optionally gzip- or zstd-compressed, atomically. Plus build_frame(), which
// turns a FrameSpec into the bytes of an Ethernet/IPv4 frame with correct
// lengths and checksums (used by `darklens synth` and by tests).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "darklens/core/atomic_file.hpp"
#include "darklens/ingest/ingest.hpp"

namespace darklens {

class PcapWriter {
 public:
  /// Throws IoError naming the path. `linktype` is a LINKTYPE_ value.
  PcapWriter(const std::string& path, int linktype, ingest::Compression compression = ingest::Compression::kNone,
             bool nanosecond = false, uint32_t snaplen = 262144);
  ~PcapWriter();
  void write(int64_t ts_ns, const uint8_t* frame, uint32_t caplen, uint32_t wire_len);
  void write(int64_t ts_ns, const std::vector<uint8_t>& frame) {
    write(ts_ns, frame.data(), static_cast<uint32_t>(frame.size()), static_cast<uint32_t>(frame.size()));
  }
  /// Finishes the compressed stream and renames the file into place.
  void commit();

 private:
  void sink(const void* data, size_t n);
  struct Compressor;
  AtomicFile file_;
  std::unique_ptr<Compressor> comp_;
  bool nanosecond_;
};

/// What to put in a synthetic frame. Addresses in host byte order.
struct FrameSpec {
  uint32_t src = 0, dst = 0;
  uint8_t proto = 6;
  uint8_t ttl = 64;
  uint16_t ip_id = 0;
  bool dont_fragment = false;
  uint16_t sport = 0, dport = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t tcp_flags = 0x02;
  uint16_t window = 0;
  std::vector<uint8_t> tcp_options;  // raw bytes, padded to 4 by build_frame
  uint8_t icmp_type = 8, icmp_code = 0;
  std::vector<uint8_t> payload;  // after the TCP/UDP/ICMP/other header
  uint16_t vlan = 0;             // 802.1Q tag when non-zero
  size_t min_frame = 60;         // Ethernet padding (0 = none)
};

/// Ethernet II (+ optional 802.1Q) / IPv4 / TCP|UDP|ICMP|other frame.
std::vector<uint8_t> build_frame(const FrameSpec& spec);

}  // namespace darklens
