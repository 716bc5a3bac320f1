// ReorderBuffer in virtual time: what comes out, in which order, when a gap
// is given up, and which sequence numbers are reported for a NACK.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "reorder_buffer.hpp"

namespace recorder {
namespace {

using namespace std::chrono_literals;

// Records the output as text: "p<seq16>" for a packet, "L<seq16>x<count>" for a loss.
class Collect : public ReorderSink {
 public:
  void on_packet(uint64_t sequence, std::span<const uint8_t> packet, Micros) override {
    out.push_back("p" + std::to_string(sequence & 0xffff));
    EXPECT_EQ(packet.size(), 1u);
    EXPECT_EQ(packet[0], static_cast<uint8_t>(sequence));
  }
  void on_lost(uint64_t first, uint64_t count) override {
    out.push_back("L" + std::to_string(first & 0xffff) + "x" + std::to_string(count));
  }
  std::vector<std::string> out;
};

struct Step {
  int sequence;  // -1: only advance the clock
  int at_ms;
  std::vector<std::string> expected;  // delivered by this step
  ReorderBuffer::Insert insert = ReorderBuffer::Insert::kAccepted;
};

void play(const std::vector<Step>& steps, size_t capacity = 64) {
  ReorderBuffer buffer(200ms, capacity);
  Collect sink;
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& step = steps[i];
    sink.out.clear();
    const Micros now = std::chrono::milliseconds(step.at_ms);
    if (step.sequence < 0) {
      buffer.advance(now, sink);
    } else {
      const uint8_t byte = static_cast<uint8_t>(step.sequence);
      EXPECT_EQ(buffer.insert(static_cast<uint16_t>(step.sequence), {&byte, 1}, now, sink), step.insert) << "step " << i;
    }
    EXPECT_EQ(sink.out, step.expected) << "step " << i;
  }
}

TEST(ReorderBufferTest, InOrderPacketsPassStraightThrough) {
  play({{10, 0, {"p10"}}, {11, 20, {"p11"}}, {12, 40, {"p12"}}});
}

TEST(ReorderBufferTest, AReorderedPacketIsWaitedForAndDeliveredInOrder) {
  play({{10, 0, {"p10"}}, {12, 20, {}}, {13, 30, {}}, {11, 50, {"p11", "p12", "p13"}}});
}

TEST(ReorderBufferTest, AGapIsGivenUpAfterTheWindowByPacketArrival) {
  play({{10, 0, {"p10"}}, {12, 20, {}}, {13, 219, {}}, {14, 220, {"L11x1", "p12", "p13", "p14"}}});
}

TEST(ReorderBufferTest, AGapIsGivenUpByAdvanceWithoutPackets) {
  play({{10, 0, {"p10"}}, {13, 20, {}}, {-1, 100, {}}, {-1, 220, {"L11x2", "p13"}}});
}

TEST(ReorderBufferTest, DuplicatesAndLatePacketsAreRefused) {
  play({{10, 0, {"p10"}},
        {10, 5, {}, ReorderBuffer::Insert::kLate},
        {12, 10, {}},
        {12, 15, {}, ReorderBuffer::Insert::kDuplicate},
        {-1, 300, {"L11x1", "p12"}},
        {11, 310, {}, ReorderBuffer::Insert::kLate}});
}

TEST(ReorderBufferTest, SequenceNumbersWrap) {
  play({{65534, 0, {"p65534"}}, {65535, 10, {"p65535"}}, {1, 20, {}}, {0, 30, {"p0", "p1"}}, {2, 40, {"p2"}}});
}

TEST(ReorderBufferTest, AJumpBeyondTheSlotsForcesTheOldestOut) {
  // Capacity 8: 20 cannot be held with 11 still missing.
  play({{10, 0, {"p10"}}, {12, 10, {}}, {20, 20, {"L11x1", "p12"}}, {-1, 300, {"L13x7", "p20"}}}, 8);
}

TEST(ReorderBufferTest, AHugeJumpIsOneLoss) {
  play({{10, 0, {"p10"}}, {5000, 10, {"L11x4926"}}, {-1, 300, {"L4937x63", "p5000"}}}, 64);
}

TEST(ReorderBufferTest, FlushDeliversEverythingHeld) {
  ReorderBuffer buffer(200ms, 64);
  Collect sink;
  uint8_t bytes[] = {1, 3, 4};
  buffer.insert(1, {&bytes[0], 1}, 0ms, sink);
  buffer.insert(3, {&bytes[1], 1}, 0ms, sink);
  buffer.insert(4, {&bytes[2], 1}, 0ms, sink);
  sink.out.clear();
  buffer.flush(sink);
  EXPECT_EQ(sink.out, (std::vector<std::string>{"L2x1", "p3", "p4"}));
}

TEST(ReorderBufferTest, MissingSequenceNumbersAreReportedOnceForANack) {
  ReorderBuffer buffer(200ms, 64);
  Collect sink;
  uint8_t byte = 100;
  buffer.insert(100, {&byte, 1}, 0ms, sink);
  EXPECT_TRUE(buffer.take_missing().empty());
  buffer.insert(104, {&byte, 1}, 0ms, sink);
  EXPECT_EQ(buffer.take_missing(), (std::vector<uint16_t>{101, 102, 103}));
  byte = 102;
  buffer.insert(102, {&byte, 1}, 0ms, sink);  // a retransmission: no new gap
  buffer.insert(106, {&byte, 1}, 0ms, sink);
  EXPECT_EQ(buffer.take_missing(), (std::vector<uint16_t>{105}));
  EXPECT_TRUE(buffer.take_missing().empty());
}

TEST(ReorderBufferTest, ALongGapIsNackedOnlyAtItsStart) {
  ReorderBuffer buffer(200ms, 512);
  Collect sink;
  uint8_t byte = 0;
  buffer.insert(0, {&byte, 1}, 0ms, sink);
  buffer.insert(301, {&byte, 1}, 0ms, sink);
  const auto missing = buffer.take_missing();
  ASSERT_EQ(missing.size(), ReorderBuffer::kMaxNackPerGap);
  EXPECT_EQ(missing.front(), 1);
}

}  // namespace
}  // namespace recorder
