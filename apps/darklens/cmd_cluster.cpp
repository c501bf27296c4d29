// darklens cluster: pipeline spec over a feature table -> labels, centroids, summary.
#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "darklens/core/atomic_file.hpp"
#include "darklens/core/output_set.hpp"
#include "darklens/core/text.hpp"
#include "darklens/error.hpp"
#include "darklens/pipeline/pipeline.hpp"

namespace darklens::cli {

Command add_cluster(CLI::App& app) {
  struct Opts {
    std::string input, out, spec = pipeline::kDefaultPipeline, categories = "indicators";
    bool quiet = false;
    int threads = 0;
    std::string max_memory = MemoryBudget::kDefault;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub =
      app.add_subcommand("cluster",
                         "Cluster the rows of a feature table (from 'darklens features', or any numeric CSV "
                         "or .npy) with a pipeline such as 'zscore|pca:3|kmeans:k=auto' (docs/cluster.md). "
                         "Writes DIR/labels.csv (noise = -1), DIR/centroids.csv and DIR/summary.json "
                         "(chosen hyper-parameters and why, sizes, silhouette, run time, fitted transforms).");
  sub->add_option("features", o->input, "Feature table: .csv or .npy")->required();
  sub->add_option("--pipeline", o->spec,
                  "Stages joined by '|'. Transforms: zscore, minmax, robust, log1p, pca:N or "
                  "pca:variance=F, som[:RxC][,topology=rect|hex,training=batch|online]. Then one "
                  "clusterer: kmeans:k=N|auto, dbscan:eps=F|auto[,min_samples=N,algorithm=auto|kd_tree|brute], "
                  "meanshift:bandwidth=F|auto[,bin_seeding=1], "
                  "hac:linkage=ward|average|complete|single[,k=N|auto|distance=F]. "
                  "'auto' = the algorithm's heuristic (docs/cluster.md)")
      ->default_val(pipeline::kDefaultPipeline);
  add_categories(sub, o->categories);
  add_output(sub, o->out, "Output directory (created if missing)");
  add_threads(sub, o->threads);
  add_max_memory(sub, o->max_memory);
  add_quiet(sub, o->quiet);
  return {sub, [o]() {
            pipeline::parse_spec(o->spec);  // a bad spec fails before any reading
            const auto categories = pipeline::parse_categories(o->categories);
            OutputDir out(o->out, {"labels.csv", "centroids.csv", "summary.json"}, features::table_files(o->input));
            auto m = pipeline::read_matrix(o->input);
            if (m.X.rows() < 2) throw FormatError(o->input + ": needs at least 2 rows to cluster");
            pipeline::check_memory(parse_memory_size(o->max_memory), static_cast<uint64_t>(m.X.size()) * sizeof(double),
                                   m.X.rows(), m.X.cols());
            auto columns = pipeline::columns_named(m.columns, categories);
            columns.max_memory = parse_memory_size(o->max_memory);
            auto r = pipeline::run(m.X, o->spec, o->threads, columns);
            const bool keyed = m.row_keys.size() && m.row_keys[0].find(',') != std::string::npos;
            {
              AtomicFile f(out.path("labels.csv"));
              f.write(keyed ? "source,window_start,cluster\n" : "row,cluster\n");
              for (size_t i = 0; i < r.labels_.size(); ++i) {
                f.write(m.row_keys[i] + "," + std::to_string(r.labels_[i]) + "\n");
              }
              f.commit();
            }
            {
              AtomicFile f(out.path("centroids.csv"));
              std::string line = "cluster";
              for (Eigen::Index j = 0; j < r.centroids_.cols(); ++j) line += ",e" + std::to_string(j);
              f.write(line + "\n");
              for (Eigen::Index c = 0; c < r.centroids_.rows(); ++c) {
                line = std::to_string(c);
                for (Eigen::Index j = 0; j < r.centroids_.cols(); ++j) {
                  char buf[32];
                  std::snprintf(buf, sizeof buf, ",%.17g", r.centroids_(c, j));
                  line += buf;
                }
                f.write(line + "\n");
              }
              f.commit();
            }
            nlohmann::json summary = pipeline::to_json(r.summary_);
            summary["input"] = {{"path", o->input}, {"columns", m.columns}};
            summary["fitted"] = r.fitted_;
            {
              AtomicFile f(out.path("summary.json"));
              f.write(dump_json(summary, 2) + "\n");
              f.commit();
            }
            out.publish();
            out.finish();
            if (!o->quiet) {
              std::cout << o->out << ": " << r.labels_.size() << " rows in " << r.centroids_.rows() << " clusters ("
                        << r.summary_.choice.rule << ")";
              if (r.summary_.silhouette) std::cout << ", silhouette " << *r.summary_.silhouette;
              std::cout << "\n";
            }
            return 0;
          }};
}

}  // namespace darklens::cli
