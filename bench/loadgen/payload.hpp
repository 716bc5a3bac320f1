// The loadgen's marker inside every synthetic media packet: a fixed-size
// trailer at the end of the RTP payload (after the codec's own bytes), so a
// receiver finds it without parsing VP8 or Opus, and it survives RTX
// (which only prepends the original sequence number).
//
//   magic "PLLG" | publisher (u16) | kind (u8) | flags (u8) | sequence (u32) | send time (u64, ns)
//
// The send time is CLOCK_MONOTONIC: sender and receiver share the machine,
// so one-way delay is a subtraction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace partyline::loadgen {

enum class StreamKind : uint8_t { kAudio = 0, kVideo = 1 };
inline constexpr size_t kStreamKinds = 2;

inline constexpr size_t kPayloadTrailerSize = 20;

struct PayloadTrailer {
  uint16_t publisher = 0;  // index of the publishing participant
  StreamKind kind = StreamKind::kAudio;
  bool keyframe = false;
  uint32_t sequence = 0;   // per stream, from 0, never reused (not the RTP sequence number)
  uint64_t send_time_ns = 0;
};

// Writes the trailer into the last kPayloadTrailerSize bytes of `payload`
// (which must be at least that long).
void write_trailer(const PayloadTrailer& trailer, std::span<uint8_t> payload);
// Reads it back; nullopt when the payload is too short or the magic is wrong.
std::optional<PayloadTrailer> read_trailer(std::span<const uint8_t> payload);

// Nanoseconds on CLOCK_MONOTONIC.
uint64_t monotonic_ns();

}  // namespace partyline::loadgen
