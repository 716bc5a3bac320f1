// LossBasedEstimate in virtual time, one report interval a second.
#include "rtp/rtcp/loss_based_estimate.hpp"

#include <gtest/gtest.h>

namespace partyline::rtp {
namespace {

constexpr int64_t kSecond = 1'000'000;

TEST(LossBasedEstimate, NoLossMeansNoLimit) {
  LossBasedEstimate estimate;
  for (int64_t t = 0; t < 20; ++t) estimate.on_interval(0.01, 2'500'000, t * kSecond);
  EXPECT_FALSE(estimate.estimate_bps());
  estimate.on_interval(0.05, 2'500'000, 21 * kSecond);  // between the thresholds: still nothing to go by
  EXPECT_FALSE(estimate.estimate_bps());
}

// A 400 kbit/s link under 2.5 Mbit/s of video loses about 84 %: the estimate
// drops to what the link delivered at once, and while the subscriber is
// sent what fits (a lower layer) it stays below where the loss began.
TEST(LossBasedEstimate, HeavyLossDropsToWhatWasDeliveredAndTheCeilingHolds) {
  LossBasedEstimate estimate;
  estimate.on_interval(0.84, 2'500'000, 0);
  ASSERT_TRUE(estimate.estimate_bps());
  EXPECT_EQ(*estimate.estimate_bps(), 1'450'000u);  // 2.5 M * (1 - 0.42)
  // The next report still shows the loss of before the switch: held.
  estimate.on_interval(0.70, 1'200'000, kSecond);
  EXPECT_EQ(*estimate.estimate_bps(), 1'450'000u);
  estimate.on_interval(0.40, 600'000, 2 * kSecond);  // after the hold: the middle layer does not fit either
  EXPECT_EQ(*estimate.estimate_bps(), 480'000u);
  EXPECT_EQ(estimate.decreases(), 2u);
  // The low layer fits: no loss. Two seconds of hold, then 15 % a second,
  // but never to the 540 kbit/s ceiling (90 % of where loss began) for 10 s.
  uint64_t highest = 0;
  for (int64_t t = 3; t < 12; ++t) {
    estimate.on_interval(0.0, 200'000, t * kSecond);
    highest = std::max(highest, *estimate.estimate_bps());
  }
  EXPECT_EQ(highest, 540'000u);
  // The ceiling lapses 10 s after the last decrease: growth resumes.
  estimate.on_interval(0.0, 200'000, 12 * kSecond);
  EXPECT_EQ(*estimate.estimate_bps(), 621'000u);
}

TEST(LossBasedEstimate, AfterTheThrottleGrowthReturnsToNoLimit) {
  LossBasedEstimate estimate;
  estimate.on_interval(0.5, 1'000'000, 0);
  ASSERT_EQ(*estimate.estimate_bps(), 750'000u);
  int64_t t = 1;
  while (estimate.estimate_bps() && t < 200) estimate.on_interval(0.0, 2'000'000, (t++) * kSecond);
  EXPECT_FALSE(estimate.estimate_bps()) << "still limited after " << t << " s";
  // 750 k to 100 M at 15 % a second: about 35 s, plus the 10 s ceiling.
  EXPECT_LT(t, 60);
  // 2.5 Mbit/s (the high layer with headroom) is passed within about 20 s.
  LossBasedEstimate again;
  again.on_interval(0.5, 1'000'000, 0);
  int64_t seconds = 1;
  while (*again.estimate_bps() < 3'000'000 && seconds < 100) again.on_interval(0.0, 500'000, (seconds++) * kSecond);
  EXPECT_LE(seconds, 22);
}

TEST(LossBasedEstimate, ModerateLossHoldsAndTheFloorHolds) {
  LossBasedEstimate estimate;
  estimate.on_interval(0.3, 1'000'000, 0);
  const uint64_t after_loss = *estimate.estimate_bps();
  estimate.on_interval(0.05, 800'000, 5 * kSecond);
  EXPECT_EQ(*estimate.estimate_bps(), after_loss);
  estimate.on_interval(1.0, 10'000, 6 * kSecond);  // everything lost of almost nothing (after the hold)
  EXPECT_EQ(*estimate.estimate_bps(), LossBasedEstimate::kMinimumBps);
  estimate.on_interval(-3.0, 10'000, 20 * kSecond);  // nonsense loss is clamped (to none)
  EXPECT_GT(*estimate.estimate_bps(), LossBasedEstimate::kMinimumBps);
}

}  // namespace
}  // namespace partyline::rtp
