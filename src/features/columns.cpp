// The table builder: rows in output order, then each family's columns.
#include "columns.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <map>
#include <string>

#include "../core/parallel.hpp"
#include "../core/radix_sort.hpp"
#include "darklens/error.hpp"

namespace darklens::features {
namespace {

// Row positions in output order: by window, then source.
std::vector<uint32_t> output_order(const std::vector<RowRef>& rows) {
  std::vector<uint32_t> order(rows.size());
  const bool all_v4 = std::all_of(rows.begin(), rows.end(), [](const RowRef& r) { return r.source.is_v4(); });
  if (!all_v4) {
    struct Key {
      int64_t window;
      IpAddr source;
      uint32_t row;
    };
    std::vector<Key> keys;
    keys.reserve(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) keys.push_back({rows[i].window, rows[i].source, static_cast<uint32_t>(i)});
    std::sort(keys.begin(), keys.end(), [](const Key& x, const Key& y) {
      return x.window != y.window ? x.window < y.window : x.source < y.source;
    });
    for (size_t i = 0; i < keys.size(); ++i) order[i] = keys[i].row;
    return order;
  }
  // IPv4 sources (the usual case): one 64-bit key per row, the window's
  // rank above the address, radix-sorted (digits of at most 11 bits, as
  // many as the largest key needs): linear, where comparing sorts took
  // 10 ms for 100,000 rows.
  std::vector<int64_t> windows;
  for (const auto& r : rows) {
    if (windows.empty() || windows.back() != r.window) windows.push_back(r.window);
  }
  std::sort(windows.begin(), windows.end());
  windows.erase(std::unique(windows.begin(), windows.end()), windows.end());
  struct Key {
    uint64_t key;
    uint32_t row;
  };
  std::vector<Key> keys(rows.size()), tmp;
  uint64_t max_key = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto rank =
        static_cast<uint64_t>(std::lower_bound(windows.begin(), windows.end(), rows[i].window) - windows.begin());
    keys[i] = {rank << 32 | rows[i].source.v4_value(), static_cast<uint32_t>(i)};
    max_key = std::max(max_key, keys[i].key);
  }
  radix_sort(keys, tmp, static_cast<int>(std::bit_width(max_key)), 11, [](const Key& k) { return k.key; });
  for (size_t i = 0; i < keys.size(); ++i) order[i] = keys[i].row;
  return order;
}

}  // namespace

FeatureTable build_table(const FeatureOptions& opt, std::vector<RowRef> rows, const std::vector<RowRef>& every_row) {
  FeatureTable t;
  const std::vector<uint32_t> order = output_order(rows);
  t.source_.reserve(rows.size());
  t.window_start_ns_.reserve(rows.size());
  for (uint32_t r : order) {
    t.source_.push_back(rows[r].source);
    t.window_start_ns_.push_back(rows[r].window);
  }
  const TableInput in{opt, rows, every_row};
  auto families = [&](Builder& b, Range range) {
    for (Family f : opt.families_) family_def(f).columns(b, in, range);
  };
  Builder names(t, rows.size(), /*declare=*/true);
  families(names, {0, 0});
  // Zeroed by the threads, a block of columns each: the first touch of
  // fresh pages, which the kernel clears, spread over them.
  t.values_.resize(t.columns_.size() * rows.size());
  parallel_for(
      t.columns_.size(), opt.threads_,
      [&](size_t begin, size_t end) {
        std::fill(t.values_.data() + begin * rows.size(), t.values_.data() + end * rows.size(), 0.0);
      },
      1);
  // Filled in the order the rows were given, a block at a time: rows kept
  // as their one packet (SourceView::only) get their states built for the
  // block, then dropped...
  const uint8_t states = states_of(opt.families_);
  constexpr size_t kBlock = 4096;
  parallel_for(
      rows.size(), opt.threads_,
      [&](size_t begin, size_t end) {
        std::vector<RowStates> built;
        for (size_t lo = begin; lo < end; lo += kBlock) {
          const size_t hi = std::min(end, lo + kBlock);
          built.clear();
          built.reserve(hi - lo);  // no reallocation: the views point into it
          for (size_t r = lo; r < hi; ++r) {
            if (rows[r].state.only == nullptr) continue;
            RowStates& b = built.emplace_back();
            b.build(*rows[r].state.only, states, opt.exact_cap_, opt.flow_timeout_ns_);
            rows[r].state = b.view(rows[r].state, states);
          }
          Builder cells(t, rows.size(), /*declare=*/false);
          families(cells, {lo, hi});
        }
      },
      kBlock);
  // ...then each column put in output order (a gather within one column).
  parallel_for(
      t.columns_.size(), opt.threads_,
      [&](size_t begin, size_t end) {
        std::vector<double> given(rows.size());
        for (size_t c = begin; c < end; ++c) {
          double* column = t.values_.data() + c * rows.size();
          std::copy(column, column + rows.size(), given.begin());
          for (size_t i = 0; i < order.size(); ++i) column[i] = given[order[i]];
        }
      },
      8);
  return t;
}

}  // namespace darklens::features

namespace darklens::features {

FeatureTable merge_tables(std::vector<FeatureTable> parts) {
  if (parts.empty()) return {};
  if (parts.size() == 1) return std::move(parts[0]);  // in order already: build_table sorts
  FeatureTable t;
  t.columns_ = parts[0].columns_;
  t.kinds_ = parts[0].kinds_;
  t.top_ports_ = parts[0].top_ports_;
  t.agm_ext_vocab_ = parts[0].agm_ext_vocab_;
  // Every part's rows, in the order output_order gives them: the order
  // build_table gives one table of them all.
  std::vector<RowRef> rows;
  std::vector<std::pair<uint32_t, uint32_t>> from;  // (part, row in it) of each
  for (uint32_t p = 0; p < parts.size(); ++p) {
    if (parts[p].columns_ != t.columns_) {
      throw ParamError("tables to merge have different columns (" + std::to_string(parts[p].columns_.size()) + " and " +
                       std::to_string(t.columns_.size()) + ")");
    }
    for (uint32_t r = 0; r < parts[p].rows(); ++r) {
      rows.push_back({parts[p].source_[r], parts[p].window_start_ns_[r], {}});
      from.emplace_back(p, r);
    }
  }
  const std::vector<uint32_t> order = output_order(rows);
  const size_t n = rows.size();
  t.source_.reserve(n);
  t.window_start_ns_.reserve(n);
  for (uint32_t i : order) {
    t.source_.push_back(rows[i].source);
    t.window_start_ns_.push_back(rows[i].window);
  }
  t.values_.resize(t.columns_.size() * n);
  for (size_t c = 0; c < t.columns_.size(); ++c) {
    double* column = t.values_.data() + c * n;
    for (size_t i = 0; i < n; ++i) {
      const auto [p, r] = from[order[i]];
      column[i] = parts[p].at(r, c);
    }
  }
  return t;
}

}  // namespace darklens::features
