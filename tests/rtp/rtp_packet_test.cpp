#include "rtp/packet/rtp_packet.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace partyline::rtp {
namespace {

using Bytes = std::vector<uint8_t>;

// V=2 X=1 CC=2, M=1 PT=111, seq 0x1234, ts 0xDEADBEEF, SSRC 0x11223344,
// two CSRCs, a one-byte extension block of one word, 3 payload bytes.
const Bytes kFullPacket = {
    0x92, 0xEF, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0x11, 0x22, 0x33, 0x44,  // fixed
    0xAA, 0xAA, 0xAA, 0xAA, 0xBB, 0xBB, 0xBB, 0xBB,                          // CSRCs
    0xBE, 0xDE, 0x00, 0x01, 0x10, 0x7F, 0x00, 0x00,                          // extension
    0x01, 0x02, 0x03};

TEST(RtpPacket, ParsesEveryField) {
  const auto view = parse_rtp_packet(kFullPacket);
  ASSERT_TRUE(view.ok()) << to_string(view.error());
  EXPECT_EQ(view->version, 2);
  EXPECT_FALSE(view->has_padding);
  EXPECT_TRUE(view->has_extension);
  EXPECT_EQ(view->csrc_count, 2);
  EXPECT_TRUE(view->marker);
  EXPECT_EQ(view->payload_type, 111);
  EXPECT_EQ(view->sequence_number, 0x1234);
  EXPECT_EQ(view->timestamp, 0xDEADBEEFu);
  EXPECT_EQ(view->ssrc, 0x11223344u);
  EXPECT_EQ(view->csrc(0), 0xAAAAAAAAu);
  EXPECT_EQ(view->csrc(1), 0xBBBBBBBBu);
  EXPECT_EQ(view->extension_profile, 0xBEDE);
  EXPECT_EQ(view->extension_data.size(), 4u);
  EXPECT_EQ(view->extension_data.data(), kFullPacket.data() + 24);
  EXPECT_EQ(view->extension_data_offset(), 24u);
  EXPECT_EQ(view->header_size, 28u);
  EXPECT_EQ(Bytes(view->payload.begin(), view->payload.end()), (Bytes{1, 2, 3}));
  EXPECT_EQ(view->payload.data(), kFullPacket.data() + 28);
  EXPECT_EQ(view->padding_size, 0);
}

TEST(RtpPacket, MinimalHeaderOnly) {
  const Bytes packet = {0x80, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3};
  const auto view = parse_rtp_packet(packet);
  ASSERT_TRUE(view.ok());
  EXPECT_FALSE(view->marker);
  EXPECT_EQ(view->payload_type, 96);
  EXPECT_EQ(view->header_size, 12u);
  EXPECT_TRUE(view->payload.empty());
  EXPECT_TRUE(view->csrc_bytes.empty());
  EXPECT_TRUE(view->extension_data.empty());
}

TEST(RtpPacket, PaddingIsStrippedFromPayload) {
  const Bytes packet = {0xA0, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xCA, 0xFE, 0, 0, 3};
  const auto view = parse_rtp_packet(packet);
  ASSERT_TRUE(view.ok());
  EXPECT_TRUE(view->has_padding);
  EXPECT_EQ(view->padding_size, 3);
  EXPECT_EQ(Bytes(view->payload.begin(), view->payload.end()), (Bytes{0xCA, 0xFE}));
}

TEST(RtpPacket, PaddingMayFillTheWholeBody) {
  // A padding-only probe packet (as sent for bandwidth probing).
  const Bytes packet = {0xA0, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4};
  const auto view = parse_rtp_packet(packet);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->padding_size, 4);
  EXPECT_TRUE(view->payload.empty());
}

struct MalformedCase {
  std::string name;
  Bytes packet;
  RtpError expected;
};

class RtpMalformed : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(RtpMalformed, ReportsThePreciseError) {
  const auto view = parse_rtp_packet(GetParam().packet);
  ASSERT_FALSE(view.ok());
  EXPECT_EQ(view.error(), GetParam().expected) << to_string(view.error());
}

