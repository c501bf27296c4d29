// The one registry of feature families: --families, the stored options,
// the states the aggregator keeps and the table builder all read it.
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

}  // namespace darklens::features
