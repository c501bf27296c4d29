// temporal: packets per hour of the day, first and last packet, gaps.
#include <cmath>
#include <cstdio>

#include "family.hpp"

namespace darklens::features {
namespace {

void columns(Builder& b, const TableInput& in, Range range) {
  const std::vector<RowRef>& rows = in.rows;
  std::vector<Col> hours;
  for (int h = 0; h < 24; ++h) {
    char name[16];
    std::snprintf(name, sizeof name, "tmp_hour_%02d", h);
    hours.push_back(b.column(name, ColumnKind::kCount));
  }
  auto active = b.column("tmp_active_hours", ColumnKind::kCount);
  auto first = b.column("tmp_first_seen_s", ColumnKind::kTime);
  auto last = b.column("tmp_last_seen_s", ColumnKind::kTime);
  auto iat_mean = b.column("tmp_iat_mean_s", ColumnKind::kTime);
  auto iat_cv = b.column("tmp_iat_cv", ColumnKind::kRate);
  auto burst = b.column("tmp_burstiness", ColumnKind::kRate);
  for (size_t r = range.begin; r < range.end; ++r) {
    const Temporal& t = *rows[r].state.time;
    if (t.first_arrival == Temporal::kNone) continue;
    int on = 0;
    for (int h = 0; h < 24; ++h) {
      hours[h][r] = static_cast<double>(t.hourly[h]);
      on += t.hourly[h] > 0;
    }
    active[r] = on;
    first[r] = (t.first - rows[r].window) / 1e9;
    last[r] = (t.last - rows[r].window) / 1e9;
    if (t.gaps == 0) continue;
    // Mean and standard deviation from exact integer sums (ns).
    const long double n = t.gaps;
    const long double mean = t.gap_sum / n;
    long double var = static_cast<long double>(t.gap_sq) / n - mean * mean;
    if (var < 0) var = 0;
    const long double sd = std::sqrt(var);
    iat_mean[r] = static_cast<double>(mean / 1e9L);
    iat_cv[r] = mean > 0 ? static_cast<double>(sd / mean) : 0.0;
    burst[r] = sd + mean > 0 ? static_cast<double>((sd - mean) / (sd + mean)) : 0.0;
  }
}

}  // namespace

extern const FamilyDef kTemporalFamily{Family::kTemporal, "temporal", kStateTemporal, false, false, columns};

}  // namespace darklens::features
