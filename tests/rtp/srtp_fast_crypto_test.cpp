// The nettle-backed SRTP crypto against libsrtp2's own (NSS-backed in Debian).
//
// Why this does not test an implementation against itself: installation is
// process-wide, but libsrtp binds a session to the cipher and auth objects it
// allocates in srtp_create (every stream of a session shares the template's
// objects, and each object carries its own type pointer, set by the
// implementation's alloc). So the test pins each session to one
// implementation explicitly: while it is created, the crypto kernel's
// AES_ICM_128 / HMAC_SHA1 entries are swapped for a counting wrapper around
// the chosen implementation (libsrtp's own types are reached through their
// exported symbols, independent of what the kernel holds), the wrapper
// proves that the session's objects came from that implementation, and the
// kernel is put back to the nettle types afterwards. The RFC 3711 vectors
// are checked against expectations computed here from the RFC's published
// session keys, not by either implementation.
#include "rtp/srtp/srtp_fast_crypto.hpp"

#include <gtest/gtest.h>
#include <nettle/aes.h>
#include <nettle/ctr.h>
#include <nettle/hmac.h>
#include <nettle/nettle-meta.h>
#include <srtp2/srtp.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "rtp/srtp/srtp_fast_crypto_types.hpp"
#include "rtp/srtp/srtp_session.hpp"

// libsrtp's own implementations and its kernel lookup: exported by
// libsrtp2.so.1 (listed in Debian's libsrtp2-1 symbols file since 2.0.0) but
// declared only in libsrtp's private headers, which Debian does not install.
extern "C" {
extern const srtp_cipher_type_t srtp_aes_icm_128;
extern const srtp_auth_type_t srtp_hmac;
const srtp_cipher_type_t* srtp_crypto_kernel_get_cipher_type(srtp_cipher_type_id_t id);
const srtp_auth_type_t* srtp_crypto_kernel_get_auth_type(srtp_auth_type_id_t id);
}

namespace partyline::rtp {
namespace {

using Bytes = std::vector<uint8_t>;
using Keying = std::array<uint8_t, kSrtpKeyingLength>;

enum class Crypto { kLibsrtp, kNettle };

void PrintTo(Crypto crypto, std::ostream* out) {
  *out << (crypto == Crypto::kLibsrtp ? "libsrtp's own crypto" : "nettle-backed crypto");
}

const srtp_cipher_type_t& cipher_type(Crypto crypto) {
  return crypto == Crypto::kLibsrtp ? srtp_aes_icm_128 : nettle_aes_icm_128_cipher_type();
}
const srtp_auth_type_t& auth_type(Crypto crypto) {
  return crypto == Crypto::kLibsrtp ? srtp_hmac : nettle_hmac_sha1_auth_type();
}

// Counting wrappers put in the crypto kernel while one session is created.
// Their alloc forwards to the real type, whose alloc makes the new object
// point at the real type: only allocation goes through the wrapper.
struct KernelSpy {
  static inline const srtp_cipher_type_t* cipher = nullptr;
  static inline const srtp_auth_type_t* auth = nullptr;
  static inline int cipher_allocs = 0;
  static inline int auth_allocs = 0;
  static inline srtp_cipher_type_t cipher_wrapper{};
  static inline srtp_auth_type_t auth_wrapper{};

