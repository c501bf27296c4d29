// Packet selection: which decoded packets are a source's traffic. The
// stage between ingest (records -> packets) and features (packets -> rows):
//
//   darklens::filter::Selection s;
//   s.darknet_ = {*darklens::Cidr::parse("198.51.100.0/24")};
//   s.classes_ = darklens::filter::parse_classes("scan");
//   s.bpf_ = "tcp dst port 23";                 // libpcap's grammar
//   darklens::filter::UsedPackets used(s, {"day1.pcap"});
//   std::vector<darklens::Packet> chunk;
//   while (used.next(chunk, 4096)) { ... }      // then the last chunk
//
// Four selections, applied in this order (docs/features.md, "Selection"):
// a BPF expression on every record before decoding; responders (packets
// from inside the darknet, never a source); the destination prefix; the
// traffic class. The fifth, validated TCP, keeps the rows of sources that
// completed a handshake (handshakes.hpp); features applies it per row.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "darklens/ingest/ingest.hpp"
#include "darklens/types.hpp"

namespace darklens::filter {

/// What a packet is, as seen from the darknet.
enum class TrafficClass : uint8_t {
  kScan = 0,         // TCP SYN, UDP, ICMP/ICMPv6 echo request: someone probing
  kBackscatter = 1,  // SYN-ACK, RST, RST-ACK, ICMP errors and echo replies:
                     // answers to packets spoofed with a darknet source
  kOther = 2,        // everything else (ACK, PSH-ACK, FIN, GRE, ...)
};
TrafficClass classify(const Packet& p);
std::string_view class_name(TrafficClass c);
/// "scan,backscatter" -> bit mask over TrafficClass. Throws ParamError.
uint8_t parse_classes(std::string_view list);
/// Every class.
inline constexpr uint8_t kAllClasses = 0x7;
/// "198.51.100.0/24,2001:db8::/32" (--prefix) -> the monitored darknet.
/// Throws ParamError naming the item that is not an address prefix.
std::vector<Cidr> parse_prefixes(std::string_view list);

/// The packet selection a run applies.
struct Selection {
  /// The monitored darknet. Packets to other destinations are left out
  /// (kOutsidePrefix); packets from inside it are a responder's
  /// (kResponder). Empty = keep all.
  std::vector<Cidr> darknet_;
  /// Bit mask of TrafficClass values to keep (default: all).
  uint8_t classes_ = kAllClasses;
  /// libpcap filter expression applied to every record before decoding
  /// ("" = none). DarkVec CSV rows are filtered as the raw IP packet
  /// darklens rebuilds from their fields (docs/features.md).
  std::string bpf_;
  /// Packets stamped outside [from_ns_, to_ns_) are left out
  /// (kOutsideTime) before any other test: `darklens watch` reads the
  /// captures that overlap a window and keeps the window's packets.
  int64_t from_ns_ = std::numeric_limits<int64_t>::min();
  int64_t to_ns_ = std::numeric_limits<int64_t>::max();
};

/// Whether `a` is in one of the prefixes (true when there are none).
bool in_darknet(const std::vector<Cidr>& darknet, const IpAddr& a);

/// Why a packet is or is not a source's traffic.
enum class Selected : uint8_t {
  kUsed,           // goes into its source's features
  kResponder,      // sent from inside the darknet (a responder), never a source
  kOutsidePrefix,  // destination not in the darknet
  kClassFiltered,  // traffic class not selected
  kOutsideTime,    // stamped outside the selected time range
};
/// The prefix and class selection of one decoded packet (the BPF
/// expression was applied to its record before).
Selected select_packet(const Selection& s, const Packet& p);

/// Compiles `expression` with libpcap for records of `linktype` (a DLT or
/// LINKTYPE value). Throws ParamError with libpcap's reason, or when the
/// expression is longer than kMaxBpfLength.
inline constexpr size_t kMaxBpfLength = 4096;
std::unique_ptr<ingest::RecordFilter> compile_bpf(const std::string& expression, int linktype);
/// Sets `reader`'s record filter to `expression` compiled for its link
/// type ("" = none). Throws as compile_bpf.
void apply_bpf(ingest::CaptureReader& reader, const std::string& expression);

/// The packets a run uses as sources' traffic (BPF, prefix and class
/// selection), read from captures in the order given, a chunk at a time.
/// Throws as CaptureReader::open.
class UsedPackets {
 public:
  UsedPackets(Selection selection, std::vector<std::string> paths);
  ~UsedPackets();
  /// Replaces `out` with the next used packets, at most `max`; false once
  /// the captures are exhausted (`out` may then still hold the last few).
  bool next(std::vector<Packet>& out, size_t max);

 private:
  Selection selection_;
  std::vector<std::string> paths_;
  size_t next_path_ = 0;
  std::unique_ptr<ingest::CaptureReader> reader_;
};

/// Calls `fn` with every packet of UsedPackets, in order.
void for_each_used_packet(const Selection& selection, const std::vector<std::string>& paths,
                          const std::function<void(const Packet&)>& fn);

}  // namespace darklens::filter
