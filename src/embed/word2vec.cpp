// Skip-gram word2vec with negative sampling, deterministic on any number of
// threads. docs/embed.md, "Training" and docs/architecture.md, "Decisions".
//
// The corpus (after down-sampling, one fresh draw per epoch) is cut into
// blocks of kBlock positions and the blocks into rounds of kRound blocks.
// Within a round every block trains on its own copies of the rows it
// touches, taken from the model as it was when the round began; at the end
// of the round the changes are added to the model, block after block, each
// row by one thread. A block's work depends only on the model at the start
// of its round, its positions and its own seeded draws, so the result is the
// same bits whether one thread runs the eight blocks or eight threads one
// each: like Hogwild with a sync every kRound blocks, without its races.
//
// Per centre word the negatives are drawn once and shared by all its
// context words (pWord2Vec, Ji et al. 2016): one small matrix product per
// centre instead of one dot product per (context, sample) pair.
#include <algorithm>
#include <atomic>
#include <barrier>
#include <cmath>
#include <thread>
#include <unordered_map>

#include "../core/parallel.hpp"
#include "../core/rng.hpp"
#include "darklens/embed/embed.hpp"
#include "darklens/error.hpp"

namespace darklens::embed {
namespace {

constexpr size_t kBlock = 64;  // positions per block (fewer: closer to sequential training, more syncs)
constexpr size_t kRound = 8;   // blocks per round (not the thread count: the result must not depend on it)

uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t z = a * 0x9e3779b97f4a7c15ULL + b + 0x632be59bd9b4e019ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Vose's alias table over count^0.75: one draw is one random number.
class Alias {
 public:
  explicit Alias(const std::vector<double>& weights) {
    const size_t n = weights.size();
    prob_.assign(n, 1.0F);
    alias_.resize(n);
    for (size_t i = 0; i < n; ++i) alias_[i] = static_cast<uint32_t>(i);
    double total = 0;
    for (double w : weights) total += w;
    std::vector<double> scaled(n);
    std::vector<uint32_t> small, large;
    for (size_t i = 0; i < n; ++i) {
      scaled[i] = weights[i] * static_cast<double>(n) / total;
      (scaled[i] < 1.0 ? small : large).push_back(static_cast<uint32_t>(i));
    }
    while (!small.empty() && !large.empty()) {
      const uint32_t s = small.back(), l = large.back();
      small.pop_back();
      prob_[s] = static_cast<float>(scaled[s]);
      alias_[s] = l;
      scaled[l] -= 1.0 - scaled[s];
      if (scaled[l] < 1.0) {
        large.pop_back();
        small.push_back(l);
      }
    }
  }
  uint32_t draw(uint64_t r) const {
    const auto i = static_cast<uint32_t>(((r & 0xffffffffULL) * prob_.size()) >> 32);
    const float u = static_cast<float>(r >> 40) * 0x1.0p-24F;
    return u < prob_[i] ? i : alias_[i];
  }

 private:
  std::vector<float> prob_;
  std::vector<uint32_t> alias_;
};

// A dot product in a fixed order of eight partial sums (vectorised by the
// compiler; the same bits wherever the rows sit in memory).
float dot(const float* a, const float* b, size_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (size_t k = 0; k < 8; ++k) acc[k] += a[i + k] * b[i + k];
  }
  float tail = 0;
  for (; i < n; ++i) tail += a[i] * b[i];
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail;
}

// y += g * x
void axpy(float g, const float* __restrict x, float* __restrict y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] += g * x[i];
}

// The logistic function from a table of 1024 steps over [-6, 6], as the
// original word2vec does (its error, under 0.003, is far below the noise of
// the sampling); 0 and 1 outside.
class Sigmoid {
 public:
  Sigmoid() {
    for (size_t i = 0; i <= kSteps; ++i) {
      const double x = (static_cast<double>(i) / kSteps * 2 - 1) * kMax;
      table_[i] = static_cast<float>(1 / (1 + std::exp(-x)));
    }
  }
  float operator()(float x) const {
    if (x >= kMax) return 1.0F;
    if (x <= -kMax) return 0.0F;
    return table_[static_cast<size_t>((x + kMax) * (kSteps / (2 * kMax)))];
  }

 private:
  static constexpr size_t kSteps = 1024;
  static constexpr float kMax = 6.0F;
  float table_[kSteps + 1];
};

// One block's copies of the rows it touched (then, after training, the
// changes to add), in the order it first touched them.
struct BlockRows {
  std::vector<uint32_t> in_rows, out_rows;
  std::vector<float> in_vals, out_vals;
};

// A worker's index from a row to its copy in the block being trained.
struct Slots {
  std::vector<int32_t> in, out;
};

