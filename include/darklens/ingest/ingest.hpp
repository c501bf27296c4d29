// Ingest: read captures (pcap, pcapng, DarkVec CSV, CAIDA FlowTuple Avro;
// plain, gzip or zstd; a
// path or standard input) and decode every frame into a Packet.
//
//   auto reader = darklens::ingest::CaptureReader::open("day1.pcap.zst");
//   darklens::Packet p;
//   while (reader->next(p)) { ... }
//   reader->counters();   // records, bytes, damaged packets by reason
//
// Files that cannot be read at all throw (IoError, FormatError) with a
// message naming the file. Damaged packets never throw: each is counted
// under a named reason (Weird) and skipped. A damaged tail (truncated last
// record, garbage mid-file) ends the file early, is counted, and is
// described in ReadCounters::stop_message_.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "darklens/types.hpp"

namespace darklens::ingest {

/// Why a record was not turned into a Packet. Names (weird_name) are stable:
/// they appear in `darklens stats` output and in tests.
enum class Weird : uint8_t {
  kNone = 0,
  // link layer
  kUnsupportedLinktype,
  kTruncatedEthernet,
  kTruncatedVlan,
  kTooManyVlanTags,
  kNonIp,  // a valid frame that carries no IP (ARP, LLDP, ...)
  kTruncatedSll,
  kTruncatedNull,
  kUnknownNullFamily,
  // network layer
  kBadIpVersion,
  kTruncatedIpv4Header,
  kBadIpv4HeaderLength,
  kBadIpv4TotalLength,
  kTruncatedIpv6Header,
  kTruncatedIpv6ExtensionHeader,
  kTooManyIpv6ExtensionHeaders,
  // transport layer
  kTruncatedTcpHeader,
  kBadTcpDataOffset,
  kTruncatedUdpHeader,
  kTruncatedIcmpHeader,
  // file level (the rest of the file is skipped)
  kTruncatedRecord,
  kCorruptRecord,
  // DarkVec CSV
  kCsvBadRow,
  kCsvLineTooLong,
  // FlowTuple
  kFlowTupleBadRecord,  // a field out of its range (e.g. a port above 65535) or a packet count of 0
  kCount
};
inline constexpr size_t kWeirdCount = static_cast<size_t>(Weird::kCount);

/// Stable snake_case name, e.g. "truncated_ipv4_header".
std::string_view weird_name(Weird w);

/// Per-reason counters of skipped records.
struct WeirdCounts {
  std::array<uint64_t, kWeirdCount> n_{};
  void add(Weird w) { ++n_[static_cast<size_t>(w)]; }
  uint64_t operator[](Weird w) const { return n_[static_cast<size_t>(w)]; }
  uint64_t total() const;
  void merge(const WeirdCounts& o);
};

enum class Format : uint8_t { kPcap, kPcapNg, kDarkVecCsv, kFlowTuple };
enum class Compression : uint8_t { kNone, kGzip, kZstd };
std::string_view format_name(Format f);
/// "EN10MB", "RAW", "LINUX_SLL", ... for the link types darklens decodes,
/// else the number as text.
std::string linktype_name(int linktype);
std::string_view compression_name(Compression c);

/// What was learnt about a capture when it was opened.
struct CaptureInfo {
  std::string path_;  // as given ("-" = standard input)
  Format format_ = Format::kPcap;
  Compression compression_ = Compression::kNone;
  int linktype_ = -1;  // link type as the file states it (pcap: LINKTYPE_,
                       // pcapng via libpcap: DLT_); -1 for CSV
  uint32_t snaplen_ = 0;
  /// DarkVec CSV whose addresses are anonymised tokens (e.g. src_ipaddr7):
  /// they are mapped to stable synthetic addresses (see docs/ingest.md).
  bool anonymised_addresses_ = false;
};

/// What a reader has seen so far. Totals cover every record, decoded or
/// not, so they agree with capinfos.
struct ReadCounters {
  uint64_t records_ = 0;     // frames (or CSV rows) read
  uint64_t wire_bytes_ = 0;  // sum of on-the-wire frame lengths
  uint64_t decoded_ = 0;     // records returned as a Packet
  uint64_t filtered_ = 0;    // records rejected by the BPF filter
  int64_t first_ts_ns_ = 0;  // over all records with a time (valid when timed_)
  int64_t last_ts_ns_ = 0;
  bool timed_ = false;  // a record with a time was seen (rows too damaged to have one are not)
  WeirdCounts weird_;
  /// Empty after a clean end of file; otherwise why reading stopped early,
  /// naming the file (e.g. "x.pcap: truncated dump file; ...").
  std::string stop_message_;
  /// Tokens mapped to synthetic addresses (DarkVec CSV only).
  uint64_t anonymised_tokens_ = 0;
  /// FlowTuple records read (each stands for packet_cnt packets, which
  /// are what records_ counts).
  uint64_t flow_records_ = 0;

