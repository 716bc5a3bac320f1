#include "bench/loadgen/delay_histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace partyline::loadgen {

// Octave k (k >= 0) covers [1024 << k, 2048 << k) in kSubBuckets equal steps.
size_t DelayHistogram::bucket_of(uint64_t delay_us) {
  if (delay_us < kLinearLimit) return static_cast<size_t>(delay_us);
  const unsigned octave = static_cast<unsigned>(std::bit_width(delay_us)) - 11;  // 1024 has width 11
  if (octave >= kOctaves) return kBuckets - 1;
  const uint64_t step = (uint64_t{kLinearLimit} << octave) / kSubBuckets;
  const uint64_t sub = (delay_us - (uint64_t{kLinearLimit} << octave)) / step;
  return kLinearLimit + octave * kSubBuckets + static_cast<size_t>(sub);
}

uint64_t DelayHistogram::upper_bound_of(size_t bucket) {
  if (bucket < kLinearLimit) return bucket;
  const size_t octave = (bucket - kLinearLimit) / kSubBuckets;
  const size_t sub = (bucket - kLinearLimit) % kSubBuckets;
  const uint64_t step = (uint64_t{kLinearLimit} << octave) / kSubBuckets;
  return (uint64_t{kLinearLimit} << octave) + (sub + 1) * step - 1;
}

void DelayHistogram::record(uint64_t delay_us) {
  ++buckets_[bucket_of(delay_us)];
  ++count_;
  max_us_ = std::max(max_us_, delay_us);
}

void DelayHistogram::merge(const DelayHistogram& other) {
  for (size_t i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  max_us_ = std::max(max_us_, other.max_us_);
}

uint64_t DelayHistogram::percentile_us(double quantile) const {
  if (count_ == 0) return 0;
  quantile = std::clamp(quantile, 0.0, 1.0);
  const auto rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(quantile * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) return std::min(upper_bound_of(i), max_us_);
  }
  return max_us_;
}

}  // namespace partyline::loadgen