struct Epoch {
  std::vector<uint32_t> tokens;  // kept words
  std::vector<size_t> ends;      // sentence ends in tokens
};

class Trainer {
 public:
  Trainer(const Word2VecParams& p, size_t words, std::vector<float>& in, std::vector<float>& out,
          const std::vector<uint64_t>& counts)
      : p_(p), dim_(static_cast<size_t>(p.dim_)), words_(words), in_(in), out_(out) {
    std::vector<double> w(words);
    for (size_t i = 0; i < words; ++i) w[i] = std::pow(static_cast<double>(counts[i]), 0.75);
    alias_ = std::make_unique<Alias>(w);
  }

  void epoch(const Epoch& e, int index, unsigned threads) {
    e_ = &e;
    epoch_ = index;
    const size_t n = e.tokens.size();
    const size_t blocks = (n + kBlock - 1) / kBlock;
    const size_t rounds = (blocks + kRound - 1) / kRound;
    std::vector<BlockRows> rows(kRound);
    threads = std::max(1u, std::min<unsigned>(threads, kRound));
    std::vector<Slots> slots(threads);
    std::barrier sync(static_cast<std::ptrdiff_t>(threads));
    FirstError error;
    std::atomic<bool> failed{false};
    auto work = [&](unsigned w) {
      std::vector<float> scratch;
      for (size_t r = 0; r < rounds; ++r) {
        if (!failed) {
          const bool ok = error.run([&] {
            for (size_t b = w; b < kRound; b += threads) {
              const size_t block = r * kRound + b;
              for (auto* v : {&rows[b].in_rows, &rows[b].out_rows}) v->clear();
              rows[b].in_vals.clear();
              rows[b].out_vals.clear();
              if (block < blocks) train_block(block, rows[b], slots[w], scratch);
            }
          });
          if (!ok) failed = true;
        }
        sync.arrive_and_wait();
        if (!failed) merge(rows, w, threads);
        sync.arrive_and_wait();
      }
    };
    std::vector<std::thread> pool;
    for (unsigned w = 1; w < threads; ++w) pool.emplace_back(work, w);
    work(0);
    for (auto& t : pool) t.join();
    error.rethrow();
  }

 private:
  float alpha_at(size_t pos) const {
    const double total = static_cast<double>(p_.epochs_) * static_cast<double>(e_->tokens.size());
    const double done = static_cast<double>(epoch_) * static_cast<double>(e_->tokens.size()) + static_cast<double>(pos);
    const double a = p_.alpha_ - (p_.alpha_ - p_.min_alpha_) * done / std::max(total, 1.0);
    return static_cast<float>(std::max(a, p_.min_alpha_));
  }

  // Index of the row's copy in the block, made on first touch.
  static int32_t slot(std::vector<int32_t>& index, std::vector<uint32_t>& rows, std::vector<float>& vals,
                      const std::vector<float>& model, uint32_t row, size_t dim) {
    int32_t& s = index[row];
    if (s < 0) {
      s = static_cast<int32_t>(rows.size());
      rows.push_back(row);
      const float* src = model.data() + size_t{row} * dim;
      vals.insert(vals.end(), src, src + dim);
    }
    return s;
  }

