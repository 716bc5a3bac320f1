#include "rtp/srtp/srtp_fast_crypto.hpp"

#include <srtp2/srtp.h>

#include <array>
#include <atomic>
#include <mutex>
#include <string>

#include "rtp/srtp/srtp_fast_crypto_types.hpp"
#include "rtp/srtp/srtp_session.hpp"

namespace partyline::rtp {
namespace {

// libsrtp's crypto kernel is process-wide, so is the record of having
// replaced part of it.
std::atomic<bool> installed{false};

// The types rely on how libsrtp 2.x's srtp.c drives a cipher (the ICM IV it
// builds for algorithm SRTP_AES_ICM_128, the 30-byte key+salt) and on the
// 2.x struct layouts of the headers we compile against; a libsrtp 3 would
// change both, so refuse anything but 2.x at run time.
constexpr unsigned kSupportedMajorVersion = 2;

Status check_libsrtp_version() {
  unsigned version = srtp_get_version();
  unsigned major = version >> 24;
  if (major != kSupportedMajorVersion) {
    return make_error(error_code::kUnsupported,
                      std::string("fast SRTP crypto supports libsrtp 2.x only, found ") +
                          srtp_get_version_string());
  }
  return {};
}

// srtp_init is not idempotent (a second call fails registering its debug
// module), and SrtpSession owns the single call. Creating a throw-away session
// makes that call happen before the crypto kernel is modified: replacing a
// type before srtp_init would make srtp_init fail to load its defaults.
Status initialize_libsrtp_through_srtp_session() {
  std::array<uint8_t, kSrtpKeyingLength> throwaway_key{};
  auto session = SrtpSession::create(SrtpProfile::kAes128CmHmacSha1_80, SrtpDirection::kOutbound,
                                     throwaway_key);
  if (!session.ok()) return session.error();
  return {};
}

Status install_once() {
  if (Status status = check_libsrtp_version(); !status.ok()) return status;
  if (Status status = initialize_libsrtp_through_srtp_session(); !status.ok()) return status;

  // libsrtp self-tests each type against its own test vectors and, since an
  // entry exists, against the test vectors of the type it replaces; a type
  // that disagrees is refused and libsrtp's stays.
  srtp_err_status_t status =
      srtp_replace_cipher_type(&nettle_aes_icm_128_cipher_type(), SRTP_AES_ICM_128);
  if (status != srtp_err_status_ok) {
    return make_error(error_code::kInternal,
                      "srtp_replace_cipher_type(AES_ICM_128, nettle) failed with status " +
                          std::to_string(status) + "; libsrtp's own crypto stays in use");
  }
  status = srtp_replace_auth_type(&nettle_hmac_sha1_auth_type(), SRTP_HMAC_SHA1);
  if (status != srtp_err_status_ok) {
    return make_error(error_code::kInternal,
                      "srtp_replace_auth_type(HMAC_SHA1, nettle) failed with status " +
                          std::to_string(status) +
                          "; the nettle AES-ICM cipher is in use with libsrtp's own HMAC");
  }
  installed.store(true, std::memory_order_release);
  return {};
}

}  // namespace

Status install_fast_srtp_crypto() {
  static std::once_flag once;
  static Status result;
  std::call_once(once, [] { result = install_once(); });
  return result;
}

bool fast_srtp_crypto_installed() { return installed.load(std::memory_order_acquire); }

}  // namespace partyline::rtp
