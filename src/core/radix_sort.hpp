// Stable LSD radix sort by an unsigned key of known width: linear, for the
// hot sorts of millions of entries (a chunk's records by row, a table's
// rows by window and address) where comparison sorts cost several times
// more.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace darklens {

/// Sorts v by key(x), every key below 2^bits, keeping equal keys in their
/// order; tmp is scratch. Passes of equal width, at most max_digit bits
/// each (a count table of 2^max_digit entries).
template <typename T, typename Key>
void radix_sort(std::vector<T>& v, std::vector<T>& tmp, int bits, int max_digit, Key key) {
  const int passes = (bits + max_digit - 1) / max_digit;  // 0 when every key is 0
  if (passes == 0) return;
  const int width = (bits + passes - 1) / passes;
  const uint64_t mask = (uint64_t{1} << width) - 1;
  tmp.resize(v.size());
  std::vector<uint32_t> count((size_t{1} << width) + 1);
  for (int shift = 0; shift < passes * width; shift += width) {
    std::fill(count.begin(), count.end(), 0);
    for (const T& x : v) ++count[((key(x) >> shift) & mask) + 1];
    for (size_t d = 1; d < count.size(); ++d) count[d] += count[d - 1];
    for (const T& x : v) tmp[count[(key(x) >> shift) & mask]++] = x;
    v.swap(tmp);
  }
}

}  // namespace darklens
