// LossBasedEstimate: how much one subscriber's downlink carries, from the
// loss its receiver reports show (the loss-based controller of
// draft-ietf-rmcat-gcc-02, section 6, with a memory of where loss began).
// The SFU uses it to pick simulcast layers per subscriber
// (rtp::LayerSelector::set_max_bitrate), so a subscriber on a slow link gets
// a lower layer instead of loss.
//
// Once per report interval the caller gives the loss fraction its receiver
// reports gave (the largest of its video streams') and what was sent to it
// meanwhile:
//   - more than 10 % lost: the estimate drops to what was sent times
//     (1 - loss / 2), and what was sent then becomes a ceiling the estimate
//     stays below for kCeilingUs (probing up again at once would bring the
//     loss right back). Then for kHoldAfterDecreaseUs loss lowers it no
//     further: the reports of that time still describe what was sent
//     before the subscriber's layers came down (they switch at a
//     keyframe), and cutting again for them would take it far below what
//     the link carries;
//   - less than 2 %: the estimate grows by kIncrease per interval (after
//     kHoldAfterDecreaseUs), up to the ceiling while one holds;
//   - in between: it holds.
// Before any loss there is no estimate (nothing limits the subscriber).
//
// Sans-I/O: time comes with each call. No allocation.
#pragma once

#include <cstdint>
#include <optional>

namespace partyline::rtp {

class LossBasedEstimate {
 public:
  static constexpr double kDecreaseAbove = 0.10;
  static constexpr double kIncreaseBelow = 0.02;
  static constexpr double kIncrease = 1.15;
  static constexpr int64_t kHoldAfterDecreaseUs = 2'000'000;  // no change either way
  static constexpr int64_t kCeilingUs = 10'000'000;
  static constexpr double kBelowCeiling = 0.9;
  static constexpr uint64_t kMinimumBps = 50'000;
  static constexpr uint64_t kMaximumBps = 100'000'000;  // above this there is no limit

  // One report interval: `loss` (0..1) and the bits per second sent to the
  // subscriber over it.
  void on_interval(double loss, uint64_t sent_bps, int64_t now_us);
  // nullopt: no limit known.
  std::optional<uint64_t> estimate_bps() const { return estimate_bps_; }
  uint64_t decreases() const { return decreases_; }

 private:
  std::optional<uint64_t> estimate_bps_;
  std::optional<uint64_t> ceiling_bps_;
  int64_t last_decrease_us_ = 0;
  uint64_t decreases_ = 0;
};

}  // namespace partyline::rtp
