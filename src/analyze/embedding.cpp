// The DarkVec embedding as a feature family: the captures' word2vec vectors
// join the feature table (docs/analyze.md, "Embeddings as features").
#include <chrono>
#include <unordered_map>

#include "common.hpp"
#include "darklens/core/memory.hpp"
#include "darklens/error.hpp"
#include "darklens/filter/filter.hpp"

namespace darklens::analyze {

nlohmann::json to_json(const EmbedOptions& e) {
  const auto& p = e.params;
  return {{"services", e.services}, {"bin_ns", e.bin_ns},        {"dim", p.dim_},
          {"context", p.context_},  {"negative", p.negative_},   {"epochs", p.epochs_},
          {"sample", p.sample_},    {"min_count", p.min_count_}, {"seed", p.seed_},
          {"alpha", p.alpha_},      {"min_alpha", p.min_alpha_}};
}

EmbedOptions embed_options_from_json(const nlohmann::json& j, const std::string& origin) {
  EmbedOptions e;
  try {
    e.services = j.at("services").get<std::string>();
    e.bin_ns = j.at("bin_ns").get<int64_t>();
    auto& p = e.params;
    p.dim_ = j.at("dim").get<int>();
    p.context_ = j.at("context").get<int>();
    p.negative_ = j.at("negative").get<int>();
    p.epochs_ = j.at("epochs").get<int>();
    p.sample_ = j.at("sample").get<double>();
    p.min_count_ = j.at("min_count").get<uint64_t>();
    p.seed_ = j.at("seed").get<uint64_t>();
    p.alpha_ = j.at("alpha").get<double>();
    p.min_alpha_ = j.at("min_alpha").get<double>();
    embed::check(p);
  } catch (const nlohmann::json::exception& ex) {
    throw FormatError(origin + ": the stored embedding options are not readable (" + std::string(ex.what()) + ")");
  } catch (const ParamError& ex) {
    throw FormatError(origin + ": the stored embedding options are out of range (" + std::string(ex.what()) + ")");
  }
  if (e.bin_ns <= 0) throw FormatError(origin + ": the stored embedding bin is not positive");
  return e;
}

std::pair<std::vector<features::Family>, bool> parse_families(const std::string& list) {
  std::string rest;
  bool embed = false;
  size_t at = 0;
  while (at <= list.size()) {
    size_t end = list.find(',', at);
    if (end == std::string::npos) end = list.size();
    std::string item = list.substr(at, end - at);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (item == "embed") {
      embed = true;
    } else {
      rest += (rest.empty() ? "" : ",") + item;
    }
    at = end + 1;
  }
  if (embed && rest.empty()) {
    throw ParamError(
        "--family embed: the embedding joins other feature families (e.g. agm,intensity,fingerprints,"
        "embed); to cluster embeddings alone, run darklens embed, then darklens cluster on its table");
  }
  try {
    return {features::parse_families(rest), embed};
  } catch (const ParamError& e) {
    const std::string what = e.what();
    // features' list of known names, and the embedding beside them.
    if (what.rfind("unknown feature family", 0) == 0 && what.back() == ')') {
      throw ParamError(what.substr(0, what.size() - 1) + ", embed)");
    }
    throw;
  }
}

namespace detail {

nlohmann::json add_embedding(features::FeatureTable& table, const std::vector<std::string>& captures,
                             const features::FeatureOptions& fo, const EmbedOptions& eo, const embed::Model* init,
                             embed::Model& last, const std::function<void(const std::string&)>& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  embed::Word2VecParams p = eo.params;
  p.threads_ = fo.threads_;
  embed::check(p);
  embed::CorpusOptions copt;
  copt.window_ns_ = fo.window_.length_ns_;
  copt.bin_ns_ = eo.bin_ns;
  const MemoryBudget budget{fo.max_memory_};
  embed::CorpusBuilder builder(embed::Services::read(eo.services), copt);
  uint64_t packets = 0;
  filter::for_each_used_packet(fo.selection(), captures, [&](const Packet& pk) {
    builder.add(pk);
    if ((++packets & 0xfffff) == 0) {
      budget.check(builder.memory(), "embed: the corpus",
                   "use a shorter --window, a --filter or --prefix, or more memory");
    }
  });
  const auto corpora = builder.finish();
  const auto trained = embed::train_windows(
      corpora, p, init,
      [&](size_t i) {
        const auto& [start, corpus] = corpora[i];
        budget.check(embed::training_memory(corpus.words_.size(), corpus.tokens_.size(), p),
                     "embed: training on window " + iso8601_utc(start),
                     "use a shorter --window, a smaller --dim, a higher --min-count, or more memory");
      },
      {}, &last);

  // Each row's vector: its source in its window's model.
  std::unordered_map<int64_t, std::unordered_map<IpAddr, size_t, IpAddrHash>> index;
  std::unordered_map<int64_t, const embed::Model*> model_of;
  for (const auto& w : trained) {
    auto& idx = index[w.start_ns];
    idx.reserve(w.model.words_.size());
    for (size_t i = 0; i < w.model.words_.size(); ++i) idx.emplace(w.model.words_[i], i);
    model_of[w.start_ns] = &w.model;
  }
  const size_t rows = table.rows(), dim = static_cast<size_t>(p.dim_);
  const size_t first = table.values_.size();
  table.values_.resize(first + rows * dim, 0.0);
  size_t missing = 0;
  for (size_t r = 0; r < rows; ++r) {
    const auto w = index.find(table.window_start_ns_[r]);
    if (w == index.end()) {
      ++missing;
      continue;
    }
    const auto it = w->second.find(table.source_[r]);
    if (it == w->second.end()) {
      ++missing;
      continue;
    }
    const float* v = model_of.at(w->first)->vector(it->second);
    for (size_t c = 0; c < dim; ++c) table.values_[first + c * rows + r] = v[c];
  }
  for (size_t c = 0; c < dim; ++c) {
    table.columns_.push_back("dv_" + std::to_string(c));
    table.kinds_.push_back(features::ColumnKind::kNumber);
  }
  size_t tokens = 0;
  for (const auto& w : trained) tokens += w.tokens;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  say(progress, "embed: " + std::to_string(rows - missing) + " of " + std::to_string(rows) + " sources embedded in " +
                    std::to_string(dim) + " dimensions from " + std::to_string(tokens) + " words" +
                    (init ? ", continuing from the model's vectors" : "") + " (" + seconds_text(seconds) + ")");
  nlohmann::json j = to_json(eo);
  j["windows"] = trained.size();
  j["words"] = tokens;
  j["rows_without_vector"] = missing;
  j["continued"] = init != nullptr;
  return j;
}

}  // namespace detail
}  // namespace darklens::analyze
