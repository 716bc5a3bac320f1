// Time as the audio bridge's units see it: microseconds on the steady clock,
// always passed in by the caller (the media thread stamps each packet's
// arrival and each mixing tick), so every unit runs in virtual time in tests.
#pragma once

#include <chrono>
#include <cstdint>

namespace audiobridge {

using Micros = std::chrono::microseconds;

// The mixer's frame: 20 ms at 48 kHz, mono.
inline constexpr int kSampleRate = 48000;
inline constexpr int kFrameSamples = 960;
inline constexpr Micros kFrameDuration{20000};

}  // namespace audiobridge
