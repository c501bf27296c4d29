// Fuzz target for the capture readers, decoders and feature aggregation:
// the input is a whole "file" (any format, possibly compressed), read to
// the end, every packet fed to a feature aggregator with all families (and
// a tiny exact cap, so the bounded summaries run too), in two parts that
// are then merged. Also decodes the same bytes as one frame of every
// supported link type.
#include <cstddef>
#include <cstdint>

#include "darklens/error.hpp"
#include "darklens/features/features.hpp"
#include "darklens/ingest/ingest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace darklens;
  try {
    auto reader = ingest::CaptureReader::open_memory(data, size, "fuzz-input");
    features::FeatureOptions o;
    o.families_ = features::parse_families("agm,agm-ext,agm-num,temporal,fingerprints,intensity");
    o.exact_cap_ = 16;
    o.window_ = features::parse_window("1h");
    features::Aggregator first(o), second(o);
    Packet p;
    uint64_t n = 0;
    while (reader->next(p) && ++n < 200'000) (n % 2 ? first : second).add(p);
    first.merge(second);
    (void)first.table();
  } catch (const Error&) {
    // An unreadable file is a clean, expected outcome.
  }
  for (int linktype : {0, 1, 12, 101, 108, 113, 228, 229, 276}) {
    Packet p;
    (void)ingest::decode_frame(linktype, data, size, p);
  }
  return 0;
}
