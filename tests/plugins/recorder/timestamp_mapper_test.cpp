#include <gtest/gtest.h>

#include "timestamp_mapper.hpp"

namespace recorder {
namespace {

using namespace std::chrono_literals;

TEST(TimestampMapperTest, StartsAtTheFirstArrivalAfterTheOrigin) {
  TimestampMapper video(90000);
  const Micros origin = 5s;
  EXPECT_EQ(video.pts_ms(1000, 5s + 250ms, origin), 250);
  EXPECT_EQ(video.pts_ms(1000 + 3000, 5s + 400ms, origin), 250 + 33);  // the RTP clock rules, not the arrival
  EXPECT_EQ(video.pts_ms(1000 + 90000, 9s, origin), 250 + 1000);
}

TEST(TimestampMapperTest, OpusAt48kHz) {
  TimestampMapper audio(48000);
  EXPECT_EQ(audio.pts_ms(0, 0ms, 0ms), 0);
  EXPECT_EQ(audio.pts_ms(960, 0ms, 0ms), 20);
  EXPECT_EQ(audio.pts_ms(48000 * 3, 0ms, 0ms), 3000);
}

TEST(TimestampMapperTest, UnwrapsThe32BitWrap) {
  TimestampMapper video(90000);
  EXPECT_EQ(video.pts_ms(0xffffffffu - 8999, 0ms, 0ms), 0);
  EXPECT_EQ(video.pts_ms(0xffffffffu, 0ms, 0ms), 99);  // 8999 ticks
  EXPECT_EQ(video.pts_ms(81000, 0ms, 0ms), 1000);       // 90000 ticks after the first, across the wrap
  EXPECT_EQ(video.unwrap(81000 + 90000), 180000);
}

TEST(TimestampMapperTest, StaysStrictlyIncreasing) {
  TimestampMapper video(90000);
  EXPECT_EQ(video.pts_ms(9000, 0ms, 0ms), 0);
  EXPECT_EQ(video.pts_ms(9000, 0ms, 0ms), 1);   // the same timestamp again
  EXPECT_EQ(video.pts_ms(9045, 0ms, 0ms), 2);   // 0.5 ms later: rounds onto 0, moved on
  EXPECT_EQ(video.pts_ms(8000, 0ms, 0ms), 3);   // a step back
  EXPECT_EQ(video.pts_ms(18000, 0ms, 0ms), 100);
}

TEST(TimestampMapperTest, NeverBeforeTheOrigin) {
  TimestampMapper audio(48000);
  EXPECT_EQ(audio.pts_ms(0, 1s, 2s), 0);  // arrived before the origin: clamped
  EXPECT_EQ(audio.pts_ms(960, 1s, 2s), 1);
}

}  // namespace
}  // namespace recorder
