// Fast SRTP crypto: libsrtp2 keeps packet handling, replay protection and key
// derivation, but its AES_ICM_128 cipher and HMAC_SHA1 auth types are
// replaced (through libsrtp's documented srtp_replace_cipher_type /
// srtp_replace_auth_type hooks) by nettle-backed ones that are bit-identical
// and 4-5x faster than Debian's NSS-backed build.
//
// The replacement is process-wide and only affects sessions created after it:
// libsrtp binds a session to the cipher/auth objects it allocates in
// srtp_create. Call install_fast_srtp_crypto() once at start-up, before any
// SrtpSession is created and while no other thread is creating one (libsrtp's
// crypto kernel list is not locked). SrtpSession works with or without it.
#pragma once

#include "rtp/result.hpp"

namespace partyline::rtp {

// Installs the nettle-backed types. Idempotent: every call returns the result
// of the first. On error libsrtp keeps (or, if the cipher was swapped but the
// auth type was refused, partly keeps) its own crypto; either way every
// session stays correct, because each replacement is individually verified by
// libsrtp's self-tests against its own test vectors before it is accepted.
Status install_fast_srtp_crypto();

// True once install_fast_srtp_crypto() has succeeded in this process.
bool fast_srtp_crypto_installed();

}  // namespace partyline::rtp
