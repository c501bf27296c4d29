// The one registry of feature families: --families, the stored options,
// the states the aggregator keeps and the table builder all read it.
#include <map>
#include <string>

#include "darklens/error.hpp"
#include "family.hpp"

namespace darklens::features {

// Defined in family_<name>.cpp.
extern const FamilyDef kAgmFamily, kAgmExtFamily, kAgmNumFamily, kTemporalFamily, kFingerprintsFamily, kIntensityFamily;

const std::vector<const FamilyDef*>& registered_families() {
  static const std::vector<const FamilyDef*> all = {&kAgmFamily,      &kAgmExtFamily,       &kAgmNumFamily,
                                                    &kTemporalFamily, &kFingerprintsFamily, &kIntensityFamily};
  return all;
}

const FamilyDef& family_def(Family f) {
  for (const FamilyDef* d : registered_families()) {
    if (d->id == f) return *d;
  }
  throw ParamError("feature family " + std::to_string(static_cast<int>(f)) + " is not registered");
}

std::string_view kind_name(ColumnKind k) {
  switch (k) {
    case ColumnKind::kCount:
      return "count";
    case ColumnKind::kShare:
      return "share";
    case ColumnKind::kRate:
      return "rate";
    case ColumnKind::kTime:
      return "time";
    case ColumnKind::kCategory:
      return "category";
    case ColumnKind::kAddress:
      return "address";
    case ColumnKind::kNumber:
      break;
  }
  return "number";
}

ColumnKind column_kind(std::string_view name) {
  // Every family declared once on an empty table: the kinds come from the
  // same line that names the column.
  static const std::map<std::string, ColumnKind, std::less<>> known = [] {
    std::map<std::string, ColumnKind, std::less<>> m;
    const FeatureOptions options;
    const std::vector<RowRef> none;
    for (const FamilyDef* d : registered_families()) {
      FeatureTable t;
      Builder b(t, 0, true);
      d->columns(b, TableInput{options, none, none}, Range{0, 0});
      for (size_t c = 0; c < t.columns_.size(); ++c) m.emplace(t.columns_[c], t.kinds_[c]);
    }
    return m;
  }();
  if (const auto it = known.find(name); it != known.end()) return it->second;
  // agm-ext's dummies depend on the vocabulary: ext_<field>_mode_is_<value>.
  if (name.starts_with("ext_") && name.find("_mode_is_") != std::string_view::npos) return ColumnKind::kShare;
  return ColumnKind::kNumber;
}

}  // namespace darklens::features