  void train_block(size_t block, BlockRows& br, Slots& sl, std::vector<float>& scratch) {
    if (sl.in.empty()) {
      sl.in.assign(words_, -1);
      sl.out.assign(words_, -1);
    }
    const auto& tok = e_->tokens;
    const auto& ends = e_->ends;
    const size_t begin = block * kBlock, end = std::min(tok.size(), begin + kBlock);
    Rng rng(mix(mix(p_.seed_, static_cast<uint64_t>(epoch_) + 1), block));
    size_t s = static_cast<size_t>(std::upper_bound(ends.begin(), ends.end(), begin) - ends.begin());
    const auto ctx = static_cast<size_t>(p_.context_);
    const size_t targets = 1 + static_cast<size_t>(p_.negative_);
    std::vector<uint32_t> c_words, t_words;
    std::vector<int32_t> c_slot, t_slot;
    std::vector<float> g;
    scratch.resize(2 * ctx * dim_);
    for (size_t pos = begin; pos < end; ++pos) {
      while (ends[s] <= pos) ++s;
      const size_t sb = s == 0 ? 0 : ends[s - 1], se = ends[s];
      const size_t w = ctx - (rng.next() % ctx);
      c_words.clear();
      for (size_t j = pos > sb + w ? pos - w : sb; j < std::min(se, pos + w + 1); ++j) {
        if (j != pos) c_words.push_back(tok[j]);
      }
      if (c_words.empty()) continue;
      t_words.assign(1, tok[pos]);
      for (size_t k = 1; k < targets; ++k) t_words.push_back(alias_->draw(rng.next()));
      c_slot.clear();
      t_slot.clear();
      for (uint32_t c : c_words) c_slot.push_back(slot(sl.in, br.in_rows, br.in_vals, in_, c, dim_));
      for (uint32_t t : t_words) t_slot.push_back(slot(sl.out, br.out_rows, br.out_vals, out_, t, dim_));
      const float alpha = alpha_at(pos);
      const size_t nc = c_words.size(), nt = t_words.size();
      g.assign(nc * nt, 0.0F);
      for (size_t c = 0; c < nc; ++c) {
        const float* x = br.in_vals.data() + static_cast<size_t>(c_slot[c]) * dim_;
        for (size_t t = 0; t < nt; ++t) {
          if (t > 0 && t_words[t] == t_words[0]) continue;  // a negative that is the word itself
          const float* y = br.out_vals.data() + static_cast<size_t>(t_slot[t]) * dim_;
          const float f = dot(x, y, dim_);
          g[c * nt + t] = ((t == 0 ? 1.0F : 0.0F) - sigmoid_(f)) * alpha;
        }
      }
      // Every gradient from the values before this step's updates.
      for (size_t c = 0; c < nc; ++c) {
        float* acc = scratch.data() + c * dim_;
        std::fill(acc, acc + dim_, 0.0F);
        for (size_t t = 0; t < nt; ++t) {
          const float gt = g[c * nt + t];
          axpy(gt, br.out_vals.data() + static_cast<size_t>(t_slot[t]) * dim_, acc, dim_);
        }
      }
      for (size_t t = 0; t < nt; ++t) {
        float* y = br.out_vals.data() + static_cast<size_t>(t_slot[t]) * dim_;
        for (size_t c = 0; c < nc; ++c) {
          const float gt = g[c * nt + t];
          axpy(gt, br.in_vals.data() + static_cast<size_t>(c_slot[c]) * dim_, y, dim_);
        }
      }
      for (size_t c = 0; c < nc; ++c) {
        float* x = br.in_vals.data() + static_cast<size_t>(c_slot[c]) * dim_;
        axpy(1.0F, scratch.data() + c * dim_, x, dim_);
      }
    }
    // The copies become changes (the model is still as the round found it),
    // and the worker's index is cleared for its next block.
    auto to_changes = [&](std::vector<uint32_t>& rows, std::vector<float>& vals, const std::vector<float>& model,
                          std::vector<int32_t>& index) {
      for (size_t i = 0; i < rows.size(); ++i) {
        const float* m = model.data() + size_t{rows[i]} * dim_;
        float* v = vals.data() + i * dim_;
        for (size_t d = 0; d < dim_; ++d) v[d] -= m[d];
        index[rows[i]] = -1;
      }
    };
    to_changes(br.in_rows, br.in_vals, in_, sl.in);
    to_changes(br.out_rows, br.out_vals, out_, sl.out);
  }

  // Adds the round's changes, block after block; worker w owns the rows
  // with row % threads == w, so each row's sum is in block order.
  void merge(const std::vector<BlockRows>& rows, unsigned w, unsigned threads) {
    for (const auto& br : rows) {
      auto add = [&](const std::vector<uint32_t>& r, const std::vector<float>& v, std::vector<float>& model) {
        for (size_t i = 0; i < r.size(); ++i) {
          if (r[i] % threads != w) continue;
          float* m = model.data() + size_t{r[i]} * dim_;
          const float* d = v.data() + i * dim_;
          for (size_t k = 0; k < dim_; ++k) m[k] += d[k];
        }
      };
      add(br.in_rows, br.in_vals, in_);
      add(br.out_rows, br.out_vals, out_);
    }
  }

  const Word2VecParams& p_;
  size_t dim_, words_;
  std::vector<float>& in_;
  std::vector<float>& out_;
  std::unique_ptr<Alias> alias_;
  Sigmoid sigmoid_;
  const Epoch* e_ = nullptr;
  int epoch_ = 0;
};

}  // namespace

void check(const Word2VecParams& p) {
  auto need = [](bool ok, const std::string& what) {
    if (!ok) throw ParamError(what);
  };
  need(p.dim_ >= 1 && p.dim_ <= 1000, "dim must be 1..1000 (got " + std::to_string(p.dim_) + ")");
  need(p.context_ >= 1 && p.context_ <= 100, "context must be 1..100 (got " + std::to_string(p.context_) + ")");
  need(p.negative_ >= 1 && p.negative_ <= 100, "negative must be 1..100 (got " + std::to_string(p.negative_) + ")");
  need(p.epochs_ >= 1 && p.epochs_ <= 1000, "epochs must be 1..1000 (got " + std::to_string(p.epochs_) + ")");
  need(std::isfinite(p.alpha_) && p.alpha_ > 0 && p.alpha_ <= 1, "alpha must be in (0, 1]");
  need(std::isfinite(p.min_alpha_) && p.min_alpha_ >= 0 && p.min_alpha_ <= p.alpha_, "min-alpha must be 0..alpha");
  need(std::isfinite(p.sample_) && p.sample_ >= 0 && p.sample_ < 1, "sample must be in [0, 1)");
  need(p.min_count_ >= 1, "min-count must be at least 1");
  need(p.threads_ >= 0, "threads must be 0 (all cores) or more");
}