const Bytes kHeader = {0x80, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3};
Bytes with_first_byte(uint8_t first, Bytes tail = {}) {
  Bytes packet = kHeader;
  packet[0] = first;
  packet.insert(packet.end(), tail.begin(), tail.end());
  return packet;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RtpMalformed,
    ::testing::Values(
        MalformedCase{"Empty", {}, RtpError::kTooShort},
        MalformedCase{"OneByte", {0x80}, RtpError::kTooShort},
        MalformedCase{"ElevenBytes", Bytes(kHeader.begin(), kHeader.end() - 1),
                      RtpError::kTooShort},
        MalformedCase{"VersionZero", with_first_byte(0x00), RtpError::kBadVersion},
        MalformedCase{"VersionOne", with_first_byte(0x40), RtpError::kBadVersion},
        MalformedCase{"VersionThree", with_first_byte(0xC0), RtpError::kBadVersion},
        MalformedCase{"CsrcCountOneNoList", with_first_byte(0x81), RtpError::kCsrcPastEnd},
        MalformedCase{"CsrcListOneByteShort", with_first_byte(0x82, {1, 2, 3, 4, 5, 6, 7}),
                      RtpError::kCsrcPastEnd},
        MalformedCase{"CsrcCount15NoList", with_first_byte(0x8F), RtpError::kCsrcPastEnd},
        MalformedCase{"ExtensionFlagNoHeader", with_first_byte(0x90), RtpError::kExtensionHeaderPastEnd},
        MalformedCase{"ExtensionHeaderPartial", with_first_byte(0x90, {0xBE, 0xDE, 0x00}),
                      RtpError::kExtensionHeaderPastEnd},
        MalformedCase{"ExtensionLengthPastEnd", with_first_byte(0x90, {0xBE, 0xDE, 0x00, 0x02, 1, 2, 3, 4}),
                      RtpError::kExtensionPastEnd},
        MalformedCase{"ExtensionLengthMax", with_first_byte(0x90, {0xBE, 0xDE, 0xFF, 0xFF}),
                      RtpError::kExtensionPastEnd},
        MalformedCase{"ExtensionAfterCsrcPastEnd",
                      with_first_byte(0x91, {9, 9, 9, 9, 0xBE, 0xDE, 0x00, 0x01}),
                      RtpError::kExtensionPastEnd},
        MalformedCase{"PaddingCountZero", with_first_byte(0xA0, {1, 2, 0}), RtpError::kZeroPadding},
        MalformedCase{"PaddingTooLarge", with_first_byte(0xA0, {1, 2, 4}),
                      RtpError::kPaddingTooLarge},
        MalformedCase{"PaddingFlagHeaderOnly", with_first_byte(0xA0), RtpError::kPaddingTooLarge},
        MalformedCase{"PaddingReachesIntoExtension",
                      with_first_byte(0xB0, {0xBE, 0xDE, 0x00, 0x01, 0x10, 0x00, 0x00, 0x00, 2}),
                      RtpError::kPaddingTooLarge}),
    [](const auto& info) { return info.param.name; });

TEST(RtpPacket, ErrorTextsAreDistinct) {
  const RtpError all[] = {RtpError::kTooShort, RtpError::kBadVersion, RtpError::kCsrcPastEnd,
                          RtpError::kExtensionHeaderPastEnd, RtpError::kExtensionPastEnd,
                          RtpError::kZeroPadding, RtpError::kPaddingTooLarge,
                          RtpError::kTooManyCsrcs, RtpError::kBadPayloadType,
                          RtpError::kExtensionNotAligned, RtpError::kExtensionTooLong,
                          RtpError::kOutputTooSmall};
  for (const RtpError a : all) {
    EXPECT_EQ(to_string(a).substr(0, 4), "rtp:");
    for (const RtpError b : all) {
      if (a != b) {
        EXPECT_NE(to_string(a), to_string(b));
      }
    }
  }
  const Error error = to_error(RtpError::kBadVersion);
  EXPECT_EQ(error.code, error_code::kBadRequest);
  EXPECT_NE(error.message.find("version"), std::string::npos);
}

TEST(RtpPacket, InPlaceSettersChangeOnlyTheirField) {
  Bytes packet = kFullPacket;
  ASSERT_TRUE(set_rtp_ssrc(packet, 0xCAFEBABE));
  ASSERT_TRUE(set_rtp_sequence_number(packet, 0xFFFF));
  ASSERT_TRUE(set_rtp_timestamp(packet, 42));
  ASSERT_TRUE(set_rtp_payload_type(packet, 96));
  const auto view = parse_rtp_packet(packet);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->ssrc, 0xCAFEBABEu);
  EXPECT_EQ(view->sequence_number, 0xFFFF);
  EXPECT_EQ(view->timestamp, 42u);
  EXPECT_EQ(view->payload_type, 96);
  EXPECT_TRUE(view->marker);  // payload type write kept the marker
  EXPECT_EQ(view->csrc(1), 0xBBBBBBBBu);
  EXPECT_EQ(Bytes(packet.begin() + 12, packet.end()), Bytes(kFullPacket.begin() + 12, kFullPacket.end()));

  ASSERT_TRUE(set_rtp_marker(packet, false));
  EXPECT_EQ(packet[1], 96);
  ASSERT_TRUE(set_rtp_marker(packet, true));
  EXPECT_EQ(packet[1], 0x80 | 96);
}

