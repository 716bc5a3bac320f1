// SrtpSession: one direction of SRTP/SRTCP protection (RFC 3711) for one
// DTLS-SRTP association, over libsrtp2. Inbound sessions accept any SSRC
// (ssrc_any_inbound); outbound sessions protect any SSRC (ssrc_any_outbound).
//
// protect/unprotect work in place on the caller's buffer and never allocate
// (libsrtp creates per-SSRC stream state the first time it sees an SSRC,
// which is the only allocation, once per stream).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "rtp/result.hpp"

struct srtp_ctx_t_;

namespace partyline::rtp {

// The DTLS-SRTP protection profiles GnuTLS 3.7 can negotiate (RFC 5764).
enum class SrtpProfile { kAes128CmHmacSha1_80, kAes128CmHmacSha1_32 };
std::string_view to_string(SrtpProfile profile);

enum class SrtpDirection { kInbound, kOutbound };

// Master key (16 bytes) followed by master salt (14 bytes): the layout libsrtp
// and RFC 5764 key export both use.
inline constexpr size_t kSrtpMasterKeyLength = 16;
inline constexpr size_t kSrtpMasterSaltLength = 14;
inline constexpr size_t kSrtpKeyingLength = kSrtpMasterKeyLength + kSrtpMasterSaltLength;

// Room a caller must leave after a packet for protect_*: the SRTCP index
// (4 bytes) plus an 80-bit tag, rounded up to libsrtp's largest tag.
inline constexpr size_t kSrtpMaxTrailer = 4 + 16;

// Hot-path errors: an enum, not an allocated message (see to_string).
enum class SrtpError {
  kOk,
  kAuthFail,        // the authentication tag does not match
  kReplay,          // this packet index was already received
  kReplayTooOld,    // the packet index is behind the replay window
  kBadParam,        // libsrtp refused the packet (e.g. malformed header)
  kBufferTooSmall,  // not enough room after `length` for the trailer
  kTooShort,        // shorter than a header, or than the trailer to strip
  kOther,           // any other libsrtp status
};
std::string_view to_string(SrtpError error);

struct [[nodiscard]] SrtpResult {
  SrtpError error = SrtpError::kOk;
  size_t length = 0;  // the packet's new length when ok()
  bool ok() const { return error == SrtpError::kOk; }
};

class SrtpSession {
 public:
  // Replay window in packets (libsrtp allows 64..32767); generous because
  // a simulcast/video sender can burst hundreds of packets out of order
  // through a jittery path.
  static constexpr unsigned long kReplayWindow = 1024;

  // `keying` is master key || master salt for this direction.
  static Result<SrtpSession> create(SrtpProfile profile, SrtpDirection direction,
                                    std::span<const uint8_t> keying);

  SrtpSession(SrtpSession&&) noexcept = default;
  SrtpSession& operator=(SrtpSession&&) noexcept = default;

  SrtpProfile profile() const { return profile_; }
  SrtpDirection direction() const { return direction_; }

  // Trailer appended by protect_rtp / protect_rtcp for this profile.
  size_t rtp_trailer_size() const;
  size_t rtcp_trailer_size() const;

  // `buffer` holds a packet of `length` bytes at its start and has room for
  // the trailer after it; the result's length is the new packet length.
  SrtpResult protect_rtp(std::span<uint8_t> buffer, size_t length);
  SrtpResult protect_rtcp(std::span<uint8_t> buffer, size_t length);
  // `packet` is a whole SRTP/SRTCP packet; decrypted in place (it shrinks).
  SrtpResult unprotect_rtp(std::span<uint8_t> packet);
  SrtpResult unprotect_rtcp(std::span<uint8_t> packet);

 private:
  struct Deleter {
    void operator()(srtp_ctx_t_* context) const;
  };

  SrtpSession(SrtpProfile profile, SrtpDirection direction, srtp_ctx_t_* context)
      : profile_(profile), direction_(direction), context_(context) {}

  SrtpProfile profile_;
  SrtpDirection direction_;
  std::unique_ptr<srtp_ctx_t_, Deleter> context_;
};

}  // namespace partyline::rtp
