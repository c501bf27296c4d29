// darklens stats FILE...: a capinfos-like summary.
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "darklens/core/text.hpp"
#include "darklens/ingest/summary.hpp"

namespace darklens::cli {
namespace {

std::string utc(int64_t ns) {
  time_t sec = static_cast<time_t>(ns / 1'000'000'000);
  long frac = static_cast<long>(ns % 1'000'000'000);
  if (frac < 0) frac += 1'000'000'000, --sec;
  tm t{};
  gmtime_r(&sec, &t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%09ld UTC", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                t.tm_hour, t.tm_min, t.tm_sec, frac);
  return buf;
}

std::string pct(uint64_t n, uint64_t total) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", total ? 100.0 * n / total : 0.0);
  return buf;
}

void print_text(const ingest::CaptureSummary& s, std::ostream& o) {
  for (const auto& f : s.files_) {
    o << "file            " << terminal_text(f.info_.path_) << " (" << ingest::format_name(f.info_.format_);
    if (f.info_.compression_ != ingest::Compression::kNone) {
      o << ", " << ingest::compression_name(f.info_.compression_);
    }
    if (f.info_.linktype_ >= 0) {
      o << ", linktype " << f.info_.linktype_ << " " << ingest::linktype_name(f.info_.linktype_) << ", snaplen "
        << f.info_.snaplen_;
    }
    o << ")\n";
  }
  o << "packets         " << s.records_ << "\n"
    << "bytes           " << s.wire_bytes_ << "\n";
  if (s.records_) {
    char dur[32];
    std::snprintf(dur, sizeof dur, "%.6f s", (s.last_ts_ns_ - s.first_ts_ns_) / 1e9);
    o << "first packet    " << utc(s.first_ts_ns_) << "\n"
      << "last packet     " << utc(s.last_ts_ns_) << "\n"
      << "duration        " << dur << "\n";
  }
  o << "decoded IP      " << s.decoded_ << " (IPv4 " << s.ipv4_ << ", IPv6 " << s.ipv6_ << ", non-first fragments "
    << s.fragments_ << ")\n"
    << "sources         " << s.distinct_sources_ << "\n"
    << "destinations    " << s.distinct_destinations_ << "\n";
  o << "protocols      ";
  for (auto [proto, n] : s.protocols_) {
    o << " " << ip_proto::name(proto) << " " << n << " (" << pct(n, s.decoded_) << ")";
  }
  o << "\ntop dst ports  ";
  for (const auto& p : s.top_dst_ports_) {
    o << " " << ip_proto::name(p.proto_) << "/" << p.port_ << " " << p.packets_;
  }
  o << "\ntcp flags      ";
  for (auto [f, n] : s.tcp_flags_) o << " " << tcp_flag::names(f) << " " << n;
  o << "\nanomalies      ";
  if (s.weird_.total() == 0) o << " none";
  for (size_t i = 1; i < ingest::kWeirdCount; ++i) {
    if (s.weird_.n_[i]) {
      o << " " << ingest::weird_name(static_cast<ingest::Weird>(i)) << " " << s.weird_.n_[i];
    }
  }
  o << "\n";
  for (const auto& w : s.warnings_) o << "warning: " << terminal_text(w) << "\n";
}

}  // namespace

Command add_stats(CLI::App& app) {
  struct Opts {
    std::vector<std::string> files;
    bool json = false;
    size_t top = 10;
  };
  auto opts = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand("stats",
                                     "Summarise captures like capinfos: packets, bytes, time span, distinct "
                                     "sources and destinations, protocols, top destination ports, TCP flag "
                                     "combinations, damaged packets by reason. Reads pcap, pcapng and "
                                     "DarkVec CSV, plain or gzip/zstd-compressed; '-' reads standard input.");
  sub->add_option("files", opts->files, "Capture files ('-' = standard input)")->required();
  sub->add_flag("--json", opts->json, "Print one JSON object instead of text");
  sub->add_option("--top", opts->top, "How many destination ports to list")
      ->default_val(10)
      ->check(CLI::Range(1, 1000));
  return {sub, [opts]() {
            ingest::SummaryBuilder b;
            const bool tty = stderr_is_tty();
            for (const auto& f : opts->files) {
              b.add_file(f, [&](uint64_t n) {
                if (tty) std::cerr << "\r" << f << ": " << n << " packets" << std::flush;
              });
              if (tty) std::cerr << "\r\033[K" << std::flush;
            }
            auto s = b.finish(opts->top);
            if (opts->json) {
              std::cout << dump_json(ingest::to_json(s), 2) << "\n";
            } else {
              print_text(s, std::cout);
            }
            return 0;
          }};
}

}  // namespace darklens::cli
