// agm-ext: the AGM counts, and one-hot dummies of the mode values in a
// vocabulary (docs/features.md).
#include <map>
#include <string>

#include "family.hpp"

namespace darklens::features {
namespace {

// The agm-ext vocabulary: given, or the values that are the mode of at
// least min_share of the rows.
AgmExtVocab agm_ext_vocab(const std::vector<RowRef>& rows, const FeatureOptions& opt) {
  if (opt.agm_ext_vocab_) return *opt.agm_ext_vocab_;
  AgmExtVocab vocab;
  const double need = opt.agm_ext_min_share_ * static_cast<double>(rows.size());
  for (int f = 0; f < kAgmFields; ++f) {
    std::map<uint32_t, uint64_t> modes;
    for (const auto& r : rows) ++modes[r.state.all->fields[f].mode().value];
    for (const auto& [v, n] : modes) {
      if (n > 0 && static_cast<double>(n) >= need) vocab[f].push_back(v);
    }
  }
  return vocab;
}

void columns(Builder& b, const TableInput& in, Range range) {
  const std::vector<RowRef>& rows = in.rows;
  // Chosen once, as the columns are declared; kept with the table.
  if (b.declaring) b.t.agm_ext_vocab_ = agm_ext_vocab(rows, in.options);
  const AgmExtVocab& vocab = b.t.agm_ext_vocab_;
  auto packets = b.column("ext_packets", ColumnKind::kCount);
  std::vector<Col> distinct, mode_pk;
  for (int f = 0; f < kAgmFields; ++f) {
    distinct.push_back(b.column(std::string("ext_") + kAgmFieldNames[f] + "_distinct", ColumnKind::kCount));
    mode_pk.push_back(b.column(std::string("ext_") + kAgmFieldNames[f] + "_mode_packets", ColumnKind::kCount));
  }
  std::vector<std::vector<Col>> dummies(kAgmFields);
  for (int f = 0; f < kAgmFields; ++f) {
    for (uint32_t v : vocab[f]) {
      dummies[f].push_back(
          b.column(std::string("ext_") + kAgmFieldNames[f] + "_mode_is_" + std::to_string(v), ColumnKind::kShare));
    }
  }
  for (size_t r = range.begin; r < range.end; ++r) {
    const AgmCounts& a = *rows[r].state.all;
    packets[r] = static_cast<double>(a.packets);
    for (int f = 0; f < kAgmFields; ++f) {
      const auto m = a.fields[f].mode();
      distinct[f][r] = static_cast<double>(a.fields[f].distinct());
      mode_pk[f][r] = static_cast<double>(m.count);
      for (size_t k = 0; k < vocab[f].size(); ++k) dummies[f][k][r] = m.value == vocab[f][k];
    }
  }
}

}  // namespace

extern const FamilyDef kAgmExtFamily{Family::kAgmExt, "agm-ext", kStateAgm, false, true, columns};

}  // namespace darklens::features
