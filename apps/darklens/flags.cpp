// The flags several commands share (commands.hpp).
#include <sys/prctl.h>

#include <charconv>
#include <cmath>
#include <sstream>

#include "commands.hpp"
#include "darklens/error.hpp"
#include "darklens/profile/profile.hpp"

#ifdef DARKLENS_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

namespace darklens::cli {

CLI::Option* add_threads(CLI::App* sub, int& threads, const std::string& more) {
  return sub
      ->add_option("-t,--threads", threads,
                   "Worker threads (0 = all cores; the output is the same on any number)" +
                       (more.empty() ? std::string() : ": " + more))
      ->default_val(0)
      ->check(CLI::Range(0, 1024));
}

CLI::Option* add_min_class(CLI::App* sub, size_t& n) {
  return sub
      ->add_option("--min-class", n,
                   "Leave ground-truth classes with fewer labelled sources than this out of the scores (their "
                   "sources count as unlabelled); the output says how many classes and sources were left out")
      ->default_val(1)
      ->check(CLI::Range(size_t{1}, size_t{1000000}));
}

void add_origin_dbs(CLI::App* sub, std::string& asn_db, std::string& geo_db) {
  sub->add_option("--asn-db", asn_db,
                  "IP-to-ASN database: an MMDB (GeoLite2-ASN layout) or a CSV 'first,last,asn,organisation' such as "
                  "ip-location-db's asn-ipv4.csv; each source gets its origin AS (docs/analyze.md, \"Origin AS and "
                  "country\")")
      ->group("Origin");
  sub->add_option("--geo-db", geo_db,
                  "IP-to-country database: an MMDB (country.iso_code or country_code) or a CSV "
                  "'first,last,country'; each source gets its country")
      ->group("Origin");
}

void add_rdns(CLI::App* sub, size_t& heaviest, std::string& resolver, int& timeout_ms, int& tries) {
  auto* n = sub->add_option("--rdns", heaviest,
                            "List each cluster's N heaviest sources (most packets) with their reverse-DNS (PTR) "
                            "names in the profile; the lookups are bounded: each address once, 64 in flight, "
                            "--timeout-ms per try, --tries (docs/analyze.md, \"Origin AS and country\")")
                ->check(CLI::Range(size_t{0}, profile::kMaxHeaviest))
                ->group("Origin");
  sub->add_option("--resolver", resolver, "DNS server IP or IP:PORT for --rdns (default: the system's)")
      ->needs(n)
      ->group("Origin");
  sub->add_option("--timeout-ms", timeout_ms, "Per PTR query try (--rdns)")
      ->default_val(timeout_ms)
      ->check(CLI::Range(1, 60000))
      ->needs(n)
      ->group("Origin");
  sub->add_option("--tries", tries, "Tries per PTR query (--rdns)")
      ->default_val(tries)
      ->check(CLI::Range(1, 10))
      ->needs(n)
      ->group("Origin");
}

CLI::Option* add_categories(CLI::App* sub, std::string& rule) {
  return sub
      ->add_option("--categories", rule,
                   "How category and address columns (a port, TTL, flag byte or address taken as its value; "
                   "docs/features.md, Column kinds) enter distances: indicators (a 0/1 column for each value "
                   "held by at least 1% of the rows), drop, or numbers (their values as coordinates)")
      ->default_val("indicators")
      ->check(CLI::IsMember({"indicators", "drop", "numbers"}));
}

CLI::Option* add_max_memory(CLI::App* sub, std::string& budget) {
  return sub
      ->add_option("--max-memory", budget,
                   "Memory budget: a size (4G, 512M), a share of this machine's memory (75%), or none. Work "
                   "estimated to need more is refused with exit 5 as soon as it is known, before the machine runs "
                   "out (docs/cli.md, Memory)")
      ->default_val(MemoryBudget::kDefault)
      ->check([](const std::string& text) -> std::string {
        try {
          parse_memory_size(text, "size");
          return {};
        } catch (const ParamError& e) {
          return e.what();
        }
      });
}

CLI::Option* add_quiet(CLI::App* sub, bool& quiet) {
  return sub->add_flag("-q,--quiet", quiet, "Print nothing but errors");
}

CLI::Option* add_output(CLI::App* sub, std::string& out, const std::string& what) {
  return sub->add_option("-o,--output", out, what)->required();
}

std::vector<CLI::Option*> add_embed_flags(CLI::App* sub, EmbedFlags& f, const std::string& group) {
  auto& p = f.p;
  std::vector<CLI::Option*> out;
  out.push_back(sub->add_option("--bin", f.bin, "One sentence per service and bin of this length (within the window)")
                    ->default_val("1h"));
  out.push_back(
      sub->add_option("--services", f.services,
                      "Services file (docs/embed.md); default: the shipped one, share/darklens/services.txt"));
  out.push_back(sub->add_option("--dim", p.dim_, "Vector size")->default_val(p.dim_)->check(CLI::Range(1, 1000)));
  out.push_back(sub->add_option("--context", p.context_, "Context words each side")
                    ->default_val(p.context_)
                    ->check(CLI::Range(1, 100)));
  out.push_back(sub->add_option("--negative", p.negative_, "Negative samples per word")
                    ->default_val(p.negative_)
                    ->check(CLI::Range(1, 100)));
  out.push_back(sub->add_option("--epochs", p.epochs_, "Passes over each window's corpus")
                    ->default_val(p.epochs_)
                    ->check(CLI::Range(1, 1000)));
  out.push_back(
      sub->add_option("--min-count", p.min_count_, "Sources with fewer packets in a window get no vector there")
          ->default_val(p.min_count_)
          ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40)));
  out.push_back(sub->add_option("--sample", p.sample_, "Down-sampling of frequent sources (0: none)")
                    ->default_val(p.sample_)
                    ->check(finite_range(0.0, 0.999)));
  if (!group.empty()) {
    for (auto* o : out) o->group(group);
  }
  return out;
}

