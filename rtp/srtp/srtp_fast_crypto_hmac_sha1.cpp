// HMAC-SHA1 (RFC 2104) for libsrtp2, over nettle.
// See srtp_fast_crypto_types.hpp for the contract with libsrtp.
#include <nettle/hmac.h>
#include <nettle/sha1.h>
#include <string.h>  // explicit_bzero

#include <array>
#include <cstdint>
#include <memory>
#include <new>

#include "rtp/srtp/srtp_fast_crypto_types.hpp"

namespace partyline::rtp {
namespace {

// One auth instance. libsrtp sees `header`; header.state points back to the
// whole object so every callback (which gets only the state) reaches it.
struct NettleHmacSha1 {
  srtp_auth_t header{};
  // nettle keeps the keyed inner and outer SHA-1 states next to the running
  // one; hmac_sha1_set_key fills them once per key.
  hmac_sha1_ctx hmac{};

  ~NettleHmacSha1() { explicit_bzero(&hmac, sizeof hmac); }
};

NettleHmacSha1& from_state(void* state) { return *static_cast<NettleHmacSha1*>(state); }

srtp_err_status_t alloc(srtp_auth_pointer_t* auth_out, int key_len, int out_len) {
  if (auth_out == nullptr || key_len < 0 || key_len > SHA1_BLOCK_SIZE || out_len < 0 ||
      out_len > SHA1_DIGEST_SIZE) {
    return srtp_err_status_bad_param;
  }
  std::unique_ptr<NettleHmacSha1> auth;
  try {
    auth = std::make_unique<NettleHmacSha1>();
  } catch (const std::bad_alloc&) {
    return srtp_err_status_alloc_fail;  // must not unwind through libsrtp's C frames
  }
  auth->header.type = &nettle_hmac_sha1_auth_type();
  auth->header.state = auth.get();
  auth->header.out_len = out_len;
  auth->header.key_len = key_len;
  auth->header.prefix_len = 0;  // HMAC uses no keystream prefix
  *auth_out = &auth.release()->header;
  return srtp_err_status_ok;
}

srtp_err_status_t dealloc(srtp_auth_pointer_t auth) {
  if (auth == nullptr) return srtp_err_status_bad_param;
  std::unique_ptr<NettleHmacSha1> owned(&from_state(auth->state));
  return srtp_err_status_ok;
}

srtp_err_status_t init(void* state, const uint8_t* key, int key_len) {
  if (key_len < 0 || key_len > SHA1_BLOCK_SIZE) return srtp_err_status_bad_param;
  hmac_sha1_set_key(&from_state(state).hmac, static_cast<size_t>(key_len), key);
  return srtp_err_status_ok;
}

// Per packet: copy the keyed inner state rather than hashing the key again.
srtp_err_status_t start(void* state) {
  hmac_sha1_ctx& hmac = from_state(state).hmac;
  hmac.state = hmac.inner;
  return srtp_err_status_ok;
}

srtp_err_status_t update(void* state, const uint8_t* buffer, int octets) {
  if (octets < 0) return srtp_err_status_bad_param;
  hmac_sha1_update(&from_state(state).hmac, static_cast<size_t>(octets), buffer);
  return srtp_err_status_ok;
}

srtp_err_status_t compute(void* state, const uint8_t* buffer, int octets, int tag_len,
                          uint8_t* tag) {
  if (octets < 0 || tag_len < 0 || tag_len > SHA1_DIGEST_SIZE) return srtp_err_status_bad_param;
  hmac_sha1_ctx& hmac = from_state(state).hmac;
  hmac_sha1_update(&hmac, static_cast<size_t>(octets), buffer);
  // Writes the first tag_len bytes of the MAC (the SRTP truncation), then
  // leaves the running state at the keyed inner state again.
  hmac_sha1_digest(&hmac, static_cast<size_t>(tag_len), tag);
  return srtp_err_status_ok;
}

// RFC 2202 test case 2 (key "Jefe"). libsrtp runs it when the type is
// installed (and, when replacing, also runs libsrtp's own HMAC test case).
constexpr std::array<uint8_t, 4> kRfc2202Key = {'J', 'e', 'f', 'e'};
constexpr std::array<uint8_t, 28> kRfc2202Data = {'w', 'h', 'a', 't', ' ', 'd', 'o', ' ', 'y', 'a',
                                                  ' ', 'w', 'a', 'n', 't', ' ', 'f', 'o', 'r', ' ',
                                                  'n', 'o', 't', 'h', 'i', 'n', 'g', '?'};
constexpr std::array<uint8_t, SHA1_DIGEST_SIZE> kRfc2202Tag = {
    0xef, 0xfc, 0xdf, 0x6a, 0xe5, 0xeb, 0x2f, 0xa2, 0xd2, 0x74,
    0x16, 0xd5, 0xf1, 0x84, 0xdf, 0x9c, 0x25, 0x9a, 0x7c, 0x79};

const srtp_auth_test_case_t kRfc2202TestCase = {
    static_cast<int>(kRfc2202Key.size()),
    kRfc2202Key.data(),
    static_cast<int>(kRfc2202Data.size()),
    kRfc2202Data.data(),
    static_cast<int>(kRfc2202Tag.size()),
    kRfc2202Tag.data(),
    nullptr,  // last test case
};

const srtp_auth_type_t kNettleHmacSha1 = {
    alloc,
    dealloc,
    init,
    compute,
    update,
    start,
    "hmac sha-1 authentication function using nettle",
    &kRfc2202TestCase,
    SRTP_HMAC_SHA1,
};

}  // namespace

const srtp_auth_type_t& nettle_hmac_sha1_auth_type() { return kNettleHmacSha1; }

}  // namespace partyline::rtp