  static srtp_err_status_t alloc_cipher(srtp_cipher_pointer_t* out, int key_len, int tag_len) {
    ++cipher_allocs;
    return cipher->alloc(out, key_len, tag_len);
  }
  static srtp_err_status_t alloc_auth(srtp_auth_pointer_t* out, int key_len, int out_len) {
    ++auth_allocs;
    return auth->alloc(out, key_len, out_len);
  }
};

void restore_nettle_kernel_entries() {
  ASSERT_EQ(srtp_replace_cipher_type(&nettle_aes_icm_128_cipher_type(), SRTP_AES_ICM_128),
            srtp_err_status_ok);
  ASSERT_EQ(srtp_replace_auth_type(&nettle_hmac_sha1_auth_type(), SRTP_HMAC_SHA1),
            srtp_err_status_ok);
}

// A session whose cipher and auth objects all come from `crypto`.
SrtpSession pinned_session(Crypto crypto, SrtpProfile profile, SrtpDirection direction,
                           const Keying& keying) {
  KernelSpy::cipher = &cipher_type(crypto);
  KernelSpy::auth = &auth_type(crypto);
  KernelSpy::cipher_wrapper = cipher_type(crypto);
  KernelSpy::cipher_wrapper.alloc = KernelSpy::alloc_cipher;
  KernelSpy::auth_wrapper = auth_type(crypto);
  KernelSpy::auth_wrapper.alloc = KernelSpy::alloc_auth;
  EXPECT_EQ(srtp_replace_cipher_type(&KernelSpy::cipher_wrapper, SRTP_AES_ICM_128),
            srtp_err_status_ok);
  EXPECT_EQ(srtp_replace_auth_type(&KernelSpy::auth_wrapper, SRTP_HMAC_SHA1), srtp_err_status_ok);
  KernelSpy::cipher_allocs = 0;
  KernelSpy::auth_allocs = 0;

  auto session = SrtpSession::create(profile, direction, keying);

  // RTP and RTCP ciphers plus the key-derivation cipher; RTP and RTCP auth.
  EXPECT_GE(KernelSpy::cipher_allocs, 3);
  EXPECT_GE(KernelSpy::auth_allocs, 2);
  restore_nettle_kernel_entries();
  if (!session.ok()) ADD_FAILURE() << session.error().message;
  return std::move(session).value();
}

Keying random_keying(std::mt19937& random) {
  Keying keying{};
  for (auto& byte : keying) byte = static_cast<uint8_t>(random());
  return keying;
}

// V=2, PT 96, then a random payload; room for the trailer after it.
Bytes rtp_packet(uint16_t sequence, uint32_t ssrc, size_t payload, std::mt19937& random) {
  Bytes packet = {0x80, 96, static_cast<uint8_t>(sequence >> 8), static_cast<uint8_t>(sequence),
                  0x12, 0x34, 0x56, 0x78, static_cast<uint8_t>(ssrc >> 24),
                  static_cast<uint8_t>(ssrc >> 16), static_cast<uint8_t>(ssrc >> 8),
                  static_cast<uint8_t>(ssrc)};
  for (size_t i = 0; i < payload; ++i) packet.push_back(static_cast<uint8_t>(random()));
  return packet;
}

// A receiver report header (PT 201) whose length field matches when the
// size is a multiple of four; libsrtp does not parse past the 8-byte header.
Bytes rtcp_packet(uint32_t ssrc, size_t size, std::mt19937& random) {
  uint16_t words = static_cast<uint16_t>(size / 4 - 1);
  Bytes packet = {0x80, 201, static_cast<uint8_t>(words >> 8), static_cast<uint8_t>(words),
                  static_cast<uint8_t>(ssrc >> 24), static_cast<uint8_t>(ssrc >> 16),
                  static_cast<uint8_t>(ssrc >> 8), static_cast<uint8_t>(ssrc)};
  while (packet.size() < size) packet.push_back(static_cast<uint8_t>(random()));
  return packet;
}

enum class Kind { kRtp, kRtcp };

SrtpResult protect(SrtpSession& session, Kind kind, Bytes& packet) {
  size_t length = packet.size();
  packet.resize(length + kSrtpMaxTrailer);
  SrtpResult result = kind == Kind::kRtp ? session.protect_rtp(packet, length)
                                         : session.protect_rtcp(packet, length);
  packet.resize(result.ok() ? result.length : length);
  return result;
}

SrtpResult unprotect(SrtpSession& session, Kind kind, Bytes& packet) {
  SrtpResult result = kind == Kind::kRtp ? session.unprotect_rtp(packet)
                                         : session.unprotect_rtcp(packet);
  if (result.ok()) packet.resize(result.length);
  return result;
}

// Both implementations on both ends of one key: the two senders must emit
// identical bytes, and each receiver must accept the other's packets.
struct InteropRig {
  SrtpSession libsrtp_sender, nettle_sender, libsrtp_receiver, nettle_receiver;