  /// Counts `n` records of this time and length.
  void note_record(int64_t ts_ns, uint32_t wire_len, uint64_t n = 1);
};

/// A test of raw records before decoding (filter::compile_bpf makes one
/// from a libpcap expression).
class RecordFilter {
 public:
  virtual ~RecordFilter() = default;
  /// `data`: the record as captured (`caplen` bytes of a `wire_len` frame).
  virtual bool match(const uint8_t* data, uint32_t caplen, uint32_t wire_len) const = 0;
};

class ByteStream;

/// Sequential reader of one capture.
class CaptureReader {
 public:
  /// Opens a file ("-" = standard input), detects compression and format by
  /// content. Throws IoError (cannot open/read) or FormatError (not a
  /// capture; unreadable header), with the path in the message.
  static std::unique_ptr<CaptureReader> open(const std::string& path);

  /// Same, over bytes in memory (used by the fuzzer and tests). `name` is
  /// used in messages. The bytes must outlive the reader.
  static std::unique_ptr<CaptureReader> open_memory(const uint8_t* data, size_t size, std::string name);

  CaptureReader();
  virtual ~CaptureReader();

  /// Keeps only records `filter` matches (nullptr: all). DarkVec CSV rows
  /// are matched as the raw IP packet rebuilt from their fields. Rejected
  /// records are counted in ReadCounters::filtered_.
  void set_filter(std::unique_ptr<RecordFilter> filter);
  /// The link type records are matched as: the capture's, or raw IP (12)
  /// for DarkVec CSV rows.
  int record_linktype() const;

  /// Decodes the next packet into `out`; false at the end of the input
  /// (clean or early: see counters().stop_message_). Never throws for
  /// damaged data.
  virtual bool next(Packet& out) = 0;

  const CaptureInfo& info() const { return info_; }
  const ReadCounters& counters() const { return counters_; }
  /// How far reading has got, in bytes of the input as stored (compressed
  /// bytes for gzip and zstd, read-ahead included), and the input's size:
  /// 0 when unknown (standard input, a pipe). For progress displays.
  uint64_t input_read() const;
  uint64_t input_size() const;

 protected:
  /// True when there is no filter or the record matches it.
  bool keep(const uint8_t* frame, uint32_t caplen, uint32_t wire_len);
  /// Same, for readers that rebuild a raw IP packet from a decoded one.
  bool keep(const Packet& p);

  CaptureInfo info_;
  ReadCounters counters_;
  std::unique_ptr<RecordFilter> filter_;
  const ByteStream* input_ = nullptr;  // the reader's byte source (set by each reader)
};

/// Decodes one link-layer frame. `linktype` is a libpcap DLT or LINKTYPE
/// value (1 Ethernet, 12/14/101 raw IP, 228 IPv4, 229 IPv6, 113 SLL,
/// 276 SLL2, 0 NULL, 108 LOOP). Fills `out` (ts_ns_ and wire_len_ are left
/// to the caller) and returns Weird::kNone, or the reason it was skipped.
/// Every read is bounds-checked against `caplen`.
Weird decode_frame(int linktype, const uint8_t* data, size_t caplen, Packet& out);

/// Decodes an IP packet (IPv4 or IPv6, chosen by the version nibble).
Weird decode_ip(const uint8_t* data, size_t caplen, Packet& out);

}  // namespace darklens::ingest
