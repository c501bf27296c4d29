// Format detection: one probe per format on the (decompressed) first bytes.
#include <cstring>
#include <string_view>

#include "darklens/error.hpp"
#include "readers.hpp"

namespace darklens::ingest {
namespace {

template <size_t N>
bool is_magic(const uint8_t* b, const uint8_t (&magics)[N][4]) {
  for (const auto& m : magics) {
    if (std::memcmp(b, m, 4) == 0) return true;
  }
  return false;
}

// Classic pcap (read by darklens itself, for speed).
constexpr uint8_t kPcapMagics[][4] = {
    {0xa1, 0xb2, 0xc3, 0xd4},
    {0xd4, 0xc3, 0xb2, 0xa1},  // microseconds
    {0xa1, 0xb2, 0x3c, 0x4d},
    {0x4d, 0x3c, 0xb2, 0xa1},  // nanoseconds
};
// Kuznetzov's modified pcap (24-byte record headers): left to libpcap.
constexpr uint8_t kModifiedPcapMagics[][4] = {
    {0xa1, 0xb2, 0xcd, 0x34},
    {0x34, 0xcd, 0xb2, 0xa1},
};

bool looks_like_darkvec_header(std::string_view head) {
  std::string_view line = head.substr(0, head.find('\n'));
  return line.find("src_ip") != std::string_view::npos && line.find("dst_ip") != std::string_view::npos &&
         line.find("proto") != std::string_view::npos;
}

std::string hex_prefix(const uint8_t* b, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    if (i) s += ' ';
    s += kHex[b[i] >> 4];
    s += kHex[b[i] & 15];
  }
  return s;
}

std::unique_ptr<CaptureReader> open_stream(std::unique_ptr<ByteStream> s) {
  uint8_t head[1024];
  size_t n = s->peek(head, sizeof head);
  std::string where = s->name();
  if (s->compression() != Compression::kNone) {
    where += " (" + std::string(compression_name(s->compression())) + ")";
  }
  if (n == 0) {
    if (!s->error().empty()) throw FormatError(where + ": " + s->error());
    throw FormatError(where + ": empty file, not a capture");
  }
  if (n >= 4 && is_magic(head, kPcapMagics)) {
    return make_classic_pcap_reader(std::move(s));
  }
  if (n >= 4 && is_magic(head, kModifiedPcapMagics)) {
    return make_pcap_reader(std::move(s), Format::kPcap);
  }
  if (n >= 4 && std::memcmp(head, "\x0a\x0d\x0d\x0a", 4) == 0) {
    return make_pcap_reader(std::move(s), Format::kPcapNg);
  }
  if (n >= 4 && std::memcmp(head, "Obj\x01", 4) == 0) {
    return make_flowtuple_reader(std::move(s));
  }
  if (looks_like_darkvec_header(std::string_view(reinterpret_cast<const char*>(head), n))) {
    return make_darkvec_csv_reader(std::move(s));
  }
  throw FormatError(where + ": not a capture file: starts with bytes " + hex_prefix(head, std::min<size_t>(n, 4)) +
                    " (expected pcap, pcapng, a DarkVec CSV header or a FlowTuple Avro file, "
                    "optionally gzip- or zstd-compressed)");
}

}  // namespace

uint64_t CaptureReader::input_read() const { return input_ ? input_->source_read() : 0; }
uint64_t CaptureReader::input_size() const { return input_ ? input_->source_size() : 0; }

std::unique_ptr<CaptureReader> CaptureReader::open(const std::string& path) {
  return open_stream(ByteStream::open_file(path));
}

std::unique_ptr<CaptureReader> CaptureReader::open_memory(const uint8_t* data, size_t size, std::string name) {
  return open_stream(ByteStream::open_memory(data, size, std::move(name)));
}

}  // namespace darklens::ingest