  InteropRig(SrtpProfile profile, const Keying& keying)
      : libsrtp_sender(pinned_session(Crypto::kLibsrtp, profile, SrtpDirection::kOutbound, keying)),
        nettle_sender(pinned_session(Crypto::kNettle, profile, SrtpDirection::kOutbound, keying)),
        libsrtp_receiver(
            pinned_session(Crypto::kLibsrtp, profile, SrtpDirection::kInbound, keying)),
        nettle_receiver(pinned_session(Crypto::kNettle, profile, SrtpDirection::kInbound, keying)) {}

  void exchange(Kind kind, const Bytes& plain, size_t header_length) {
    Bytes from_libsrtp = plain;
    Bytes from_nettle = plain;
    ASSERT_TRUE(protect(libsrtp_sender, kind, from_libsrtp).ok());
    ASSERT_TRUE(protect(nettle_sender, kind, from_nettle).ok());
    ASSERT_EQ(from_libsrtp, from_nettle) << "size " << plain.size();
    if (plain.size() >= header_length + 16) {
      EXPECT_NE(0, std::memcmp(from_nettle.data() + header_length, plain.data() + header_length,
                               16))
          << "payload left in the clear";
    }
    ASSERT_EQ(unprotect(nettle_receiver, kind, from_libsrtp).error, SrtpError::kOk);
    ASSERT_EQ(unprotect(libsrtp_receiver, kind, from_nettle).error, SrtpError::kOk);
    EXPECT_EQ(from_libsrtp, plain);
    EXPECT_EQ(from_nettle, plain);
  }
};

class SrtpFastCryptoTest : public ::testing::TestWithParam<SrtpProfile> {
 protected:
  static void SetUpTestSuite() {
    Status status = install_fast_srtp_crypto();
    ASSERT_TRUE(status.ok()) << status.error().message;
  }
  void SetUp() override { ASSERT_TRUE(fast_srtp_crypto_installed()); }
};

TEST_P(SrtpFastCryptoTest, RtpInteroperatesAtEverySizeAcrossRolloverAndSsrcs) {
  std::mt19937 random(1234);
  for (int key_index = 0; key_index < 3; ++key_index) {
    InteropRig rig(GetParam(), random_keying(random));
    for (uint32_t ssrc : {0x00000001u, 0xDEADBEEFu, static_cast<uint32_t>(random())}) {
      // Every payload size 0..1400 as consecutive sequence numbers starting
      // before 65535, so the rollover counter wraps half way.
      uint16_t sequence = static_cast<uint16_t>(65536 - 700 + key_index);
      for (size_t payload = 0; payload <= 1400; ++payload, ++sequence) {
        rig.exchange(Kind::kRtp, rtp_packet(sequence, ssrc, payload, random), 12);
        if (HasFatalFailure()) return;
      }
    }
  }
}

TEST_P(SrtpFastCryptoTest, RtcpInteroperatesAtManySizes) {
  std::mt19937 random(99);
  for (int key_index = 0; key_index < 3; ++key_index) {
    InteropRig rig(GetParam(), random_keying(random));
    for (uint32_t ssrc : {0x0BADCAFEu, static_cast<uint32_t>(random())}) {
      for (size_t size = 8; size <= 1400; size += (size < 64 ? 1 : 37)) {
        rig.exchange(Kind::kRtcp, rtcp_packet(ssrc, size, random), 8);
        if (HasFatalFailure()) return;
      }
    }
  }
}

TEST_P(SrtpFastCryptoTest, EachSideRejectsTheOthersTamperedPackets) {
  std::mt19937 random(7);
  InteropRig rig(GetParam(), random_keying(random));
  for (Kind kind : {Kind::kRtp, Kind::kRtcp}) {
    for (size_t flip : {size_t{1}, size_t{20}, size_t{0}}) {  // 0: the last byte (tag)
      Bytes plain = kind == Kind::kRtp ? rtp_packet(100, 42, 160, random)
                                       : rtcp_packet(42, 32, random);
      Bytes from_libsrtp = plain;
      Bytes from_nettle = plain;
      ASSERT_TRUE(protect(rig.libsrtp_sender, kind, from_libsrtp).ok());
      ASSERT_TRUE(protect(rig.nettle_sender, kind, from_nettle).ok());
      size_t at = flip == 0 ? from_nettle.size() - 1 : flip + 12;
      from_libsrtp[at] ^= 0x01;
      from_nettle[at] ^= 0x01;
      EXPECT_EQ(unprotect(rig.nettle_receiver, kind, from_libsrtp).error, SrtpError::kAuthFail);
      EXPECT_EQ(unprotect(rig.libsrtp_receiver, kind, from_nettle).error, SrtpError::kAuthFail);
    }
  }
}

TEST_P(SrtpFastCryptoTest, ReplayProtectionStillAppliesWithNettleCrypto) {
  std::mt19937 random(8);
  Keying keying = random_keying(random);
  SrtpSession sender = pinned_session(Crypto::kNettle, GetParam(), SrtpDirection::kOutbound, keying);
  SrtpSession receiver =
      pinned_session(Crypto::kNettle, GetParam(), SrtpDirection::kInbound, keying);
  Bytes packet = rtp_packet(500, 9, 100, random);
  ASSERT_TRUE(protect(sender, Kind::kRtp, packet).ok());
  Bytes again = packet;
  EXPECT_EQ(unprotect(receiver, Kind::kRtp, packet).error, SrtpError::kOk);
  EXPECT_EQ(unprotect(receiver, Kind::kRtp, again).error, SrtpError::kReplay);
}

// --- Below the session level: libsrtp's public cipher/auth API on both types.

struct CipherDeleter {
  void operator()(srtp_cipher_t* cipher) const { srtp_cipher_dealloc(cipher); }
};
using CipherPtr = std::unique_ptr<srtp_cipher_t, CipherDeleter>;

struct AuthDeleter {
  void operator()(srtp_auth_t* auth) const { auth->type->dealloc(auth); }
};
using AuthPtr = std::unique_ptr<srtp_auth_t, AuthDeleter>;

constexpr int kKeyAndSaltLength = 30;

CipherPtr make_cipher(Crypto crypto, const uint8_t* key_and_salt) {
  srtp_cipher_t* raw = nullptr;
  EXPECT_EQ(srtp_cipher_type_alloc(&cipher_type(crypto), &raw, kKeyAndSaltLength, 0),
            srtp_err_status_ok);
  CipherPtr cipher(raw);
  if (cipher) {
    EXPECT_EQ(srtp_cipher_init(cipher.get(), key_and_salt), srtp_err_status_ok);
  }
  return cipher;
}

AuthPtr make_auth(Crypto crypto, const uint8_t* key, int key_len, int tag_len) {
  srtp_auth_t* raw = nullptr;
  EXPECT_EQ(auth_type(crypto).alloc(&raw, key_len, tag_len), srtp_err_status_ok);
  AuthPtr auth(raw);
  if (auth) {
    EXPECT_EQ(srtp_auth_init(auth.get(), key), srtp_err_status_ok);
  }
  return auth;
}

class SrtpFastCryptoPrimitivesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Status status = install_fast_srtp_crypto();
    ASSERT_TRUE(status.ok()) << status.error().message;
  }
};

