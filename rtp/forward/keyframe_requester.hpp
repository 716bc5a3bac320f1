// KeyframeRequester: the keyframe requests (PLI/FIR) of many subscribers of
// one publisher's video, coalesced and rate-limited into what the SFU sends
// upstream.
//
// - At most one request per min_interval. A request arriving during the
//   hold-off is remembered, and one request goes out when the hold-off ends,
//   however many arrived.
// - A received keyframe satisfies everything asked before it: pending
//   requests are cleared.
// - A loss request arriving while a request is in flight (sent, no keyframe
//   yet, younger than keyframe_timeout) is absorbed: the keyframe on its way
//   repairs that subscriber too. If no keyframe arrives by the timeout (the
//   request or the keyframe was lost), one request is sent again for them.
//   With keyframe_timeout == min_interval (the default) this is exactly "a
//   request during the hold-off is sent when it ends, unless a keyframe came";
//   a longer timeout saves keyframes when the publisher's round trip plus
//   encoding takes longer than min_interval.
// - A new subscriber forces a request: it is never absorbed, because the
//   subscriber must see a keyframe sent after it joined. It still waits for
//   the hold-off.
//
// Sans-I/O: feed request()/on_keyframe(), call poll() at next_wakeup().
#pragma once

#include <cstdint>
#include <optional>

namespace partyline::rtp {

enum class KeyframeRequestReason : uint8_t {
  kLoss,           // a subscriber sent PLI/FIR because it cannot decode
  kNewSubscriber,  // a subscriber joined and needs a keyframe to start
};

struct KeyframeRequesterConfig {
  int64_t min_interval_us = 300'000;
  int64_t keyframe_timeout_us = 300'000;  // raised to min_interval_us if lower
};

struct KeyframeRequesterStats {
  uint64_t requests_received = 0;
  uint64_t requests_absorbed = 0;  // covered by the request in flight
  uint64_t requests_sent = 0;
  uint64_t resends = 0;  // sent because the keyframe did not come in time
  uint64_t keyframes = 0;
};

class KeyframeRequester {
 public:
  explicit KeyframeRequester(KeyframeRequesterConfig config = {});

  void request(KeyframeRequestReason reason, int64_t now_us);
  void on_keyframe(int64_t now_us);

  // True when one keyframe request must be sent upstream now.
  bool poll(int64_t now_us);
  // When poll() next has something to do (possibly already past); nullopt
  // when nothing is pending.
  std::optional<int64_t> next_wakeup() const;

  const KeyframeRequesterStats& stats() const { return stats_; }

 private:
  bool in_flight(int64_t now_us) const;

  KeyframeRequesterConfig config_;
  std::optional<int64_t> last_sent_us_;
  bool awaiting_keyframe_ = false;  // since the last send
  bool pending_ = false;            // send when the hold-off allows
  bool absorbed_ = false;           // loss requests covered by the one in flight
  KeyframeRequesterStats stats_;
};

}  // namespace partyline::rtp
