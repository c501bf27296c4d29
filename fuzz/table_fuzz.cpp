// Fuzz target: the feature-table readers. The first byte chooses what the
// rest is: a numeric CSV; a .npy with its .columns.txt and .rows.csv
// sidecars (the three separated by a line "--"); a meta.json read for its
// agm-ext vocabulary and as stored feature options.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "darklens/error.hpp"
#include "darklens/features/features.hpp"
#include "darklens/pipeline/pipeline.hpp"
#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace darklens;
  if (size == 0) return 0;
  const uint8_t mode = data[0] % 3;
  ++data, --size;
  try {
    if (mode == 0) {
      (void)pipeline::read_matrix(fuzz_file(data, size, "t.csv"));
    } else if (mode == 1) {
      const std::string_view all(reinterpret_cast<const char*>(data), size);
      const size_t a = all.find("\n--\n");
      const size_t b = a == std::string_view::npos ? a : all.find("\n--\n", a + 4);
      auto part = [&](size_t from, size_t to) {
        if (from == std::string_view::npos || from > all.size()) return std::string_view();
        return all.substr(from, to == std::string_view::npos ? std::string_view::npos : to - from);
      };
      auto put = [](std::string_view s, const char* name) {
        return fuzz_file(reinterpret_cast<const uint8_t*>(s.data()), s.size(), name);
      };
      put(part(a == std::string_view::npos ? all.size() : a + 4, b), "t.columns.txt");
      put(part(b == std::string_view::npos ? all.size() : b + 4, std::string_view::npos), "t.rows.csv");
      (void)pipeline::read_matrix(put(part(0, a), "t.npy"));
    } else {
      const std::string path = fuzz_file(data, size, "t.meta.json");
      try {
        (void)features::read_vocab(path);
      } catch (const Error&) {
      }
      const auto j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
      if (!j.is_discarded() && j.contains("features")) (void)features::options_from_json(j["features"]);
      if (!j.is_discarded()) (void)features::options_from_json(j);
    }
  } catch (const Error&) {
  }
  return 0;
}
