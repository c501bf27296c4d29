// CAIDA STARDUST / corsaro3 FlowTuple: Avro object container files whose
// records each count the packets of one (minute bin, source, destination,
// ports, protocol, TTL, flags, IP length) tuple. Read with the Apache Avro
// C library; every record becomes `packet_cnt` identical packets stamped
// at the start of its bin, so every later stage counts exactly as it
// would over the capture the records were made from, except for what the
// format does not keep (docs/ingest.md, "FlowTuple").
#include <avro.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>

#include "darklens/error.hpp"
#include "readers.hpp"

namespace darklens::ingest {
namespace {

// Hostile files: libavro sizes its buffers from the file (block lengths,
// string lengths, decompressed blocks). No single allocation may pass this
// bound; libavro then fails and the reader stops with a message. Writers
// use blocks of 16-64 KB (Avro C, Java and Python defaults). Some of
// libavro's error paths do not free what they allocated (fuzz/lsan.supp):
// the bound also caps that loss per damaged file.
constexpr size_t kMaxAvroAllocation = size_t{16} << 20;

void* bounded_allocator(void* /*user*/, void* ptr, size_t /*osize*/, size_t nsize) {
  if (nsize == 0) {
    std::free(ptr);  // NOLINT(cppcoreguidelines-no-malloc): libavro's allocator contract
    return nullptr;
  }
  if (nsize > kMaxAvroAllocation) return nullptr;
  return std::realloc(ptr, nsize);  // NOLINT(cppcoreguidelines-no-malloc)
}

void install_bounded_allocator() {
  static std::once_flag once;
  std::call_once(once, [] { avro_set_allocator(bounded_allocator, nullptr); });
}

// The fields darklens reads, by name (corsaro3's schema; any order, extra
// primitive fields are ignored).
enum Field {
  kTime,
  kSrcIp,
  kDstIp,
  kSrcPort,
  kDstPort,
  kProtocol,
  kTtl,
  kTcpFlags,
  kIpLen,
  kTcpSynLen,
  kTcpSynWinLen,
  kPacketCnt,
  kNumFields
};
constexpr std::array<const char*, kNumFields> kFieldNames = {"time",     "src_ip",     "dst_ip",        "src_port",
                                                             "dst_port", "protocol",   "ttl",           "tcp_flags",
                                                             "ip_len",   "tcp_synlen", "tcp_synwinlen", "packet_cnt"};
constexpr std::array<Field, 5> kRequired = {kTime, kSrcIp, kDstIp, kProtocol, kPacketCnt};

bool primitive(avro_schema_t s) {
  if (is_avro_primitive(s)) return true;
  if (!is_avro_union(s)) return false;
  for (size_t i = 0; i < avro_schema_union_size(s); ++i) {
    if (!is_avro_primitive(avro_schema_union_branch(s, static_cast<int>(i)))) return false;
  }
  return true;
}

std::string avro_why() {
  const char* e = avro_strerror();
  return e != nullptr && *e != '\0' ? std::string(e) : std::string("unreadable Avro data");
}

class FlowTupleReader final : public CaptureReader {
 public:
  explicit FlowTupleReader(std::unique_ptr<ByteStream> stream) : stream_(std::move(stream)) {
    input_ = stream_.get();
    info_.path_ = stream_->name();
    info_.format_ = Format::kFlowTuple;
    info_.compression_ = stream_->compression();
    install_bounded_allocator();
    file_ = stream_->as_file();
    if (avro_file_reader_fp(file_, info_.path_.c_str(), 0, &reader_) != 0) {
      const std::string why = stream_->error().empty() ? avro_why() : stream_->error();
      std::fclose(file_);
      throw FormatError(info_.path_ + ": cannot read Avro header: " + why);
    }
    try {
      open_schema();
    } catch (...) {
      close();
      throw;
    }
  }
  ~FlowTupleReader() override { close(); }
  FlowTupleReader(const FlowTupleReader&) = delete;
  FlowTupleReader& operator=(const FlowTupleReader&) = delete;

