// Fuzz target: a services file (darklens embed --services), parsed; a
// parsed one maps a few packets to their services.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "darklens/embed/embed.hpp"
#include "darklens/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace darklens;
  try {
    const auto services =
        embed::Services::parse(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.txt");
    Packet p;
    p.flags_ = Packet::kHasTransport;
    for (uint8_t proto : {ip_proto::kTcp, ip_proto::kUdp, ip_proto::kIcmp, ip_proto::kGre}) {
      for (uint16_t port : {0, 22, 23, 1023, 1024, 49152, 65535}) {
        p.proto_ = proto;
        p.dport_ = port;
        if (services.of(p) >= services.names().size()) __builtin_trap();
      }
    }
  } catch (const Error&) {
  }
  return 0;
}
