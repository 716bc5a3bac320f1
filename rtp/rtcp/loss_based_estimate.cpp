#include "rtp/rtcp/loss_based_estimate.hpp"

#include <algorithm>

namespace partyline::rtp {

void LossBasedEstimate::on_interval(double loss, uint64_t sent_bps, int64_t now_us) {
  loss = std::clamp(loss, 0.0, 1.0);
  if (ceiling_bps_ && now_us - last_decrease_us_ >= kCeilingUs) ceiling_bps_.reset();
  const bool holding = decreases_ > 0 && now_us - last_decrease_us_ < kHoldAfterDecreaseUs;
  if (loss > kDecreaseAbove && !holding) {
    // Relative to what the link delivered, not to the old estimate: a
    // subscriber that was sent 2.5 Mbit/s over a 400 kbit/s link drops at once.
    const auto lowered = static_cast<uint64_t>(static_cast<double>(sent_bps) * (1.0 - loss / 2.0));
    const uint64_t next = std::max(kMinimumBps, std::min(lowered, estimate_bps_.value_or(kMaximumBps)));
    estimate_bps_ = next;
    ceiling_bps_ = std::max(next, static_cast<uint64_t>(static_cast<double>(sent_bps) * kBelowCeiling));
    last_decrease_us_ = now_us;
    ++decreases_;
    return;
  }
  if (loss >= kIncreaseBelow || !estimate_bps_ || holding) return;
  auto raised = static_cast<uint64_t>(static_cast<double>(*estimate_bps_) * kIncrease);
  if (ceiling_bps_) raised = std::min(raised, *ceiling_bps_);
  estimate_bps_ = std::max(*estimate_bps_, raised);
  if (*estimate_bps_ >= kMaximumBps) estimate_bps_.reset();
}

}  // namespace partyline::rtp
