// parse_rtp and write_rtp_header: RTP packets built byte by byte (RFC 3550
// section 5.1), with CSRCs, RFC 8285 header extensions (one-byte 0xBEDE and
// two-byte 0x100X forms) carrying the RFC 6464 audio level, and RTP padding.
// Each malformed packet the parser must refuse is built from a valid one, so
// a refusal is caused by the one field the test breaks.
#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "plugin_rtp.hpp"

namespace plugin_rtp {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr int kLevelId = 3;  // the audio level's id in most tests

// A 12-byte header: version 2, `flags` ORed into the first byte (P 0x20,
// X 0x10, CC in the low 4 bits), payload type 111, sequence 0x1234,
// timestamp 0xDEADBEEF, SSRC 0x01020304.
Bytes header(uint8_t flags = 0, uint8_t second = 111) {
  return {static_cast<uint8_t>(0x80 | flags), second, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03, 0x04};
}

Bytes operator+(Bytes head, std::initializer_list<uint8_t> tail) {
  head.insert(head.end(), tail);
  return head;
}

// A packet with an extension block: `profile`, then `block` (whole 32-bit
// words), then a payload of 0xA1 0xA2 0xA3.
Bytes with_extension(uint16_t profile, std::initializer_list<uint8_t> block) {
  Bytes packet = header(0x10);
  const size_t words = block.size() / 4;
  packet = packet + std::initializer_list<uint8_t>{static_cast<uint8_t>(profile >> 8), static_cast<uint8_t>(profile),
                                                   0x00, static_cast<uint8_t>(words)};
  packet.insert(packet.end(), block);
  return packet + std::initializer_list<uint8_t>{0xA1, 0xA2, 0xA3};
}

Bytes payload_of(const RtpView& rtp) { return Bytes(rtp.payload.begin(), rtp.payload.end()); }

const Bytes kPayload = {0xA1, 0xA2, 0xA3};

TEST(PluginRtpTest, APlainPacketGivesItsFieldsAndThePayloadAfterTheHeader) {
  const Bytes packet = header() + std::initializer_list<uint8_t>{0xA1, 0xA2, 0xA3};
  const auto rtp = parse_rtp(packet, kLevelId);
  ASSERT_TRUE(rtp.has_value());
  EXPECT_EQ(rtp->sequence, 0x1234);
  EXPECT_EQ(rtp->timestamp, 0xDEADBEEFu);
  EXPECT_EQ(rtp->payload_type, 111);
  EXPECT_EQ(rtp->audio_level, -1);  // no extension at all
  // The payload is a view into the packet, not a copy.
  EXPECT_EQ(rtp->payload.data(), packet.data() + 12);
  EXPECT_EQ(payload_of(*rtp), kPayload);
}

TEST(PluginRtpTest, TheMarkerBitIsNotPartOfThePayloadType) {
  const Bytes packet = header(0, 0x80 | 96) + std::initializer_list<uint8_t>{0xA1};
  const auto rtp = parse_rtp(packet, 0);
  ASSERT_TRUE(rtp.has_value());
  EXPECT_EQ(rtp->payload_type, 96);
}

TEST(PluginRtpTest, AHeaderAloneHasAnEmptyPayload) {
  const auto rtp = parse_rtp(header(), 0);
  ASSERT_TRUE(rtp.has_value());
  EXPECT_TRUE(rtp->payload.empty());
}

TEST(PluginRtpTest, CsrcsAreSkipped) {
  // CC = 2: two 4-byte CSRCs between the header and the payload.
  const Bytes packet = header(0x02) + std::initializer_list<uint8_t>{1, 1, 1, 1, 2, 2, 2, 2, 0xA1, 0xA2, 0xA3};
  const auto rtp = parse_rtp(packet, kLevelId);
  ASSERT_TRUE(rtp.has_value());
  EXPECT_EQ(payload_of(*rtp), kPayload);
}

TEST(PluginRtpTest, OneByteExtensionGivesTheLevelAndIgnoresTheVoiceActivityBit) {
  // id 3, L 0 (one byte): V set, level 42; then two padding bytes.
  const Bytes packet = with_extension(0xBEDE, {0x30, 0x80 | 42, 0x00, 0x00});
  const auto rtp = parse_rtp(packet, kLevelId);
  ASSERT_TRUE(rtp.has_value());
  EXPECT_EQ(rtp->audio_level, 42);
  EXPECT_EQ(payload_of(*rtp), kPayload);  // the block is skipped
}

TEST(PluginRtpTest, OneByteExtensionSkipsOtherIdsToFindTheLevel) {
  // id 1 with 3 bytes of data, then id 3 (the level, 21), then padding.
  const Bytes packet = with_extension(0xBEDE, {0x12, 0x7F, 0x7F, 0x7F, 0x30, 21, 0x00, 0x00});
  const auto rtp = parse_rtp(packet, kLevelId);
  ASSERT_TRUE(rtp.has_value());
  EXPECT_EQ(rtp->audio_level, 21);
  // The same packet read with id 1 as the level's id gives id 1's first byte.
  EXPECT_EQ(parse_rtp(packet, 1)->audio_level, 0x7F);
}

TEST(PluginRtpTest, OneByteExtensionSkipsPaddingBytesBetweenElements) {
  const Bytes packet = with_extension(0xBEDE, {0x00, 0x00, 0x30, 7});
  EXPECT_EQ(parse_rtp(packet, kLevelId)->audio_level, 7);
}

TEST(PluginRtpTest, OneByteExtensionStopsAtTheReservedId15) {
  // RFC 8285 section 4.2: id 15 ends the parsing, so the level after it is not read.
  const Bytes packet = with_extension(0xBEDE, {0xF0, 0x00, 0x30, 7});
  const auto rtp = parse_rtp(packet, kLevelId);
  ASSERT_TRUE(rtp.has_value());
  EXPECT_EQ(rtp->audio_level, -1);
  EXPECT_EQ(payload_of(*rtp), kPayload);
}

TEST(PluginRtpTest, TwoByteExtensionGivesTheLevel) {
  // 0x1000 with appbits 0 and 0x100F with appbits 15: both are the two-byte form.
  // id 7 with 2 bytes, then id 3 with 1 byte (V set, level 5), then padding.
  for (uint16_t profile : {0x1000, 0x100F}) {
    const Bytes packet = with_extension(profile, {7, 2, 0xEE, 0xEE, 3, 1, 0x80 | 5, 0x00});
    const auto rtp = parse_rtp(packet, kLevelId);
    ASSERT_TRUE(rtp.has_value()) << profile;
    EXPECT_EQ(rtp->audio_level, 5) << profile;
    EXPECT_EQ(payload_of(*rtp), kPayload) << profile;
  }
}

TEST(PluginRtpTest, AnUnknownExtensionProfileIsSkippedWithoutALevel) {
  const Bytes packet = with_extension(0xABCD, {0x30, 42, 0x00, 0x00});
  const auto rtp = parse_rtp(packet, kLevelId);
  ASSERT_TRUE(rtp.has_value());
  EXPECT_EQ(rtp->audio_level, -1);
  EXPECT_EQ(payload_of(*rtp), kPayload);
}

TEST(PluginRtpTest, LevelIdZeroMeansNoLevelEvenWhenOneIsSent) {
  const Bytes packet = with_extension(0xBEDE, {0x30, 42, 0x00, 0x00});
  const auto rtp = parse_rtp(packet, 0);
  ASSERT_TRUE(rtp.has_value());
  EXPECT_EQ(rtp->audio_level, -1);
  EXPECT_EQ(payload_of(*rtp), kPayload);
}

TEST(PluginRtpTest, AnElementLongerThanItsBlockGivesNoLevelButThePacketParses) {
  // One-byte form: id 3 claims 4 bytes (L 3) with only 3 left in the block.
  const Bytes one_byte = with_extension(0xBEDE, {0x33, 42, 0x00, 0x00});
  // Two-byte form: id 3 claims 9 bytes in a 4-byte block.
  const Bytes two_byte = with_extension(0x1000, {3, 9, 42, 0x00});
  // Two-byte form: an element header cut after its id byte.
  const Bytes cut_header = with_extension(0x1000, {0x00, 0x00, 0x00, 7});
  for (const Bytes& packet : {one_byte, two_byte, cut_header}) {
    const auto rtp = parse_rtp(packet, kLevelId);
    ASSERT_TRUE(rtp.has_value());
    EXPECT_EQ(rtp->audio_level, -1);
    EXPECT_EQ(payload_of(*rtp), kPayload);
  }
}

TEST(PluginRtpTest, RtpPaddingIsRemovedFromThePayload) {
  // P set; the last byte counts the padding bytes, itself included.
  const Bytes packet = header(0x20) + std::initializer_list<uint8_t>{0xA1, 0xA2, 0xA3, 0x00, 0x00, 0x03};
  const auto rtp = parse_rtp(packet, kLevelId);
  ASSERT_TRUE(rtp.has_value());
  EXPECT_EQ(payload_of(*rtp), kPayload);
}

TEST(PluginRtpTest, PaddingAfterAnExtensionIsRemovedToo) {
  Bytes packet = with_extension(0xBEDE, {0x30, 42, 0x00, 0x00}) + std::initializer_list<uint8_t>{0x00, 0x02};
  packet[0] |= 0x20;
  const auto rtp = parse_rtp(packet, kLevelId);
  ASSERT_TRUE(rtp.has_value());
  EXPECT_EQ(rtp->audio_level, 42);
  EXPECT_EQ(payload_of(*rtp), kPayload);
}

TEST(PluginRtpTest, PaddingThatFillsThePayloadLeavesItEmpty) {
  const Bytes packet = header(0x20) + std::initializer_list<uint8_t>{0x00, 0x00, 0x03};
  const auto rtp = parse_rtp(packet, 0);
  ASSERT_TRUE(rtp.has_value());
  EXPECT_TRUE(rtp->payload.empty());
}

TEST(PluginRtpTest, MalformedPacketsAreRefused) {
  struct Case {
    const char* what;
    Bytes packet;
  };
  const Bytes valid = header() + std::initializer_list<uint8_t>{0xA1};
  ASSERT_TRUE(parse_rtp(valid, kLevelId).has_value());
  Bytes version1 = valid, version3 = valid, version_zero = valid;
  const Bytes eleven(valid.begin(), valid.begin() + 11);
  version1[0] = 0x40;
  version3[0] = 0xC0;
  version_zero[0] = 0x00;
  const Case cases[] = {
      {"empty", Bytes{}},
      {"11 bytes", eleven},
      {"version 1", version1},
      {"version 3", version3},
      {"version 0", version_zero},
      // CC = 3 needs 12 more bytes; 8 are there.
      {"CSRCs past the end", header(0x03) + std::initializer_list<uint8_t>{1, 1, 1, 1, 2, 2, 2, 2}},
      {"extension header cut", header(0x10) + std::initializer_list<uint8_t>{0xBE, 0xDE, 0x00}},
      // The header says 2 words; one follows.
      {"extension block past the end", header(0x10) + std::initializer_list<uint8_t>{0xBE, 0xDE, 0x00, 0x02, 0x30, 42,
                                                                                     0x00, 0x00}},
      {"padding count 0", header(0x20) + std::initializer_list<uint8_t>{0xA1, 0xA2, 0x00}},
      {"padding larger than the payload", header(0x20) + std::initializer_list<uint8_t>{0xA1, 0xA2, 0x04}},
      // P set on a bare header: the count would eat into the header (SSRC's last byte is 4).
      {"padding on a bare header", header(0x20)},
  };
  for (const Case& c : cases) EXPECT_FALSE(parse_rtp(c.packet, kLevelId).has_value()) << c.what;
}

TEST(PluginRtpTest, WrittenHeadersParseBackWithTheirFields) {
  struct Case {
    uint8_t payload_type;
    bool marker;
    uint16_t sequence;
    uint32_t timestamp;
  };
  const Case cases[] = {
      {111, true, 0, 0}, {111, false, 1, 960}, {0, true, 0xFFFF, 0xFFFFFFFF}, {127, false, 0x8001, 0x80000001}};
  for (const Case& c : cases) {
    // Filled with 0xFF first so every byte the writer leaves is visible.
    Bytes packet(kRtpHeaderBytes + 2, 0xFF);
    write_rtp_header(packet, c.payload_type, c.marker, c.sequence, c.timestamp);
    EXPECT_EQ(packet[0], 0x80) << "version 2, no padding, extension or CSRC";
    EXPECT_EQ((packet[1] & 0x80) != 0, c.marker);
    EXPECT_EQ(Bytes(packet.begin() + 8, packet.begin() + 12), Bytes(4, 0)) << "SSRC left zero for the host";
    const auto rtp = parse_rtp(packet, kLevelId);
    ASSERT_TRUE(rtp.has_value());
    EXPECT_EQ(rtp->payload_type, c.payload_type);
    EXPECT_EQ(rtp->sequence, c.sequence);
    EXPECT_EQ(rtp->timestamp, c.timestamp);
    EXPECT_EQ(payload_of(*rtp), Bytes(2, 0xFF)) << "the writer touches only the header";
  }
}

TEST(PluginRtpTest, AnOutOfRangePayloadTypeCannotSetTheMarkerBit) {
  Bytes packet(kRtpHeaderBytes);
  write_rtp_header(packet, 0xFF, false, 1, 1);
  EXPECT_EQ(packet[1], 0x7F);
}

// The recorder's cases, from when it had a reader of its own.
TEST(PluginRtpTest, FindsThePayloadPastCsrcsExtensionAndPadding) {
  std::vector<uint8_t> packet = {0xb1, 0xe0, 0x01, 0x02, 0, 0, 0x10, 0x00, 1, 2, 3, 4,  // V2 P X CC=1, M, PT 96
                                 9, 9, 9, 9,                                              // CSRC
                                 0xbe, 0xde, 0x00, 0x01, 0x10, 0xff, 0, 0,                // one-word extension
                                 0xaa, 0xbb,                                              // payload
                                 0, 2};                                                   // padding 2
  const auto view = parse_rtp(packet);
  ASSERT_TRUE(view);
  EXPECT_TRUE(view->marker);
  EXPECT_EQ(view->payload_type, 96);
  EXPECT_EQ(view->sequence, 0x0102);
  EXPECT_EQ(view->timestamp, 0x1000u);
  ASSERT_EQ(view->payload.size(), 2u);
  EXPECT_EQ(view->payload[0], 0xaa);
}

TEST(PluginRtpTest, RefusesWhatIsNotRtp) {
  EXPECT_FALSE(parse_rtp(std::vector<uint8_t>(11, 0x80)));                          // short
  EXPECT_FALSE(parse_rtp(std::vector<uint8_t>{0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));  // version 1
  EXPECT_FALSE(parse_rtp(std::vector<uint8_t>{0x81, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));  // CSRC past the end
  EXPECT_FALSE(parse_rtp(std::vector<uint8_t>{0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 20}));  // padding too long
}

}  // namespace
}  // namespace plugin_rtp
