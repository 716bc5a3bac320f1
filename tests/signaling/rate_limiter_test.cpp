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

}  // namespace
}  // namespace partyline::signaling
