// The libsrtp2 cipher and auth type tables behind install_fast_srtp_crypto().
// Internal to rtp/ (and its tests, which compare them with libsrtp's own
// types); other code should only use rtp/srtp/srtp_fast_crypto.hpp.
//
// Both follow libsrtp 2.x's type contracts from the installed headers
// <srtp2/cipher.h> and <srtp2/auth.h>:
// - AES-128 ICM (RFC 3711 4.1.1): allocated with key length 30 (16-byte key
//   followed by the 14-byte salt); set_iv XORs the 16-byte IV libsrtp builds
//   (SSRC and packet index, or the KDF label) with salt || 00 00; encrypt and
//   decrypt XOR the AES-CTR keystream, continuing it across calls until the
//   next set_iv. The block counter is the low 16 bits (RFC 3711 limits a
//   packet to 2^16 blocks), and running past it is refused like libsrtp does.
// - HMAC-SHA1 (RFC 2104): init keys the inner/outer SHA-1 states once; start
//   copies the keyed inner state instead of re-keying per packet; compute
//   writes the first tag_len bytes (4 or 10 for SRTP, 10 for SRTCP).
#pragma once

#include <srtp2/auth.h>
#include <srtp2/cipher.h>

namespace partyline::rtp {

const srtp_cipher_type_t& nettle_aes_icm_128_cipher_type();
const srtp_auth_type_t& nettle_hmac_sha1_auth_type();

}  // namespace partyline::rtp