TEST(RtpPacket, SettersRefuseShortBuffersAndBadPayloadType) {
  Bytes short_packet(11, 0x80);
  const Bytes before = short_packet;
  EXPECT_FALSE(set_rtp_ssrc(short_packet, 1));
  EXPECT_FALSE(set_rtp_sequence_number(short_packet, 1));
  EXPECT_FALSE(set_rtp_timestamp(short_packet, 1));
  EXPECT_FALSE(set_rtp_payload_type(short_packet, 1));
  EXPECT_FALSE(set_rtp_marker(short_packet, true));
  EXPECT_EQ(short_packet, before);

  Bytes packet = kFullPacket;
  EXPECT_FALSE(set_rtp_payload_type(packet, 128));
  EXPECT_EQ(packet, kFullPacket);
}

TEST(RtpPacket, SerializeReproducesKnownBytes) {
  const std::array<uint32_t, 2> csrcs = {0xAAAAAAAA, 0xBBBBBBBB};
  const Bytes extension = {0x10, 0x7F, 0x00, 0x00};
  const Bytes payload = {1, 2, 3};
  RtpHeaderSpec header;
  header.marker = true;
  header.payload_type = 111;
  header.sequence_number = 0x1234;
  header.timestamp = 0xDEADBEEF;
  header.ssrc = 0x11223344;
  header.csrcs = csrcs;
  header.has_extension = true;
  header.extension_profile = 0xBEDE;
  header.extension_data = extension;
  Bytes out(64, 0xEE);
  const auto size = serialize_rtp_packet(header, payload, out);
  ASSERT_TRUE(size.ok()) << to_string(size.error());
  EXPECT_EQ(Bytes(out.begin(), out.begin() + static_cast<ptrdiff_t>(*size)), kFullPacket);
  EXPECT_EQ(out[*size], 0xEE);  // nothing written past the packet
}

TEST(RtpPacket, SerializeWithPaddingRoundTrips) {
  const Bytes payload = {9, 8, 7, 6, 5};
  RtpHeaderSpec header;
  header.payload_type = 96;
  header.sequence_number = 65535;
  header.timestamp = 1;
  header.ssrc = 2;
  header.padding_size = 7;
  Bytes out(12 + 5 + 7);
  const auto size = serialize_rtp_packet(header, payload, out);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, out.size());
  EXPECT_EQ(out.back(), 7);
  const auto view = parse_rtp_packet(out);
  ASSERT_TRUE(view.ok());
  EXPECT_TRUE(view->has_padding);
  EXPECT_EQ(view->padding_size, 7);
  EXPECT_EQ(Bytes(view->payload.begin(), view->payload.end()), payload);
  EXPECT_EQ(view->sequence_number, 65535);
}

TEST(RtpPacket, SerializeExactFitAndOneByteShort) {
  const Bytes payload(100, 0x55);
  RtpHeaderSpec header;
  Bytes exact(112);
  EXPECT_TRUE(serialize_rtp_packet(header, payload, exact).ok());
  Bytes small(111);
  const auto result = serialize_rtp_packet(header, payload, small);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error(), RtpError::kOutputTooSmall);
}

TEST(RtpPacket, SerializeRejectsInvalidSpecs) {
  Bytes out(2048);
  const std::array<uint32_t, 16> too_many_csrcs{};
  const Bytes unaligned = {1, 2, 3};
  struct Case {
    const char* name;
    RtpHeaderSpec header;
    RtpError expected;
  };
  RtpHeaderSpec csrcs;
  csrcs.csrcs = too_many_csrcs;
  RtpHeaderSpec payload_type;
  payload_type.payload_type = 128;
  RtpHeaderSpec extension;
  extension.has_extension = true;
  extension.extension_data = unaligned;
  for (const Case& c : {Case{"csrcs", csrcs, RtpError::kTooManyCsrcs},
                        Case{"payload type", payload_type, RtpError::kBadPayloadType},
                        Case{"extension", extension, RtpError::kExtensionNotAligned}}) {
    const auto result = serialize_rtp_packet(c.header, {}, out);
    ASSERT_FALSE(result.ok()) << c.name;
    EXPECT_EQ(result.error(), c.expected) << c.name;
  }
}

TEST(RtpPacket, SerializeEmptyExtensionBlock) {
  RtpHeaderSpec header;
  header.has_extension = true;
  header.extension_profile = 0x1000;
  Bytes out(16);
  const auto size = serialize_rtp_packet(header, {}, out);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 16u);
  const auto view = parse_rtp_packet(out);
  ASSERT_TRUE(view.ok());
  EXPECT_TRUE(view->has_extension);
  EXPECT_EQ(view->extension_profile, 0x1000);
  EXPECT_TRUE(view->extension_data.empty());
}

}  // namespace
}  // namespace partyline::rtp
