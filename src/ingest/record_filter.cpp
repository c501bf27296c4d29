// Record filters (filter::compile_bpf makes them) applied by the readers;
// DarkVec CSV rows are offered as the raw IP packet their fields describe.
#include <vector>

#include "darklens/ingest/ingest.hpp"

namespace darklens::ingest {
namespace {

void put16(uint8_t* p, uint16_t v) { p[0] = v >> 8, p[1] = v & 0xff; }
void put32(uint8_t* p, uint32_t v) { p[0] = v >> 24, p[1] = (v >> 16) & 0xff, p[2] = (v >> 8) & 0xff, p[3] = v & 0xff; }

// The raw IP packet a DarkVec CSV row describes (headers only).
std::vector<uint8_t> rebuild(const Packet& p) {
  std::vector<uint8_t> l4;
  if (p.has(Packet::kHasTransport) || p.proto_ == ip_proto::kIcmp || p.proto_ == ip_proto::kIcmpV6) {
    if (p.proto_ == ip_proto::kTcp) {
      l4.assign(20, 0);
      put16(&l4[0], p.sport_);
      put16(&l4[2], p.dport_);
      put32(&l4[4], p.tcp_seq_);
      put32(&l4[8], p.tcp_ack_);
      l4[12] = 0x50;
      l4[13] = p.tcp_flags_;
      put16(&l4[14], p.tcp_win_);
    } else if (p.proto_ == ip_proto::kUdp) {
      l4.assign(8, 0);
      put16(&l4[0], p.sport_);
      put16(&l4[2], p.dport_);
      put16(&l4[4], 8);
    } else if (p.proto_ == ip_proto::kIcmp || p.proto_ == ip_proto::kIcmpV6) {
      l4 = {p.icmp_type_, p.icmp_code_, 0, 0, 0, 0, 0, 0};
    }
  }
  std::vector<uint8_t> ip;
  if (p.src_.is_v4() && p.dst_.is_v4()) {
    ip.assign(20, 0);
    ip[0] = 0x45;
    put16(&ip[2], static_cast<uint16_t>(20 + l4.size()));
    put16(&ip[4], p.ip_id_);
    ip[8] = p.ttl_;
    ip[9] = p.proto_;
    put32(&ip[12], p.src_.v4_value());
    put32(&ip[16], p.dst_.v4_value());
  } else {
    ip.assign(40, 0);
    ip[0] = 0x60;
    put16(&ip[4], static_cast<uint16_t>(l4.size()));
    ip[6] = p.proto_;
    ip[7] = p.ttl_;
    for (int i = 0; i < 8; ++i) {
      ip[8 + i] = static_cast<uint8_t>(p.src_.hi_ >> (56 - 8 * i));
      ip[16 + i] = static_cast<uint8_t>(p.src_.lo_ >> (56 - 8 * i));
      ip[24 + i] = static_cast<uint8_t>(p.dst_.hi_ >> (56 - 8 * i));
      ip[32 + i] = static_cast<uint8_t>(p.dst_.lo_ >> (56 - 8 * i));
    }
  }
  ip.insert(ip.end(), l4.begin(), l4.end());
  return ip;
}

}  // namespace

CaptureReader::CaptureReader() = default;
CaptureReader::~CaptureReader() = default;

void CaptureReader::set_filter(std::unique_ptr<RecordFilter> filter) { filter_ = std::move(filter); }

// CSV rows are matched as raw IP (DLT_RAW).
int CaptureReader::record_linktype() const {
  return info_.format_ == Format::kDarkVecCsv || info_.format_ == Format::kFlowTuple ? 12 : info_.linktype_;
}

bool CaptureReader::keep(const uint8_t* frame, uint32_t caplen, uint32_t wire_len) {
  if (!filter_ || filter_->match(frame, caplen, wire_len)) return true;
  ++counters_.filtered_;
  return false;
}

bool CaptureReader::keep(const Packet& p) {
  if (!filter_) return true;
  auto raw = rebuild(p);
  if (filter_->match(raw.data(), static_cast<uint32_t>(raw.size()), static_cast<uint32_t>(raw.size()))) {
    return true;
  }
  ++counters_.filtered_;
  return false;
}

}  // namespace darklens::ingest
