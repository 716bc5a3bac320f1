#include "timestamp_mapper.hpp"

namespace recorder {

namespace {

// Floor division: a timestamp slightly before the first one (reordered
// frames) maps below the start, not onto it.
int64_t floor_div(int64_t value, int64_t divisor) {
  const int64_t quotient = value / divisor;
  return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient;
}

}  // namespace

int64_t TimestampMapper::unwrap(uint32_t rtp_timestamp) {
  if (!started_) {
    started_ = true;
    last_rtp_ = rtp_timestamp;
    return 0;
  }
  // The step from the previous timestamp, taken as the shorter way round the
  // 32-bit circle: forward across a wrap, or a little back.
  elapsed_ticks_ += static_cast<int32_t>(rtp_timestamp - last_rtp_);
  last_rtp_ = rtp_timestamp;
  return elapsed_ticks_;
}

int64_t TimestampMapper::pts_ms(uint32_t rtp_timestamp, Micros arrival, Micros origin) {
  const bool first = !started_;
  const int64_t ticks = unwrap(rtp_timestamp);
  if (first) start_ms_ = floor_div((arrival - origin).count(), 1000);
  int64_t pts = start_ms_ + floor_div(ticks * 1000, clock_rate_);
  if (!first && pts <= last_pts_) pts = last_pts_ + 1;
  if (pts < 0) pts = 0;  // a file starts at its origin
  last_pts_ = pts;
  return pts;
}

}  // namespace recorder
