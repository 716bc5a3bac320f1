// What the recorder needs to know about Opus: a packet's duration (from its
// TOC byte, RFC 6716 section 3.1) and the OpusHead a WebM track carries as
// its codec private data (RFC 7845 section 5.1).
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace recorder {

// Samples at 48 kHz in one Opus packet; 0 when unreadable.
uint32_t opus_samples_48k(std::span<const uint8_t> packet);

// Version 1, 2 channels (RTP always carries Opus as stereo-capable, RFC
// 7587), the given pre-skip, 48000 Hz input, 0 dB gain, mapping family 0.
std::array<uint8_t, 19> opus_head(uint16_t pre_skip);

}  // namespace recorder
