#include "signaling/rate_limiter.hpp"

#include <algorithm>
#include <iterator>

namespace partyline::signaling {

RateLimiter::RateLimiter(const RateLimit& limit)
    : limit_(limit), capacity_(static_cast<int64_t>(std::max(limit.burst, 1u)) * kCost), credit_(capacity_) {}

bool RateLimiter::allow(int64_t now_us, uint64_t units) {
  refill(now_us);
  // More than the bucket holds can never pass (and must not overflow).
  if (units > static_cast<uint64_t>(capacity_ / kCost)) return false;
  const int64_t cost = static_cast<int64_t>(units) * kCost;
  if (credit_ < cost) return false;
  credit_ -= cost;
  return true;
}

bool RateLimiter::full(int64_t now_us) {
  refill(now_us);
  return credit_ == capacity_;
}

bool KeyedRateLimiter::allow(const std::string& key, int64_t now_us, uint64_t units) {
  if (limit_.requests_per_second == 0) return true;
  if (now_us >= next_sweep_us_) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      it = it->second.full(now_us) ? buckets_.erase(it) : std::next(it);
    }
    next_sweep_us_ = now_us + 1'000'000;
  }
  auto bucket = buckets_.try_emplace(key, limit_).first;
  return bucket->second.allow(now_us, units);
}

void RateLimiter::refill(int64_t now_us) {
  if (!started_) {
    started_ = true;
    last_us_ = now_us;
    return;
  }
  if (now_us <= last_us_) return;
  // Unsigned: exact even when the two times are far apart.
  const uint64_t elapsed = static_cast<uint64_t>(now_us) - static_cast<uint64_t>(last_us_);
  last_us_ = now_us;
  const uint64_t rate = limit_.requests_per_second;
  if (rate == 0) return;
  // Compared before multiplying, so a long idle cannot overflow.
  const uint64_t missing = static_cast<uint64_t>(capacity_ - credit_);
  credit_ = elapsed >= (missing + rate - 1) / rate ? capacity_ : credit_ + static_cast<int64_t>(elapsed * rate);
}

}  // namespace partyline::signaling
