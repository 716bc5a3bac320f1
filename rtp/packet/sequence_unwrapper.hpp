// Widens wrapping 16-bit RTP sequence numbers (and 32-bit RTP timestamps) to
// 64 bits at the parse boundary, so no later stage does wrap-around
// arithmetic (the str0m approach).
//
// Each value is placed on the 64-bit line at the position closest to the
// highest value seen so far: a forward distance of up to half the range
// (inclusive) is a newer value, anything else is an older, reordered one.
// Keeping the highest (not the last) value as the reference, as RFC 3550
// receivers keep max_seq, means a late retransmission never moves the
// reference backwards. The first value maps to itself; values older than the
// first can map to negative numbers, which is why the result is signed.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <type_traits>

namespace partyline::rtp {

template <typename T>
class Unwrapper {
  static_assert(std::is_unsigned_v<T> && sizeof(T) <= 4, "16- or 32-bit counters");

 public:
  // Extends `value` and remembers it if it is the new highest.
  int64_t unwrap(T value) {
    const int64_t extended = peek(value);
    if (!highest_ || extended > *highest_) highest_ = extended;
    return extended;
  }

  // Extends `value` without changing any state.
  int64_t peek(T value) const {
    if (!highest_) return value;
    const T reference = static_cast<T>(*highest_);
    const T forward = static_cast<T>(value - reference);
    if (forward <= kHalfRange) return *highest_ + forward;
    return *highest_ - static_cast<T>(reference - value);
  }

  std::optional<int64_t> highest() const { return highest_; }
  void reset() { highest_.reset(); }

 private:
  static constexpr T kHalfRange = static_cast<T>(std::numeric_limits<T>::max() / 2 + 1);
  std::optional<int64_t> highest_;
};

using SequenceUnwrapper = Unwrapper<uint16_t>;
using TimestampUnwrapper = Unwrapper<uint32_t>;

}  // namespace partyline::rtp
