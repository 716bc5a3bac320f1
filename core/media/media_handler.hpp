// MediaHandler: what the server does with one PeerConnection's decrypted
// media. The echo test, a phone-line occupant (the SFU) and, through the
// plugin ABI, a plugin's media are each one implementation.
//
// Sans-I/O: a handler reads no clock, owns no socket and no timer. Time comes
// in with every call (`now_us`, the monotonic clock in microseconds); what it
// sends goes out through the MediaTransport it was given (protect and send,
// one outcome enum: ice::SendResult); when it next needs to run is what
// on_timer() returns. So every handler is tested in virtual time with a
// recording transport, and the PeerConnection that drives it owns the only
// clock and timer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>

#include "ice/send_result.hpp"

namespace partyline::core {

// Protect-and-send, in place: `buffer` holds `length` clear bytes and has
// rtp::kSrtpMaxTrailer bytes of room after them. Never blocks, allocates or
// logs; the outcome says why a packet did not go (and the transport counts it).
class MediaTransport {
 public:
  virtual ~MediaTransport() = default;
  virtual ice::SendResult send_rtp(std::span<uint8_t> buffer, size_t length) = 0;
  virtual ice::SendResult send_rtcp(std::span<uint8_t> buffer, size_t length) = 0;
};

class MediaHandler {
 public:
  static constexpr int64_t kNoDeadline = std::numeric_limits<int64_t>::max();

  virtual ~MediaHandler() = default;
  // A decrypted RTP packet from the participant; it may be modified in place.
  virtual void on_rtp(std::span<uint8_t> packet, int64_t now_us) = 0;
  // A decrypted RTCP compound packet from the participant.
  virtual void on_rtcp(std::span<const uint8_t> compound, int64_t now_us) = 0;
  // The transport can carry media now (DTLS-SRTP keys are installed).
  virtual void on_transport_secure(int64_t now_us) = 0;
  // Runs what is due at `now_us`; returns when it next wants to run
  // (kNoDeadline: only when something arrives).
  virtual int64_t on_timer(int64_t now_us) = 0;
};

// The NTP clock (RFC 3550 4: seconds since 1900 in the high 32 bits) at a
// monotonic time, for sender and receiver reports. The offset is read once
// from the wall clock by whoever owns the clocks; handlers stay clock-free.
struct NtpClock {
  int64_t unix_minus_monotonic_us = 0;
  uint64_t ntp(int64_t now_us) const;
};

}  // namespace partyline::core
