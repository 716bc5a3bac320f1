#include "rtp/srtp/srtp_session.hpp"

#include <srtp2/srtp.h>

#include <algorithm>
#include <array>
#include <climits>
#include <mutex>
#include <string>

namespace partyline::rtp {
namespace {

constexpr size_t kRtpHeaderLength = 12;
constexpr size_t kRtcpHeaderLength = 8;
constexpr size_t kSrtcpIndexLength = 4;
constexpr size_t kRtcpTagLength = 10;  // SRTCP uses an 80-bit tag in both profiles (RFC 5764 4.1.2)

// libsrtp keeps process-wide state (crypto kernel); it must be initialised
// once before any context is created, and is never shut down because
// sessions may live until exit on any thread.
srtp_err_status_t initialize_libsrtp_once() {
  static std::once_flag once;
  static srtp_err_status_t status = srtp_err_status_ok;
  std::call_once(once, [] { status = srtp_init(); });
  return status;
}

SrtpError to_srtp_error(srtp_err_status_t status) {
  switch (status) {
    case srtp_err_status_ok: return SrtpError::kOk;
    case srtp_err_status_auth_fail: return SrtpError::kAuthFail;
    case srtp_err_status_replay_fail: return SrtpError::kReplay;
    case srtp_err_status_replay_old: return SrtpError::kReplayTooOld;
    case srtp_err_status_bad_param: return SrtpError::kBadParam;
    default: return SrtpError::kOther;
  }
}

size_t rtp_tag_length(SrtpProfile profile) {
  return profile == SrtpProfile::kAes128CmHmacSha1_32 ? 4 : 10;
}

}  // namespace

std::string_view to_string(SrtpProfile profile) {
  switch (profile) {
    case SrtpProfile::kAes128CmHmacSha1_80: return "SRTP_AES128_CM_HMAC_SHA1_80";
    case SrtpProfile::kAes128CmHmacSha1_32: return "SRTP_AES128_CM_HMAC_SHA1_32";
  }
  return "unknown";
}

std::string_view to_string(SrtpError error) {
  switch (error) {
    case SrtpError::kOk: return "ok";
    case SrtpError::kAuthFail: return "SRTP authentication failed";
    case SrtpError::kReplay: return "SRTP replayed packet";
    case SrtpError::kReplayTooOld: return "SRTP packet older than the replay window";
    case SrtpError::kBadParam: return "SRTP bad parameter (malformed packet)";
    case SrtpError::kBufferTooSmall: return "SRTP buffer has no room for the trailer";
    case SrtpError::kTooShort: return "SRTP packet too short";
    case SrtpError::kOther: return "SRTP error";
  }
  return "SRTP error";
}

void SrtpSession::Deleter::operator()(srtp_ctx_t_* context) const {
  srtp_dealloc(context);
}

Result<SrtpSession> SrtpSession::create(SrtpProfile profile, SrtpDirection direction,
                                        std::span<const uint8_t> keying) {
  if (keying.size() != kSrtpKeyingLength) {
    return make_error(error_code::kBadRequest,
                      "SRTP keying material must be " + std::to_string(kSrtpKeyingLength) +
                          " bytes (key + salt), got " + std::to_string(keying.size()));
  }
  if (srtp_err_status_t status = initialize_libsrtp_once(); status != srtp_err_status_ok) {
    return make_error(error_code::kInternal,
                      "srtp_init failed with status " + std::to_string(status));
  }
  srtp_policy_t policy{};
  if (profile == SrtpProfile::kAes128CmHmacSha1_32) {
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
  } else {
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
  }
  srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
  policy.ssrc.type = direction == SrtpDirection::kInbound ? ssrc_any_inbound : ssrc_any_outbound;
  // libsrtp copies the key during srtp_create; it only needs a mutable pointer.
  std::array<uint8_t, kSrtpKeyingLength> key{};
  std::copy(keying.begin(), keying.end(), key.begin());
  policy.key = key.data();
  policy.window_size = kReplayWindow;
  // RTX and NACK-driven resends may repeat a sequence number on the way out.
  policy.allow_repeat_tx = direction == SrtpDirection::kOutbound ? 1 : 0;
  policy.next = nullptr;

  srtp_t context = nullptr;
  srtp_err_status_t status = srtp_create(&context, &policy);
  std::fill(key.begin(), key.end(), 0);
  if (status != srtp_err_status_ok) {
    return make_error(error_code::kInternal,
                      "srtp_create failed with status " + std::to_string(status));
  }
  return SrtpSession(profile, direction, context);
}

size_t SrtpSession::rtp_trailer_size() const { return rtp_tag_length(profile_); }

size_t SrtpSession::rtcp_trailer_size() const { return kSrtcpIndexLength + kRtcpTagLength; }

SrtpResult SrtpSession::protect_rtp(std::span<uint8_t> buffer, size_t length) {
  if (length < kRtpHeaderLength || length > buffer.size()) return {SrtpError::kTooShort, 0};
  if (buffer.size() - length < rtp_trailer_size() || length > INT_MAX / 2) {
    return {SrtpError::kBufferTooSmall, 0};
  }
  int size = static_cast<int>(length);
  SrtpError error = to_srtp_error(srtp_protect(context_.get(), buffer.data(), &size));
  return {error, error == SrtpError::kOk ? static_cast<size_t>(size) : 0};
}

SrtpResult SrtpSession::protect_rtcp(std::span<uint8_t> buffer, size_t length) {
  if (length < kRtcpHeaderLength || length > buffer.size()) return {SrtpError::kTooShort, 0};
  if (buffer.size() - length < rtcp_trailer_size() || length > INT_MAX / 2) {
    return {SrtpError::kBufferTooSmall, 0};
  }
  int size = static_cast<int>(length);
  SrtpError error = to_srtp_error(srtp_protect_rtcp(context_.get(), buffer.data(), &size));
  return {error, error == SrtpError::kOk ? static_cast<size_t>(size) : 0};
}

SrtpResult SrtpSession::unprotect_rtp(std::span<uint8_t> packet) {
  if (packet.size() < kRtpHeaderLength + rtp_trailer_size() || packet.size() > INT_MAX) {
    return {SrtpError::kTooShort, 0};
  }
  int size = static_cast<int>(packet.size());
  SrtpError error = to_srtp_error(srtp_unprotect(context_.get(), packet.data(), &size));
  return {error, error == SrtpError::kOk ? static_cast<size_t>(size) : 0};
}

SrtpResult SrtpSession::unprotect_rtcp(std::span<uint8_t> packet) {
  if (packet.size() < kRtcpHeaderLength + rtcp_trailer_size() || packet.size() > INT_MAX) {
    return {SrtpError::kTooShort, 0};
  }
  int size = static_cast<int>(packet.size());
  SrtpError error = to_srtp_error(srtp_unprotect_rtcp(context_.get(), packet.data(), &size));
  return {error, error == SrtpError::kOk ? static_cast<size_t>(size) : 0};
}

}  // namespace partyline::rtp