  bool next(Packet& out) override {
    while (left_ == 0) {
      if (!read_record()) return false;
    }
    --left_;
    out = packet_;
    counters_.note_record(out.ts_ns_, out.wire_len_);
    ++counters_.decoded_;
    return true;
  }

 private:
  void open_schema() {
    // A new reference (libavro >= 1.8), released in close().
    schema_ = avro_file_reader_get_writer_schema(reader_);
    avro_schema_t schema = schema_;
    if (!is_avro_record(schema)) throw FormatError(info_.path_ + ": Avro file whose records are not FlowTuples");
    cols_.fill(-1);
    const size_t n = avro_schema_record_size(schema);
    for (size_t i = 0; i < n; ++i) {
      const int index = static_cast<int>(i);
      const std::string_view name = avro_schema_record_field_name(schema, index);
      avro_schema_t type = avro_schema_record_field_get_by_index(schema, index);
      if (!primitive(type)) {
        throw FormatError(info_.path_ + ": not a FlowTuple file: field '" + std::string(name.substr(0, 64)) +
                          "' is not of a primitive Avro type");
      }
      for (int f = 0; f < kNumFields; ++f) {
        if (name != kFieldNames[f]) continue;
        if (!is_avro_int32(type) && !is_avro_int64(type)) {
          throw FormatError(info_.path_ + ": FlowTuple field '" + kFieldNames[f] + "' is not an int or a long");
        }
        cols_[f] = index;
      }
    }
    for (Field f : kRequired) {
      if (cols_[f] < 0) throw FormatError(info_.path_ + ": FlowTuple schema lacks field '" + kFieldNames[f] + "'");
    }
    iface_ = avro_generic_class_from_schema(schema);
    if (iface_ == nullptr || avro_generic_value_new(iface_, &value_) != 0) {
      throw FormatError(info_.path_ + ": cannot use the FlowTuple schema: " + avro_why());
    }
    have_value_ = true;
  }

  void close() {
    if (have_value_) avro_value_decref(&value_);
    have_value_ = false;
    if (iface_ != nullptr) avro_value_iface_decref(iface_);
    iface_ = nullptr;
    if (schema_ != nullptr) avro_schema_decref(schema_);
    schema_ = nullptr;
    if (reader_ != nullptr) avro_file_reader_close(reader_);
    reader_ = nullptr;
    if (file_ != nullptr) std::fclose(file_);  // the cookie FILE, not the stream
    file_ = nullptr;
  }

  // The field's integer (0 when the schema has no such field).
  bool field(Field f, int64_t& v) {
    v = 0;
    if (cols_[f] < 0) return true;
    avro_value_t child;
    if (avro_value_get_by_index(&value_, static_cast<size_t>(cols_[f]), &child, nullptr) != 0) return false;
    if (avro_value_get_type(&child) == AVRO_INT32) {
      int32_t x = 0;
      if (avro_value_get_int(&child, &x) != 0) return false;
      v = x;
      return true;
    }
    return avro_value_get_long(&child, &v) == 0;
  }

