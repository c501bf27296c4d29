// darklens features: per-source feature table from captures.
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "darklens/core/atomic_file.hpp"
#include "darklens/core/output_set.hpp"
#include "darklens/core/text.hpp"
#include "darklens/error.hpp"
#include "darklens/features/features.hpp"

namespace darklens::cli {
namespace {

nlohmann::json metadata(const features::FeatureTable& t, const features::AggregateCounters& c,
                        const features::FeatureOptions& options, const std::string& family, const std::string& window,
                        const std::string& prefix, const std::string& filter, const std::string& classes) {
  nlohmann::json m;
  m["generator"] = "darklens features";
  m["families"] = family;
  m["window"] = window;
  m["prefix"] = prefix;
  m["filter"] = filter;
  m["classes"] = classes;
  m["min_packets"] = options.min_packets_;
  m["rows"] = t.rows();
  m["columns"] = t.columns_;
  for (size_t c = 0; c < t.columns_.size(); ++c) {
    m["column_kinds"][t.columns_[c]] = features::kind_name(t.kinds_[c]);
  }
  m["packets"] = features::packets_to_json(c);
  m["validated_rows"] = c.validated_rows_;
  for (const auto& [path, rc] : c.files_) {
    m["files"].push_back({{"path", path},
                          {"records", rc.records_},
                          {"decoded", rc.decoded_},
                          {"bpf_filtered", rc.filtered_},
                          {"damaged", rc.weird_.total()},
                          {"stop_message", rc.stop_message_}});
  }
  bool ext = false;
  for (auto f : options.families_) ext |= f == features::Family::kAgmExt;
  if (ext) {
    for (int f = 0; f < 7; ++f) m["agm_ext_vocab"][features::kAgmFieldNames[f]] = t.agm_ext_vocab_[f];
  }
  for (const auto& [w, ports] : t.top_ports_) {
    m["agm_num_top_ports"].push_back({{"window_start", iso8601_utc(w)}, {"ports", ports}});
  }
  return m;
}

}  // namespace

std::string progress_line(const features::ReadProgress& p) {
  std::string line;
  if (p.total_bytes > 0) {
    // A bar over the inputs' bytes (compressed ones for .gz/.zst).
    constexpr int kWidth = 30;
    const double done = std::min(1.0, static_cast<double>(p.bytes) / static_cast<double>(p.total_bytes));
    const int filled = static_cast<int>(done * kWidth);
    line = "[" + std::string(filled, '#') + std::string(kWidth - filled, '.') + "] ";
    const int percent = static_cast<int>(done * 100);
    line += std::to_string(percent);
    line += "%  ";
  }
  line += std::to_string(p.records);
  line += " packets";
  return line;
}

Command add_features(CLI::App& app) {
  struct Opts {
    std::vector<std::string> files;
    std::string out, vocab, family = "agm", window = "24h", prefix, filter, classes = "scan,backscatter,other";
    uint64_t min_packets = 1;
    uint32_t exact_cap = 4096;
    double flow_timeout = 60;
    int threads = 0;
    std::string max_memory = MemoryBudget::kDefault;
    bool quiet = false, validated_only = false, timings = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand("features",
                                     "Turn captures into a per-source feature table: one row per (source IP, "
                                     "time window), columns from the chosen families (docs/features.md). "
                                     "Output format by extension: .csv, .jsonl, or .npy (+ .columns.txt, "
                                     ".rows.csv); a <output>.meta.json sidecar records options, counts and "
                                     "each column's kind: count, share, rate, time, category (a port, TTL, "
                                     "size or flag byte as its value) or address; clustering turns categories "
                                     "and addresses into indicator columns (docs/features.md, Column kinds).");
  sub->add_option("files", o->files, "Captures (pcap, pcapng, DarkVec CSV; gzip/zstd; '-' = stdin)")->required();
  add_output(sub, o->out, "Output file: .csv, .jsonl or .npy");
  sub->add_option("--family", o->family,
                  "Feature families, comma-separated: agm, agm-ext, agm-num, temporal, fingerprints, intensity")
      ->default_val("agm");
  sub->add_option("--window", o->window, "Window length (30m, 1h, 6h, 24h, 7d), aligned to UTC midnight")
      ->default_val("24h");
  sub->add_option("--prefix", o->prefix, "Monitored darknet, CIDR[,CIDR]: packets to other destinations are left out");
  sub->add_option("--filter", o->filter,
                  "libpcap filter expression applied to every packet, e.g. 'tcp and not port 80'");
  sub->add_option("--class", o->classes, "Traffic classes to keep: scan, backscatter, other")
      ->default_val("scan,backscatter,other");
  sub->add_option("--min-packets", o->min_packets, "Drop rows with fewer packets")->default_val(1);
  sub->add_flag("--validated-only", o->validated_only,
                "Keep only sources that completed a TCP handshake with the responding darknet "
                "(needs --prefix)");
  sub->add_option("--flow-timeout", o->flow_timeout, "intensity: idle seconds that end a flow")
      ->default_val(60)
      ->check(finite_range(0.001, 86400.0));
  sub->add_option("--vocab", o->vocab, "agm-ext: reuse the dummy vocabulary of an earlier run's OUT.meta.json");
  sub->add_option("--exact-cap", o->exact_cap, "Distinct values per source and field kept exactly")
      ->default_val(4096)
      ->check(CLI::Range(16u, 1u << 24));
  add_threads(sub, o->threads, "several files are read in parallel, one file's sources are split across them");
  add_max_memory(sub, o->max_memory);
  sub->add_flag("--timings", o->timings,
                "Print on stderr how long each step took: reading and aggregating (with packets/s), "
                "building the table, writing it");
  add_quiet(sub, o->quiet);
  return {sub, [o]() {
            features::FeatureOptions opt;
            opt.families_ = features::parse_families(o->family);
            opt.window_ = features::parse_window(o->window);
            opt.darknet_ = filter::parse_prefixes(o->prefix);
            opt.bpf_ = o->filter;
            opt.classes_ = filter::parse_classes(o->classes);
            opt.min_packets_ = o->min_packets;
            opt.validated_only_ = o->validated_only;
            opt.exact_cap_ = o->exact_cap;
            opt.flow_timeout_ns_ = static_cast<int64_t>(o->flow_timeout * 1e9);
            if (!o->vocab.empty()) opt.agm_ext_vocab_ = features::read_vocab(o->vocab);
            opt.threads_ = o->threads;  // 0: all cores
            opt.max_memory_ = parse_memory_size(o->max_memory);
            features::check_table_path(o->out);  // fail before reading anything
            auto targets = features::table_files(o->out);
            targets.push_back(o->out + ".meta.json");
            std::vector<std::string> inputs = o->files;
            if (!o->vocab.empty()) inputs.push_back(o->vocab);
            // Several MPI ranks (darklens-mpi): all read, one writes.
            std::optional<OutputFiles> out;
            if (writes_outputs()) out.emplace(targets, inputs);
            const bool tty = stderr_is_tty() && !o->quiet && writes_outputs();
            const auto t0 = std::chrono::steady_clock::now();
            auto read = read_features(opt, o->files, [&](const features::ReadProgress& p) {
              if (tty) std::cerr << "\r" << progress_line(p) << std::flush;
            });
            if (tty) std::cerr << "\r\033[K" << std::flush;
            if (!read.table) return 0;
            const auto t2 = std::chrono::steady_clock::now();
            const auto t1 = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                     std::chrono::duration<double>(read.read_seconds));
            auto& table = *read.table;
            const auto& c = read.counters;
            features::write_table(table, out->path(o->out));
            {
              AtomicFile meta(out->path(o->out + ".meta.json"));
              meta.write(dump_json(metadata(table, c, opt, o->family, o->window, o->prefix, o->filter, o->classes), 2) +
                         "\n");
              meta.commit();
            }
            out->commit();
            if (o->timings) {
              const auto t3 = std::chrono::steady_clock::now();
              auto s = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
              const auto packets = static_cast<double>(c.packets_);
              auto rate = [&](double seconds) { return packets / std::max(seconds, 1e-9) / 1e6; };
              std::cerr << std::fixed << std::setprecision(3) << "timings: read and aggregate " << s(t0, t1) << " s ("
                        << std::setprecision(2) << rate(s(t0, t1)) << " M packets/s), table " << std::setprecision(3)
                        << s(t1, t2) << " s, write " << s(t2, t3) << " s, total " << s(t0, t3) << " s ("
                        << std::setprecision(2) << rate(s(t0, t3)) << " M packets/s)\n";
            }
            if (!o->quiet) {
              std::cout << o->out << ": " << table.rows() << " rows x " << table.columns_.size() << " columns from "
                        << c.used_ << " packets (" << c.outside_prefix_ << " outside the prefix, " << c.class_filtered_
                        << " of other classes";
              if (!opt.darknet_.empty()) {
                std::cout << "; " << c.responder_ << " from the responder, " << c.validated_rows_
                          << " validated sources";
              }
              std::cout << ")\n";
              // Beside the summary, on stderr: a damaged capture is not a result.
              for (const auto& [path, rc] : c.files_) {
                if (!rc.stop_message_.empty()) std::cerr << "warning: " << terminal_text(rc.stop_message_) << "\n";
              }
            }
            keep_until_exit(std::move(read));
            return 0;
          }};
}

}  // namespace darklens::cli
