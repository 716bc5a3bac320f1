// Turns one stream's RTP timestamps into presentation times in
// milliseconds from its file's origin. Sans-I/O.
//
//   pts = (arrival of the stream's first packet - origin)
//       + (RTP timestamp - the first packet's RTP timestamp) / clock rate
//
// The arrival offset places streams that start at different moments (audio
// before the first keyframe, a late video track) on the file's one timeline;
// after that the stream's own clock rules, so network jitter does not leak
// into the file. RTP timestamps are unwrapped past their 32-bit wrap, and the
// result is kept strictly increasing (libavformat refuses anything else).
#pragma once

#include <cstdint>

#include "time.hpp"

namespace recorder {

class TimestampMapper {
 public:
  explicit TimestampMapper(uint32_t clock_rate) : clock_rate_(clock_rate) {}

  int64_t pts_ms(uint32_t rtp_timestamp, Micros arrival, Micros origin);

  // The RTP timestamp widened to 64 bits, relative to the first one.
  int64_t unwrap(uint32_t rtp_timestamp);

 private:
  uint32_t clock_rate_;
  bool started_ = false;
  int64_t start_ms_ = 0;     // the first packet's arrival - origin
  uint32_t last_rtp_ = 0;
  int64_t elapsed_ticks_ = 0;  // unwrapped, since the first packet
  int64_t last_pts_ = 0;
};

}  // namespace recorder
