// AES-128 integer counter mode (RFC 3711 4.1.1) for libsrtp2, over nettle.
// See srtp_fast_crypto_types.hpp for the contract with libsrtp.
#include <nettle/aes.h>
#include <nettle/ctr.h>
#include <nettle/nettle-meta.h>
#include <string.h>  // explicit_bzero

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

#include "rtp/srtp/srtp_fast_crypto_types.hpp"

namespace partyline::rtp {
namespace {

constexpr size_t kBlockSize = AES_BLOCK_SIZE;
constexpr int kKeyLength = AES128_KEY_SIZE;
constexpr int kSaltLength = 14;
constexpr int kKeyAndSaltLength = kKeyLength + kSaltLength;  // SRTP_AES_ICM_128_KEY_LEN_WSALT
// The low 16 bits of the counter count blocks within one packet (RFC 3711
// 4.1.1); libsrtp's IVs leave them zero, so a packet gets up to 2^16 blocks.
constexpr uint32_t kBlocksPerIv = 1u << 16;

using Block = std::array<uint8_t, kBlockSize>;

// One cipher instance. libsrtp sees `header`; header.state points back to the
// whole object so every callback (which gets only the state) reaches it.
struct NettleAesIcm {
  srtp_cipher_t header{};
  aes128_ctx aes{};
  Block offset{};     // salt || 00 00, fixed per key
  Block counter{};    // counter block of the next keystream block
  Block keystream{};  // the last generated block, for a call that ends mid-block
  size_t keystream_used = kBlockSize;  // bytes of `keystream` already consumed
  uint32_t blocks_left = 0;            // blocks before the 16-bit counter wraps

