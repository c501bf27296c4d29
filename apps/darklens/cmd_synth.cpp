// darklens synth: write a synthetic darknet (captures + ground truth).
#include <iostream>

#include "commands.hpp"
#include "darklens/synth/synth.hpp"

namespace darklens::cli {

Command add_synth(CLI::App& app) {
  struct Opts {
    synth::SynthParams p;
    std::string out;
    std::string compress = "none", profile = "planted";
    bool quiet = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand("synth",
                                     "Write a synthetic darknet: one pcap per day for a monitored prefix, "
                                     "with planted coordinated groups (scanning organisations, Mirai-like "
                                     "botnet, SSH brute force, Masscan, SQL/RDP/SMB scanners, backscatter, "
                                     "ICMP, GRE, UDP services) over a heavy-tailed background, plus "
                                     "ground_truth.csv (ip,label) and synth.json. See docs/synth.md.");
  sub->add_option("--days", o->p.days_, "Number of consecutive days")->default_val(1)->check(CLI::Range(1, 366));
  sub->add_option("--sources", o->p.sources_, "Active sources per day (about)")
      ->default_val(5000)
      ->check(CLI::Range(1, 20000000));
  sub->add_option("--seed", o->p.seed_, "Random seed (same seed = same files)")->default_val(1);
  sub->add_option("--prefix", o->p.prefix_, "Monitored darknet prefix (IPv4 CIDR, /8../30)")
      ->default_val("198.51.100.0/24");
  sub->add_option("--start", o->p.start_date_, "First day (UTC, YYYY-MM-DD)")->default_val("2021-05-01");
  sub->add_option("--profile", o->profile,
                  "planted: well-separated groups, every member labelled (the easy case); telescope: as a real /24 "
                  "sees it (most sources send 1-2 packets, scanning organisations share ports and one holds half "
                  "the labelled sources, unlabelled groups, heavy hitters). docs/synth.md")
      ->default_val("planted")
      ->check(CLI::IsMember({"planted", "telescope"}));
  sub->add_option("--compress", o->compress, "Compression of the captures")
      ->default_val("none")
      ->check(CLI::IsMember({"none", "gzip", "zstd"}));
  add_output(sub, o->out, "Output directory (created if missing)");
  sub->add_flag("--responder", o->p.responder_,
                "The darknet answers SYNs with SYN-ACKs; clients complete the handshake "
                "(validated TCP), stateless scanners answer RST");
  add_quiet(sub, o->quiet);
  return {sub, [o]() {
            o->p.profile_ = synth::parse_profile(o->profile);
            o->p.compression_ = o->compress == "gzip"   ? ingest::Compression::kGzip
                                : o->compress == "zstd" ? ingest::Compression::kZstd
                                                        : ingest::Compression::kNone;
            const bool tty = stderr_is_tty();
            o->p.progress_ = [&](int day, uint64_t packets) {
              if (tty && !o->quiet) {
                std::cerr << "\rday " << day + 1 << "/" << o->p.days_ << ": " << packets << " packets" << std::flush;
              }
            };
            auto out = synth::generate(o->p, o->out);
            if (tty && !o->quiet) std::cerr << "\r\033[K" << std::flush;
            if (!o->quiet) {
              for (const auto& d : out.days_) {
                std::cout << d.path_ << "  " << d.packets_ << " packets, " << d.sources_ << " sources\n";
              }
              std::cout << out.ground_truth_path_ << "  " << out.ground_truth_rows_ << " labelled sources\n"
                        << out.manifest_path_ << "\n";
            }
            return 0;
          }};
}

}  // namespace darklens::cli