  // Reads one record into packet_/left_; false at the end of the file.
  bool read_record() {
    if (done_) return false;
    const int rc = avro_file_reader_read_value(reader_, &value_);
    if (rc == EOF) {
      done_ = true;
      if (!stream_->error().empty()) stop(stream_->truncated(), stream_->error());
      return false;
    }
    if (rc != 0) {
      done_ = true;
      const bool truncated = stream_->truncated() || (stream_->error().empty() && std::feof(file_) != 0);
      stop(truncated, stream_->error().empty() ? avro_why() : stream_->error());
      return false;
    }
    std::array<int64_t, kNumFields> v{};
    for (int f = 0; f < kNumFields; ++f) {
      if (!field(static_cast<Field>(f), v[f])) return bad_record();
    }
    auto in = [&](Field f, int64_t hi) { return v[f] >= 0 && v[f] <= hi; };
    if (!in(kTime, 9'000'000'000) || !in(kSrcIp, 0xffffffff) || !in(kDstIp, 0xffffffff) || !in(kSrcPort, 0xffff) ||
        !in(kDstPort, 0xffff) || !in(kProtocol, 0xff) || !in(kTtl, 0xff) || !in(kTcpFlags, 0xff) ||
        !in(kIpLen, 0xffff) || !in(kTcpSynLen, 0xffff) || !in(kTcpSynWinLen, 0xffff) || !in(kPacketCnt, 0xffffffff) ||
        v[kPacketCnt] == 0) {
      return bad_record();
    }
    Packet& p = packet_;
    p = Packet{};
    p.ts_ns_ = v[kTime] * 1'000'000'000;
    p.src_ = IpAddr::v4(static_cast<uint32_t>(v[kSrcIp]));
    p.dst_ = IpAddr::v4(static_cast<uint32_t>(v[kDstIp]));
    p.ip_version_ = 4;
    p.proto_ = static_cast<uint8_t>(v[kProtocol]);
    p.ttl_ = static_cast<uint8_t>(v[kTtl]);
    p.ip_len_ = static_cast<uint16_t>(v[kIpLen]);
    p.wire_len_ = p.ip_len_;  // no link layer in the format
    const auto sport = static_cast<uint16_t>(v[kSrcPort]);
    const auto dport = static_cast<uint16_t>(v[kDstPort]);
    if (p.proto_ == ip_proto::kTcp || p.proto_ == ip_proto::kUdp) {
      p.sport_ = sport;
      p.dport_ = dport;
      p.flags_ |= Packet::kHasTransport;
    } else if (p.proto_ == ip_proto::kIcmp) {
      // corsaro takes libtrace's ports, which for ICMP are type and code.
      p.icmp_type_ = static_cast<uint8_t>(sport);
      p.icmp_code_ = static_cast<uint8_t>(dport);
      p.flags_ |= Packet::kHasTransport;
    }
    if (p.proto_ == ip_proto::kTcp) {
      p.tcp_flags_ = static_cast<uint8_t>(v[kTcpFlags]);
      // corsaro keeps the window and header length of pure SYNs only.
      if (p.tcp_flags_ == tcp_flag::kSyn) p.tcp_win_ = static_cast<uint16_t>(v[kTcpSynWinLen]);
      // Not in the format: IP ID, sequence number, TCP options. Choose a
      // sequence number no fingerprint test can match (IP ID 0 is not
      // ZMap's; IP ID != (dst ^ dport ^ seq) & 0xffff; seq < 2^16 is never
      // a routed destination address), so those columns stay 0.
      p.tcp_seq_ = ((static_cast<uint32_t>(v[kDstIp]) ^ dport) & 0xffff) ^ 1;
    }
    left_ = static_cast<uint64_t>(v[kPacketCnt]);
    ++counters_.flow_records_;
    if (!keep(packet_)) {
      // keep() counted one filtered packet; the tuple's others go too.
      counters_.note_record(p.ts_ns_, p.wire_len_, left_);
      counters_.filtered_ += left_ - 1;
      left_ = 0;
    }
    return true;
  }

  bool bad_record() {
    ++counters_.records_;
    ++counters_.flow_records_;
    counters_.weird_.add(Weird::kFlowTupleBadRecord);
    return true;
  }

  void stop(bool truncated, const std::string& why) {
    counters_.weird_.add(truncated ? Weird::kTruncatedRecord : Weird::kCorruptRecord);
    counters_.stop_message_ =
        info_.path_ + ": " + why + " (stopped after " + std::to_string(counters_.flow_records_) + " FlowTuple records)";
  }

  std::unique_ptr<ByteStream> stream_;
  FILE* file_ = nullptr;
  avro_file_reader_t reader_ = nullptr;
  avro_schema_t schema_ = nullptr;
  avro_value_iface_t* iface_ = nullptr;
  avro_value_t value_{};
  bool have_value_ = false;
  std::array<int, kNumFields> cols_{};
  Packet packet_;
  uint64_t left_ = 0;  // copies of packet_ still to return
  bool done_ = false;
};

}  // namespace

std::unique_ptr<CaptureReader> make_flowtuple_reader(std::unique_ptr<ByteStream> stream) {
  return std::make_unique<FlowTupleReader>(std::move(stream));
}

}  // namespace darklens::ingest