TEST_F(SrtpFastCryptoPrimitivesTest, InstallIsIdempotentAndReplacesTheKernelEntries) {
  EXPECT_TRUE(install_fast_srtp_crypto().ok());
  EXPECT_TRUE(fast_srtp_crypto_installed());
  EXPECT_EQ(srtp_crypto_kernel_get_cipher_type(SRTP_AES_ICM_128),
            &nettle_aes_icm_128_cipher_type());
  EXPECT_EQ(srtp_crypto_kernel_get_auth_type(SRTP_HMAC_SHA1), &nettle_hmac_sha1_auth_type());
  // The two sides of every comparison here really are different code.
  EXPECT_NE(&srtp_aes_icm_128, &nettle_aes_icm_128_cipher_type());
  EXPECT_NE(&srtp_hmac, &nettle_hmac_sha1_auth_type());
}

TEST_F(SrtpFastCryptoPrimitivesTest, PassesLibsrtpSelfTestsAndLibsrtpsOwnVectors) {
  EXPECT_EQ(srtp_cipher_type_self_test(&nettle_aes_icm_128_cipher_type()), srtp_err_status_ok);
  EXPECT_EQ(srtp_cipher_type_test(&nettle_aes_icm_128_cipher_type(), srtp_aes_icm_128.test_data),
            srtp_err_status_ok);
  EXPECT_EQ(srtp_auth_type_self_test(&nettle_hmac_sha1_auth_type()), srtp_err_status_ok);
  EXPECT_EQ(srtp_auth_type_test(&nettle_hmac_sha1_auth_type(), srtp_hmac.test_data),
            srtp_err_status_ok);
}

