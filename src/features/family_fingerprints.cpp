// fingerprints: shares of packets with a tool's mark, SYN option modes,
// and whether the source completed a handshake (validated TCP).
#include "family.hpp"

namespace darklens::features {
namespace {

void columns(Builder& b, const TableInput& in, Range range) {
  const std::vector<RowRef>& rows = in.rows;
  auto mirai = b.column("fp_mirai", ColumnKind::kShare);
  auto zmap = b.column("fp_zmap", ColumnKind::kShare);
  auto masscan = b.column("fp_masscan", ColumnKind::kShare);
  auto no_opts = b.column("fp_no_tcp_options", ColumnKind::kShare);
  auto ttl200 = b.column("fp_ttl_ge_200", ColumnKind::kShare);
  auto win1024 = b.column("fp_win_1024", ColumnKind::kShare);
  auto mss = b.column("fp_syn_mss_mode", ColumnKind::kCategory);
  auto win = b.column("fp_syn_win_mode", ColumnKind::kCategory);
  auto layout = b.column("fp_syn_options_mode", ColumnKind::kCategory);
  auto validated = b.column("fp_validated", ColumnKind::kShare);
  auto share = [](uint64_t k, uint64_t n) { return n ? static_cast<double>(k) / n : 0.0; };
  for (size_t r = range.begin; r < range.end; ++r) {
    const Fingerprints& f = *rows[r].state.fp;
    validated[r] = rows[r].state.validated;
    mirai[r] = share(f.mirai, f.syn);
    zmap[r] = share(f.zmap, f.packets);
    masscan[r] = share(f.masscan, f.tcp);
    no_opts[r] = share(f.no_options, f.syn);
    ttl200[r] = share(f.ttl_ge_200, f.packets);
    win1024[r] = share(f.win_1024, f.tcp);
    if (f.syn == 0) continue;
    mss[r] = f.syn_mss.mode().value;
    win[r] = f.syn_win.mode().value;
    layout[r] = f.syn_layout.mode().value;
  }
}

}  // namespace

extern const FamilyDef kFingerprintsFamily{
    Family::kFingerprints, "fingerprints", kStateFingerprints, false, false, columns};

}  // namespace darklens::features
