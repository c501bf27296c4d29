#include <algorithm>

#include "darklens/ingest/ingest.hpp"

namespace darklens::ingest {

std::string_view weird_name(Weird w) {
  switch (w) {
    case Weird::kNone:
      return "none";
    case Weird::kUnsupportedLinktype:
      return "unsupported_linktype";
    case Weird::kTruncatedEthernet:
      return "truncated_ethernet";
    case Weird::kTruncatedVlan:
      return "truncated_vlan";
    case Weird::kTooManyVlanTags:
      return "too_many_vlan_tags";
    case Weird::kNonIp:
      return "non_ip";
    case Weird::kTruncatedSll:
      return "truncated_sll";
    case Weird::kTruncatedNull:
      return "truncated_null";
    case Weird::kUnknownNullFamily:
      return "unknown_null_family";
    case Weird::kBadIpVersion:
      return "bad_ip_version";
    case Weird::kTruncatedIpv4Header:
      return "truncated_ipv4_header";
    case Weird::kBadIpv4HeaderLength:
      return "bad_ipv4_header_length";
    case Weird::kBadIpv4TotalLength:
      return "bad_ipv4_total_length";
    case Weird::kTruncatedIpv6Header:
      return "truncated_ipv6_header";
    case Weird::kTruncatedIpv6ExtensionHeader:
      return "truncated_ipv6_extension_header";
    case Weird::kTooManyIpv6ExtensionHeaders:
      return "too_many_ipv6_extension_headers";
    case Weird::kTruncatedTcpHeader:
      return "truncated_tcp_header";
    case Weird::kBadTcpDataOffset:
      return "bad_tcp_data_offset";
    case Weird::kTruncatedUdpHeader:
      return "truncated_udp_header";
    case Weird::kTruncatedIcmpHeader:
      return "truncated_icmp_header";
    case Weird::kTruncatedRecord:
      return "truncated_record";
    case Weird::kCorruptRecord:
      return "corrupt_record";
    case Weird::kCsvBadRow:
      return "csv_bad_row";
    case Weird::kFlowTupleBadRecord:
      return "flowtuple_bad_record";
    case Weird::kCsvLineTooLong:
      return "csv_line_too_long";
    case Weird::kCount:
      break;
  }
  return "unknown";
}

uint64_t WeirdCounts::total() const {
  uint64_t t = 0;
  for (auto v : n_) t += v;
  return t;
}

void WeirdCounts::merge(const WeirdCounts& o) {
  for (size_t i = 0; i < n_.size(); ++i) n_[i] += o.n_[i];
}

std::string_view format_name(Format f) {
  switch (f) {
    case Format::kPcap:
      return "pcap";
    case Format::kPcapNg:
      return "pcapng";
    case Format::kFlowTuple:
      return "flowtuple";
    case Format::kDarkVecCsv:
      return "darkvec-csv";
  }
  return "unknown";
}

std::string linktype_name(int linktype) {
  switch (linktype) {
    case 0:
      return "NULL";
    case 1:
      return "EN10MB";
    case 12:
    case 14:
    case 101:
      return "RAW";
    case 108:
      return "LOOP";
    case 113:
      return "LINUX_SLL";
    case 228:
      return "IPV4";
    case 229:
      return "IPV6";
    case 276:
      return "LINUX_SLL2";
    default:
      return std::to_string(linktype);
  }
}

std::string_view compression_name(Compression c) {
  switch (c) {
    case Compression::kNone:
      return "none";
    case Compression::kGzip:
      return "gzip";
    case Compression::kZstd:
      return "zstd";
  }
  return "unknown";
}

void ReadCounters::note_record(int64_t ts_ns, uint32_t wire_len, uint64_t n) {
  if (!timed_) {
    timed_ = true;
    first_ts_ns_ = last_ts_ns_ = ts_ns;
  } else {
    first_ts_ns_ = std::min(first_ts_ns_, ts_ns);
    last_ts_ns_ = std::max(last_ts_ns_, ts_ns);
  }
  records_ += n;
  wire_bytes_ += n * wire_len;
}

}  // namespace darklens::ingest
