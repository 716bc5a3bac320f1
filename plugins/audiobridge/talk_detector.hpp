// Whether a participant is talking, from one audio level per 20 ms frame,
// and when that changes. Sans-I/O: `now` comes with each level.
//
// Levels use RFC 6464's scale: 0 is the loudest (0 dBov), 127 silence
// (-127 dBov). The level is the one the client sent in its audio-level
// header extension when it sends one, else the decoded frame's
// (level_of()). A frame at least as loud as `threshold` starts talking at
// once (so the mixer, which mixes only talkers, never clips a word's
// start); talking stops after `hold` without such a frame, so the pauses
// between words do not toggle it.
#pragma once

#include <cstdint>
#include <span>

#include "media_time.hpp"

namespace audiobridge {

struct TalkConfig {
  int threshold = 40;        // RFC 6464 level: talking while at or below (louder than -40 dBov)
  Micros hold{500000};       // quiet time before talking stops
};

class TalkDetector {
 public:
  enum class Transition { kNone, kStarted, kStopped };

  explicit TalkDetector(const TalkConfig& config) : config_(config) {}

  Transition update(int level, Micros now);
  bool talking() const { return talking_; }

 private:
  TalkConfig config_;
  bool talking_ = false;
  Micros last_loud_{0};
};

// The RFC 6464 level of one frame: its RMS in -dBov, rounded, 0..127.
int level_of(std::span<const int16_t> pcm);

}  // namespace audiobridge
