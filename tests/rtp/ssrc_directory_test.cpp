#include "rtp/forward/ssrc_directory.hpp"

#include <gtest/gtest.h>

namespace partyline::rtp {
namespace {

constexpr uint8_t kOpus = 111, kVp8 = 96, kVp8Rtx = 97;

SsrcDirectory audio_and_video(std::optional<uint32_t> video_ssrc) {
  SsrcDirectory directory;
  directory.add({{kOpus}, std::nullopt, 0x1111, std::nullopt});
  directory.add({{kVp8}, kVp8Rtx, video_ssrc, std::nullopt});
  return directory;
}

TEST(SsrcDirectoryTest, KnownSsrcsAreFoundWhateverThePayloadType) {
  SsrcDirectory directory = audio_and_video(0x2222);
  auto audio = directory.match(0x1111, 0);
  ASSERT_TRUE(audio);
  EXPECT_EQ(audio->index, 0u);
  EXPECT_FALSE(audio->rtx);
  EXPECT_FALSE(audio->learned);
  EXPECT_EQ(directory.match(0x2222, kVp8)->index, 1u);
  EXPECT_FALSE(directory.match(0x3333, 45));  // no m-line has payload type 45
}

TEST(SsrcDirectoryTest, UnannouncedSsrcsAreLearnedOnceByPayloadType) {
  SsrcDirectory directory = audio_and_video(std::nullopt);
  // RTX cannot be learned before the media SSRC it repairs.
  EXPECT_FALSE(directory.match(0x5555, kVp8Rtx));
  auto video = directory.match(0x4444, kVp8);
  ASSERT_TRUE(video);
  EXPECT_EQ(video->index, 1u);
  EXPECT_TRUE(video->learned);
  EXPECT_EQ(directory[1].ssrc, 0x4444u);
  EXPECT_FALSE(directory.match(0x4445, kVp8));  // the m-line's SSRC is taken
  auto rtx = directory.match(0x5555, kVp8Rtx);
  ASSERT_TRUE(rtx);
  EXPECT_TRUE(rtx->rtx && rtx->learned);
  EXPECT_FALSE(directory.match(0x4444, kVp8)->learned);
  // find() never learns.
  EXPECT_FALSE(directory.find(0x6666));
  EXPECT_TRUE(directory.find(0x5555)->rtx);
}

// Simulcast layers share the m-line's payload types: each learns its SSRC
// from the rid a packet carries, its RTX SSRC from the repaired rid, and a
// packet without them teaches no layer (it would be a guess).
TEST(SsrcDirectoryTest, SimulcastLayersAreLearnedByRidOnly) {
  SsrcDirectory directory;
  for (const char* rid : {"q", "h", "f"}) directory.add({{kVp8}, kVp8Rtx, std::nullopt, std::nullopt, rid});
  EXPECT_FALSE(directory.match(0x100, kVp8)) << "no rid: no layer";
  auto high = directory.match(0x300, kVp8, "f");
  ASSERT_TRUE(high);
  EXPECT_EQ(high->index, 2u);
  EXPECT_TRUE(high->learned);
  EXPECT_EQ(directory.match(0x300, kVp8)->index, 2u) << "known now, with or without the rid";
  EXPECT_FALSE(directory.match(0x301, kVp8, "x")) << "no such rid";
  EXPECT_FALSE(directory.match(0x301, kVp8, "f")) << "the layer's SSRC is taken";
  EXPECT_FALSE(directory.match(0x110, kVp8Rtx, "", "q")) << "RTX before its layer's SSRC";
  auto rtx = directory.match(0x310, kVp8Rtx, "", "f");
  ASSERT_TRUE(rtx);
  EXPECT_EQ(rtx->index, 2u);
  EXPECT_TRUE(rtx->rtx);
  EXPECT_EQ(directory[2].rtx_ssrc, 0x310u);
  EXPECT_EQ(directory.match(0x100, kVp8, "q")->index, 0u);
}

}  // namespace
}  // namespace partyline::rtp
