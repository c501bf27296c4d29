// Fuzz target: an origin database (--asn-db / --geo-db), an MMDB or a CSV
// of address ranges, read from a file as both kinds; a loaded one is then
// queried.
#include <cstddef>
#include <cstdint>

#include "darklens/error.hpp"
#include "darklens/labels/origin.hpp"
#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace darklens;
  const std::string path = fuzz_file(data, size, "origin.db");
  for (const auto field : {origin::Database::Field::kAsn, origin::Database::Field::kCountry}) {
    try {
      const origin::Database db(path, field);
      for (const char* a : {"1.0.0.1", "10.0.0.1", "255.255.255.255", "2001:db8::1", "::"}) {
        origin::Origin o;
        db.lookup(*IpAddr::parse(a), o);
      }
    } catch (const Error&) {
    }
  }
  return 0;
}
