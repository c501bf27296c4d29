// Fuzz target: a pipeline spec ("zscore|pca:3|kmeans:k=auto"), parsed
// with every stage's arguments checked.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "darklens/error.hpp"
#include "darklens/pipeline/pipeline.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace darklens;
  try {
    (void)pipeline::parse_spec(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const Error&) {
  }
  return 0;
}
