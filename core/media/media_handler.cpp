#include "core/media/media_handler.hpp"

namespace partyline::core {

uint64_t NtpClock::ntp(int64_t now_us) const {
  constexpr uint64_t kUnixToNtpSeconds = 2208988800ull;
  const uint64_t micros = static_cast<uint64_t>(now_us + unix_minus_monotonic_us);
  const uint64_t seconds = micros / 1'000'000 + kUnixToNtpSeconds;
  const uint64_t fraction = ((micros % 1'000'000) << 32) / 1'000'000;
  return (seconds << 32) | fraction;
}

}  // namespace partyline::core
