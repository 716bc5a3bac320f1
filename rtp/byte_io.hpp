// Big-endian (network order) reads and writes on byte spans. Callers check
// bounds first; these helpers only assemble bytes, so they stay trivially
// inlinable on the packet hot path.
#pragma once

#include <cstddef>
#include <cstdint>

namespace partyline::rtp {

inline uint16_t read_u16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
inline uint32_t read_u24(const uint8_t* p) {
  return (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2];
}
inline uint32_t read_u32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
inline uint64_t read_u64(const uint8_t* p) {
  return (uint64_t{read_u32(p)} << 32) | read_u32(p + 4);
}

inline void write_u16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void write_u24(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 16);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v);
}
inline void write_u32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
inline void write_u64(uint8_t* p, uint64_t v) {
  write_u32(p, static_cast<uint32_t>(v >> 32));
  write_u32(p + 4, static_cast<uint32_t>(v));
}

}  // namespace partyline::rtp
