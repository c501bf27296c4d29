// Training window after window (i-DarkVec's incremental update), and a
// model as bytes for the pattern database.
#include <bit>
#include <cmath>
#include <cstring>
#include <unordered_set>

#include "darklens/embed/embed.hpp"
#include "darklens/error.hpp"

namespace darklens::embed {

void carry_over(Model& model, const Model& previous) {
  if (previous.dim_ != model.dim_ && !model.words_.empty()) return;
  if (model.words_.empty()) model.dim_ = previous.dim_;
  std::unordered_set<IpAddr, IpAddrHash> seen(model.words_.begin(), model.words_.end());
  const auto d = static_cast<std::ptrdiff_t>(previous.dim_);
  for (size_t i = 0; i < previous.words_.size(); ++i) {
    if (seen.count(previous.words_[i])) continue;
    model.words_.push_back(previous.words_[i]);
    const auto at = static_cast<std::ptrdiff_t>(i) * d;
    model.input_.insert(model.input_.end(), previous.input_.begin() + at, previous.input_.begin() + at + d);
    model.output_.insert(model.output_.end(), previous.output_.begin() + at, previous.output_.begin() + at + d);
  }
}

std::vector<WindowModel> train_windows(const std::vector<std::pair<int64_t, Corpus>>& corpora, const Word2VecParams& p,
                                       const Model* init, const std::function<void(size_t)>& before,
                                       const std::function<void(size_t, int)>& progress, Model* last) {
  std::vector<WindowModel> out;
  out.reserve(corpora.size());
  Model carried;
  bool have = init != nullptr;
  if (init) carried = *init;
  for (size_t i = 0; i < corpora.size(); ++i) {
    const auto& [start, corpus] = corpora[i];
    if (before) before(i);
    WindowModel w;
    w.start_ns = start;
    w.sources = corpus.words_.size();
    w.tokens = corpus.tokens_.size();
    w.sentences = corpus.sentences();
    w.model = train(corpus, p, have ? &carried : nullptr, [&](int epoch) {
      if (progress) progress(i, epoch);
    });
    Model next = w.model;
    if (have) carry_over(next, carried);
    carried = std::move(next);
    have = true;
    out.push_back(std::move(w));
  }
  if (last) *last = have ? std::move(carried) : Model{};
  return out;
}

namespace {

std::string floats_bytes(const std::vector<float>& v) {
  std::string s(v.size() * 4, '\0');
  for (size_t i = 0; i < v.size(); ++i) {
    uint32_t u = std::bit_cast<uint32_t>(v[i]);
    for (int b = 0; b < 4; ++b) s[i * 4 + static_cast<size_t>(b)] = static_cast<char>((u >> (8 * b)) & 0xff);
  }
  return s;
}

std::vector<float> bytes_floats(const std::string& s, size_t n, const std::string& origin, const char* part) {
  if (s.size() != n * 4) {
    throw FormatError(origin + ": the embedding's " + part + " vectors hold " + std::to_string(s.size()) + " bytes; " +
                      std::to_string(n * 4) + " expected");
  }
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) {
    uint32_t u = 0;
    for (int b = 0; b < 4; ++b)
      u |= static_cast<uint32_t>(static_cast<unsigned char>(s[i * 4 + static_cast<size_t>(b)])) << (8 * b);
    v[i] = std::bit_cast<float>(u);
    if (!std::isfinite(v[i])) {
      throw FormatError(origin + ": the embedding's " + part + " vectors hold a value that is not finite");
    }
  }
  return v;
}

}  // namespace

ModelBytes to_bytes(const Model& m) {
  ModelBytes b;
  for (const auto& w : m.words_) {
    b.words += w.to_string();
    b.words += '\n';
  }
  b.input = floats_bytes(m.input_);
  b.output = floats_bytes(m.output_);
  return b;
}

Model from_bytes(const ModelBytes& b, int dim, const std::string& origin) {
  if (dim < 1 || dim > 1000) {
    throw FormatError(origin + ": the embedding's vector size is " + std::to_string(dim) + "; 1 to 1000 expected");
  }
  Model m;
  m.dim_ = dim;
  size_t at = 0;
  while (at < b.words.size()) {
    const size_t end = b.words.find('\n', at);
    if (end == std::string::npos) throw FormatError(origin + ": the embedding's word list does not end with a newline");
    auto ip = IpAddr::parse(std::string_view(b.words).substr(at, end - at));
    if (!ip) {
      throw FormatError(origin + ": the embedding's word " + std::to_string(m.words_.size() + 1) +
                        " is not an address");
    }
    m.words_.push_back(*ip);
    at = end + 1;
  }
  const size_t n = m.words_.size() * static_cast<size_t>(dim);
  m.input_ = bytes_floats(b.input, n, origin, "input");
  m.output_ = bytes_floats(b.output, n, origin, "output");
  return m;
}

}  // namespace darklens::embed
