// Comma-separated lists as the command line gives them ("agm,temporal").
#pragma once

#include <string_view>

namespace darklens {

/// Calls f(item) for each non-empty item of a comma-separated list.
template <typename F>
void for_each_item(std::string_view list, F&& f) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string_view item = list.substr(start, comma - start);
    if (!item.empty()) f(item);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
}

}  // namespace darklens
