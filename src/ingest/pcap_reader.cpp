// pcap and pcapng through libpcap, fed from a ByteStream so compressed files
// and standard input work the same way.
#include <pcap/pcap.h>

#include "darklens/error.hpp"
#include "readers.hpp"

namespace darklens::ingest {
namespace {

class PcapReader final : public CaptureReader {
 public:
  PcapReader(std::unique_ptr<ByteStream> stream, Format format) : stream_(std::move(stream)) {
    input_ = stream_.get();
    info_.path_ = stream_->name();
    info_.format_ = format;
    info_.compression_ = stream_->compression();
    char errbuf[PCAP_ERRBUF_SIZE] = {0};
    FILE* f = stream_->as_file();
    pcap_ = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (pcap_ == nullptr) {
      std::fclose(f);
      std::string why = stream_->error().empty() ? errbuf : stream_->error();
      throw FormatError(info_.path_ + ": cannot read " + std::string(format_name(format)) + " header: " + why);
    }
    info_.linktype_ = pcap_datalink(pcap_);
    info_.snaplen_ = static_cast<uint32_t>(pcap_snapshot(pcap_));
  }
  ~PcapReader() override {
    if (pcap_) pcap_close(pcap_);  // fcloses the cookie FILE, not the stream
  }

  bool next(Packet& out) override {
    while (!done_) {
      pcap_pkthdr* h = nullptr;
      const u_char* data = nullptr;
      int rc = pcap_next_ex(pcap_, &h, &data);
      if (rc != 1) {
        finish(rc);
        return false;
      }
      const int64_t ts = int64_t{h->ts.tv_sec} * 1'000'000'000 + h->ts.tv_usec;
      counters_.note_record(ts, h->len);
      if (!keep(data, h->caplen, h->len)) continue;
      out = Packet{};
      Weird w = decode_frame(info_.linktype_, data, h->caplen, out);
      if (w != Weird::kNone) {
        counters_.weird_.add(w);
        continue;
      }
      out.ts_ns_ = ts;
      out.wire_len_ = h->len;
      ++counters_.decoded_;
      return true;
    }
    return false;
  }

 private:
  void finish(int rc) {
    done_ = true;
    if (rc == PCAP_ERROR_BREAK && stream_->error().empty()) return;  // clean EOF
    std::string msg = stream_->error();
    bool truncated = stream_->truncated();
    if (msg.empty()) {
      // libpcap says "truncated dump file; ..." / "truncated pcapng dump
      // file" when the last record is cut; anything else is damage.
      msg = pcap_geterr(pcap_);
      truncated = msg.find("truncated") != std::string::npos;
    }
    counters_.weird_.add(truncated ? Weird::kTruncatedRecord : Weird::kCorruptRecord);
    counters_.stop_message_ =
        info_.path_ + ": " + msg + " (stopped after " + std::to_string(counters_.records_) + " records)";
  }

  std::unique_ptr<ByteStream> stream_;
  pcap_t* pcap_ = nullptr;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<CaptureReader> make_pcap_reader(std::unique_ptr<ByteStream> stream, Format format) {
  return std::make_unique<PcapReader>(std::move(stream), format);
}

}  // namespace darklens::ingest
