// SpeakerDetector in virtual time: each occupant's worker reports a level
// every 200 ms (kInterval) while it makes a sound, as LineMedia does.
#include "core/calls/speaker_detector.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace partyline::core {
namespace {

constexpr int64_t kInterval = 200;
constexpr uint8_t kLoud = 10;    // -10 dBov: a voice close to the microphone
constexpr uint8_t kQuiet = 70;   // -70 dBov: room noise
constexpr uint8_t kSilent = 127;

// Levels per occupant from a time on; run() feeds every occupant's current
// level each interval and records the changes of active speaker.
struct Script {
  SpeakerDetector detector = SpeakerDetector();
  std::map<std::string, uint8_t> levels = {};
  std::vector<std::pair<int64_t, std::string>> changes = {};
  int64_t now = 0;

  void run_until(int64_t end) {
    for (; now < end; now += kInterval) {
      for (const auto& [id, level] : levels) {
        if (auto active = detector.on_level(id, level, now)) changes.emplace_back(now, *active);
      }
    }
  }
};

TEST(SpeakerDetector, NoiseMakesNobodyActive) {
  Script script;
  script.levels = {{"a", kQuiet}, {"b", kQuiet}, {"c", kSilent}};
  script.run_until(10'000);
  EXPECT_TRUE(script.changes.empty());
  EXPECT_FALSE(script.detector.active());
}

TEST(SpeakerDetector, LoudOneBecomesActiveAfterTheHold) {
  Script script;
  script.levels = {{"a", kLoud}, {"b", kQuiet}, {"c", kQuiet}};
  script.run_until(5'000);
  ASSERT_EQ(script.changes.size(), 1u);
  EXPECT_EQ(script.changes[0].second, "a");
  // Not before the hold, and within a second and a half of the first word.
  EXPECT_GE(script.changes[0].first, 600);
  EXPECT_LE(script.changes[0].first, 1'500);
  EXPECT_EQ(script.detector.active(), "a");
  EXPECT_EQ(script.detector.recent(), (std::vector<std::string>{"a"}));
}

TEST(SpeakerDetector, FollowsWhenAnotherTakesOver) {
  Script script;
  script.levels = {{"a", kLoud}, {"b", kQuiet}, {"c", kQuiet}};
  script.run_until(3'000);
  script.levels["a"] = kQuiet;
  script.levels["c"] = kLoud;
  script.run_until(8'000);
  ASSERT_EQ(script.changes.size(), 2u);
  EXPECT_EQ(script.changes[1].second, "c");
  EXPECT_GE(script.changes[1].first, 3'600);
  EXPECT_LE(script.changes[1].first, 4'600);
  EXPECT_EQ(script.detector.recent(), (std::vector<std::string>{"c", "a"}));
}

TEST(SpeakerDetector, SilenceKeepsTheLastSpeaker) {
  Script script;
  script.levels = {{"a", kLoud}, {"b", kQuiet}};
  script.run_until(2'000);
  // A worker reports once when its occupant falls silent, then nothing.
  script.levels = {{"a", kSilent}};
  script.run_until(2'200);
  script.levels = {{"b", kQuiet}};
  script.run_until(20'000);
  EXPECT_EQ(script.detector.active(), "a");
  EXPECT_EQ(script.changes.size(), 1u);
}

TEST(SpeakerDetector, TalkingTogetherNeedsTheMarginToSwitch) {
  for (const auto& [challenger_level, switches] : std::vector<std::pair<uint8_t, bool>>{
           {kLoud, false},      // as loud as the active speaker
           {kLoud - 3, false},  // 3 dB louder: within the margin
           {kLoud - 8, true},   // 8 dB louder
       }) {
    Script script;
    script.levels = {{"a", kLoud}};
    script.run_until(2'000);
    script.levels["b"] = challenger_level;
    script.run_until(10'000);
    EXPECT_EQ(script.detector.active(), switches ? "b" : "a") << "challenger at -" << int{challenger_level} << " dBov";
  }
}

TEST(SpeakerDetector, ACoughDoesNotTakeOver) {
  Script script;
  script.levels = {{"a", kLoud}, {"b", kQuiet}};
  script.run_until(2'000);
  script.levels = {{"a", kSilent}, {"b", kLoud}};
  script.run_until(2'000 + kInterval);  // one loud interval from b
  script.levels = {{"b", kQuiet}};
  script.run_until(10'000);
  EXPECT_EQ(script.detector.active(), "a");
}

TEST(SpeakerDetector, AnInterruptedChallengeStartsOver) {
  Script script;
  script.levels = {{"a", kLoud}};
  script.run_until(2'000);
  script.levels = {{"a", kSilent}, {"b", kLoud}};
  script.run_until(2'800);  // b's streak has begun, not reached the hold
  script.levels = {{"a", kLoud}, {"b", kSilent}};
  script.run_until(3'400);
  script.levels = {{"a", kSilent}, {"b", kLoud}};
  script.run_until(3'800);
  EXPECT_EQ(script.detector.active(), "a");  // 0.4 s of the new streak
  script.run_until(6'000);
  EXPECT_EQ(script.detector.active(), "b");
}

TEST(SpeakerDetector, LeavingForgetsTheSpeaker) {
  Script script;
  script.levels = {{"a", kLoud}, {"b", kQuiet}};
  script.run_until(2'000);
  script.levels = {{"a", kSilent}, {"b", kLoud}};
  script.run_until(5'000);
  EXPECT_EQ(script.detector.recent(), (std::vector<std::string>{"b", "a"}));
  script.detector.remove("b");
  EXPECT_FALSE(script.detector.active());
  EXPECT_EQ(script.detector.recent(), (std::vector<std::string>{"a"}));
  EXPECT_DOUBLE_EQ(script.detector.loudness("b", script.now), 0.0);
  // Whoever speaks next is active, after the same hold.
  script.levels = {{"a", kLoud}};
  script.run_until(7'000);
  EXPECT_EQ(script.detector.active(), "a");
  EXPECT_EQ(script.changes.back().second, "a");
}

TEST(SpeakerDetector, ThresholdIsConfigurable) {
  Script script{SpeakerDetector(SpeakerSettings{.speech_level = 75})};
  script.levels = {{"a", kQuiet}};  // -70 dBov is speech when the threshold is -75
  script.run_until(3'000);
  EXPECT_EQ(script.detector.active(), "a");
}

struct SelectionCase {
  std::string name;
  size_t n;
  std::string viewer;
  std::vector<std::string> recent, pinned, expected;
};

TEST(LastNSelection, Table) {
  const std::vector<std::string> occupants = {"a", "b", "c", "d"};
  for (const SelectionCase& test : std::vector<SelectionCase>{
           {"nobody spoke: join order", 2, "a", {}, {}, {"b", "c"}},
           {"the latest speaker first", 1, "a", {"d", "c"}, {}, {"d"}},
           {"the viewer is skipped", 1, "d", {"d", "c"}, {}, {"c"}},
           {"speakers, then join order", 3, "b", {"d"}, {}, {"a", "c", "d"}},
           {"a pin comes on top of n", 1, "a", {"d"}, {"b"}, {"b", "d"}},
           {"a pin of the chosen one counts once", 1, "a", {"d"}, {"d"}, {"d"}},
           {"one who left is not chosen", 1, "a", {"x", "c"}, {"y"}, {"c"}},
           {"n beyond the line: everyone else", 10, "c", {"b"}, {}, {"a", "b", "d"}},
       }) {
    EXPECT_EQ(last_n_selection(test.n, test.viewer, occupants, test.recent, test.pinned), test.expected) << test.name;
  }
}

}  // namespace
}  // namespace partyline::core
