// A token bucket for one session's requests (docs/protocol.md, error 429):
// it holds up to `burst` requests and refills at `requests_per_second`. The
// same bucket counts bytes when each call takes a message's size.
// Sans-I/O: the caller passes the time (a monotonic clock, in microseconds).
#pragma once

#include <cstdint>

namespace partyline::signaling {

struct RateLimit {
  unsigned requests_per_second = 50;  // 0: no refill, only the first burst
  unsigned burst = 100;               // 0 acts as 1
};

class RateLimiter {
 public:
  explicit RateLimiter(const RateLimit& limit);

  // Takes `units` (one request, or a message's bytes) from the bucket; false
  // (and nothing taken) when it holds fewer. The bucket starts full at the
  // first call. Time going backwards refills nothing and changes nothing.
  bool allow(int64_t now_us, uint64_t units = 1);

  const RateLimit& limit() const { return limit_; }

 private:
  void refill(int64_t now_us);

  RateLimit limit_;
  // Credit in request-microseconds: one request costs kCost, and every
  // microsecond adds requests_per_second. Integers keep it exact.
  static constexpr int64_t kCost = 1'000'000;
  int64_t capacity_;
  int64_t credit_;
  int64_t last_us_ = 0;
  bool started_ = false;
};

}  // namespace partyline::signaling
