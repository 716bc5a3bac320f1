// Time as the recorder's units see it: microseconds on the steady clock,
// passed in by the caller (the media thread stamps each packet's arrival),
// so every unit is testable in virtual time.
#pragma once

#include <chrono>
#include <cstdint>

namespace recorder {

using Micros = std::chrono::microseconds;

// The steady clock now, read only at the I/O edges (media callbacks, the
// writer thread's idle wake-ups).
inline Micros steady_now() {
  return std::chrono::duration_cast<Micros>(std::chrono::steady_clock::now().time_since_epoch());
}

}  // namespace recorder
