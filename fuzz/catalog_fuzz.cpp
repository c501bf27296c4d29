// Fuzz target: the signature catalog's text, parsed; a parsed catalog is
// matched against a small profile.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "darklens/error.hpp"
#include "darklens/profile/profile.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace darklens;
  try {
    const auto catalog =
        profile::Catalog::parse(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.txt");
    profile::ClusterProfile p;
    p.cluster_ = 0;
    p.sources_ = 3;
    p.packets_ = 9;
    p.ports_ = {{"tcp/23", 6, 6.0 / 9}, {"udp/53", 3, 3.0 / 9}};
    p.protocols_ = {{"tcp", 6, 6.0 / 9}, {"udp", 3, 3.0 / 9}};
    p.tcp_flags_ = {{"SYN", 6, 1.0}};
    (void)profile::match(catalog, p);
  } catch (const Error&) {
  }
  return 0;
}