TEST_F(SrtpFastCryptoPrimitivesTest, RejectsKeyLengthsOtherThanAes128WithSalt) {
  srtp_cipher_t* raw = nullptr;
  EXPECT_EQ(srtp_cipher_type_alloc(&nettle_aes_icm_128_cipher_type(), &raw, 16, 0),
            srtp_err_status_bad_param);
  EXPECT_EQ(srtp_cipher_type_alloc(&nettle_aes_icm_128_cipher_type(), &raw, 46, 0),
            srtp_err_status_bad_param);
  srtp_auth_t* auth = nullptr;
  EXPECT_EQ(nettle_hmac_sha1_auth_type().alloc(&auth, 20, 21), srtp_err_status_bad_param);
}

// Random keys and IVs (with the low 16 counter bits zero, as libsrtp's IVs
// have them), random lengths, each packet split into up to three encrypt
// calls so the keystream must continue across calls.
TEST_F(SrtpFastCryptoPrimitivesTest, KeystreamMatchesLibsrtpAcrossSplitCalls) {
  std::mt19937 random(4242);
  for (int trial = 0; trial < 300; ++trial) {
    std::array<uint8_t, kKeyAndSaltLength> key{};
    for (auto& byte : key) byte = static_cast<uint8_t>(random());
    std::array<uint8_t, 16> iv{};
    for (size_t i = 0; i < 14; ++i) iv[i] = static_cast<uint8_t>(random());
    CipherPtr libsrtp = make_cipher(Crypto::kLibsrtp, key.data());
    CipherPtr nettle = make_cipher(Crypto::kNettle, key.data());
    ASSERT_TRUE(libsrtp && nettle);
    Bytes data(random() % 3000);
    for (auto& byte : data) byte = static_cast<uint8_t>(random());
    Bytes expected = data;
    ASSERT_EQ(srtp_cipher_set_iv(libsrtp.get(), iv.data(), srtp_direction_encrypt),
              srtp_err_status_ok);
    uint32_t whole = static_cast<uint32_t>(expected.size());
    ASSERT_EQ(srtp_cipher_encrypt(libsrtp.get(), expected.data(), &whole), srtp_err_status_ok);
    ASSERT_EQ(srtp_cipher_set_iv(nettle.get(), iv.data(), srtp_direction_encrypt),
              srtp_err_status_ok);
    size_t done = 0;
    for (int call = 0; call < 3 && done < data.size(); ++call) {
      uint32_t chunk = static_cast<uint32_t>(call == 2 ? data.size() - done
                                                       : random() % (data.size() - done + 1));
      ASSERT_EQ(srtp_cipher_encrypt(nettle.get(), data.data() + done, &chunk), srtp_err_status_ok);
      done += chunk;
    }
    ASSERT_EQ(data, expected) << "trial " << trial << ", length " << data.size();
  }
}

