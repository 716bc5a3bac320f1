#include "talk_detector.hpp"

#include <algorithm>
#include <cmath>

namespace audiobridge {

TalkDetector::Transition TalkDetector::update(int level, Micros now) {
  if (level <= config_.threshold) {
    last_loud_ = now;
    if (!talking_) {
      talking_ = true;
      return Transition::kStarted;
    }
    return Transition::kNone;
  }
  if (talking_ && now - last_loud_ >= config_.hold) {
    talking_ = false;
    return Transition::kStopped;
  }
  return Transition::kNone;
}

int level_of(std::span<const int16_t> pcm) {
  if (pcm.empty()) return 127;
  int64_t energy = 0;
  for (int16_t sample : pcm) energy += int64_t{sample} * sample;
  const double mean_square = static_cast<double>(energy) / static_cast<double>(pcm.size());
  if (mean_square <= 0.0) return 127;
  // 0 dBov is a full-scale signal: RMS 32767. 10*log10 of the mean square
  // saves the square root.
  const double dbov = 10.0 * std::log10(mean_square / (32767.0 * 32767.0));
  return std::clamp(static_cast<int>(std::lround(-dbov)), 0, 127);
}

}  // namespace audiobridge
