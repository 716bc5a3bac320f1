// Table tests in the style of mediasoup's TestSeqManager: each case is a list
// of (input sequence number, drop?, expected output or "not sent") vectors.
#include "rtp/forward/sequence_rewriter.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "rtp/packet/rtp_packet.hpp"

namespace partyline::rtp {
namespace {

constexpr int32_t kNotSent = -1;
constexpr uint32_t kSsrcA = 0x1111;
constexpr uint32_t kSsrcB = 0x2222;
constexpr uint32_t kLegSsrc = 0xABCD;

struct Step {
  uint16_t input = 0;
  int32_t output = kNotSent;  // expected output sequence number
  bool drop = false;
  uint32_t ssrc = kSsrcA;
};
Step F(uint16_t input, int32_t output) { return {input, output, false, kSsrcA}; }
Step D(uint16_t input) { return {input, kNotSent, true, kSsrcA}; }
Step X(uint16_t input) { return {input, kNotSent, false, kSsrcA}; }
Step FB(uint16_t input, int32_t output) { return {input, output, false, kSsrcB}; }
Step DB(uint16_t input) { return {input, kNotSent, true, kSsrcB}; }

struct RewriteCase {
  std::string name;
  uint16_t first_output = 0;
  std::vector<Step> steps;
};

// Runs the steps; returns the number of vectors checked.
size_t run_steps(uint16_t first_output, const std::vector<Step>& steps) {
  SequenceRewriter rewriter(kLegSsrc, 90000, first_output, 0);
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& step = steps[i];
    const SourcePacket packet{step.ssrc, step.input, 0};
    if (step.drop) {
      rewriter.drop(packet, 0);
      continue;
    }
    const RewriteResult result = rewriter.rewrite(packet, 0);
    if (step.output == kNotSent) {
      EXPECT_FALSE(result.should_send())
          << "step " << i << " input " << step.input << " got " << result.header.sequence_number;
    } else {
      EXPECT_TRUE(result.should_send())
          << "step " << i << " input " << step.input << ": " << to_string(result.outcome);
      EXPECT_EQ(result.header.sequence_number, static_cast<uint16_t>(step.output))
          << "step " << i << " input " << step.input;
      EXPECT_EQ(result.header.ssrc, kLegSsrc);
    }
  }
  return steps.size();
}

class SequenceRewriterTable : public ::testing::TestWithParam<RewriteCase> {};

TEST_P(SequenceRewriterTable, MapsEachInput) {
  run_steps(GetParam().first_output, GetParam().steps);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SequenceRewriterTable,
    ::testing::Values(
        RewriteCase{"InOrder", 0, {F(0, 0), F(1, 1), F(2, 2), F(3, 3), F(4, 4)}},
        RewriteCase{"StartsAtFirstOutput", 100, {F(5000, 100), F(5001, 101), F(5002, 102)}},
        RewriteCase{"DropInOrder", 0, {F(0, 0), F(1, 1), D(2), F(3, 2), F(4, 3)}},
        RewriteCase{"ConsecutiveDrops", 0, {F(0, 0), D(1), D(2), D(3), F(4, 1), F(5, 2)}},
        RewriteCase{"DropFirst", 0, {D(10), F(11, 0), F(12, 1)}},
        RewriteCase{"DropEveryOther",
                    0,
                    {F(0, 0), D(1), F(2, 1), D(3), F(4, 2), D(5), F(6, 3), D(7), F(8, 4)}},
        RewriteCase{"LossKeepsGapAndLateFillsIt", 0, {F(0, 0), F(3, 3), F(1, 1), F(2, 2), F(4, 4)}},
        RewriteCase{"GapThenDrop", 0, {F(0, 0), F(3, 3), D(4), F(5, 4), F(1, 1), F(2, 2)}},
        RewriteCase{"ReorderAfterDrop", 0, {F(0, 0), D(1), F(3, 2), F(2, 1), F(4, 3)}},
        RewriteCase{
            "ReorderAfterTwoDrops", 0, {F(0, 0), D(1), D(2), F(5, 3), F(3, 1), F(4, 2), F(6, 4)}},
        RewriteCase{"LateDropKeepsNumberForFilling", 0, {F(0, 0), F(2, 2), D(1), F(3, 3), F(1, 1)}},
        RewriteCase{"LateDropNotFilledLeavesHole", 0, {F(0, 0), F(2, 2), D(1), F(3, 3), F(4, 4)}},
        RewriteCase{"DuplicatesMapToSameOutput", 0, {F(0, 0), F(1, 1), F(1, 1), F(0, 0), F(2, 2)}},
        RewriteCase{
            "DuplicateAfterDrops", 0, {F(0, 0), D(1), F(2, 1), F(2, 1), D(3), F(4, 2), F(2, 1)}},
        RewriteCase{"DroppedInputRepeatedIsNotSent", 0, {F(0, 0), D(1), X(1), F(2, 1), X(1)}},
        RewriteCase{
            "DropAfterForwardKeepsForwarded", 0, {F(0, 0), F(1, 1), D(1), F(1, 1), F(2, 2)}},
        RewriteCase{"InputWraps", 0, {F(65533, 0), F(65534, 1), F(65535, 2), F(0, 3), F(1, 4)}},
        RewriteCase{"DropAcrossInputWrap", 0, {F(65534, 0), D(65535), F(0, 1), D(1), F(2, 2)}},
        RewriteCase{"ReorderAcrossInputWrap", 0, {F(65534, 0), F(1, 3), F(65535, 1), F(0, 2)}},
        RewriteCase{"DropThenReorderAcrossWrap",
                    0,
                    {F(65533, 0), D(65534), F(1, 3), F(65535, 1), F(0, 2), F(2, 4)}},
        RewriteCase{"OutputWraps", 65534, {F(10, 65534), F(11, 65535), F(12, 0), F(13, 1)}},
        RewriteCase{"OutputWrapsWithDrop", 65535, {F(10, 65535), D(11), F(12, 0), F(13, 1)}},
        RewriteCase{"BothWrap", 65535, {F(65535, 65535), F(0, 0), D(1), F(2, 1), X(65534)}},
        RewriteCase{"LargeJumpKeepsLinearMapping",
                    0,
                    {F(0, 0), F(10000, 10000), F(10001, 10001), F(9999, 9999), X(8000)}},
        RewriteCase{"JumpBeyondWindowReservesOnlyWindow",
                    0,
                    {F(0, 0), F(5000, 5000), F(3977, 3977), X(3976), F(4999, 4999)}},
        RewriteCase{"JumpOfHalfRangeIsForward", 0, {F(0, 0), F(32768, 32768), F(32769, 32769)}},
        RewriteCase{"JumpOverHalfRangeIsOld", 0, {F(0, 0), X(32769), F(1, 1)}},
        // The window is the newest 1024 inputs: 2000 - 1023 is in, 2000 - 1024 is not.
        RewriteCase{"OlderThanWindowIsNotSent",
                    0,
                    {F(0, 0), F(2000, 2000), F(977, 977), X(976), X(0), F(2001, 2001)}},
        RewriteCase{"OlderThanFirstIsNotSent", 0, {F(100, 0), X(99), X(50), F(101, 1)}},
        RewriteCase{"SourceSwitchContinues",
                    0,
                    {F(0, 0), F(1, 1), FB(5000, 2), FB(5001, 3), FB(5003, 5), FB(5002, 4)}},
        RewriteCase{
            "SwitchAfterGapSkipsReservedNumbers", 0, {F(0, 0), F(3, 3), FB(700, 4), FB(701, 5)}},
        RewriteCase{"SwitchAfterDrop", 0, {F(0, 0), D(1), FB(9, 1), DB(10), FB(11, 2)}},
        RewriteCase{"SwitchBackIsAnotherSwitch",
                    0,
                    {F(0, 0), FB(60000, 1), F(1, 2), F(2, 3), FB(60001, 4)}},
        RewriteCase{
            "SwitchForgetsOldReorderWindow", 0, {F(0, 0), F(5, 5), FB(3, 6), FB(2, kNotSent)}}),
    [](const auto& info) { return info.param.name; });

// Long in-order runs across the wrap with a fixed drop pattern: the output
// must be contiguous, one number per forwarded packet.
class SequenceRewriterWrapSweep : public ::testing::TestWithParam<int> {};

TEST_P(SequenceRewriterWrapSweep, InOrderWithDropsIsContiguous) {
  const uint16_t start = static_cast<uint16_t>(65536 - GetParam());
  std::vector<Step> steps;
  int32_t next_output = 65530;
  for (int i = 0; i < 100; ++i) {
    const uint16_t input = static_cast<uint16_t>(start + i);
    if (i % 3 == 1 || i % 7 == 0) {
      steps.push_back(D(input));
    } else {
      steps.push_back(F(input, static_cast<uint16_t>(next_output++)));
    }
  }
  EXPECT_EQ(run_steps(65530, steps), 100u);
}

INSTANTIATE_TEST_SUITE_P(StartsBeforeWrap, SequenceRewriterWrapSweep, ::testing::Range(1, 41));

// Random reordering, loss, duplicates and drops against the properties the
// subscriber relies on: outputs are unique per input, ordered like the
// inputs, repeats keep their number, and in-order drops leave no hole.
TEST(SequenceRewriter, RandomisedReorderKeepsOrderAndUniqueness) {
  std::mt19937 rng(1234);
  SequenceRewriter rewriter(kLegSsrc, 90000, 65000, 0);
  std::map<int64_t, uint16_t> output_of;  // extended input -> output
  std::vector<int64_t> order;
  for (int64_t i = 0; i < 20000; ++i) order.push_back(i);
  // Local reordering by up to 20 positions.
  for (size_t i = 0; i + 1 < order.size(); ++i) {
    const size_t j = std::min(order.size() - 1, i + rng() % 20);
    if (rng() % 4 == 0) std::swap(order[i], order[j]);
  }
  const uint16_t first_input = 60000;
  for (const int64_t index : order) {
    if (rng() % 20 == 0) continue;  // lost
    const auto input = static_cast<uint16_t>(first_input + index);
    if (index % 11 == 5) {
      rewriter.drop({kSsrcA, input, 0}, 0);
      continue;
    }
    const RewriteResult result = rewriter.rewrite({kSsrcA, input, 0}, 0);
    if (!result.should_send()) continue;
    const auto [it, inserted] = output_of.emplace(index, result.header.sequence_number);
    if (!inserted) {
      EXPECT_EQ(it->second, result.header.sequence_number);
    }
    if (rng() % 10 == 0) {
      const RewriteResult repeat = rewriter.rewrite({kSsrcA, input, 0}, 0);
      EXPECT_EQ(repeat.outcome, RewriteOutcome::kRepeat);
      EXPECT_EQ(repeat.header, result.header);
    }
  }
  ASSERT_GT(output_of.size(), 15000u);
  // Ordered like the inputs, with at most the input gap between neighbours.
  int64_t previous_input = -1;
  int64_t previous_output = 0;
  int64_t unwrapped_output = 65000;
  for (const auto& [input, output] : output_of) {
    if (previous_input >= 0) {
      const auto delta = static_cast<uint16_t>(output - static_cast<uint16_t>(previous_output));
      EXPECT_GE(delta, 1) << "input " << input;
      EXPECT_LE(delta, input - previous_input) << "input " << input;
      unwrapped_output += delta;
    }
    previous_input = input;
    previous_output = output;
  }
  EXPECT_GT(unwrapped_output, 65535) << "the output should have wrapped";
}

TEST(SequenceRewriter, OutcomesSayWhy) {
  SequenceRewriter rewriter(kLegSsrc, 90000, 0, 0);
  EXPECT_EQ(rewriter.rewrite({kSsrcA, 10, 0}, 0).outcome, RewriteOutcome::kForward);
  EXPECT_EQ(rewriter.rewrite({kSsrcA, 10, 0}, 0).outcome, RewriteOutcome::kRepeat);
  rewriter.drop({kSsrcA, 11, 0}, 0);
  EXPECT_EQ(rewriter.rewrite({kSsrcA, 11, 0}, 0).outcome, RewriteOutcome::kDropped);
  EXPECT_EQ(rewriter.rewrite({kSsrcA, 9, 0}, 0).outcome, RewriteOutcome::kTooOld);
  EXPECT_EQ(to_string(RewriteOutcome::kTooOld), "older than the reorder window or the source");
}

TEST(SequenceRewriter, DropSaysWhetherTheInputTookANumber) {
  SequenceRewriter rewriter(kLegSsrc, 90000, 0, 0);
  EXPECT_TRUE(rewriter.drop({kSsrcA, 10, 0}, 0));  // first: no number used
  EXPECT_TRUE(rewriter.drop({kSsrcA, 10, 0}, 0));  // its repeat
  EXPECT_EQ(rewriter.rewrite({kSsrcA, 11, 0}, 0).header.sequence_number, 0);
  EXPECT_EQ(rewriter.rewrite({kSsrcA, 13, 0}, 0).header.sequence_number, 2);
  EXPECT_FALSE(rewriter.drop({kSsrcA, 12, 0}, 0));  // late: number 1 is reserved
  EXPECT_FALSE(rewriter.drop({kSsrcA, 11, 0}, 0));  // forwarded already
  EXPECT_FALSE(rewriter.drop({kSsrcA, 2, 0}, 0));   // too old
  const RewriteResult fill = rewriter.rewrite({kSsrcA, 12, 0}, 0);
  EXPECT_EQ(fill.outcome, RewriteOutcome::kForward);
  EXPECT_EQ(fill.header.sequence_number, 1);
}

TEST(SequenceRewriter, TimestampKeepsSourceSpacing) {
  SequenceRewriter rewriter(kLegSsrc, 90000, 0, 50000);
  EXPECT_EQ(rewriter.rewrite({kSsrcA, 1, 1000}, 0).header.timestamp, 50000u);
  EXPECT_EQ(rewriter.rewrite({kSsrcA, 2, 4000}, 33'333).header.timestamp, 53000u);
  EXPECT_EQ(rewriter.rewrite({kSsrcA, 3, 4000}, 33'400).header.timestamp, 53000u);
}

TEST(SequenceRewriter, SwitchAdvancesTimestampByWallClockGap) {
  SequenceRewriter rewriter(kLegSsrc, 90000, 0, 50000);
  rewriter.rewrite({kSsrcA, 1, 1000}, 0);
  rewriter.rewrite({kSsrcA, 2, 4000}, 33'333);  // newest output ts 53000 at 33.333 ms
  // 100 ms later at 90 kHz: 9000 ticks.
  const RewriteResult first_b = rewriter.rewrite({kSsrcB, 500, 777}, 133'333);
  EXPECT_EQ(first_b.header.timestamp, 62000u);
  EXPECT_EQ(first_b.header.sequence_number, 2);
  EXPECT_EQ(rewriter.rewrite({kSsrcB, 501, 3777}, 166'666).header.timestamp, 65000u);
  EXPECT_EQ(rewriter.source_switches(), 1u);
  EXPECT_EQ(rewriter.source_ssrc(), kSsrcB);
}

TEST(SequenceRewriter, SwitchWithoutElapsedTimeStillAdvancesOneTick) {
  SequenceRewriter rewriter(kLegSsrc, 48000, 0, 7);
  rewriter.rewrite({kSsrcA, 1, 123456}, 1000);
  EXPECT_EQ(rewriter.rewrite({kSsrcB, 1, 999}, 1000).header.timestamp, 8u);
}

TEST(SequenceRewriter, SwitchUsesNewestTimestampNotLatestPacket) {
  SequenceRewriter rewriter(kLegSsrc, 90000, 0, 0);
  rewriter.rewrite({kSsrcA, 1, 9000}, 100'000);   // output 0
  rewriter.rewrite({kSsrcA, 3, 18000}, 200'000);  // output 9000, newest
  rewriter.rewrite({kSsrcA, 2, 13500}, 300'000);  // late: older timestamp
  // 100 ms after the newest output timestamp was produced.
  EXPECT_EQ(rewriter.rewrite({kSsrcB, 1, 5}, 300'000).header.timestamp, 18000u);
}

TEST(SequenceRewriter, InputTimestampWraps) {
  SequenceRewriter rewriter(kLegSsrc, 90000, 0, 1000);
  EXPECT_EQ(rewriter.rewrite({kSsrcA, 1, 0xFFFFFF00u}, 0).header.timestamp, 1000u);
  EXPECT_EQ(rewriter.rewrite({kSsrcA, 2, 0x00000100u}, 0).header.timestamp, 1512u);
  EXPECT_EQ(rewriter.rewrite({kSsrcA, 3, 0xFFFFFFF0u}, 0).header.timestamp, 1240u);  // late
}

TEST(SequenceRewriter, OutputTimestampWraps) {
  SequenceRewriter rewriter(kLegSsrc, 90000, 0, 0xFFFFFFF0u);
  EXPECT_EQ(rewriter.rewrite({kSsrcA, 1, 0}, 0).header.timestamp, 0xFFFFFFF0u);
  EXPECT_EQ(rewriter.rewrite({kSsrcA, 2, 100}, 0).header.timestamp, 0x54u);
  // A switch measures from the unwrapped output timestamp.
  EXPECT_EQ(rewriter.rewrite({kSsrcB, 9, 42}, 1'000'000).header.timestamp, 0x54u + 90000u);
}

TEST(SequenceRewriter, RestartUnderSameSsrcResyncsAfterRunOfOldPackets) {
  SequenceRewriter rewriter(kLegSsrc, 90000, 0, 0);
  for (uint16_t i = 0; i <= 100; ++i)
    rewriter.rewrite({kSsrcA, static_cast<uint16_t>(40000 + i), 0}, 0);
  // The sender restarts at 10000, which unwraps to 30000 below the highest.
  for (int i = 0; i < SequenceRewriter::kTooOldInARowBeforeResync - 1; ++i) {
    EXPECT_EQ(rewriter.rewrite({kSsrcA, static_cast<uint16_t>(10000 + i), 0}, 0).outcome,
              RewriteOutcome::kTooOld);
  }
  const RewriteResult resync = rewriter.rewrite({kSsrcA, 10031, 0}, 0);
  EXPECT_EQ(resync.outcome, RewriteOutcome::kForward);
  EXPECT_EQ(resync.header.sequence_number, 101);
  EXPECT_EQ(rewriter.rewrite({kSsrcA, 10032, 0}, 0).header.sequence_number, 102);
}

// input_for_output answers a subscriber's NACK: which source packet was sent
// under the leg's number, or would have been had it not been lost upstream.
TEST(SequenceRewriter, InputForOutputFindsForwardedAndLostInputs) {
  SequenceRewriter rewriter(kLegSsrc, 90000, 65534, 0);
  EXPECT_FALSE(rewriter.input_for_output(65534)) << "nothing forwarded yet";
  rewriter.rewrite({kSsrcA, 100, 0}, 0);  // 65534
  rewriter.rewrite({kSsrcA, 101, 0}, 0);  // 65535
  rewriter.rewrite({kSsrcA, 104, 0}, 0);  // 2: 102 and 103 lost, 0 and 1 reserved
  rewriter.rewrite({kSsrcA, 102, 0}, 0);  // 0, late
  EXPECT_EQ(rewriter.input_for_output(65534), 100);
  EXPECT_EQ(rewriter.input_for_output(65535), 101);
  EXPECT_EQ(rewriter.input_for_output(0), 102);
  EXPECT_EQ(rewriter.input_for_output(1), 103) << "reserved for 103, lost upstream: ask the publisher";
  EXPECT_EQ(rewriter.input_for_output(2), 104);
  EXPECT_FALSE(rewriter.input_for_output(3)) << "not produced yet";
  EXPECT_FALSE(rewriter.input_for_output(65533)) << "before the first output";
}

TEST(SequenceRewriter, InputForOutputAfterDropsShiftTheOffset) {
  SequenceRewriter rewriter(kLegSsrc, 90000, 0, 0);
  rewriter.rewrite({kSsrcA, 10, 0}, 0);  // 0
  rewriter.drop({kSsrcA, 11, 0}, 0);
  rewriter.rewrite({kSsrcA, 12, 0}, 0);  // 1
  rewriter.drop({kSsrcA, 13, 0}, 0);
  rewriter.drop({kSsrcA, 14, 0}, 0);
  rewriter.rewrite({kSsrcA, 15, 0}, 0);  // 2
  rewriter.drop({kSsrcA, 16, 0}, 0);     // the newest input is a dropped one
  rewriter.rewrite({kSsrcA, 19, 0}, 0);  // 5: 17 and 18 lost, 3 and 4 reserved
  EXPECT_EQ(rewriter.input_for_output(0), 10);
  EXPECT_EQ(rewriter.input_for_output(1), 12);
  EXPECT_EQ(rewriter.input_for_output(2), 15);
  EXPECT_EQ(rewriter.input_for_output(3), 17);
  EXPECT_EQ(rewriter.input_for_output(4), 18);
  EXPECT_EQ(rewriter.input_for_output(5), 19);
  EXPECT_FALSE(rewriter.input_for_output(6));
}

TEST(SequenceRewriter, InputForOutputAcrossInputWrap) {
  SequenceRewriter rewriter(kLegSsrc, 90000, 300, 0);
  for (uint16_t i = 0; i < 6; ++i) rewriter.rewrite({kSsrcA, static_cast<uint16_t>(65533 + i), 0}, 0);
  for (uint16_t i = 0; i < 6; ++i) {
    EXPECT_EQ(rewriter.input_for_output(static_cast<uint16_t>(300 + i)), static_cast<uint16_t>(65533 + i));
  }
}

TEST(SequenceRewriter, InputForOutputForgetsThePreviousSource) {
  SequenceRewriter rewriter(kLegSsrc, 90000, 0, 0);
  rewriter.rewrite({kSsrcA, 10, 0}, 0);  // 0
  rewriter.rewrite({kSsrcA, 11, 0}, 0);  // 1
  rewriter.rewrite({kSsrcB, 900, 0}, 0);  // 2
  rewriter.rewrite({kSsrcB, 901, 0}, 0);  // 3
  EXPECT_FALSE(rewriter.input_for_output(0)) << "source A's packets are no longer answerable";
  EXPECT_FALSE(rewriter.input_for_output(1));
  EXPECT_EQ(rewriter.input_for_output(2), 900);
  EXPECT_EQ(rewriter.input_for_output(3), 901);
}

TEST(SequenceRewriter, InputForOutputWithinTheWindowOnly) {
  SequenceRewriter rewriter(kLegSsrc, 90000, 0, 0);
  const auto window = static_cast<uint16_t>(SequenceRewriter::kWindow);
  for (uint16_t i = 0; i <= window; ++i) rewriter.rewrite({kSsrcA, static_cast<uint16_t>(5000 + i), 0}, 0);
  EXPECT_FALSE(rewriter.input_for_output(0)) << "overwritten by the newest input";
  EXPECT_EQ(rewriter.input_for_output(1), 5001);
  EXPECT_EQ(rewriter.input_for_output(window), 5000 + window);
}

// Against a straightforward model: every forwarded (output -> input) pair
// within the window is found, through reordering, loss and drops.
TEST(SequenceRewriter, InputForOutputMatchesEveryForwardedPair) {
  std::mt19937 rng(99);
  SequenceRewriter rewriter(kLegSsrc, 90000, 65000, 0);
  std::map<uint16_t, uint16_t> input_of;  // output -> input, the newest window only
  std::vector<uint16_t> recent_outputs;
  uint16_t input = 64000;
  for (int i = 0; i < 5000; ++i, ++input) {
    uint16_t sent = input;
    if (rng() % 8 == 0) sent = static_cast<uint16_t>(input - 1 - rng() % 10);  // a late one
    if (rng() % 15 == 0) {
      rewriter.drop({kSsrcA, sent, 0}, 0);
      continue;
    }
    const RewriteResult result = rewriter.rewrite({kSsrcA, sent, 0}, 0);
    if (result.outcome != RewriteOutcome::kForward) continue;
    input_of[result.header.sequence_number] = sent;
    recent_outputs.push_back(result.header.sequence_number);
  }
  // Check the outputs of the last 500 forwarded inputs (well inside the window).
  static_assert(SequenceRewriter::kWindow >= 1024);
  for (size_t k = recent_outputs.size() - 500; k < recent_outputs.size(); ++k) {
    const uint16_t output = recent_outputs[k];
    EXPECT_EQ(rewriter.input_for_output(output), input_of[output]) << "output " << output;
  }
}

TEST(SequenceRewriter, NewestOutputTimestampAndWhen) {
  SequenceRewriter rewriter(kLegSsrc, 90000, 0, 0xFFFFFFF0u);
  EXPECT_FALSE(rewriter.newest_output_timestamp());
  rewriter.rewrite({kSsrcA, 1, 1000}, 10);
  EXPECT_EQ(rewriter.newest_output_timestamp(), int64_t{0xFFFFFFF0u});
  EXPECT_EQ(rewriter.newest_output_time_us(), 10);
  rewriter.rewrite({kSsrcA, 3, 1100}, 20);
  // Extended past 32 bits: the caller truncates, and can subtract safely.
  EXPECT_EQ(rewriter.newest_output_timestamp(), int64_t{0xFFFFFFF0u} + 100);
  EXPECT_EQ(rewriter.newest_output_time_us(), 20);
  rewriter.rewrite({kSsrcA, 2, 1050}, 30);  // late, older timestamp
  rewriter.rewrite({kSsrcA, 3, 1100}, 40);  // repeat, same timestamp
  rewriter.drop({kSsrcA, 4, 5000}, 50);     // dropped: never sent, never newest
  EXPECT_EQ(rewriter.newest_output_timestamp(), int64_t{0xFFFFFFF0u} + 100);
  EXPECT_EQ(rewriter.newest_output_time_us(), 20);
}

TEST(SequenceRewriter, ApplyWritesHeaderFields) {
  std::array<uint8_t, 20> packet{};
  RtpHeaderSpec spec;
  spec.marker = true;
  spec.payload_type = 96;
  spec.ssrc = 3;
  const std::array<uint8_t, 8> payload{1, 2, 3, 4, 5, 6, 7, 8};
  ASSERT_TRUE(serialize_rtp_packet(spec, payload, packet).ok());
  ASSERT_TRUE(apply_rewrite(packet, {0xCAFEBABE, 0xBEEF, 0x01020304}));
  const auto view = parse_rtp_packet(packet);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->ssrc, 0xCAFEBABEu);
  EXPECT_EQ(view->sequence_number, 0xBEEF);
  EXPECT_EQ(view->timestamp, 0x01020304u);
  EXPECT_TRUE(view->marker);
  EXPECT_EQ(view->payload_type, 96);
  std::array<uint8_t, 11> short_packet{};
  EXPECT_FALSE(apply_rewrite(short_packet, {1, 2, 3}));
}

// A leg paused for last-N sees its source again thousands of packets later:
// the leg's numbers go on from the last one sent, and its time by the wall
// clock, as after a switch; without restart() the jump would be a hole.
TEST(SequenceRewriter, RestartAfterPauseContinuesWithoutHole) {
  SequenceRewriter rewriter(kLegSsrc, 90000, 100, 0);
  rewriter.rewrite({kSsrcA, 1, 9000}, 0);
  rewriter.rewrite({kSsrcA, 2, 12000}, 33'333);  // output 101, newest ts 3000
  rewriter.restart();
  // 2 s later the source is at 62 (60 packets nobody forwarded).
  const RewriteResult resumed = rewriter.rewrite({kSsrcA, 62, 192000}, 2'033'333);
  ASSERT_EQ(resumed.outcome, RewriteOutcome::kForward);
  EXPECT_EQ(resumed.header.sequence_number, 102);
  EXPECT_EQ(resumed.header.timestamp, 3000u + 180000u);
  EXPECT_EQ(rewriter.rewrite({kSsrcA, 63, 195000}, 2'066'666).header.sequence_number, 103);
  // A packet from before the pause is older than the new source: not sent.
  EXPECT_FALSE(rewriter.rewrite({kSsrcA, 3, 15000}, 2'070'000).should_send());
  EXPECT_EQ(rewriter.source_switches(), 1u);
  // Only the next packet restarts: the one after is in order.
  EXPECT_EQ(rewriter.rewrite({kSsrcA, 64, 198000}, 2'100'000).header.sequence_number, 104);
}

TEST(SequenceRewriter, RestartBeforeFirstPacketIsHarmless) {
  SequenceRewriter rewriter(kLegSsrc, 48000, 7, 0);
  rewriter.restart();
  EXPECT_EQ(rewriter.rewrite({kSsrcA, 500, 960}, 0).header.sequence_number, 7);
  EXPECT_EQ(rewriter.rewrite({kSsrcA, 501, 1920}, 20'000).header.sequence_number, 8);
  EXPECT_EQ(rewriter.source_switches(), 0u);
}

}  // namespace
}  // namespace partyline::rtp
