// The small pieces: Opus TOC durations and OpusHead,
// stream announcements through a ring slot, and the SPSC ring itself.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "media_item.hpp"
#include "opus_packet.hpp"
#include "spsc_ring.hpp"

namespace recorder {
namespace {

TEST(OpusPacketTest, DurationFromTheToc) {
  struct Case {
    uint8_t toc;
    uint8_t second;
    uint32_t samples;
  };
  const std::vector<Case> cases = {
      {0 << 3, 0, 480},          // SILK NB 10 ms
      {1 << 3, 0, 960},          // SILK NB 20 ms
      {3 << 3, 0, 2880},         // SILK NB 60 ms
      {13 << 3, 0, 960},         // hybrid SWB 20 ms
      {16 << 3, 0, 120},         // CELT NB 2.5 ms
      {31 << 3, 0, 960},         // CELT FB 20 ms
      {(31 << 3) | 1, 0, 1920},  // two frames
      {(31 << 3) | 2, 0, 1920},  // two frames, different sizes
      {(16 << 3) | 3, 5, 600},   // code 3: five 2.5 ms frames
  };
  for (const Case& c : cases) {
    const std::vector<uint8_t> packet = {c.toc, c.second, 0};
    EXPECT_EQ(opus_samples_48k(packet), c.samples) << int(c.toc);
  }
  EXPECT_EQ(opus_samples_48k({}), 0u);
}

TEST(OpusPacketTest, OpusHeadLayout) {
  const auto head = opus_head(312);
  const std::vector<uint8_t> expected = {'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, 2, 0x38, 0x01,
                                         0x80, 0xbb, 0x00, 0x00, 0, 0, 0};
  EXPECT_EQ(std::vector<uint8_t>(head.begin(), head.end()), expected);
}

TEST(MediaItemTest, AnnouncementRoundTrip) {
  MediaItem item;
  StreamAnnouncement announcement{true, "VP8", 90000, 96, "occupant-7", "Ann"};
  item.length = encode_announcement(announcement, item.data);
  const auto info = decode_announcement(42, {item.data.data(), item.length});
  ASSERT_TRUE(info);
  EXPECT_EQ(info->stream, 42u);
  EXPECT_TRUE(info->video);
  EXPECT_EQ(info->codec, "VP8");
  EXPECT_EQ(info->clock_rate, 90000u);
  EXPECT_EQ(info->payload_type, 96);
  EXPECT_EQ(info->publisher, "occupant-7");
  EXPECT_EQ(info->publisher_name, "Ann");
  EXPECT_FALSE(decode_announcement(1, {item.data.data(), static_cast<size_t>(item.length - 1)}));
}

TEST(MediaItemTest, LongStringsAreCut) {
  MediaItem item;
  const std::string long_name(400, 'x');
  item.length = encode_announcement({false, "opus", 48000, 111, long_name, long_name}, item.data);
  const auto info = decode_announcement(1, {item.data.data(), item.length});
  ASSERT_TRUE(info);
  EXPECT_EQ(info->publisher.size(), 255u);
}

TEST(SpscRingTest, FillsUpKeepsAReserveAndWraps) {
  SpscRing<int> ring(4);
  EXPECT_EQ(ring.front(), nullptr);
  for (int i = 0; i < 3; ++i) {
    int* slot = ring.claim(1);
    ASSERT_NE(slot, nullptr) << i;
    *slot = i;
    ring.publish();
  }
  EXPECT_EQ(ring.claim(1), nullptr);  // the last slot is the reserve
  int* last = ring.claim(0);
  ASSERT_NE(last, nullptr);
  *last = 3;
  ring.publish();
  EXPECT_EQ(ring.claim(0), nullptr);
  for (int round = 0; round < 10; ++round) {  // around and around
    ASSERT_EQ(*ring.front(), round);
    ring.pop();
    int* slot = ring.claim(0);
    ASSERT_NE(slot, nullptr);
    *slot = round + 4;
    ring.publish();
  }
}

TEST(SpscRingTest, TwoThreadsPassEveryItemInOrder) {
  SpscRing<uint64_t> ring(1024);
  constexpr uint64_t kItems = 100000;  // about 100 times around the ring
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::thread producer([&] {
    for (uint64_t i = 0; i < kItems && std::chrono::steady_clock::now() < deadline;) {
      if (uint64_t* slot = ring.claim()) {
        *slot = i++;
        ring.publish();
      } else {
        std::this_thread::yield();  // full: on a busy machine the consumer may need this core
      }
    }
  });
  uint64_t expected = 0;
  while (expected < kItems && std::chrono::steady_clock::now() < deadline) {
    if (const uint64_t* item = ring.front()) {
      ASSERT_EQ(*item, expected);
      ++expected;
      ring.pop();
    } else {
      std::this_thread::yield();
    }
  }
  producer.join();
  EXPECT_EQ(expected, kItems);
}

}  // namespace
}  // namespace recorder
