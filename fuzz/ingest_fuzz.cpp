// Fuzz target for the capture readers and decoders: the input is a whole
// "file" (any format, possibly compressed), read to the end. Also decodes
// the same bytes as one frame of every supported link type.
#include <cstddef>
#include <cstdint>

#include "darklens/error.hpp"
#include "darklens/ingest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace darklens;
  try {
    auto reader = ingest::CaptureReader::open_memory(data, size, "fuzz-input");
    Packet p;
    uint64_t guard = 0;
    while (reader->next(p) && ++guard < 10'000'000) {
    }
  } catch (const Error&) {
    // An unreadable file is a clean, expected outcome.
  }
  for (int linktype : {0, 1, 12, 101, 108, 113, 228, 229, 276}) {
    Packet p;
    (void)ingest::decode_frame(linktype, data, size, p);
  }
  return 0;
}
