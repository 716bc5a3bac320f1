// JitterBuffer in virtual time: table tests of what each insert answers and
// what each 20 ms tick pops, plus its counters.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "jitter_buffer.hpp"

namespace audiobridge {
namespace {

using namespace std::chrono_literals;

constexpr int kPop = -1;

// sequence >= 0: insert it at at_ms; `expected` is "ok", "dup", "late", "stray".
// sequence == kPop: pop at at_ms; `expected` is "-" (idle), "p<seq>" (its
// packet), "M" (missing) or "M><seq>" (missing, next packet held for FEC).
struct Step {
  int sequence;
  int at_ms;
  std::string expected;
};

std::string text_of(JitterBuffer::Insert insert) {
  switch (insert) {
    case JitterBuffer::Insert::kAccepted: return "ok";
    case JitterBuffer::Insert::kDuplicate: return "dup";
    case JitterBuffer::Insert::kLate: return "late";
    case JitterBuffer::Insert::kTooLarge: return "big";
    case JitterBuffer::Insert::kStray: return "stray";
  }
  return "?";
}

// Each packet's payload names its sequence number, so a pop shows which one came out.
int sequence_in(std::span<const uint8_t> payload) {
  EXPECT_EQ(payload.size(), 3u);
  if (payload.size() != 3) return -1;
  EXPECT_EQ(payload[2], 0xAB);
  return payload[0] << 8 | payload[1];
}

std::string text_of(const JitterBuffer::Frame& frame) {
  switch (frame.kind) {
    case JitterBuffer::Frame::Kind::kIdle: return "-";
    case JitterBuffer::Frame::Kind::kPacket: return "p" + std::to_string(sequence_in(frame.payload));
    case JitterBuffer::Frame::Kind::kMissing:
      return frame.next.empty() ? "M" : "M>" + std::to_string(sequence_in(frame.next));
  }
  return "?";
}

JitterConfig test_config() {
  JitterConfig config;
  config.target_delay = 40ms;
  config.capacity = 8;
  config.max_conceal = 3;
  config.reset_distance = 500;
  return config;
}

JitterCounters play(const std::vector<Step>& steps, JitterConfig config = test_config()) {
  JitterBuffer buffer(config);
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& step = steps[i];
    const Micros at = std::chrono::milliseconds(step.at_ms);
    if (step.sequence == kPop) {
      EXPECT_EQ(text_of(buffer.pop(at)), step.expected) << "step " << i;
      continue;
    }
    const auto sequence = static_cast<uint16_t>(step.sequence);
    const uint8_t payload[3] = {static_cast<uint8_t>(sequence >> 8), static_cast<uint8_t>(sequence), 0xAB};
    EXPECT_EQ(text_of(buffer.insert(sequence, sequence * 960u, payload, at)), step.expected) << "step " << i;
  }
  return buffer.counters();
}

TEST(JitterBufferTest, InOrderPacketsPlayAfterThePrebuffer) {
  const auto counters = play({{10, 0, "ok"}, {kPop, 0, "-"}, {11, 20, "ok"}, {kPop, 20, "-"},
                              {12, 40, "ok"}, {kPop, 40, "p10"}, {13, 60, "ok"}, {kPop, 60, "p11"},
                              {kPop, 80, "p12"}, {kPop, 100, "p13"}});
  EXPECT_EQ(counters.received, 4u);
  EXPECT_EQ(counters.played, 4u);
  EXPECT_EQ(counters.concealed, 0u);
}

TEST(JitterBufferTest, AReorderedPacketPlaysInItsPlace) {
  const auto counters = play({{10, 0, "ok"}, {12, 20, "ok"}, {11, 30, "ok"}, {13, 40, "ok"},
                              {kPop, 40, "p10"}, {kPop, 60, "p11"}, {kPop, 80, "p12"}, {kPop, 100, "p13"}});
  EXPECT_EQ(counters.played, 4u);
  EXPECT_EQ(counters.concealed, 0u);
}

TEST(JitterBufferTest, ADuplicateIsDroppedWhetherHeldOrPlayed) {
  const auto counters = play({{10, 0, "ok"}, {10, 5, "dup"}, {11, 20, "ok"}, {kPop, 40, "p10"},
                              {10, 45, "late"}, {11, 50, "dup"}, {kPop, 60, "p11"}, {kPop, 80, "M"}});
  EXPECT_EQ(counters.duplicates, 2u);
  EXPECT_EQ(counters.late, 1u);
  EXPECT_EQ(counters.played, 2u);
}

TEST(JitterBufferTest, ALostPacketIsSignalledWithTheNextOneForFec) {
  const auto counters = play({{10, 0, "ok"}, {11, 20, "ok"}, {13, 40, "ok"}, {kPop, 40, "p10"},
                              {14, 60, "ok"}, {kPop, 60, "p11"}, {kPop, 80, "M>13"}, {kPop, 100, "p13"},
                              {kPop, 120, "p14"}});
  EXPECT_EQ(counters.concealed, 1u);
  EXPECT_EQ(counters.played, 4u);
}

TEST(JitterBufferTest, TwoLostInARowOfferFecOnlyForTheSecond) {
  play({{10, 0, "ok"}, {13, 20, "ok"}, {kPop, 40, "p10"}, {kPop, 60, "M"}, {kPop, 80, "M>13"},
        {kPop, 100, "p13"}});
}

TEST(JitterBufferTest, APacketAfterItsFrameWasConcealedIsLate) {
  const auto counters = play({{10, 0, "ok"}, {11, 20, "ok"}, {kPop, 40, "p10"}, {kPop, 60, "p11"},
                              {kPop, 80, "M"}, {12, 85, "late"}, {13, 90, "ok"}, {kPop, 100, "p13"}});
  EXPECT_EQ(counters.late, 1u);
  EXPECT_EQ(counters.concealed, 1u);
}

TEST(JitterBufferTest, SequenceNumbersWrapAround) {
  const auto counters = play({{65534, 0, "ok"}, {65535, 20, "ok"}, {1, 30, "ok"}, {0, 35, "ok"},
                              {kPop, 40, "p65534"}, {kPop, 60, "p65535"}, {kPop, 80, "p0"},
                              {2, 85, "ok"}, {kPop, 100, "p1"}, {65535, 105, "late"}, {kPop, 120, "p2"}});
  EXPECT_EQ(counters.played, 5u);
  EXPECT_EQ(counters.late, 1u);
}

TEST(JitterBufferTest, TwoPacketsInSequenceFarAwayAreANewStream) {
  const auto counters = play({{10, 0, "ok"}, {11, 20, "ok"}, {kPop, 40, "p10"},
                              // The client restarted at 9000: a stray first, the old stream plays on.
                              {9000, 50, "stray"}, {kPop, 60, "p11"},
                              // 9001 confirms it: reset, prebuffered anew; 9000's frame is concealed.
                              {9001, 70, "ok"}, {kPop, 80, "-"}, {kPop, 100, "-"},
                              {11, 105, "stray"}, {kPop, 120, "M>9001"}, {kPop, 140, "p9001"}});
  EXPECT_EQ(counters.resets, 1u);
  EXPECT_EQ(counters.strays, 2u);
}

TEST(JitterBufferTest, AJumpBackwardsBeyondTheResetDistanceIsANewStreamToo) {
  const auto counters = play({{5000, 0, "ok"}, {kPop, 40, "p5000"}, {100, 50, "stray"}, {101, 55, "ok"},
                              {kPop, 60, "-"}, {kPop, 100, "M>101"}, {kPop, 120, "p101"}});
  EXPECT_EQ(counters.resets, 1u);
}

TEST(JitterBufferTest, AStrayPacketAloneChangesNothing) {
  const auto counters = play({{10, 0, "ok"}, {11, 20, "ok"}, {30000, 25, "stray"}, {12, 30, "ok"},
                              {30001, 35, "stray"}, {kPop, 40, "p10"}, {kPop, 60, "p11"}, {kPop, 80, "p12"}});
  EXPECT_EQ(counters.resets, 0u);
  EXPECT_EQ(counters.strays, 2u);
}

TEST(JitterBufferTest, AQuietSenderIsConcealedBrieflyThenPlayoutRestartsAtItsNextPacket) {
  const auto counters = play({{10, 0, "ok"}, {kPop, 40, "p10"},
                              // Nothing more for a while (DTX, a stall): three ticks concealed, then idle.
                              {kPop, 60, "M"}, {kPop, 80, "M"}, {kPop, 100, "M"}, {kPop, 120, "-"},
                              {kPop, 140, "-"}, {kPop, 1000, "-"},
                              // It speaks again from 50: prebuffered, no concealment of 14..49.
                              {50, 1010, "ok"}, {kPop, 1020, "-"}, {13, 1025, "late"}, {51, 1030, "ok"},
                              {kPop, 1060, "p50"}, {kPop, 1080, "p51"}});
  EXPECT_EQ(counters.concealed, 3u);
  EXPECT_EQ(counters.rebuffers, 1u);
  EXPECT_EQ(counters.resets, 0u);
}

TEST(JitterBufferTest, ASenderAheadOfTheCapacityPushesTheOldestOut) {
  // Capacity 8: twelve packets at once keep only the newest eight.
  std::vector<Step> steps;
  for (int sequence = 10; sequence < 22; ++sequence) steps.push_back({sequence, 0, "ok"});
  for (int frame = 0; frame < 8; ++frame) steps.push_back({kPop, 40 + 20 * frame, "p" + std::to_string(14 + frame)});
  steps.push_back({kPop, 200, "M"});
  const auto counters = play(steps);
  EXPECT_EQ(counters.overflow, 4u);
  EXPECT_EQ(counters.played, 8u);
}

TEST(JitterBufferTest, AnOversizedPayloadIsRefusedAndNothingElseChanges) {
  JitterBuffer buffer(test_config());
  const std::vector<uint8_t> big(JitterBuffer::kMaxPayload + 1, 0);
  EXPECT_EQ(buffer.insert(10, 0, big, 0ms), JitterBuffer::Insert::kTooLarge);
  EXPECT_EQ(buffer.counters().too_large, 1u);
  EXPECT_EQ(buffer.held(), 0u);
  EXPECT_EQ(buffer.pop(100ms).kind, JitterBuffer::Frame::Kind::kIdle);
}

TEST(JitterBufferTest, HeldCountsPacketsNotYetPlayed) {
  JitterBuffer buffer(test_config());
  const uint8_t payload[1] = {0};
  buffer.insert(1, 0, payload, 0ms);
  buffer.insert(2, 0, payload, 0ms);
  buffer.insert(4, 0, payload, 0ms);
  EXPECT_EQ(buffer.held(), 3u);
  buffer.pop(40ms);
  EXPECT_EQ(buffer.held(), 2u);
}

}  // namespace
}  // namespace audiobridge
