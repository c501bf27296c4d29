// Fuzz target: a ground-truth CSV (ip,label / cidr,label) and a label map,
// read from a file; the loaded truth is then queried.
#include <cstddef>
#include <cstdint>

#include "darklens/error.hpp"
#include "darklens/labels/ground_truth.hpp"
#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace darklens;
  const std::string path = fuzz_file(data, size, "gt.csv");
  try {
    const auto gt = ground_truth::load({path}, {});
    for (const char* a : {"192.0.2.1", "10.0.0.1", "2001:db8::1"}) (void)gt.index_of(*IpAddr::parse(a));
  } catch (const Error&) {
  }
  try {
    (void)ground_truth::load_label_map(path);
  } catch (const Error&) {
  }
  return 0;
}
