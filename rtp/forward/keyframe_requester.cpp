#include "rtp/forward/keyframe_requester.hpp"

#include <algorithm>

namespace partyline::rtp {

KeyframeRequester::KeyframeRequester(KeyframeRequesterConfig config) : config_(config) {
  config_.keyframe_timeout_us = std::max(config_.keyframe_timeout_us, config_.min_interval_us);
}

void KeyframeRequester::request(KeyframeRequestReason reason, int64_t now_us) {
  ++stats_.requests_received;
  if (reason == KeyframeRequestReason::kLoss && in_flight(now_us)) {
    ++stats_.requests_absorbed;
    absorbed_ = true;
    return;
  }
  pending_ = true;
}

void KeyframeRequester::on_keyframe(int64_t /*now_us*/) {
  ++stats_.keyframes;
  awaiting_keyframe_ = false;
  pending_ = false;
  absorbed_ = false;
}

bool KeyframeRequester::poll(int64_t now_us) {
  if (absorbed_ && !in_flight(now_us)) {
    // The keyframe did not come: ask again for the absorbed requests.
    absorbed_ = false;
    if (!pending_) ++stats_.resends;
    pending_ = true;
  }
  if (!pending_) return false;
  if (last_sent_us_ && now_us < *last_sent_us_ + config_.min_interval_us) return false;
  pending_ = false;
  awaiting_keyframe_ = true;
  last_sent_us_ = now_us;
  ++stats_.requests_sent;
  return true;
}

std::optional<int64_t> KeyframeRequester::next_wakeup() const {
  if (pending_) {
    if (!last_sent_us_) return INT64_MIN;
    return *last_sent_us_ + config_.min_interval_us;
  }
  if (absorbed_) return *last_sent_us_ + config_.keyframe_timeout_us;
  return std::nullopt;
}

bool KeyframeRequester::in_flight(int64_t now_us) const {
  return awaiting_keyframe_ && now_us < *last_sent_us_ + config_.keyframe_timeout_us;
}

}  // namespace partyline::rtp
