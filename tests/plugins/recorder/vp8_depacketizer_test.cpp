// The VP8 payload descriptor (RFC 7741 section 4.2) and frame assembly.
#include <gtest/gtest.h>

#include <vector>

#include "vp8_depacketizer.hpp"

namespace recorder {
namespace {

struct DescriptorCase {
  std::vector<uint8_t> payload;
  bool valid;
  size_t header_size;
  bool frame_start;
};

TEST(Vp8DescriptorTest, Table) {
  const std::vector<DescriptorCase> cases = {
      {{0x10, 0xaa}, true, 1, true},                    // S=1, PID 0, no extensions
      {{0x00, 0xaa}, true, 1, false},                   // continuation
      {{0x11, 0xaa}, true, 1, false},                   // S=1 but PartID 1: not a frame start
      {{0x90, 0x80, 0x12, 0xaa}, true, 3, true},        // X, I with a 7-bit picture id
      {{0x90, 0x80, 0x92, 0x34, 0xaa}, true, 4, true},  // I with M: 15-bit picture id
      {{0x90, 0x40, 0x05, 0xaa}, true, 3, true},        // L: TL0PICIDX
      {{0x90, 0x20, 0x40, 0xaa}, true, 3, true},        // T: TID/Y/KEYIDX
      {{0x90, 0x10, 0x03, 0xaa}, true, 3, true},        // K alone takes the same byte
      {{0x90, 0xf0, 0x92, 0x34, 0x05, 0x40, 0xaa}, true, 6, true},  // I(M) L T K
      {{0x90, 0xf0, 0x92, 0x34, 0x05, 0x40}, true, 6, true},        // no payload after: still valid
      {{}, false, 0, false},                            // empty
      {{0x90}, false, 0, false},                        // X without its byte
      {{0x90, 0x80}, false, 0, false},                  // I without the picture id
      {{0x90, 0x80, 0x92}, false, 0, false},            // 15-bit id cut short
      {{0x90, 0x60, 0x05}, false, 0, false},            // L and T, one byte missing
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto parsed = parse_vp8_descriptor(cases[i].payload);
    ASSERT_EQ(parsed.has_value(), cases[i].valid) << "case " << i;
    if (!parsed) continue;
    EXPECT_EQ(parsed->header_size, cases[i].header_size) << "case " << i;
    EXPECT_EQ(parsed->frame_start, cases[i].frame_start) << "case " << i;
  }
}

// A keyframe's first bytes: frame tag with P=0, start code, 320x240.
const std::vector<uint8_t> kKeyframeStart = {0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00};
const std::vector<uint8_t> kInterStart = {0x10, 0x01, 0x00, 0x00, 0x77};

std::vector<uint8_t> continuation(uint8_t byte) { return {0x00, byte, byte}; }

TEST(Vp8DepacketizerTest, ASinglePacketKeyframeWithItsSize) {
  Vp8Depacketizer depacketizer;
  const auto frame = depacketizer.push(kKeyframeStart, 1000, true);
  ASSERT_TRUE(frame);
  EXPECT_TRUE(frame->keyframe);
  EXPECT_EQ(frame->width, 320);
  EXPECT_EQ(frame->height, 240);
  EXPECT_EQ(frame->timestamp, 1000u);
  EXPECT_EQ(frame->data.size(), kKeyframeStart.size() - 1);
}

TEST(Vp8DepacketizerTest, PacketsAreJoinedUntilTheMarker) {
  Vp8Depacketizer depacketizer;
  EXPECT_FALSE(depacketizer.push(kInterStart, 5, false));
  EXPECT_FALSE(depacketizer.push(continuation(1), 5, false));
  const auto frame = depacketizer.push(continuation(2), 5, true);
  ASSERT_TRUE(frame);
  EXPECT_FALSE(frame->keyframe);
  EXPECT_EQ(frame->data.size(), 4u + 2 + 2);
  EXPECT_EQ(frame->data.back(), 2);
}

TEST(Vp8DepacketizerTest, AFrameThatLostAPacketIsDropped) {
  Vp8Depacketizer depacketizer;
  depacketizer.push(kInterStart, 5, false);
  depacketizer.lost();
  EXPECT_FALSE(depacketizer.push(continuation(2), 5, true));
  EXPECT_EQ(depacketizer.dropped_frames(), 1u);
  EXPECT_TRUE(depacketizer.push(kInterStart, 6, true));  // the next one is whole again
  EXPECT_EQ(depacketizer.frames(), 1u);
}

TEST(Vp8DepacketizerTest, AFrameWhoseStartWasLostIsSkipped) {
  Vp8Depacketizer depacketizer;
  depacketizer.lost();
  EXPECT_FALSE(depacketizer.push(continuation(1), 5, false));
  EXPECT_FALSE(depacketizer.push(continuation(2), 5, true));
  EXPECT_EQ(depacketizer.dropped_frames(), 1u);
  EXPECT_TRUE(depacketizer.push(kKeyframeStart, 6, true));
}

TEST(Vp8DepacketizerTest, AFrameWhoseMarkerNeverCameIsDroppedAtTheNextStart) {
  Vp8Depacketizer depacketizer;
  depacketizer.push(kInterStart, 5, false);
  const auto frame = depacketizer.push(kInterStart, 6, true);
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->timestamp, 6u);
  EXPECT_EQ(depacketizer.dropped_frames(), 1u);
}

TEST(Vp8DepacketizerTest, AnotherTimestampWithoutAStartBreaksTheFrame) {
  Vp8Depacketizer depacketizer;
  depacketizer.push(kInterStart, 5, false);
  EXPECT_FALSE(depacketizer.push(continuation(1), 6, true));
  EXPECT_EQ(depacketizer.dropped_frames(), 1u);
}

TEST(Vp8DepacketizerTest, AMalformedDescriptorCountsAsALoss) {
  Vp8Depacketizer depacketizer;
  depacketizer.push(kInterStart, 5, false);
  EXPECT_FALSE(depacketizer.push(std::vector<uint8_t>{0x90}, 5, false));
  EXPECT_FALSE(depacketizer.push(continuation(1), 5, true));
  EXPECT_EQ(depacketizer.dropped_frames(), 1u);
}

}  // namespace
}  // namespace recorder
