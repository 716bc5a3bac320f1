// A token bucket for one session's requests (docs/protocol.md, error 429):
// it holds up to `burst` requests and refills at `requests_per_second`. The
// same bucket counts bytes when each call takes a message's size.
// Sans-I/O: the caller passes the time (a monotonic clock, in microseconds).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

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
  // Whether the bucket is full at `now_us` (a new bucket would be the same).
  bool full(int64_t now_us);

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

// Token buckets by key (a user, a remote address), each shared by every
// session of its key, so that reconnecting does not refill a budget (20
// reconnects x 100 pings all passed when the only bucket was the
// session's). A bucket that has refilled completely is forgotten at the next
// sweep (at most one a second, over every key): a new one would start full
// anyway, so only keys active in the last burst/rate seconds are held.
class KeyedRateLimiter {
 public:
  // requests_per_second 0: no limit at all (every call passes, nothing kept).
  explicit KeyedRateLimiter(const RateLimit& limit) : limit_(limit) {}

  bool allow(const std::string& key, int64_t now_us, uint64_t units = 1);

  const RateLimit& limit() const { return limit_; }
  size_t keys() const { return buckets_.size(); }

 private:
  RateLimit limit_;
  std::unordered_map<std::string, RateLimiter> buckets_;
  int64_t next_sweep_us_ = 0;
};

}  // namespace partyline::signaling
