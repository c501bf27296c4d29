// Builds capture files in memory for tests: classic pcap in either byte
// order and timestamp precision, and minimal pcapng.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace darklens::test {

struct Frame {
  int64_t ts_ns;
  std::vector<uint8_t> bytes;
  uint32_t wire_len = 0;  // 0 = bytes.size()
};

class Bytes {
 public:
  explicit Bytes(bool big_endian = false) : be_(big_endian) {}
  Bytes& u8(uint8_t v) {
    b_.push_back(v);
    return *this;
  }
  Bytes& u16(uint16_t v) { return be_ ? u8(v >> 8).u8(v & 0xff) : u8(v & 0xff).u8(v >> 8); }
  Bytes& u32(uint32_t v) { return be_ ? u16(v >> 16).u16(v & 0xffff) : u16(v & 0xffff).u16(v >> 16); }
  Bytes& raw(const std::vector<uint8_t>& v) {
    b_.insert(b_.end(), v.begin(), v.end());
    return *this;
  }
  std::vector<uint8_t>& get() { return b_; }

 private:
  bool be_;
  std::vector<uint8_t> b_;
};

inline std::vector<uint8_t> pcap_file(const std::vector<Frame>& frames, uint32_t linktype = 1, bool big_endian = false,
                                      bool nanosecond = false, uint32_t snaplen = 65535) {
  Bytes b(big_endian);
  b.u32(nanosecond ? 0xa1b23c4d : 0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0).u32(snaplen).u32(linktype);
  for (const auto& f : frames) {
    uint32_t sec = static_cast<uint32_t>(f.ts_ns / 1'000'000'000);
    uint32_t sub = static_cast<uint32_t>(f.ts_ns % 1'000'000'000);
    if (!nanosecond) sub /= 1000;
    b.u32(sec)
        .u32(sub)
        .u32(static_cast<uint32_t>(f.bytes.size()))
        .u32(f.wire_len ? f.wire_len : static_cast<uint32_t>(f.bytes.size()))
        .raw(f.bytes);
  }
  return b.get();
}

/// pcapng: SHB, one IDB (nanosecond tsresol option), one EPB per frame.
inline std::vector<uint8_t> pcapng_file(const std::vector<Frame>& frames, uint16_t linktype = 1) {
  Bytes b;
  b.u32(0x0a0d0d0a).u32(28).u32(0x1a2b3c4d).u16(1).u16(0).u32(0xffffffff).u32(0xffffffff).u32(28);
  // IDB with if_tsresol = 9 (nanoseconds): option 9, length 1, padded.
  b.u32(1).u32(32).u16(linktype).u16(0).u32(0).u16(9).u16(1).u8(9).u8(0).u8(0).u8(0).u16(0).u16(0).u32(32);
  for (const auto& f : frames) {
    uint32_t pad = (4 - f.bytes.size() % 4) % 4;
    uint32_t len = static_cast<uint32_t>(32 + f.bytes.size() + pad);
    uint64_t ts = static_cast<uint64_t>(f.ts_ns);
    b.u32(6)
        .u32(len)
        .u32(0)
        .u32(static_cast<uint32_t>(ts >> 32))
        .u32(static_cast<uint32_t>(ts))
        .u32(static_cast<uint32_t>(f.bytes.size()))
        .u32(f.wire_len ? f.wire_len : static_cast<uint32_t>(f.bytes.size()))
        .raw(f.bytes);
    for (uint32_t i = 0; i < pad; ++i) b.u8(0);
    b.u32(len);
  }
  return b.get();
}

}  // namespace darklens::test
