// darklens embed: DarkVec-style source embeddings from captures.
#include <algorithm>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>

#include "commands.hpp"
#include "darklens/core/atomic_file.hpp"
#include "darklens/core/output_set.hpp"
#include "darklens/core/text.hpp"
#include "darklens/embed/embed.hpp"
#include "darklens/error.hpp"
#include "darklens/filter/filter.hpp"

namespace darklens::cli {
namespace {

// The last window's vector of every source in an earlier embedding table.
embed::Model read_init(const std::string& path, int dim) {
  auto m = pipeline::read_matrix(path);
  if (m.X.cols() != dim) {
    throw ParamError("--init " + path + ": has " + std::to_string(m.X.cols()) + " columns; --dim is " +
                     std::to_string(dim));
  }
  embed::Model model;
  model.dim_ = dim;
  std::unordered_map<IpAddr, std::pair<std::string, size_t>, IpAddrHash> last;  // source -> (window, row)
  for (size_t r = 0; r < m.row_keys.size(); ++r) {
    const auto& key = m.row_keys[r];
    const size_t comma = key.find(',');
    auto ip = IpAddr::parse(std::string_view(key).substr(0, comma));
    if (!ip || comma == std::string::npos) {
      throw FormatError(path + ": row " + std::to_string(r + 1) + " is not keyed by source,window_start");
    }
    const std::string window = key.substr(comma + 1);
    auto [it, added] = last.try_emplace(*ip, window, r);
    if (!added && it->second.first < window) it->second = {window, r};
  }
  for (const auto& [ip, at] : last) model.words_.push_back(ip);
  std::sort(model.words_.begin(), model.words_.end());
  model.input_.reserve(model.words_.size() * static_cast<size_t>(dim));
  for (const auto& ip : model.words_) {
    const size_t r = last[ip].second;
    for (int c = 0; c < dim; ++c) model.input_.push_back(static_cast<float>(m.X(static_cast<Eigen::Index>(r), c)));
  }
  model.output_.assign(model.input_.size(), 0.0F);
  return model;
}

}  // namespace

Command add_embed(CLI::App& app) {
  struct Opts {
    std::vector<std::string> files;
    std::string out, window = "24h", corpus, init, prefix, filter, classes = "scan,backscatter,other";
    EmbedFlags e;
    std::string max_memory = MemoryBudget::kDefault;
    bool quiet = false, timings = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand(
      "embed",
      "DarkVec-style embeddings (docs/embed.md): per service and time bin, the sources that reach the "
      "darknet in arrival order are a sentence; skip-gram word2vec with negative sampling gives each source "
      "a vector, and sources that act together land close. Output: a feature table (one row per source and "
      "window, columns dv_0..dv_{dim-1}) that cluster, evaluate and track read. Each window starts from "
      "the previous window's vectors (i-DarkVec's incremental update).");
  sub->add_option("files", o->files, "Captures (pcap, pcapng, DarkVec CSV; gzip/zstd; '-' = stdin)")->required();
  add_output(sub, o->out, "Output table: .csv, .jsonl or .npy");
  sub->add_option("--window", o->window, "One embedding per window (30m, 1h, 6h, 24h, 7d), aligned to UTC midnight")
      ->default_val("24h");
  add_embed_flags(sub, o->e);
  sub->add_option("--seed", o->e.p.seed_, "Random seed (same seed = same vectors, on any thread count)")
      ->default_val(o->e.p.seed_);
  sub->add_option("--init", o->init,
                  "Start from the vectors of an earlier `darklens embed` table (its last window per source)");
  sub->add_option("--corpus", o->corpus,
                  "Also write the sentences as text, one per line (what gensim's LineSentence reads)");
  sub->add_option("--prefix", o->prefix, "Monitored darknet, CIDR[,CIDR]: packets to other destinations are left out");
  sub->add_option("--filter", o->filter, "libpcap filter expression applied to every packet");
  sub->add_option("--class", o->classes, "Traffic classes to keep: scan, backscatter, other")
      ->default_val("scan,backscatter,other");
  add_threads(sub, o->e.p.threads_, "training runs on up to 8 threads");
  add_max_memory(sub, o->max_memory);
  sub->add_flag("--timings", o->timings,
                "Print on stderr how long each step took: reading the captures into sentences, training, writing");
  add_quiet(sub, o->quiet);
  return {sub, [o]() {
            embed::check(o->e.p);
            const auto window = features::parse_window(o->window);
            const auto bin = features::parse_window(o->e.bin);
            embed::CorpusOptions copt;
            copt.window_ns_ = window.length_ns_;
            copt.bin_ns_ = bin.length_ns_;
            auto services = embed::Services::read(o->e.services);
            const filter::Selection selection{filter::parse_prefixes(o->prefix), filter::parse_classes(o->classes),
                                              o->filter};
            const MemoryBudget budget{parse_memory_size(o->max_memory)};
            features::check_table_path(o->out);
            auto targets = features::table_files(o->out);
            targets.push_back(o->out + ".meta.json");
            if (!o->corpus.empty()) targets.push_back(o->corpus);
            std::vector<std::string> inputs = o->files;
            if (!o->e.services.empty()) inputs.push_back(o->e.services);
            if (!o->init.empty()) inputs.push_back(o->init);
            OutputFiles out(targets, inputs);
            std::optional<embed::Model> previous;
            if (!o->init.empty()) previous = read_init(o->init, o->e.p.dim_);

            const auto t0 = std::chrono::steady_clock::now();
            embed::CorpusBuilder builder(services, copt);
            uint64_t packets = 0;
            const bool tty = stderr_is_tty() && !o->quiet;
            filter::for_each_used_packet(selection, o->files, [&](const Packet& p) {
              builder.add(p);
              if ((++packets & 0xfffff) == 0) {
                budget.check(builder.memory(), "embed: the corpus",
                             "use a shorter --window, a --filter or --prefix, or more memory");
                if (tty) std::cerr << "\r" << packets << " packets" << std::flush;
              }
            });
            if (tty) std::cerr << "\r\033[K" << std::flush;
            auto corpora = builder.finish();
            const auto t1 = std::chrono::steady_clock::now();

            features::FeatureTable table;
            for (int c = 0; c < o->e.p.dim_; ++c) {
              table.columns_.push_back("dv_" + std::to_string(c));
              table.kinds_.push_back(features::ColumnKind::kNumber);
            }
            std::vector<std::vector<float>> columns(static_cast<size_t>(o->e.p.dim_));
            nlohmann::json meta;
            meta["generator"] = "darklens embed";
            meta["window"] = o->window;
            meta["bin"] = o->e.bin;
            meta["services"] = services.names();
            meta["params"] = {
                {"dim", o->e.p.dim_},       {"context", o->e.p.context_},     {"negative", o->e.p.negative_},
                {"epochs", o->e.p.epochs_}, {"min_count", o->e.p.min_count_}, {"sample", o->e.p.sample_},
                {"seed", o->e.p.seed_},     {"alpha", o->e.p.alpha_},         {"min_alpha", o->e.p.min_alpha_}};
            meta["init"] = o->init;
            meta["packets"] = packets;
            std::optional<AtomicFile> corpus_file;
            if (!o->corpus.empty()) corpus_file.emplace(out.path(o->corpus));
            const auto trained = embed::train_windows(
                corpora, o->e.p, previous ? &*previous : nullptr,
                [&](size_t i) {
                  const auto& [start, corpus] = corpora[i];
                  budget.check(embed::training_memory(corpus.words_.size(), corpus.tokens_.size(), o->e.p),
                               "embed: training on window " + iso8601_utc(start),
                               "use a shorter --window, a smaller --dim, a higher --min-count, or more memory");
                  if (corpus_file) corpus_file->write(embed::corpus_text(corpus));
                },
                [&](size_t i, int epoch) {
                  if (tty) {
                    std::cerr << "\rwindow " << i + 1 << "/" << corpora.size() << ": epoch " << epoch << "/"
                              << o->e.p.epochs_ << std::flush;
                  }
                });
            const double training = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
            for (const auto& w : trained) {
              const auto& model = w.model;
              // Rows of this window in address order.
              std::vector<size_t> order(model.words_.size());
              for (size_t i = 0; i < order.size(); ++i) order[i] = i;
              std::sort(order.begin(), order.end(),
                        [&](size_t a, size_t b) { return model.words_[a] < model.words_[b]; });
              for (size_t i : order) {
                table.source_.push_back(model.words_[i]);
                table.window_start_ns_.push_back(w.start_ns);
                const float* v = model.vector(i);
                for (int c = 0; c < o->e.p.dim_; ++c) columns[static_cast<size_t>(c)].push_back(v[c]);
              }
              meta["windows"].push_back({{"window_start", iso8601_utc(w.start_ns)},
                                         {"sources", w.sources},
                                         {"embedded", model.words_.size()},
                                         {"tokens", w.tokens},
                                         {"sentences", w.sentences}});
            }
            if (tty) std::cerr << "\r\033[K" << std::flush;
            table.values_.reserve(table.source_.size() * columns.size());
            for (auto& c : columns) table.values_.insert(table.values_.end(), c.begin(), c.end());
            meta["rows"] = table.rows();
            meta["columns"] = table.columns_;
            for (const auto& c : table.columns_) meta["column_kinds"][c] = "number";
            features::write_table(table, out.path(o->out));
            {
              AtomicFile f(out.path(o->out + ".meta.json"));
              f.write(dump_json(meta, 2) + "\n");
              f.commit();
            }
            if (corpus_file) corpus_file->commit();
            out.commit();
            if (o->timings) {
              const auto t2 = std::chrono::steady_clock::now();
              auto sec = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
              std::cerr << std::fixed << std::setprecision(3) << "timings: read into sentences " << sec(t0, t1)
                        << " s, training " << training << " s, total " << sec(t0, t2) << " s\n";
            }
            if (!o->quiet) {
              std::cout << o->out << ": " << table.rows() << " rows x " << table.columns_.size() << " columns from "
                        << packets << " packets in " << corpora.size() << " window(s)\n";
            }
            return 0;
          }};
}

}  // namespace darklens::cli
