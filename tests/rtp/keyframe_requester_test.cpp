#include "rtp/forward/keyframe_requester.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace partyline::rtp {
namespace {

constexpr int64_t kMs = 1000;
constexpr auto kLoss = KeyframeRequestReason::kLoss;
constexpr auto kNewSubscriber = KeyframeRequestReason::kNewSubscriber;

KeyframeRequesterConfig long_timeout() {
  return {.min_interval_us = 300 * kMs, .keyframe_timeout_us = 1000 * kMs};
}

TEST(KeyframeRequester, IdleHasNothingToDo) {
  KeyframeRequester requester;
  EXPECT_FALSE(requester.next_wakeup());
  EXPECT_FALSE(requester.poll(0));
}

TEST(KeyframeRequester, FirstRequestGoesOutAtOnceAndOnlyOnce) {
  KeyframeRequester requester;
  requester.request(kLoss, 5 * kMs);
  ASSERT_TRUE(requester.next_wakeup());
  EXPECT_LE(*requester.next_wakeup(), 5 * kMs);
  EXPECT_TRUE(requester.poll(5 * kMs));
  EXPECT_FALSE(requester.poll(5 * kMs));
  EXPECT_FALSE(requester.poll(2000 * kMs));
}

TEST(KeyframeRequester, RequestsDuringHoldOffBecomeOneWhenItEnds) {
  KeyframeRequester requester;
  requester.request(kLoss, 0);
  ASSERT_TRUE(requester.poll(0));
  requester.on_keyframe(50 * kMs);
  for (int64_t t = 100; t <= 250; t += 10) requester.request(kLoss, t * kMs);
  EXPECT_FALSE(requester.poll(299 * kMs));
  EXPECT_EQ(requester.next_wakeup(), 300 * kMs);
  EXPECT_TRUE(requester.poll(300 * kMs));
  EXPECT_FALSE(requester.poll(300 * kMs));
  EXPECT_FALSE(requester.next_wakeup());
  EXPECT_EQ(requester.stats().requests_received, 17u);
  EXPECT_EQ(requester.stats().requests_sent, 2u);
}

TEST(KeyframeRequester, DefaultSendsHoldOffRequestWhenNoKeyframeCame) {
  KeyframeRequester requester;
  requester.request(kLoss, 0);
  ASSERT_TRUE(requester.poll(0));
  requester.request(kLoss, 100 * kMs);
  EXPECT_EQ(requester.next_wakeup(), 300 * kMs);
  EXPECT_FALSE(requester.poll(299 * kMs));
  EXPECT_TRUE(requester.poll(300 * kMs));
}

TEST(KeyframeRequester, KeyframeClearsPendingRequests) {
  KeyframeRequester requester;
  requester.request(kLoss, 0);
  ASSERT_TRUE(requester.poll(0));
  requester.on_keyframe(20 * kMs);
  requester.request(kLoss, 100 * kMs);
  requester.request(kNewSubscriber, 110 * kMs);
  requester.on_keyframe(200 * kMs);
  EXPECT_FALSE(requester.next_wakeup());
  EXPECT_FALSE(requester.poll(300 * kMs));
  EXPECT_EQ(requester.stats().keyframes, 2u);
}

TEST(KeyframeRequester, LossDuringFlightIsAbsorbedByTheKeyframeOnItsWay) {
  KeyframeRequester requester(long_timeout());
  requester.request(kLoss, 0);
  ASSERT_TRUE(requester.poll(0));
  requester.request(kLoss, 100 * kMs);
  requester.request(kLoss, 500 * kMs);
  EXPECT_FALSE(requester.poll(600 * kMs));
  requester.on_keyframe(700 * kMs);
  EXPECT_FALSE(requester.next_wakeup());
  EXPECT_FALSE(requester.poll(3000 * kMs));
  EXPECT_EQ(requester.stats().requests_absorbed, 2u);
  EXPECT_EQ(requester.stats().requests_sent, 1u);
}

TEST(KeyframeRequester, AbsorbedRequestsAreResentWhenKeyframeNeverComes) {
  KeyframeRequester requester(long_timeout());
  requester.request(kLoss, 0);
  ASSERT_TRUE(requester.poll(0));
  requester.request(kLoss, 100 * kMs);
  EXPECT_EQ(requester.next_wakeup(), 1000 * kMs);
  EXPECT_FALSE(requester.poll(999 * kMs));
  EXPECT_TRUE(requester.poll(1000 * kMs));
  EXPECT_EQ(requester.stats().resends, 1u);
  // Nobody asked again: no further request even without a keyframe.
  EXPECT_FALSE(requester.next_wakeup());
  EXPECT_FALSE(requester.poll(5000 * kMs));
}

TEST(KeyframeRequester, NewSubscriberIsNeverAbsorbedButWaitsForHoldOff) {
  KeyframeRequester requester(long_timeout());
  requester.request(kLoss, 0);
  ASSERT_TRUE(requester.poll(0));
  requester.request(kNewSubscriber, 100 * kMs);
  EXPECT_EQ(requester.next_wakeup(), 300 * kMs);
  EXPECT_FALSE(requester.poll(200 * kMs));
  EXPECT_TRUE(requester.poll(300 * kMs));
  EXPECT_EQ(requester.stats().requests_absorbed, 0u);
}

TEST(KeyframeRequester, NewSubscriberOnIdlePublisherAsksAtOnce) {
  KeyframeRequester requester(long_timeout());
  requester.request(kNewSubscriber, 42 * kMs);
  EXPECT_TRUE(requester.poll(42 * kMs));
}

TEST(KeyframeRequester, TimeoutBelowMinIntervalIsRaised) {
  KeyframeRequester requester({.min_interval_us = 300 * kMs, .keyframe_timeout_us = 10 * kMs});
  requester.request(kLoss, 0);
  ASSERT_TRUE(requester.poll(0));
  requester.request(kLoss, 50 * kMs);  // still in flight: absorbed
  EXPECT_EQ(requester.stats().requests_absorbed, 1u);
  EXPECT_TRUE(requester.poll(300 * kMs));
}

// Twenty subscribers each asking every few milliseconds for ten seconds: the
// publisher sees at most one request per min_interval.
TEST(KeyframeRequester, StormIsRateLimited) {
  for (const KeyframeRequesterConfig& config : {KeyframeRequesterConfig{}, long_timeout()}) {
    KeyframeRequester requester(config);
    std::vector<int64_t> sent;
    int64_t keyframe_due = -1;
    for (int64_t t = 0; t <= 10'000 * kMs; t += kMs) {
      if ((t / kMs) % 3 == 0) {
        for (int subscriber = 0; subscriber < 20; ++subscriber) requester.request(kLoss, t);
      }
      if (t == keyframe_due) requester.on_keyframe(t);
      if (requester.poll(t)) {
        sent.push_back(t);
        keyframe_due = t + 120 * kMs;  // the publisher answers each request
      }
    }
    ASSERT_GE(sent.size(), 20u);
    for (size_t i = 1; i < sent.size(); ++i) EXPECT_GE(sent[i] - sent[i - 1], 300 * kMs);
    EXPECT_LE(sent.size(), 34u);
  }
}

}  // namespace
}  // namespace partyline::rtp
