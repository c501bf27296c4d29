#include "darklens/synth/pcap_writer.hpp"

#include <zlib.h>
#include <zstd.h>

#include <cstring>

#include "darklens/error.hpp"

namespace darklens {

struct PcapWriter::Compressor {
  ingest::Compression kind = ingest::Compression::kNone;
  z_stream zs{};
  ZSTD_CStream* zc = nullptr;
  std::vector<uint8_t> out = std::vector<uint8_t>(1 << 18);
  ~Compressor() {
    if (kind == ingest::Compression::kGzip) deflateEnd(&zs);
    if (zc) ZSTD_freeCStream(zc);
  }
};

namespace {
void put32(std::vector<uint8_t>& v, uint32_t x) {  // little-endian
  for (int i = 0; i < 4; ++i) v.push_back(static_cast<uint8_t>(x >> (8 * i)));
}
}  // namespace

PcapWriter::PcapWriter(const std::string& path, int linktype, ingest::Compression compression, bool nanosecond,
                       uint32_t snaplen)
    : file_(path), comp_(std::make_unique<Compressor>()), nanosecond_(nanosecond) {
  comp_->kind = compression;
  if (compression == ingest::Compression::kGzip) {
    if (deflateInit2(&comp_->zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      throw IoError(path + ": cannot initialise gzip encoder");
    }
  } else if (compression == ingest::Compression::kZstd) {
    comp_->zc = ZSTD_createCStream();
    if (!comp_->zc || ZSTD_isError(ZSTD_initCStream(comp_->zc, 3))) {
      throw IoError(path + ": cannot initialise zstd encoder");
    }
  }
  std::vector<uint8_t> h;
  put32(h, nanosecond ? 0xa1b23c4d : 0xa1b2c3d4);
  h.push_back(2), h.push_back(0), h.push_back(4), h.push_back(0);  // v2.4
  put32(h, 0);                                                     // thiszone
  put32(h, 0);                                                     // sigfigs
  put32(h, snaplen);
  put32(h, static_cast<uint32_t>(linktype));
  sink(h.data(), h.size());
}

PcapWriter::~PcapWriter() = default;

void PcapWriter::sink(const void* data, size_t n) {
  Compressor& c = *comp_;
  if (c.kind == ingest::Compression::kNone) {
    file_.write(data, n);
  } else if (c.kind == ingest::Compression::kGzip) {
    c.zs.next_in = static_cast<Bytef*>(const_cast<void*>(data));
    c.zs.avail_in = static_cast<uInt>(n);
    while (c.zs.avail_in > 0) {
      c.zs.next_out = c.out.data();
      c.zs.avail_out = static_cast<uInt>(c.out.size());
      deflate(&c.zs, Z_NO_FLUSH);
      file_.write(c.out.data(), c.out.size() - c.zs.avail_out);
    }
  } else {
    ZSTD_inBuffer in{data, n, 0};
    while (in.pos < in.size) {
      ZSTD_outBuffer out{c.out.data(), c.out.size(), 0};
      size_t rc = ZSTD_compressStream(c.zc, &out, &in);
      if (ZSTD_isError(rc)) throw IoError(file_.path() + ": zstd: " + ZSTD_getErrorName(rc));
      file_.write(c.out.data(), out.pos);
    }
  }
}

void PcapWriter::write(int64_t ts_ns, const uint8_t* frame, uint32_t caplen, uint32_t wire_len) {
  uint8_t h[16];
  const uint32_t sec = static_cast<uint32_t>(ts_ns / 1'000'000'000);
  const uint32_t sub = static_cast<uint32_t>(ts_ns % 1'000'000'000) / (nanosecond_ ? 1 : 1000);
  for (int i = 0; i < 4; ++i) {
    h[i] = static_cast<uint8_t>(sec >> (8 * i));
    h[4 + i] = static_cast<uint8_t>(sub >> (8 * i));
    h[8 + i] = static_cast<uint8_t>(caplen >> (8 * i));
    h[12 + i] = static_cast<uint8_t>(wire_len >> (8 * i));
  }
  sink(h, sizeof h);
  sink(frame, caplen);
}

void PcapWriter::commit() {
  Compressor& c = *comp_;
  if (c.kind == ingest::Compression::kGzip) {
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
      c.zs.next_out = c.out.data();
      c.zs.avail_out = static_cast<uInt>(c.out.size());
      rc = deflate(&c.zs, Z_FINISH);
      file_.write(c.out.data(), c.out.size() - c.zs.avail_out);
    }
  } else if (c.kind == ingest::Compression::kZstd) {
    size_t rest = 1;
    while (rest != 0) {
      ZSTD_outBuffer out{c.out.data(), c.out.size(), 0};
      rest = ZSTD_endStream(c.zc, &out);
      if (ZSTD_isError(rest)) throw IoError(file_.path() + ": zstd: " + ZSTD_getErrorName(rest));
      file_.write(c.out.data(), out.pos);
    }
  }
  file_.commit();
}

namespace {

void put16be(uint8_t* p, uint16_t v) { p[0] = v >> 8, p[1] = v & 0xff; }
void put32be(uint8_t* p, uint32_t v) {
  p[0] = v >> 24, p[1] = (v >> 16) & 0xff, p[2] = (v >> 8) & 0xff, p[3] = v & 0xff;
}

uint32_t sum16(const uint8_t* p, size_t n, uint32_t acc = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) acc += (uint32_t{p[i]} << 8) | p[i + 1];
  if (n & 1) acc += uint32_t{p[n - 1]} << 8;
  return acc;
}
uint16_t fold(uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(~acc);
}

}  // namespace

std::vector<uint8_t> build_frame(const FrameSpec& s) {
  std::vector<uint8_t> l4;
  switch (s.proto) {
    case 6: {
      std::vector<uint8_t> opts = s.tcp_options;
      while (opts.size() % 4) opts.push_back(0);
      l4.resize(20 + opts.size());
      put16be(&l4[0], s.sport);
      put16be(&l4[2], s.dport);
      put32be(&l4[4], s.seq);
      put32be(&l4[8], s.ack);
      l4[12] = static_cast<uint8_t>(((20 + opts.size()) / 4) << 4);
      l4[13] = s.tcp_flags;
      put16be(&l4[14], s.window);
      std::copy(opts.begin(), opts.end(), l4.begin() + 20);
      break;
    }
    case 17:
      l4.resize(8);
      put16be(&l4[0], s.sport);
      put16be(&l4[2], s.dport);
      put16be(&l4[4], static_cast<uint16_t>(8 + s.payload.size()));
      break;
    case 1:
      l4.resize(8);
      l4[0] = s.icmp_type;
      l4[1] = s.icmp_code;
      put16be(&l4[4], s.ip_id);  // echo identifier / unused
      break;
    default:
      break;
  }
  l4.insert(l4.end(), s.payload.begin(), s.payload.end());
  const uint16_t ip_total = static_cast<uint16_t>(20 + l4.size());
  // Checksums: TCP/UDP over the pseudo-header, ICMP over its message.
  if (s.proto == 6 || s.proto == 17) {
    uint8_t pseudo[12];
    put32be(pseudo, s.src);
    put32be(pseudo + 4, s.dst);
    pseudo[8] = 0, pseudo[9] = s.proto;
    put16be(pseudo + 10, static_cast<uint16_t>(l4.size()));
    uint16_t c = fold(sum16(l4.data(), l4.size(), sum16(pseudo, 12)));
    put16be(&l4[s.proto == 6 ? 16 : 6], c);
  } else if (s.proto == 1) {
    put16be(&l4[2], fold(sum16(l4.data(), l4.size())));
  }
  std::vector<uint8_t> f(s.vlan ? 18 : 14);
  static constexpr uint8_t kDstMac[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0x01};
  static constexpr uint8_t kSrcMac[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0xfe};
  std::copy(kDstMac, kDstMac + 6, f.begin());
  std::copy(kSrcMac, kSrcMac + 6, f.begin() + 6);
  if (s.vlan) {
    put16be(&f[12], 0x8100);
    put16be(&f[14], s.vlan & 0x0fff);
    put16be(&f[16], 0x0800);
  } else {
    put16be(&f[12], 0x0800);
  }
  uint8_t ip[20] = {0x45, 0};
  put16be(ip + 2, ip_total);
  put16be(ip + 4, s.ip_id);
  put16be(ip + 6, s.dont_fragment ? 0x4000 : 0);
  ip[8] = s.ttl;
  ip[9] = s.proto;
  put32be(ip + 12, s.src);
  put32be(ip + 16, s.dst);
  put16be(ip + 10, fold(sum16(ip, 20)));
  f.insert(f.end(), ip, ip + 20);
  f.insert(f.end(), l4.begin(), l4.end());
  if (f.size() < s.min_frame) f.resize(s.min_frame, 0);
  return f;
}

}  // namespace darklens
