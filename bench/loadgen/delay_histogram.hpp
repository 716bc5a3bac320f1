// One-way delay percentiles without keeping every sample: a log-linear
// histogram in microseconds (exact below 1024 µs, then 64 buckets per
// doubling, so a reported percentile is within ~1.6 % of the true value).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace partyline::loadgen {

class DelayHistogram {
 public:
  void record(uint64_t delay_us);
  void merge(const DelayHistogram& other);

  uint64_t count() const { return count_; }
  uint64_t max_us() const { return max_us_; }
  // The smallest value v such that at least `quantile` of the samples are
  // <= v (quantile in [0, 1]); 0 without samples.
  uint64_t percentile_us(double quantile) const;

 private:
  static constexpr unsigned kLinearLimit = 1024;  // exact below this
  static constexpr unsigned kSubBuckets = 64;     // per doubling above it
  static constexpr unsigned kOctaves = 40;        // up to 2^50 µs: never overflows
  static constexpr size_t kBuckets = kLinearLimit + kOctaves * kSubBuckets;

  static size_t bucket_of(uint64_t delay_us);
  static uint64_t upper_bound_of(size_t bucket);

  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  uint64_t max_us_ = 0;
};

}  // namespace partyline::loadgen