// Several packets per key (start resets the keyed state), message split
// between update and compute, all SRTP tag lengths and the full MAC.
TEST_F(SrtpFastCryptoPrimitivesTest, HmacTagsMatchLibsrtp) {
  std::mt19937 random(77);
  for (int trial = 0; trial < 100; ++trial) {
    std::array<uint8_t, 20> key{};
    for (auto& byte : key) byte = static_cast<uint8_t>(random());
    for (int tag_len : {4, 10, 20}) {
      AuthPtr libsrtp = make_auth(Crypto::kLibsrtp, key.data(), 20, tag_len);
      AuthPtr nettle = make_auth(Crypto::kNettle, key.data(), 20, tag_len);
      ASSERT_TRUE(libsrtp && nettle);
      for (int packet = 0; packet < 3; ++packet) {
        Bytes message(random() % 1500);
        for (auto& byte : message) byte = static_cast<uint8_t>(random());
        int head = message.empty() ? 0 : static_cast<int>(random() % message.size());
        int tail = static_cast<int>(message.size()) - head;
        std::array<uint8_t, 20> expected{}, actual{};
        for (auto* pair : {&libsrtp, &nettle}) {
          srtp_auth_t* auth = pair->get();
          uint8_t* out = pair == &libsrtp ? expected.data() : actual.data();
          ASSERT_EQ(srtp_auth_start(auth), srtp_err_status_ok);
          ASSERT_EQ(srtp_auth_update(auth, message.data(), head), srtp_err_status_ok);
          ASSERT_EQ(srtp_auth_compute(auth, message.data() + head, tail, out), srtp_err_status_ok);
        }
        ASSERT_EQ(expected, actual) << "trial " << trial << ", tag length " << tag_len;
      }
    }
  }
}

class SrtpFastCryptoVectorsTest : public ::testing::TestWithParam<Crypto> {
 protected:
  static void SetUpTestSuite() {
    Status status = install_fast_srtp_crypto();
    ASSERT_TRUE(status.ok()) << status.error().message;
  }
};

Bytes hex(const char* text) {
  Bytes bytes;
  for (size_t i = 0; text[i] != 0 && text[i + 1] != 0; i += 2) {
    bytes.push_back(static_cast<uint8_t>(std::stoi(std::string(text + i, 2), nullptr, 16)));
  }
  return bytes;
}

// RFC 3711 B.2: AES-CM keystream for session key 2B7E...3C, salt F0F1...FD,
// SSRC 0 and index 0, including the blocks near the end of the 16-bit
// block counter.
TEST_P(SrtpFastCryptoVectorsTest, Rfc3711B2KeystreamThroughLibsrtpCipherApi) {
  Bytes key = hex("2B7E151628AED2A6ABF7158809CF4F3C" "F0F1F2F3F4F5F6F7F8F9FAFBFCFD");
  CipherPtr cipher = make_cipher(GetParam(), key.data());
  ASSERT_TRUE(cipher);
  std::array<uint8_t, 16> iv{};
  ASSERT_EQ(srtp_cipher_set_iv(cipher.get(), iv.data(), srtp_direction_encrypt),
            srtp_err_status_ok);
  Bytes keystream(size_t{0xFF02} * 16, 0);
  uint32_t length = static_cast<uint32_t>(keystream.size());
  ASSERT_EQ(srtp_cipher_encrypt(cipher.get(), keystream.data(), &length), srtp_err_status_ok);
  auto block = [&](size_t index) {
    return Bytes(keystream.begin() + index * 16, keystream.begin() + index * 16 + 16);
  };
  EXPECT_EQ(block(0x0000), hex("E03EAD0935C95E80E166B16DD92B4EB4"));
  EXPECT_EQ(block(0x0001), hex("D23513162B02D0F72A43A2FE4A5F97AB"));
  EXPECT_EQ(block(0x0002), hex("41E95B3BB0A2E8DD477901E4FCA894C0"));
  EXPECT_EQ(block(0xFEFF), hex("EC8CDF7398607CB0F2D21675EA9EA1E4"));
  EXPECT_EQ(block(0xFF00), hex("362B7C3C6773516318A077D7FC5073AE"));
  EXPECT_EQ(block(0xFF01), hex("6A2CC3787889374FBEB4C81B17BA6C44"));
}

