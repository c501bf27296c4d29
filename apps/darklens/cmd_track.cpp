// darklens track: the same sources over consecutive windows.
#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "darklens/analyze/track.hpp"
#include "darklens/core/atomic_file.hpp"
#include "darklens/core/output_set.hpp"
#include "darklens/core/text.hpp"
#include "darklens/error.hpp"

namespace darklens::cli {

Command add_track(CLI::App& app) {
  struct Opts {
    std::vector<std::string> tables, gt;
    std::string family = analyze::kDefaultFamilies;
    std::string out, label_map, scale = "zscore", spec = pipeline::kDefaultPipeline, categories = "indicators";
    int k = 1, threads = 0;
    size_t min_class = 1;
    std::string max_memory = MemoryBudget::kDefault;
    double link = 0.2;
    std::optional<double> mirai;
    bool quiet = false;
    EmbedFlags e;
    std::vector<CLI::Option*> embed_flags;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand(
      "track",
      "Follow sources over consecutive days (feature tables or captures of day 1, day 2, ...): per day, "
      "leave-one-out k-NN accuracy of the labelled sources and the accuracy of classifying them "
      "with day 1's sources; the clusters of each day (same pipeline), their AMI with day 1's and "
      "the previous day's over the sources present on both, and their lineage (continued, split, "
      "merged, new, vanished). Writes DIR/track.csv, DIR/lineage.csv, DIR/track.json. docs/evaluate.md.");
  sub->add_option("tables", o->tables,
                  "Feature tables (.csv, .npy) or captures of consecutive days, in order (one row per source)")
      ->required()
      ->expected(2, 1000);
  sub->add_option("--gt", o->gt, "Ground truth CSV 'ip,label' or 'cidr,label' (repeat --gt for several files)")
      ->required()
      ->allow_extra_args(false);
  sub->add_option("--label-map", o->label_map, "CSV 'from,to' normalising labels");
  sub->add_option("--family", o->family,
                  "Feature families computed for captures (tables are used as they are); embed among them adds "
                  "each source's DarkVec embedding, each day continuing from the day before (docs/embed.md)")
      ->default_val(analyze::kDefaultFamilies);
  sub->add_option("--mirai", o->mirai, "Also label 'mirai' the unlabelled sources with at least this fp_mirai share")
      ->check(finite_range(0.0, 1.0));
  sub->add_option("--pipeline", o->spec, "Clustering pipeline run on every day (docs/cluster.md)")
      ->default_val(pipeline::kDefaultPipeline);
  add_categories(sub, o->categories);
  add_min_class(sub, o->min_class);
  sub->add_option("--scale", o->scale, "Scaling for the k-NN distances, fitted on day 1 and applied to every day")
      ->check(CLI::IsMember({"zscore", "minmax", "robust", "log1p", "none"}))
      ->default_val("zscore");
  sub->add_option("-k", o->k, "Neighbours that vote (at most 1,000)")->default_val(1)->check(CLI::Range(1, 1000));
  sub->add_option("--link", o->link, "Jaccard overlap that links a cluster to the next day's")
      ->default_val(0.2)
      ->check(finite_range(0.0, 1.0));
  add_output(sub, o->out, "Output directory (created if missing)");
  add_threads(sub, o->threads);
  add_max_memory(sub, o->max_memory);
  add_quiet(sub, o->quiet);
  o->embed_flags = add_embed_flags(sub, o->e, "Embedding (with embed in --family)");
  return {sub, [o]() {
            analyze::TrackOptions opt;  // the flags, then the library does the work
            opt.pipeline = o->spec;
            opt.families = o->family;
            opt.scale = o->scale;
            opt.categories = pipeline::parse_categories(o->categories);
            opt.min_class = o->min_class;
            opt.k = o->k;
            opt.link = o->link;
            opt.mirai_share = o->mirai;
            opt.threads = o->threads;
            opt.max_memory = parse_memory_size(o->max_memory);
            if (!o->quiet)
              opt.progress = [](const std::string& line) { std::cerr << "darklens track: " << line << "\n"; };
            pipeline::parse_spec(o->spec);  // a bad spec or family list fails before any reading
            const bool with_embed = analyze::parse_families(o->family).second;
            refuse_unused_embed_flags(o->embed_flags, with_embed);
            if (with_embed) opt.embed = embed_options(o->e);
            const auto map = o->label_map.empty() ? std::map<std::string, std::string>{}
                                                  : ground_truth::load_label_map(o->label_map);
            auto gt = ground_truth::load(o->gt, map);
            std::vector<std::string> inputs = o->gt;
            if (!o->label_map.empty()) inputs.push_back(o->label_map);
            if (!o->e.services.empty()) inputs.push_back(o->e.services);
            for (const auto& table : o->tables) {
              for (const auto& f : features::table_files(table)) inputs.push_back(f);
            }
            OutputDir out(o->out, {"track.csv", "lineage.csv", "track.json"}, inputs);
            const auto t = analyze::track(o->tables, std::move(gt), opt);
            const std::string csv = analyze::track_csv(t);
            for (const auto& [name, text] : {std::pair<std::string, std::string>{"track.csv", csv},
                                             {"lineage.csv", analyze::lineage_csv(t)},
                                             {"track.json", dump_json(analyze::to_json(t, opt), 2) + "\n"}}) {
              AtomicFile f(out.path(name));
              f.write(text);
              f.commit();
            }
            out.publish();
            out.finish();
            if (!o->quiet) std::cout << csv;
            return 0;
          }};
}

}  // namespace darklens::cli