analyze::EmbedOptions embed_options(const EmbedFlags& f) {
  analyze::EmbedOptions e;
  e.services = f.services;
  e.bin_ns = features::parse_window(f.bin).length_ns_;
  e.params = f.p;
  embed::check(e.params);
  return e;
}

void refuse_unused_embed_flags(const std::vector<CLI::Option*>& flags, bool embedding) {
  if (embedding) return;
  for (const auto* o : flags) {
    if (o->count() > 0) {
      throw ParamError(o->get_name() +
                       " is for the embedding: add embed to --family (e.g. --family "
                       "agm,intensity,fingerprints,embed)");
    }
  }
}

void allocator_for_long_runs() {
#ifdef DARKLENS_JEMALLOC
  // allocator.cpp keeps freed memory for good and asks for huge pages
  // (right for a batch run). A command that runs for days hands freed
  // memory back after a second instead, straight away with MADV_DONTNEED
  // (muzzy 0: MADV_FREE'd pages would stay in the resident set until the
  // machine runs short), for the arenas to come and the ones there are;
  // and it takes no more huge pages, whose partly used 2 MiB each kept the
  // resident set growing: measured over six days of windows
  // (docs/performance.md), 311 MiB at day 6 with both, 164-202 without.
  ssize_t dirty = 1000, muzzy = 0;
  mallctl("arenas.dirty_decay_ms", nullptr, nullptr, &dirty, sizeof dirty);
  mallctl("arenas.muzzy_decay_ms", nullptr, nullptr, &muzzy, sizeof muzzy);
  unsigned arenas = 0;
  size_t size = sizeof arenas;
  if (mallctl("arenas.narenas", &arenas, &size, nullptr, 0) == 0) {
    for (unsigned i = 0; i < arenas; ++i) {
      const std::string arena = "arena." + std::to_string(i) + ".";
      mallctl((arena + "dirty_decay_ms").c_str(), nullptr, nullptr, &dirty, sizeof dirty);
      mallctl((arena + "muzzy_decay_ms").c_str(), nullptr, nullptr, &muzzy, sizeof muzzy);
    }
  }
#endif
  // Transparent huge pages off for this process (jemalloc's thp:always
  // only asks for them; the kernel's switch for the process wins).
  prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
}

CLI::Validator finite_range(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        double v = 0;
        const char* end = text.data() + text.size();
        auto [p, ec] = std::from_chars(text.data(), end, v);
        if (ec != std::errc() || p != end || !std::isfinite(v) || v < lo || v > hi) {
          std::ostringstream why;
          why << "'" << text << "' is not a number between " << lo << " and " << hi;
          return why.str();
        }
        return {};
      },
      "FLOAT in [" + CLI::detail::to_string(lo) + " - " + CLI::detail::to_string(hi) + "]");
}

}  // namespace darklens::cli