// What RFC 3711 says an SRTP packet is, computed here with nettle primitives
// from explicitly given session keys (no libsrtp, no key derivation).
Bytes expected_srtp(const Bytes& plain, const Bytes& session_key, const Bytes& session_salt,
                    const Bytes& auth_key, size_t tag_len) {
  uint32_t roc = 0;
  uint64_t index = (uint64_t{roc} << 16) | (plain[2] << 8) | plain[3];
  std::array<uint8_t, 16> iv{};
  std::copy(session_salt.begin(), session_salt.end(), iv.begin());
  for (size_t i = 0; i < 4; ++i) iv[4 + i] ^= plain[8 + i];  // SSRC
  for (size_t i = 0; i < 6; ++i) iv[8 + i] ^= static_cast<uint8_t>(index >> (40 - 8 * i));
  aes128_ctx aes;
  aes128_set_encrypt_key(&aes, session_key.data());
  Bytes out = plain;
  ctr_crypt(&aes, nettle_aes128.encrypt, 16, iv.data(), out.size() - 12, out.data() + 12,
            out.data() + 12);
  hmac_sha1_ctx hmac;
  hmac_sha1_set_key(&hmac, auth_key.size(), auth_key.data());
  hmac_sha1_update(&hmac, out.size(), out.data());
  const uint8_t roc_bytes[4] = {static_cast<uint8_t>(roc >> 24), static_cast<uint8_t>(roc >> 16),
                                static_cast<uint8_t>(roc >> 8), static_cast<uint8_t>(roc)};
  hmac_sha1_update(&hmac, sizeof roc_bytes, roc_bytes);
  std::array<uint8_t, 20> tag{};
  hmac_sha1_digest(&hmac, tag.size(), tag.data());
  out.insert(out.end(), tag.begin(), tag.begin() + static_cast<std::ptrdiff_t>(tag_len));
  return out;
}

// RFC 3711 B.3: master key/salt E1F9...39 / 0EC6...E6 derive the listed
// session key, salt and auth key. libsrtp derives them with the kernel's
// AES-ICM cipher, so the packet protected with them proves the derivation.
TEST_P(SrtpFastCryptoVectorsTest, Rfc3711B3KeyDerivationThroughSrtpSession) {
  Bytes master = hex("E1F97A0D3E018BE0D64FA32C06DE4139" "0EC675AD498AFEEBB6960B3AABE6");
  Keying keying{};
  std::copy(master.begin(), master.end(), keying.begin());
  Bytes session_key = hex("C61E7A93744F39EE10734AFE3FF7A087");
  Bytes session_salt = hex("30CBBC08863D8C85D49DB34A9AE1");
  Bytes auth_key = hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4");
  std::mt19937 random(3711);
  for (auto [profile, tag_len] : {std::pair{SrtpProfile::kAes128CmHmacSha1_80, size_t{10}},
                                  std::pair{SrtpProfile::kAes128CmHmacSha1_32, size_t{4}}}) {
    SrtpSession pinned = pinned_session(GetParam(), profile, SrtpDirection::kOutbound, keying);
    // Also a session created the ordinary way, from whatever is installed.
    auto ordinary = SrtpSession::create(profile, SrtpDirection::kOutbound, keying);
    ASSERT_TRUE(ordinary.ok());
    for (size_t payload : {size_t{0}, size_t{1}, size_t{160}, size_t{1200}}) {
      Bytes plain = rtp_packet(static_cast<uint16_t>(1000 + payload), 0xCAFEBABE, payload, random);
      Bytes expected = expected_srtp(plain, session_key, session_salt, auth_key, tag_len);
      Bytes from_pinned = plain;
      Bytes from_ordinary = plain;
      ASSERT_TRUE(protect(pinned, Kind::kRtp, from_pinned).ok());
      ASSERT_TRUE(protect(*ordinary, Kind::kRtp, from_ordinary).ok());
      EXPECT_EQ(from_pinned, expected) << "payload " << payload;
      EXPECT_EQ(from_ordinary, expected) << "payload " << payload;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(BothImplementations, SrtpFastCryptoVectorsTest,
                         ::testing::Values(Crypto::kLibsrtp, Crypto::kNettle),
                         [](const auto& info) {
                           return info.param == Crypto::kLibsrtp ? "Libsrtp" : "Nettle";
                         });

INSTANTIATE_TEST_SUITE_P(Profiles, SrtpFastCryptoTest,
                         ::testing::Values(SrtpProfile::kAes128CmHmacSha1_80,
                                           SrtpProfile::kAes128CmHmacSha1_32),
                         [](const auto& info) {
                           return info.param == SrtpProfile::kAes128CmHmacSha1_80 ? "Sha1_80"
                                                                                  : "Sha1_32";
                         });

}  // namespace
}  // namespace partyline::rtp
