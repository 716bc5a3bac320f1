#include "rtp/rtcp/nack_generator.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <vector>

namespace partyline::rtp {
namespace {

constexpr int64_t kMs = 1000;
using Seqs = std::vector<uint16_t>;

Seqs poll_all(NackGenerator& generator, int64_t now_us) {
  std::array<uint16_t, 1024> out{};
  const size_t count = generator.poll(now_us, out);
  return Seqs(out.begin(), out.begin() + static_cast<ptrdiff_t>(count));
}

void receive(NackGenerator& generator, std::initializer_list<uint16_t> seqs, int64_t now_us) {
  for (const uint16_t seq : seqs) generator.on_packet(seq, now_us);
}

TEST(NackGenerator, InOrderProducesNothing) {
  NackGenerator generator;
  receive(generator, {10, 11, 12, 13}, 0);
  EXPECT_TRUE(poll_all(generator, 0).empty());
  EXPECT_FALSE(generator.next_wakeup());
}

TEST(NackGenerator, GapIsNackedAtOnce) {
  NackGenerator generator;
  receive(generator, {1, 2, 5}, 0);
  EXPECT_EQ(generator.next_wakeup(), 0);
  EXPECT_EQ(poll_all(generator, 0), (Seqs{3, 4}));
  EXPECT_TRUE(generator.is_missing(3));
  EXPECT_FALSE(generator.is_missing(5));
}

TEST(NackGenerator, ArrivalsAreClassified) {
  NackGenerator generator;
  EXPECT_EQ(generator.on_packet(1, 0), PacketArrival::kNew);
  EXPECT_EQ(generator.on_packet(4, 0), PacketArrival::kNew);
  EXPECT_EQ(generator.on_packet(2, 0), PacketArrival::kRecovered);
  EXPECT_EQ(generator.on_packet(2, 0), PacketArrival::kIgnored);
  EXPECT_EQ(generator.on_packet(4, 0), PacketArrival::kIgnored);
  EXPECT_EQ(generator.on_packet(0, 0), PacketArrival::kIgnored);  // older than tracked
  EXPECT_EQ(poll_all(generator, 0), (Seqs{3}));
  EXPECT_EQ(generator.stats().recovered, 1u);
}

TEST(NackGenerator, LateArrivalStopsRetries) {
  NackGenerator generator;
  receive(generator, {1, 4}, 0);
  EXPECT_EQ(poll_all(generator, 0), (Seqs{2, 3}));
  generator.on_packet(3, 30 * kMs);
  EXPECT_EQ(poll_all(generator, 100 * kMs), (Seqs{2}));
  EXPECT_EQ(generator.missing_count(), 1u);
}

TEST(NackGenerator, RetriesAreSpacedByRtt) {
  NackGenerator generator;
  generator.set_rtt(100 * kMs);
  receive(generator, {1, 3}, 0);
  EXPECT_EQ(poll_all(generator, 0), (Seqs{2}));
  EXPECT_TRUE(poll_all(generator, 50 * kMs).empty());
  EXPECT_EQ(generator.next_wakeup(), 100 * kMs);
  EXPECT_EQ(poll_all(generator, 100 * kMs), (Seqs{2}));
  EXPECT_EQ(generator.next_wakeup(), 200 * kMs);
}

TEST(NackGenerator, RetryIntervalHasAFloor) {
  NackGenerator generator({.min_retry_interval_us = 20 * kMs});
  generator.set_rtt(1 * kMs);
  receive(generator, {1, 3}, 0);
  poll_all(generator, 0);
  EXPECT_EQ(generator.next_wakeup(), 20 * kMs);
}

TEST(NackGenerator, ReorderDelayHoldsFirstNack) {
  NackGenerator generator({.reorder_delay_us = 5 * kMs});
  receive(generator, {1, 3}, 0);
  EXPECT_TRUE(poll_all(generator, 4 * kMs).empty());
  EXPECT_EQ(generator.next_wakeup(), 5 * kMs);
  generator.on_packet(2, 4 * kMs);  // only reordered
  EXPECT_FALSE(generator.next_wakeup());
  receive(generator, {5}, 10 * kMs);
  EXPECT_EQ(poll_all(generator, 15 * kMs), (Seqs{4}));
}

TEST(NackGenerator, GivesUpAfterMaxRetries) {
  NackGenerator generator({.max_retries = 3});
  generator.set_rtt(100 * kMs);
  receive(generator, {1, 3}, 0);
  EXPECT_EQ(poll_all(generator, 0), (Seqs{2}));
  EXPECT_EQ(poll_all(generator, 100 * kMs), (Seqs{2}));
  EXPECT_EQ(poll_all(generator, 200 * kMs), (Seqs{2}));
  EXPECT_TRUE(generator.is_missing(2));  // waiting for the answer to the last
  EXPECT_TRUE(poll_all(generator, 300 * kMs).empty());
  EXPECT_FALSE(generator.is_missing(2));
  EXPECT_EQ(generator.stats().given_up, 1u);
  EXPECT_EQ(generator.stats().nacked, 3u);
  EXPECT_FALSE(generator.next_wakeup());
}

TEST(NackGenerator, GivesUpAfterMaxAge) {
  NackGenerator generator({.max_retries = 100, .max_age_us = 250 * kMs});
  generator.set_rtt(100 * kMs);
  receive(generator, {1, 3}, 10 * kMs);
  EXPECT_EQ(poll_all(generator, 10 * kMs), (Seqs{2}));
  EXPECT_EQ(poll_all(generator, 110 * kMs), (Seqs{2}));
  EXPECT_EQ(poll_all(generator, 210 * kMs), (Seqs{2}));
  EXPECT_EQ(generator.next_wakeup(), 260 * kMs);
  EXPECT_TRUE(poll_all(generator, 260 * kMs).empty());
  EXPECT_EQ(generator.stats().given_up, 1u);
}

TEST(NackGenerator, GapAcrossWrap) {
  NackGenerator generator;
  receive(generator, {65533, 65534, 1}, 0);
  EXPECT_EQ(poll_all(generator, 0), (Seqs{65535, 0}));
  EXPECT_EQ(generator.on_packet(0, 0), PacketArrival::kRecovered);
  EXPECT_EQ(poll_all(generator, 1000 * kMs), (Seqs{65535}));
}

TEST(NackGenerator, HugeGapKeepsOnlyNewestMaxMissing) {
  NackGenerator generator({.max_missing = 10});
  receive(generator, {100, 116}, 0);  // 15 missing
  EXPECT_EQ(poll_all(generator, 0), (Seqs{106, 107, 108, 109, 110, 111, 112, 113, 114, 115}));
  EXPECT_EQ(generator.stats().abandoned, 5u);
  receive(generator, {120}, 0);  // 3 more: the oldest 3 make room
  EXPECT_EQ(generator.missing_count(), 10u);
  EXPECT_FALSE(generator.is_missing(108));
  EXPECT_TRUE(generator.is_missing(109));
  EXPECT_EQ(generator.stats().abandoned, 8u);
}

TEST(NackGenerator, SmallOutputLeavesRestDue) {
  NackGenerator generator;
  receive(generator, {0, 6}, 0);
  std::array<uint16_t, 2> out{};
  ASSERT_EQ(generator.poll(0, out), 2u);
  EXPECT_EQ(out, (std::array<uint16_t, 2>{1, 2}));
  EXPECT_EQ(generator.next_wakeup(), 0);
  EXPECT_EQ(poll_all(generator, 0), (Seqs{3, 4, 5}));
}

TEST(NackGenerator, NewGapsJoinOldOnesInOrder) {
  NackGenerator generator;
  receive(generator, {0, 2}, 0);
  EXPECT_EQ(poll_all(generator, 0), (Seqs{1}));
  receive(generator, {5}, 10 * kMs);
  EXPECT_EQ(poll_all(generator, 10 * kMs), (Seqs{3, 4}));
  EXPECT_EQ(poll_all(generator, 200 * kMs), (Seqs{1, 3, 4}));
}

}  // namespace
}  // namespace partyline::rtp
