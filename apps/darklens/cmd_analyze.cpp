// darklens analyze / classify: the main job, over the library's analyze module.
#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "darklens/analyze/analyze.hpp"
#include "darklens/core/memory.hpp"
#include "darklens/core/output_set.hpp"
#include "darklens/error.hpp"
#include "darklens/report/report.hpp"

namespace darklens::cli {
namespace {

// One line per stage, with the memory the process holds after it and its
// peak so far: what each stage costs at scale (docs/performance.md).
std::function<void(const std::string&)> progress_printer(bool quiet) {
  if (quiet) return {};
  return [](const std::string& line) {
    const ProcessMemory m = process_memory();
    std::cerr << "darklens: " << line;
    if (m.peak > 0) std::cerr << " [memory " << format_bytes(m.resident) << ", peak " << format_bytes(m.peak) << "]";
    std::cerr << std::endl;
  };
}

struct Common {
  std::vector<std::string> files;
  std::string out, db;
  analyze::Extras x = [] {
    analyze::Extras x;
    x.names.lookup.timeout_ms_ = 1000;  // --timeout-ms, --tries defaults
    x.names.lookup.tries_ = 2;
    return x;
  }();
  int threads = 0;
  size_t min_class = 1;
  std::string max_memory = MemoryBudget::kDefault;
  bool quiet = false;
};

void add_common(CLI::App* sub, Common& c) {
  sub->add_option("captures", c.files, "Captures of the window (pcap, pcapng, DarkVec CSV; gzip/zstd)")->required();
  add_output(sub, c.out, "Output directory (created if missing)");
  sub->add_option("--gt", c.x.gt,
                  "Ground truth CSV 'ip,label' or 'cidr,label' (repeatable): kNN check and label "
                  "composition of each cluster")
      ->allow_extra_args(false);
  sub->add_option("--label-map", c.x.label_map, "CSV 'from,to' normalising ground-truth labels");
  add_min_class(sub, c.min_class);
  sub->add_option("--signatures", c.x.signatures,
                  "Signature catalog (docs/analyze.md); default: the shipped one, share/darklens/signatures.txt "
                  "beside the binary's folder or in $DARKLENS_DATA_DIR");
  add_origin_dbs(sub, c.x.asn_db, c.x.geo_db);
  add_rdns(sub, c.x.names.heaviest, c.x.names.lookup.resolver_, c.x.names.lookup.timeout_ms_, c.x.names.lookup.tries_);
  add_threads(sub, c.threads);
  add_max_memory(sub, c.max_memory);
  add_quiet(sub, c.quiet);
}

}  // namespace

Command add_analyze(CLI::App& app) {
  struct Opts : Common {
    std::string family = analyze::kDefaultFamilies, window = "24h", prefix, filter,
                pipeline = analyze::kDefaultPipeline, categories = "indicators";
    uint64_t min_packets = 1;
    size_t top = 4;
    EmbedFlags e;
    std::vector<CLI::Option*> embed_flags;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand(
      "analyze",
      "The main job: captures -> per-source features -> embedding and clusters -> a profile per cluster "
      "(protocols, ports, flags, hours, fingerprints) matched to known activity -> evaluation -> report. Writes "
      "features.csv, clusters.csv, profiles.json, summary.json and report.html to OUTDIR; with --db, stores the "
      "patterns so 'darklens classify' can recognise them on later days. docs/analyze.md.");
  add_common(sub, *o);
  sub->add_option("--db", o->db, "Pattern database (SQLite; created if missing) to store this window's patterns in");
  sub->add_option("--family", o->family,
                  "Feature families (docs/features.md); embed among them adds each source's DarkVec embedding "
                  "(docs/embed.md), stored with the model so that classify continues from it")
      ->default_val(o->family);
  sub->add_option("--pipeline", o->pipeline, "Transform and cluster spec (docs/cluster.md)")->default_val(o->pipeline);
  add_categories(sub, o->categories);
  sub->add_option("--window", o->window, "Window length, aligned to UTC midnight")->default_val("24h");
  sub->add_option("--prefix", o->prefix, "Monitored darknet, CIDR[,CIDR]");
  sub->add_option("--filter", o->filter, "libpcap filter expression applied to every packet");
  sub->add_option("--min-packets", o->min_packets, "Leave out sources with fewer packets")->default_val(1);
  sub->add_option("--top", o->top, "Summarise the N largest clusters first (the source study inspected 4)")
      ->default_val(4)
      ->check(CLI::Range(size_t{1}, size_t{1000}));
  o->embed_flags = add_embed_flags(sub, o->e, "Embedding (with embed in --family)");
  return {sub, [o]() {
            analyze::Options opt;
            bool with_embed = false;
            std::tie(opt.features.families_, with_embed) = analyze::parse_families(o->family);
            refuse_unused_embed_flags(o->embed_flags, with_embed);
            if (with_embed) opt.embed = embed_options(o->e);
            opt.features.window_ = features::parse_window(o->window);
            opt.features.darknet_ = filter::parse_prefixes(o->prefix);
            opt.features.bpf_ = o->filter;
            opt.features.min_packets_ = o->min_packets;
            opt.features.threads_ = o->threads;  // 0: all cores
            opt.features.max_memory_ = parse_memory_size(o->max_memory);
            opt.pipeline = o->pipeline;
            opt.categories = pipeline::parse_categories(o->categories);
            opt.min_class = o->min_class;
            opt.threads = o->threads;
            opt.top = o->top;
            pipeline::parse_spec(opt.pipeline);
            const analyze::Loaded in = analyze::load(o->x);
            in.attach(opt);
            auto inputs = analyze::inputs_of(o->files, o->x, o->db);
            if (!o->e.services.empty()) inputs.push_back(o->e.services);
            OutputDir out(o->out, analyze::kAnalysisFiles, inputs, patterns::committed);
            std::unique_ptr<patterns::Store> db;
            if (!o->db.empty()) db = std::make_unique<patterns::Store>(o->db);
            opt.progress = progress_printer(o->quiet);
            auto a = analyze::analyze(o->files, opt);
            analyze::publish(out, a, db.get(), o->files, opt);
            if (!o->quiet) {
              std::cout << o->out << "/report.html: " << a.table.rows() << " sources in " << a.result.summary_.clusters
                        << " clusters";
              size_t unexplained = a.summary["unexplained_clusters"].get<size_t>();
              std::cout << " (" << unexplained << " unexplained)";
              if (db) std::cout << "; stored as run " << a.summary["stored"]["run"] << " in " << o->db;
              std::cout << "\n";
              for (const auto& p : a.profiles) {
                if (p.rank_ > 8) break;
                std::cout << "  " << (p.cluster_ < 0 ? std::string("noise") : "cluster " + std::to_string(p.cluster_))
                          << ": " << p.sources_ << " sources, "
                          << (p.activities_.empty() ? std::string("UNEXPLAINED") : p.activities_[0].activity) << "\n";
              }
            }
            keep_until_exit(std::move(a));
            return 0;
          }};
}

Command add_classify(CLI::App& app) {
  struct Opts : Common {
    int64_t model = 0;
    bool no_store = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand(
      "classify",
      "Classify a later window against a stored model: the same features and transforms, each source assigned to "
      "the nearest known pattern within its radius, else 'new' (new sources are clustered into new groups). "
      "Reports which patterns are back, which are absent, and the new groups. Writes assignments.csv, "
      "profiles.json, classify.json and report.html to OUTDIR, and stores the run (and new groups) in the "
      "database. docs/analyze.md.");
  add_common(sub, *o);
  sub->add_option("--db", o->db, "Pattern database written by 'darklens analyze --db'")->required();
  sub->add_option("--model", o->model, "Analyze run to compare with (default: the newest)");
  sub->add_flag("--no-store", o->no_store, "Do not record this run in the database");
  return {sub, [o]() {
            if (!std::filesystem::exists(o->db)) throw IoError(o->db + ": no such pattern database");
            // --no-store only reads: also a database in a read-only folder.
            auto db_ptr = o->no_store ? std::make_unique<patterns::Store>(o->db, patterns::Store::ReadOnly::kYes)
                                      : std::make_unique<patterns::Store>(o->db);
            patterns::Store& db = *db_ptr;
            analyze::ClassifyOptions opt;
            opt.model = o->model;
            opt.min_class = o->min_class;
            opt.threads = o->threads;
            opt.max_memory = parse_memory_size(o->max_memory);
            const analyze::Loaded in = analyze::load(o->x);
            in.attach(opt);
            OutputDir out(o->out, analyze::kClassificationFiles, analyze::inputs_of(o->files, o->x, o->db),
                          patterns::committed);
            opt.progress = progress_printer(o->quiet);
            auto c = analyze::classify(db, o->files, opt);
            analyze::publish(out, c, o->no_store ? nullptr : &db, o->files);
            if (!o->quiet) {
              std::cout << o->out << "/report.html: " << c.table.rows() << " sources; "
                        << c.summary["sources_in_known_patterns"] << " in known patterns ("
                        << c.summary["patterns_back"] << " back, " << c.summary["patterns_absent"] << " absent), "
                        << c.summary["new_sources"] << " new in " << c.summary["new_groups"] << " groups";
              if (c.summary["tracking"].contains("ami_vs_model")) {
                std::cout << "; AMI vs model " << c.summary["tracking"]["ami_vs_model"].get<double>();
              }
              std::cout << "\n";
            }
            return 0;
          }};
}

}  // namespace darklens::cli