uint64_t training_memory(size_t words, size_t tokens, const Word2VecParams& p) {
  const auto dim = static_cast<uint64_t>(p.dim_);
  const uint64_t model = 2 * uint64_t{words} * dim * sizeof(float);
  const uint64_t stream = uint64_t{tokens} * (sizeof(uint32_t) + sizeof(size_t) / 4);  // kept tokens, ends
  const uint64_t threads = std::min<uint64_t>(resolve_threads(p.threads_), kRound);
  const uint64_t slots = threads * 2 * uint64_t{words} * sizeof(int32_t);
  // A block touches at most its positions' context and target rows.
  const uint64_t per_block =
      std::min<uint64_t>(2 * uint64_t{words}, kBlock * (2 + static_cast<uint64_t>(p.negative_))) * (dim * 4 + 4);
  return model + stream + slots + kRound * per_block;
}

Model train(const Corpus& corpus, const Word2VecParams& p, const Model* previous,
            const std::function<void(int)>& progress) {
  check(p);
  // The vocabulary: words seen at least min_count times, in corpus order.
  std::vector<uint32_t> renumber(corpus.words_.size(), UINT32_MAX);
  Model m;
  m.dim_ = p.dim_;
  std::vector<uint64_t> counts;
  for (size_t i = 0; i < corpus.words_.size(); ++i) {
    if (corpus.counts_[i] < p.min_count_) continue;
    renumber[i] = static_cast<uint32_t>(m.words_.size());
    m.words_.push_back(corpus.words_[i]);
    counts.push_back(corpus.counts_[i]);
  }
  const size_t n = m.words_.size(), dim = static_cast<size_t>(p.dim_);
  if (n == 0) return m;
  m.input_.resize(n * dim);
  m.output_.assign(n * dim, 0.0F);
  std::unordered_map<IpAddr, size_t, IpAddrHash> before;
  if (previous != nullptr && previous->dim_ == p.dim_) {
    before.reserve(previous->words_.size());
    for (size_t i = 0; i < previous->words_.size(); ++i) before.emplace(previous->words_[i], i);
  }
  for (size_t i = 0; i < n; ++i) {
    float* v = m.input_.data() + i * dim;
    if (auto it = before.find(m.words_[i]); it != before.end()) {
      std::copy_n(previous->input_.data() + it->second * dim, dim, v);
      std::copy_n(previous->output_.data() + it->second * dim, dim, m.output_.data() + i * dim);
      continue;
    }
    Rng rng(mix(p.seed_, i));
    for (size_t d = 0; d < dim; ++d) v[d] = static_cast<float>((rng.uniform() - 0.5) / static_cast<double>(dim));
  }
  // Down-sampling of frequent words, as word2vec and gensim do it.
  std::vector<double> keep(n, 1.0);
  if (p.sample_ > 0) {
    double total = 0;
    for (uint64_t c : counts) total += static_cast<double>(c);
    const double threshold = p.sample_ * total;
    for (size_t i = 0; i < n; ++i) {
      const auto v = static_cast<double>(counts[i]);
      keep[i] = std::min(1.0, (std::sqrt(v / threshold) + 1) * (threshold / v));
    }
  }
  Trainer trainer(p, n, m.input_, m.output_, counts);
  const unsigned threads = resolve_threads(p.threads_);
  Epoch e;
  for (int epoch = 0; epoch < p.epochs_; ++epoch) {
    e.tokens.clear();
    e.ends.clear();
    size_t begin = 0;
    for (size_t end : corpus.ends_) {
      const size_t before_sentence = e.tokens.size();
      for (size_t i = begin; i < end; ++i) {
        const uint32_t w = renumber[corpus.tokens_[i]];
        if (w == UINT32_MAX) continue;
        if (keep[w] < 1.0) {
          const double u =
              static_cast<double>(mix(mix(p.seed_, static_cast<uint64_t>(epoch) + 1000003), i) >> 11) * 0x1.0p-53;
          if (u >= keep[w]) continue;
        }
        e.tokens.push_back(w);
      }
      if (e.tokens.size() > before_sentence) e.ends.push_back(e.tokens.size());
      begin = end;
    }
    trainer.epoch(e, epoch, threads);
    if (progress) progress(epoch + 1);
  }
  return m;
}

}  // namespace darklens::embed