  ~NettleAesIcm() {
    explicit_bzero(&aes, sizeof aes);
    explicit_bzero(offset.data(), offset.size());
    explicit_bzero(counter.data(), counter.size());
    explicit_bzero(keystream.data(), keystream.size());
  }
};

NettleAesIcm& from_state(void* state) { return *static_cast<NettleAesIcm*>(state); }

srtp_err_status_t alloc(srtp_cipher_pointer_t* cipher_out, int key_len, int /*tag_len*/) {
  if (cipher_out == nullptr || key_len != kKeyAndSaltLength) return srtp_err_status_bad_param;
  std::unique_ptr<NettleAesIcm> cipher;
  try {
    cipher = std::make_unique<NettleAesIcm>();
  } catch (const std::bad_alloc&) {
    return srtp_err_status_alloc_fail;  // must not unwind through libsrtp's C frames
  }
  cipher->header.type = &nettle_aes_icm_128_cipher_type();
  cipher->header.state = cipher.get();
  cipher->header.key_len = key_len;
  // srtp_protect builds the RFC 3711 ICM IV only for ciphers whose algorithm
  // says AES-ICM; any other value would make it use the AEAD IV layout.
  cipher->header.algorithm = SRTP_AES_ICM_128;
  *cipher_out = &cipher.release()->header;
  return srtp_err_status_ok;
}

srtp_err_status_t dealloc(srtp_cipher_pointer_t cipher) {
  if (cipher == nullptr) return srtp_err_status_bad_param;
  std::unique_ptr<NettleAesIcm> owned(&from_state(cipher->state));
  return srtp_err_status_ok;
}

srtp_err_status_t init(void* state, const uint8_t* key) {
  NettleAesIcm& cipher = from_state(state);
  aes128_set_encrypt_key(&cipher.aes, key);
  cipher.offset.fill(0);
  std::copy_n(key + kKeyLength, kSaltLength, cipher.offset.begin());
  cipher.counter = cipher.offset;
  cipher.keystream_used = kBlockSize;
  cipher.blocks_left = kBlocksPerIv;
  return srtp_err_status_ok;
}

srtp_err_status_t set_iv(void* state, uint8_t* iv, srtp_cipher_direction_t /*direction*/) {
  NettleAesIcm& cipher = from_state(state);
  for (size_t i = 0; i < kBlockSize; ++i) cipher.counter[i] = cipher.offset[i] ^ iv[i];
  cipher.keystream_used = kBlockSize;
  uint32_t block_index = (uint32_t{cipher.counter[14]} << 8) | cipher.counter[15];
  cipher.blocks_left = kBlocksPerIv - block_index;
  return srtp_err_status_ok;
}

// Keystream XOR, in place; continues where the previous call stopped.
srtp_err_status_t encrypt(void* state, uint8_t* buffer, unsigned int* octets) {
  NettleAesIcm& cipher = from_state(state);
  size_t remaining = *octets;
  size_t from_leftover = std::min(remaining, kBlockSize - cipher.keystream_used);
  size_t blocks_needed = (remaining - from_leftover + kBlockSize - 1) / kBlockSize;
  if (blocks_needed > cipher.blocks_left) return srtp_err_status_terminus;

  for (size_t i = 0; i < from_leftover; ++i) buffer[i] ^= cipher.keystream[cipher.keystream_used++];
  buffer += from_leftover;
  remaining -= from_leftover;

  size_t whole = remaining - remaining % kBlockSize;
  if (whole > 0) {
    ctr_crypt(&cipher.aes, nettle_aes128.encrypt, kBlockSize, cipher.counter.data(), whole,
              buffer, buffer);
    buffer += whole;
    remaining -= whole;
  }
  if (remaining > 0) {
    // Keep the tail block's keystream so a following call can continue it.
    cipher.keystream.fill(0);
    ctr_crypt(&cipher.aes, nettle_aes128.encrypt, kBlockSize, cipher.counter.data(), kBlockSize,
              cipher.keystream.data(), cipher.keystream.data());
    for (size_t i = 0; i < remaining; ++i) buffer[i] ^= cipher.keystream[i];
    cipher.keystream_used = remaining;
  }
  cipher.blocks_left -= static_cast<uint32_t>(blocks_needed);
  return srtp_err_status_ok;
}

// RFC 3711 B.2: session key, salt, packet index 0 and SSRC 0 give these first
// two keystream blocks. libsrtp runs it when the type is installed (and, when
// replacing, also runs libsrtp's own AES-ICM-128 test case against it).
constexpr std::array<uint8_t, kKeyAndSaltLength> kB2KeyAndSalt = {
    0x2B, 0x7E, 0x15, 0x16, 0x28, 0xAE, 0xD2, 0xA6, 0xAB, 0xF7, 0x15, 0x88, 0x09, 0xCF, 0x4F,
    0x3C, 0xF0, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA, 0xFB, 0xFC, 0xFD};
constexpr Block kB2Iv{};  // packet index 0, SSRC 0
constexpr std::array<uint8_t, 32> kB2Plaintext{};
constexpr std::array<uint8_t, 32> kB2Keystream = {
    0xE0, 0x3E, 0xAD, 0x09, 0x35, 0xC9, 0x5E, 0x80, 0xE1, 0x66, 0xB1, 0x6D, 0xD9, 0x2B, 0x4E, 0xB4,
    0xD2, 0x35, 0x13, 0x16, 0x2B, 0x02, 0xD0, 0xF7, 0x2A, 0x43, 0xA2, 0xFE, 0x4A, 0x5F, 0x97, 0xAB};

const srtp_cipher_test_case_t kB2TestCase = {
    kKeyAndSaltLength,
    kB2KeyAndSalt.data(),
    // libsrtp's struct wants a mutable IV pointer but only reads it (set_iv).
    const_cast<uint8_t*>(kB2Iv.data()),
    static_cast<unsigned>(kB2Plaintext.size()),
    kB2Plaintext.data(),
    static_cast<unsigned>(kB2Keystream.size()),
    kB2Keystream.data(),
    0,        // no AAD: not an AEAD cipher
    nullptr,
    0,        // no tag
    nullptr,  // last test case
};

const srtp_cipher_type_t kNettleAesIcm128 = {
    alloc,
    dealloc,
    init,
    nullptr,  // set_aad: not an AEAD cipher
    encrypt,
    encrypt,  // CTR decryption is the same keystream XOR
    set_iv,
    nullptr,  // get_tag
    "AES-128 counter mode using nettle",
    &kB2TestCase,
    SRTP_AES_ICM_128,
};

}  // namespace

const srtp_cipher_type_t& nettle_aes_icm_128_cipher_type() { return kNettleAesIcm128; }

}  // namespace partyline::rtp
