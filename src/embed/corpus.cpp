// Packets -> per window, the sentences: per (time bin, service), the
// sources in arrival order. docs/embed.md, "The corpus".
#include <algorithm>
#include <map>
#include <unordered_map>

#include "darklens/embed/embed.hpp"

namespace darklens::embed {

namespace {

int64_t floor_to(int64_t t, int64_t step) {
  int64_t q = t / step;
  if (t % step != 0 && t < 0) --q;
  return q * step;
}

// Bytes one more distinct source costs: its address, count, index entry.
constexpr uint64_t kPerWord = 16 + 8 + 48;

}  // namespace

CorpusBuilder::CorpusBuilder(Services services, CorpusOptions options)
    : services_(std::move(services)), options_(options) {}

void CorpusBuilder::add(const Packet& p) {
  const int64_t start = floor_to(p.ts_ns_, options_.window_ns_);
  // Packets come in time order within a file: the last window is the usual one.
  if (last_ >= windows_.size() || windows_[last_].first != start) {
    auto [at, added] = window_index_.try_emplace(start, windows_.size());
    if (added) windows_.emplace_back(start, Window{});
    last_ = at->second;
  }
  Window* w = &windows_[last_].second;
  auto [it, added] = w->index.try_emplace(p.src_, static_cast<uint32_t>(w->words.size()));
  if (added) {
    w->words.push_back(p.src_);
    w->counts.push_back(0);
    memory_ += kPerWord;
  }
  ++w->counts[it->second];
  const auto bin = static_cast<uint64_t>((p.ts_ns_ - start) / std::min(options_.bin_ns_, options_.window_ns_));
  w->sentences[(bin << 16) | services_.of(p)].push_back(it->second);
  memory_ += sizeof(uint32_t);
}

uint64_t CorpusBuilder::memory() const { return memory_; }

std::vector<std::pair<int64_t, Corpus>> CorpusBuilder::finish() {
  std::sort(windows_.begin(), windows_.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::pair<int64_t, Corpus>> out;
  out.reserve(windows_.size());
  for (auto& [start, w] : windows_) {
    Corpus c;
    c.words_ = std::move(w.words);
    c.counts_ = std::move(w.counts);
    std::vector<uint64_t> keys;
    keys.reserve(w.sentences.size());
    size_t total = 0;
    for (const auto& [key, tokens] : w.sentences) {
      keys.push_back(key);
      total += tokens.size();
    }
    std::sort(keys.begin(), keys.end());
    c.tokens_.reserve(total);
    const size_t cut = std::max<size_t>(options_.max_sentence_, 1);
    for (uint64_t key : keys) {
      auto& tokens = w.sentences[key];
      for (size_t i = 0; i < tokens.size(); i += cut) {
        const size_t n = std::min(cut, tokens.size() - i);
        c.tokens_.insert(c.tokens_.end(), tokens.begin() + static_cast<std::ptrdiff_t>(i),
                         tokens.begin() + static_cast<std::ptrdiff_t>(i + n));
        c.ends_.push_back(c.tokens_.size());
      }
      std::vector<uint32_t>().swap(tokens);
    }
    out.emplace_back(start, std::move(c));
  }
  windows_.clear();
  window_index_.clear();
  memory_ = 0;
  return out;
}

std::string corpus_text(const Corpus& c) {
  std::string out;
  size_t begin = 0;
  for (size_t end : c.ends_) {
    for (size_t i = begin; i < end; ++i) {
      if (i > begin) out += ' ';
      out += c.words_[c.tokens_[i]].to_string();
    }
    out += '\n';
    begin = end;
  }
  return out;
}

}  // namespace darklens::embed
