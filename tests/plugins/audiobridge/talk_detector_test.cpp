// TalkDetector in virtual time, and level_of against known signals.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "talk_detector.hpp"

namespace audiobridge {
namespace {

using namespace std::chrono_literals;

// One level per 20 ms frame; the expected transition at each: '.', 'S' (started), 'E' (stopped).
void play(const std::vector<int>& levels, const std::string& expected, TalkConfig config) {
  ASSERT_EQ(levels.size(), expected.size());
  TalkDetector detector(config);
  std::string got;
  for (size_t frame = 0; frame < levels.size(); ++frame) {
    switch (detector.update(levels[frame], kFrameDuration * static_cast<int>(frame))) {
      case TalkDetector::Transition::kNone: got += '.'; break;
      case TalkDetector::Transition::kStarted: got += 'S'; break;
      case TalkDetector::Transition::kStopped: got += 'E'; break;
    }
  }
  EXPECT_EQ(got, expected);
}

TalkConfig config(int threshold, Micros hold) {
  TalkConfig talk;
  talk.threshold = threshold;
  talk.hold = hold;
  return talk;
}

TEST(TalkDetectorTest, StartsOnTheFirstLoudFrameAndStopsAfterTheHold) {
  // Loud (20) for 3 frames, then quiet (90): 60 ms hold = 3 frames after the last loud one.
  play({90, 20, 20, 20, 90, 90, 90, 90, 90}, ".S....E..", config(40, 60ms));
}

TEST(TalkDetectorTest, PausesShorterThanTheHoldDoNotToggle) {
  play({20, 90, 90, 20, 90, 90, 20, 90, 90, 90, 90}, "S.........E", config(40, 80ms));
}

TEST(TalkDetectorTest, TheThresholdIsInclusiveAndConfigurable) {
  play({41, 40, 90}, ".S.", config(40, 40ms));
  play({41, 40, 90}, "...", config(30, 40ms));
}

TEST(TalkDetectorTest, ALongerHoldStopsLater) {
  play({20, 90, 90, 90, 90, 90, 90}, "S....E.", config(40, 100ms));
}

TEST(TalkDetectorTest, LevelOfSilenceIs127AndOfAFullScaleSquareIs0) {
  std::vector<int16_t> pcm(kFrameSamples, 0);
  EXPECT_EQ(level_of(pcm), 127);
  for (size_t i = 0; i < pcm.size(); ++i) pcm[i] = i % 2 ? 32767 : -32767;
  EXPECT_EQ(level_of(pcm), 0);
}

TEST(TalkDetectorTest, LevelOfASineIsItsRmsInMinusDbov) {
  // Amplitude 3277 (-20 dBFS peak): RMS 3277/sqrt(2), 23 dB below full scale.
  std::vector<int16_t> pcm(kFrameSamples);
  for (size_t i = 0; i < pcm.size(); ++i) {
    pcm[i] = static_cast<int16_t>(std::lround(3277 * std::sin(2 * M_PI * 1000 * static_cast<double>(i) / kSampleRate)));
  }
  EXPECT_EQ(level_of(pcm), 23);
}

}  // namespace
}  // namespace audiobridge
