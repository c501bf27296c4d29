// Bounds-checked big-/little-endian loads. Callers check the length first;
// these only assemble bytes (no alignment assumptions).
#pragma once

#include <cstddef>
#include <cstdint>

namespace darklens::ingest::bytes {

inline uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
inline uint32_t le32(const uint8_t* p) {
  return (uint32_t{p[3]} << 24) | (uint32_t{p[2]} << 16) | (uint32_t{p[1]} << 8) | uint32_t{p[0]};
}

}  // namespace darklens::ingest::bytes
