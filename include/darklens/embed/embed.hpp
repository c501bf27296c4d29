// DarkVec-style embeddings (docs/embed.md): per service and time bin, the
// sources that reach the darknet, in arrival order, are a sentence; skip-gram
// word2vec with negative sampling gives each source a vector, and sources
// that act together land close. Written here, no Python at run time.
//
//   Services      a packet's destination (protocol, port) -> its service
//   CorpusBuilder packets -> per window, the sentences (Corpus)
//   train         Corpus (+ the previous window's Model) -> Model
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "darklens/types.hpp"

namespace darklens::embed {

/// Which service a packet is for. Named groups of (protocol, port) from a
/// services file (the shipped data/services.txt, or the user's), then the
/// catch-alls every file has: icmp, other-system (ports below 1024),
/// other-user (1024-49151), other-dynamic (49152 and up), other (any other
/// protocol, or no transport header).
class Services {
 public:
  /// Parses a services file: `name  spec[,spec...]` per line, a spec being
  /// `tcp/23`, `udp/53`, `23` (both), or a range `tcp/137-139`; `#`
  /// comments. Throws FormatError naming `origin` and the line.
  static Services parse(std::string_view text, const std::string& origin);
  /// Reads `path`, or the shipped data/services.txt when empty.
  static Services read(const std::string& path);

  uint16_t of(const Packet& p) const;
  const std::vector<std::string>& names() const { return names_; }

 private:
  std::vector<std::string> names_;
  std::vector<uint16_t> tcp_, udp_;  // 65536 each: the service of a destination port
  uint16_t icmp_ = 0, other_ = 0;
};

/// The sentences of one window: words are sources (each once in `words_`,
/// in order of first appearance), sentences their positions in `tokens_`.
struct Corpus {
  std::vector<IpAddr> words_;
  std::vector<uint64_t> counts_;  // occurrences of each word
  std::vector<uint32_t> tokens_;  // every sentence, one after the other
  std::vector<size_t> ends_;      // end of each sentence in tokens_
  size_t sentences() const { return ends_.size(); }
};

struct CorpusOptions {
  int64_t window_ns_ = 86400LL * 1000000000;  // one corpus (and one embedding) per window
  int64_t bin_ns_ = 3600LL * 1000000000;      // one sentence per service and bin
  size_t max_sentence_ = 10000;               // longer sentences are cut (as gensim does)
};

/// Packets (in capture order) -> one Corpus per window, windows in time
/// order; sentences in (bin, service) order, each in arrival order.
class CorpusBuilder {
 public:
  CorpusBuilder(Services services, CorpusOptions options);
  void add(const Packet& p);
  /// Bytes held so far (4 per packet, about 48 per distinct source).
  uint64_t memory() const;
  std::vector<std::pair<int64_t, Corpus>> finish();

 private:
  struct Window {
    std::unordered_map<IpAddr, uint32_t, IpAddrHash> index;
    std::vector<IpAddr> words;
    std::vector<uint64_t> counts;
    std::unordered_map<uint64_t, std::vector<uint32_t>> sentences;  // (bin << 16 | service) -> words
  };
  Services services_;
  CorpusOptions options_;
  std::vector<std::pair<int64_t, Window>> windows_;
  std::unordered_map<int64_t, size_t> window_index_;
  size_t last_ = 0;
  uint64_t memory_ = 0;
};

/// Writes a corpus as text: one sentence per line, addresses separated by
/// spaces (what gensim's LineSentence reads).
std::string corpus_text(const Corpus& c);

struct Word2VecParams {
  int dim_ = 50;
  int context_ = 5;   // words each side (a random 1..context each time)
  int negative_ = 5;  // negative samples per word
  int epochs_ = 10;
  double alpha_ = 0.025, min_alpha_ = 0.0001;
  double sample_ = 1e-3;    // down-sampling of frequent words (0: none)
  uint64_t min_count_ = 1;  // words seen fewer times get no vector
  uint64_t seed_ = 1;
  int threads_ = 0;  // 0: all cores; the result does not depend on it
};

/// Range checks of every parameter; throws ParamError naming it.
void check(const Word2VecParams& p);

/// A trained model: the input vectors (the embedding) and the output ones
/// (kept so that the next window's training continues from this one).
struct Model {
  std::vector<IpAddr> words_;
  int dim_ = 0;
  std::vector<float> input_;   // words x dim, row-major: the embedding
  std::vector<float> output_;  // words x dim, row-major
  const float* vector(size_t word) const { return input_.data() + word * static_cast<size_t>(dim_); }
};

/// Bytes train() needs for a corpus of `words` distinct words and `tokens`
/// tokens.
uint64_t training_memory(size_t words, size_t tokens, const Word2VecParams& p);

/// Skip-gram with negative sampling over the corpus. Words of `previous`
/// (the last window's model, i-DarkVec's incremental update) start from
/// their vectors there; new words start random. `progress(epoch)` is called
/// after each epoch. Deterministic: the same corpus, parameters and seed
/// give the same bits on any number of threads.
Model train(const Corpus& corpus, const Word2VecParams& p, const Model* previous = nullptr,
            const std::function<void(int)>& progress = {});

/// Adds to `model` the words of `previous` it does not have, with their
/// vectors there: the next window continues from both (i-DarkVec keeps the
/// vectors of sources that were not seen for a while).
void carry_over(Model& model, const Model& previous);

/// One window's training: its start and the model of the words it saw.
struct WindowModel {
  int64_t start_ns = 0;
  Model model;
  size_t sources = 0, tokens = 0, sentences = 0;  // of the window's corpus
};

/// Trains every window's corpus in time order: the first from `init` (may
/// be null), each later one from the one before, carried over. `before(i)`
/// runs before window i trains (budget checks, writing the corpus out);
/// `progress(i, epoch)` after each epoch. `last`, when given, receives the
/// model a next window would start from.
std::vector<WindowModel> train_windows(const std::vector<std::pair<int64_t, Corpus>>& corpora, const Word2VecParams& p,
                                       const Model* init, const std::function<void(size_t)>& before = {},
                                       const std::function<void(size_t, int)>& progress = {}, Model* last = nullptr);

/// A model as bytes, to be stored (the pattern database keeps the model a
/// later window continues from): the words as text, one per line, and the
/// input and output vectors as little-endian float32, words x dim.
struct ModelBytes {
  std::string words, input, output;
};
ModelBytes to_bytes(const Model& m);
/// The reverse; throws FormatError naming `origin` when the parts do not
/// fit together (a word that is not an address, sizes that disagree with
/// `dim`, a non-finite value).
Model from_bytes(const ModelBytes& b, int dim, const std::string& origin);

}  // namespace darklens::embed
