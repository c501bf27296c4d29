// Fuzz target: a pattern database received from someone else: the bytes
// as an SQLite file, opened read-only and read whole (runs, patterns,
// their sightings, a run's members and its stored embedding model, watch's
// events), then opened writable (migration).
#include <cstddef>
#include <cstdint>

#include "darklens/embed/embed.hpp"
#include "darklens/error.hpp"
#include "darklens/patterns/patterns.hpp"
#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace darklens;
  const std::string path = fuzz_file(data, size, "p.db");
  try {
    const patterns::Store db(path, patterns::Store::ReadOnly::kYes);
    size_t n = 0;
    for (const auto& r : db.runs()) {
      if (++n > 16) break;
      (void)db.members(r.id);
      if (auto words = db.blob(r.id, "embed.words")) {
        int dim = 50;
        if (const auto e = r.summary.find("embedding"); e != r.summary.end() && e->is_object()) {
          if (const auto d = e->find("dim"); d != e->end() && d->is_number_integer()) dim = d->get<int>();
        }
        embed::ModelBytes b{*words, db.blob(r.id, "embed.input").value_or(""),
                            db.blob(r.id, "embed.output").value_or("")};
        (void)embed::from_bytes(b, dim, path);
      }
    }
    n = 0;
    for (const auto& p : db.patterns()) {
      if (++n > 64) break;
      (void)db.sightings(p.id);
    }
    (void)db.events(0, 64);
    (void)db.last_event("window_closed");
  } catch (const Error&) {
  }
  try {
    patterns::Store db(path);
    (void)db.runs();
    (void)db.events(0, 64);
  } catch (const Error&) {
  }
  fuzz_remove(path);
  return 0;
}
