#include "signaling/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace partyline::signaling {
namespace {

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kStart = 5 * kSecond;  // an arbitrary monotonic time

// How many of `attempts` requests at `now_us` are allowed.
int allowed_at(RateLimiter& limiter, int64_t now_us, int attempts) {
  int allowed = 0;
  for (int i = 0; i < attempts; ++i) allowed += limiter.allow(now_us) ? 1 : 0;
  return allowed;
}

TEST(RateLimiter, AllowsOneBurstAtOnce) {
  RateLimiter limiter({50, 100});
  EXPECT_EQ(allowed_at(limiter, kStart, 1000), 100);
  EXPECT_FALSE(limiter.allow(kStart));
}

TEST(RateLimiter, RefillsAtTheRate) {
  RateLimiter limiter({50, 100});  // one request every 20 ms
  ASSERT_EQ(allowed_at(limiter, kStart, 100), 100);
  EXPECT_FALSE(limiter.allow(kStart + 19'999));
  EXPECT_TRUE(limiter.allow(kStart + 20'000));
  EXPECT_FALSE(limiter.allow(kStart + 20'000));
  // Refill accumulates across calls: two halves make one request.
  EXPECT_FALSE(limiter.allow(kStart + 30'000));
  EXPECT_TRUE(limiter.allow(kStart + 40'000));
  // Over one more second, exactly the rate gets through.
  int allowed = 0;
  for (int64_t t = kStart + 40'000 + 1'000; t <= kStart + 40'000 + kSecond; t += 1'000) {
    allowed += limiter.allow(t) ? 1 : 0;
  }
  EXPECT_EQ(allowed, 50);
}

// Bytes: each message takes its size from a bucket of bytes.
TEST(RateLimiter, CountsUnitsSuchAsBytes) {
  RateLimiter bytes({1000, 4000});  // 1000 bytes a second, 4000 at once
  EXPECT_TRUE(bytes.allow(kStart, 2500));
  EXPECT_FALSE(bytes.allow(kStart, 2000));  // 1500 left: refused, nothing taken
  EXPECT_TRUE(bytes.allow(kStart, 1500));
  EXPECT_FALSE(bytes.allow(kStart, 1));
  EXPECT_FALSE(bytes.allow(kStart + kSecond / 2, 501));
  EXPECT_TRUE(bytes.allow(kStart + kSecond / 2, 500));
  // More than the bucket holds never passes, even full, and does not overflow.
  EXPECT_FALSE(bytes.allow(kStart + 3600 * kSecond, 4001));
  EXPECT_FALSE(bytes.allow(kStart + 3600 * kSecond, std::numeric_limits<uint64_t>::max()));
  EXPECT_TRUE(bytes.allow(kStart + 3600 * kSecond, 4000));
}

TEST(RateLimiter, LongIdleDoesNotExceedTheBurst) {
  RateLimiter limiter({50, 100});
  ASSERT_EQ(allowed_at(limiter, kStart, 100), 100);
  EXPECT_EQ(allowed_at(limiter, kStart + 3600 * kSecond, 1000), 100);
  // Even the widest gap a 64-bit clock allows.
  RateLimiter extreme({std::numeric_limits<unsigned>::max(), 10});
  ASSERT_EQ(allowed_at(extreme, std::numeric_limits<int64_t>::min(), 10), 10);
  EXPECT_EQ(allowed_at(extreme, std::numeric_limits<int64_t>::max(), 100), 10);
}

TEST(RateLimiter, TimeGoingBackwardsIsHarmless) {
  RateLimiter limiter({50, 100});
  ASSERT_EQ(allowed_at(limiter, kStart, 100), 100);
  EXPECT_FALSE(limiter.allow(kStart - kSecond));
  EXPECT_FALSE(limiter.allow(kStart - 10 * kSecond));
  // Back at the start: nothing was credited for the detour.
  EXPECT_FALSE(limiter.allow(kStart));
  EXPECT_FALSE(limiter.allow(kStart + 19'999));
  EXPECT_TRUE(limiter.allow(kStart + 20'000));
}

TEST(RateLimiter, StartsFullWhateverTheFirstTime) {
  RateLimiter early({50, 3});
  EXPECT_EQ(allowed_at(early, 0, 10), 3);
  RateLimiter negative({50, 3});
  EXPECT_EQ(allowed_at(negative, -kSecond, 10), 3);
}

TEST(RateLimiter, DegenerateLimits) {
  RateLimiter no_refill({0, 2});
  EXPECT_EQ(allowed_at(no_refill, kStart, 5), 2);
  EXPECT_EQ(allowed_at(no_refill, kStart + 3600 * kSecond, 5), 0);
  RateLimiter zero_burst({10, 0});  // acts as a burst of 1
  EXPECT_EQ(allowed_at(zero_burst, kStart, 5), 1);
  EXPECT_EQ(allowed_at(zero_burst, kStart + kSecond, 5), 1);
}

// Issue 14: 20 reconnects x 100 pings all passed while each session had a
// bucket of its own; a key's bucket is shared by whoever presents the key.
TEST(KeyedRateLimiter, EveryCallerOfAKeySharesItsBucketAndOtherKeysHaveTheirOwn) {
  KeyedRateLimiter limiter({10, 20});
  int alice = 0;
  for (int session = 0; session < 5; ++session) {  // five sessions, or five reconnects
    for (int i = 0; i < 10; ++i) alice += limiter.allow("alice", kStart) ? 1 : 0;
  }
  EXPECT_EQ(alice, 20);
  EXPECT_TRUE(limiter.allow("bob", kStart));
  EXPECT_FALSE(limiter.allow("alice", kStart + 99'999));
  EXPECT_TRUE(limiter.allow("alice", kStart + 100'000));  // 10 per second refill
}

TEST(KeyedRateLimiter, ForgetsAKeyOnceItsBucketRefilledAndItComesBackFull) {
  KeyedRateLimiter limiter({10, 20});
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(limiter.allow("key-" + std::to_string(i), kStart));
  ASSERT_TRUE(limiter.allow("busy", kStart));
  EXPECT_EQ(limiter.keys(), 21u);
  // 0.5 s later only "busy" (drained) is still refilling; the sweep runs at
  // most once a second, so nothing is forgotten yet.
  for (int i = 0; i < 19; ++i) ASSERT_TRUE(limiter.allow("busy", kStart + 500'000));
  EXPECT_EQ(limiter.keys(), 21u);
  // 1 s after the start: the 20 keys refilled (a token each, back in 0.1 s)
  // and are forgotten; "busy", drained at 0.5 s, is still refilling and stays.
  EXPECT_TRUE(limiter.allow("busy", kStart + kSecond));
  EXPECT_EQ(limiter.keys(), 1u);
}

TEST(KeyedRateLimiter, ZeroRateIsNoLimitAndKeepsNothing) {
  KeyedRateLimiter limiter({0, 0});
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.allow("anyone", kStart));
  EXPECT_EQ(limiter.keys(), 0u);
}

}  // namespace
}  // namespace partyline::signaling
