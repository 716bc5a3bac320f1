#include "rtp/srtp/srtp_session.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <vector>

namespace partyline::rtp {
namespace {

std::vector<uint8_t> keying(uint8_t seed) {
  std::vector<uint8_t> key(kSrtpKeyingLength);
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(seed + i * 7);
  return key;
}

// An RTP packet (V=2, PT 96) with sequence `sequence`, SSRC 0x11223344 and a
// recognisable payload, in a buffer with room for the SRTP trailer.
std::vector<uint8_t> rtp_packet(uint16_t sequence, size_t payload, size_t* length) {
  std::vector<uint8_t> buffer(12 + payload + kSrtpMaxTrailer, 0);
  const uint8_t header[12] = {0x80, 96, static_cast<uint8_t>(sequence >> 8),
                              static_cast<uint8_t>(sequence), 0, 0, 0x10, 0,
                              0x11, 0x22, 0x33, 0x44};
  std::copy(std::begin(header), std::end(header), buffer.begin());
  for (size_t i = 0; i < payload; ++i) buffer[12 + i] = static_cast<uint8_t>(i * 3 + sequence);
  *length = 12 + payload;
  return buffer;
}

// An RTCP receiver report with one report block (32 bytes).
std::vector<uint8_t> rtcp_packet(size_t* length) {
  std::vector<uint8_t> buffer(32 + kSrtpMaxTrailer, 0);
  const uint8_t header[8] = {0x81, 201, 0, 7, 0xAA, 0xBB, 0xCC, 0xDD};
  std::copy(std::begin(header), std::end(header), buffer.begin());
  for (size_t i = 8; i < 32; ++i) buffer[i] = static_cast<uint8_t>(i);
  *length = 32;
  return buffer;
}

struct Pair {
  SrtpSession sender;
  SrtpSession receiver;
};

Pair make_pair(SrtpProfile profile) {
  auto key = keying(5);
  auto sender = SrtpSession::create(profile, SrtpDirection::kOutbound, key);
  auto receiver = SrtpSession::create(profile, SrtpDirection::kInbound, key);
  EXPECT_TRUE(sender.ok());
  EXPECT_TRUE(receiver.ok());
  return Pair{std::move(sender).value(), std::move(receiver).value()};
}

class SrtpSessionProfileTest : public ::testing::TestWithParam<SrtpProfile> {};

TEST_P(SrtpSessionProfileTest, RtpRoundTripsBetweenPeerSessions) {
  Pair pair = make_pair(GetParam());
  for (uint16_t sequence = 100; sequence < 110; ++sequence) {
    size_t length = 0;
    auto buffer = rtp_packet(sequence, 200, &length);
    const std::vector<uint8_t> plain(buffer.begin(), buffer.begin() + length);
    SrtpResult protectedResult = pair.sender.protect_rtp(buffer, length);
    ASSERT_TRUE(protectedResult.ok()) << to_string(protectedResult.error);
    EXPECT_EQ(protectedResult.length, length + pair.sender.rtp_trailer_size());
    EXPECT_NE(0, std::memcmp(buffer.data() + 12, plain.data() + 12, 200));  // encrypted

    SrtpResult opened =
        pair.receiver.unprotect_rtp(std::span(buffer.data(), protectedResult.length));
    ASSERT_TRUE(opened.ok()) << to_string(opened.error);
    ASSERT_EQ(opened.length, length);
    EXPECT_EQ(plain, std::vector<uint8_t>(buffer.begin(), buffer.begin() + opened.length));
  }
}

TEST_P(SrtpSessionProfileTest, RtcpRoundTripsBetweenPeerSessions) {
  Pair pair = make_pair(GetParam());
  size_t length = 0;
  auto buffer = rtcp_packet(&length);
  const std::vector<uint8_t> plain(buffer.begin(), buffer.begin() + length);
  SrtpResult sealed = pair.sender.protect_rtcp(buffer, length);
  ASSERT_TRUE(sealed.ok()) << to_string(sealed.error);
  EXPECT_EQ(sealed.length, length + 14);  // index + 80-bit tag in both profiles
  SrtpResult opened = pair.receiver.unprotect_rtcp(std::span(buffer.data(), sealed.length));
  ASSERT_TRUE(opened.ok()) << to_string(opened.error);
  EXPECT_EQ(plain, std::vector<uint8_t>(buffer.begin(), buffer.begin() + opened.length));
}

TEST_P(SrtpSessionProfileTest, TamperedPacketsFailAuthentication) {
  Pair pair = make_pair(GetParam());
  size_t length = 0;
  auto buffer = rtp_packet(7, 50, &length);
  SrtpResult sealed = pair.sender.protect_rtp(buffer, length);
  ASSERT_TRUE(sealed.ok());
  buffer[20] ^= 0x01;
  EXPECT_EQ(SrtpError::kAuthFail,
            pair.receiver.unprotect_rtp(std::span(buffer.data(), sealed.length)).error);

  auto rtcp = rtcp_packet(&length);
  sealed = pair.sender.protect_rtcp(rtcp, length);
  ASSERT_TRUE(sealed.ok());
  rtcp[10] ^= 0x80;
  EXPECT_EQ(SrtpError::kAuthFail,
            pair.receiver.unprotect_rtcp(std::span(rtcp.data(), sealed.length)).error);
}

INSTANTIATE_TEST_SUITE_P(BothProfiles, SrtpSessionProfileTest,
                         ::testing::Values(SrtpProfile::kAes128CmHmacSha1_80,
                                           SrtpProfile::kAes128CmHmacSha1_32));

TEST(SrtpSessionTest, ReplayedPacketIsRejected) {
  Pair pair = make_pair(SrtpProfile::kAes128CmHmacSha1_80);
  size_t length = 0;
  auto buffer = rtp_packet(1000, 100, &length);
  SrtpResult sealed = pair.sender.protect_rtp(buffer, length);
  ASSERT_TRUE(sealed.ok());
  const std::vector<uint8_t> wire(buffer.begin(), buffer.begin() + sealed.length);

  auto first = wire;
  ASSERT_TRUE(pair.receiver.unprotect_rtp(first).ok());
  auto second = wire;
  EXPECT_EQ(SrtpError::kReplay, pair.receiver.unprotect_rtp(second).error);
}

TEST(SrtpSessionTest, OutboundAllowsRetransmissionOfTheSameSequence) {
  Pair pair = make_pair(SrtpProfile::kAes128CmHmacSha1_80);
  for (int attempt = 0; attempt < 2; ++attempt) {
    size_t length = 0;
    auto buffer = rtp_packet(42, 100, &length);
    EXPECT_TRUE(pair.sender.protect_rtp(buffer, length).ok()) << "attempt " << attempt;
  }
}

TEST(SrtpSessionTest, WrongKeyFailsAuthentication) {
  auto sender = SrtpSession::create(SrtpProfile::kAes128CmHmacSha1_80, SrtpDirection::kOutbound,
                                    keying(1));
  auto receiver = SrtpSession::create(SrtpProfile::kAes128CmHmacSha1_80, SrtpDirection::kInbound,
                                      keying(2));
  ASSERT_TRUE(sender.ok() && receiver.ok());
  size_t length = 0;
  auto buffer = rtp_packet(1, 10, &length);
  SrtpResult sealed = sender->protect_rtp(buffer, length);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(SrtpError::kAuthFail,
            receiver->unprotect_rtp(std::span(buffer.data(), sealed.length)).error);
}

TEST(SrtpSessionTest, RejectsBadInputWithoutTouchingLibsrtp) {
  auto bad_key = SrtpSession::create(SrtpProfile::kAes128CmHmacSha1_80, SrtpDirection::kInbound,
                                     std::vector<uint8_t>(16));
  ASSERT_FALSE(bad_key.ok());
  EXPECT_NE(bad_key.error().message.find("30 bytes"), std::string::npos);

  Pair pair = make_pair(SrtpProfile::kAes128CmHmacSha1_80);
  size_t length = 0;
  auto buffer = rtp_packet(1, 10, &length);
  EXPECT_EQ(SrtpError::kBufferTooSmall,
            pair.sender.protect_rtp(std::span(buffer.data(), length + 3), length).error);
  std::array<uint8_t, 5> tiny{0x80, 96, 0, 1, 0};
  EXPECT_EQ(SrtpError::kTooShort, pair.receiver.unprotect_rtp(tiny).error);
  EXPECT_EQ(SrtpError::kTooShort, pair.receiver.unprotect_rtcp(tiny).error);
  EXPECT_FALSE(to_string(SrtpError::kReplay).empty());
}

}  // namespace
}  // namespace partyline::rtp
