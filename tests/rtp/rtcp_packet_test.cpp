// The compound reader, RtcpWriter, and the session packets: SR, RR, SDES, BYE.
#include "rtp/rtcp/rtcp_packet.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "rtp/rtcp/rtcp_reports.hpp"

namespace partyline::rtp {
namespace {

using Bytes = std::vector<uint8_t>;

std::vector<RtcpPacketView> read_compound(Bytes&&, RtcpError* = nullptr) = delete;
std::vector<RtcpPacketView> read_compound(const Bytes& compound, RtcpError* error = nullptr) {
  RtcpCompoundReader reader(compound);
  std::vector<RtcpPacketView> packets;
  RtcpPacketView packet;
  while (reader.next(packet)) packets.push_back(packet);
  if (error) *error = reader.error();
  return packets;
}

// Views point into `bytes`, so temporaries are refused.
RtcpPacketView single_packet(Bytes&&) = delete;
RtcpPacketView single_packet(const Bytes& bytes) {
  RtcpError error;
  const auto packets = read_compound(bytes, &error);
  EXPECT_TRUE(error.ok()) << to_string(error) << " at " << error.offset;
  EXPECT_EQ(packets.size(), 1u);
  return packets.empty() ? RtcpPacketView{} : packets[0];
}

// ---- Compound reader ----

const Bytes kEmptyRr = {0x80, 0xC9, 0x00, 0x01, 0x11, 0x22, 0x33, 0x44};

TEST(RtcpCompoundReader, ReadsHeaderFieldsAndSpans) {
  Bytes compound = kEmptyRr;
  const Bytes pli = {0x81, 0xCE, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2};
  compound.insert(compound.end(), pli.begin(), pli.end());
  const auto packets = read_compound(compound);
  ASSERT_EQ(packets.size(), 2u);
  EXPECT_EQ(packets[0].packet_type, rtcp_type::kReceiverReport);
  EXPECT_EQ(packets[0].count, 0);
  EXPECT_EQ(packets[0].offset, 0u);
  EXPECT_EQ(packets[0].packet.size(), 8u);
  EXPECT_EQ(packets[0].body.size(), 4u);
  EXPECT_EQ(packets[1].packet_type, rtcp_type::kPayloadFeedback);
  EXPECT_EQ(packets[1].count, 1);
  EXPECT_EQ(packets[1].offset, 8u);
  EXPECT_EQ(packets[1].packet.data(), compound.data() + 8);
  EXPECT_EQ(packets[1].body.size(), 8u);
  const auto validated = validate_rtcp_compound(compound);
  ASSERT_TRUE(validated.ok());
  EXPECT_EQ(*validated, 2u);
}

TEST(RtcpCompoundReader, PaddingIsRemovedFromBody) {
  const Bytes padded = {0xA0, 0xCC, 0x00, 0x02, 0x41, 0x42, 0, 0, 0, 0, 0, 6};
  const RtcpPacketView packet = single_packet(padded);
  EXPECT_EQ(packet.packet.size(), 12u);
  EXPECT_EQ(Bytes(packet.body.begin(), packet.body.end()), (Bytes{0x41, 0x42}));
  const Bytes all_padding = {0xA0, 0xCC, 0x00, 0x01, 0, 0, 0, 4};
  EXPECT_TRUE(single_packet(all_padding).body.empty());
}

struct CompoundErrorCase {
  std::string name;
  Bytes compound;
  size_t packets_before_error;
  RtcpError expected;
};

class RtcpCompoundErrors : public ::testing::TestWithParam<CompoundErrorCase> {};

TEST_P(RtcpCompoundErrors, StopsWithKindAndOffset) {
  const CompoundErrorCase& c = GetParam();
  RtcpError error;
  EXPECT_EQ(read_compound(c.compound, &error).size(), c.packets_before_error);
  EXPECT_EQ(error.kind, c.expected.kind) << to_string(error);
  EXPECT_EQ(error.offset, c.expected.offset);
  const auto validated = validate_rtcp_compound(c.compound);
  ASSERT_FALSE(validated.ok());
  EXPECT_EQ(validated.error(), c.expected);
}

Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RtcpCompoundErrors,
    ::testing::Values(
        CompoundErrorCase{"Empty", {}, 0, {RtcpErrorKind::kTruncatedHeader, 0}},
        CompoundErrorCase{"ThreeBytes", {0x80, 0xC9, 0x00}, 0,
                          {RtcpErrorKind::kTruncatedHeader, 0}},
        CompoundErrorCase{"VersionOne", {0x40, 0xC9, 0x00, 0x00}, 0,
                          {RtcpErrorKind::kBadVersion, 0}},
        CompoundErrorCase{"VersionZero", {0x00, 0xC9, 0x00, 0x00}, 0,
                          {RtcpErrorKind::kBadVersion, 0}},
        CompoundErrorCase{"LengthOneWordPastEnd", {0x80, 0xC9, 0x00, 0x02, 1, 2, 3, 4}, 0,
                          {RtcpErrorKind::kLengthPastEnd, 2}},
        CompoundErrorCase{"AbsurdLength", {0x80, 0xC9, 0xFF, 0xFF, 1, 2, 3, 4}, 0,
                          {RtcpErrorKind::kLengthPastEnd, 2}},
        CompoundErrorCase{"SecondLengthPastEnd", concat(kEmptyRr, {0x80, 0xCA, 0x00, 0x05, 0, 0}), 1,
                          {RtcpErrorKind::kLengthPastEnd, 10}},
        CompoundErrorCase{"TrailingBytes", concat(kEmptyRr, {0x80, 0xC9}), 1,
                          {RtcpErrorKind::kTruncatedHeader, 8}},
        CompoundErrorCase{"SecondBadVersion", concat(kEmptyRr, {0xC0, 0xC9, 0x00, 0x00}), 1,
                          {RtcpErrorKind::kBadVersion, 8}},
        CompoundErrorCase{"ZeroPadding", {0xA0, 0xC9, 0x00, 0x01, 0, 0, 0, 0}, 0,
                          {RtcpErrorKind::kZeroPadding, 7}},
        CompoundErrorCase{"PaddingLargerThanBody", {0xA0, 0xC9, 0x00, 0x01, 0, 0, 0, 5}, 0,
                          {RtcpErrorKind::kPaddingTooLarge, 7}},
        // Length 0 makes the low length byte the padding count: always 0.
        CompoundErrorCase{"PaddingOnHeaderOnlyPacket", {0xA0, 0xC9, 0x00, 0x00}, 0,
                          {RtcpErrorKind::kZeroPadding, 3}},
        CompoundErrorCase{"PaddingErrorInSecond",
                          concat(kEmptyRr, {0xA0, 0xCC, 0x00, 0x01, 0, 0, 0, 0xFF}), 1,
                          {RtcpErrorKind::kPaddingTooLarge, 15}}),
    [](const auto& info) { return info.param.name; });

TEST(RtcpError, TextCarriesTheOffset) {
  const Error error = to_error(RtcpError{RtcpErrorKind::kLengthPastEnd, 42});
  EXPECT_EQ(error.code, error_code::kBadRequest);
  EXPECT_NE(error.message.find("length"), std::string::npos);
  EXPECT_NE(error.message.find("42"), std::string::npos);
}

// ---- Writer ----

TEST(RtcpWriter, AppendPacketWritesHeaderAndPadding) {
  std::array<uint8_t, 16> buffer{};
  RtcpWriter writer(buffer);
  const auto body = writer.append_packet(3, rtcp_type::kApp, 5);
  ASSERT_TRUE(body.has_value());
  EXPECT_EQ(body->size(), 5u);
  std::fill(body->begin(), body->end(), uint8_t{0x77});
  EXPECT_EQ(writer.size(), 12u);
  EXPECT_EQ(Bytes(writer.written().begin(), writer.written().end()),
            (Bytes{0xA3, 204, 0x00, 0x02, 0x77, 0x77, 0x77, 0x77, 0x77, 0, 0, 3}));
  const Bytes bytes(writer.written().begin(), writer.written().end());
  const RtcpPacketView packet = single_packet(bytes);
  EXPECT_EQ(packet.body.size(), 5u);
  EXPECT_EQ(packet.count, 3);
}

TEST(RtcpWriter, RefusesWhatDoesNotFitAndWritesNothing) {
  std::array<uint8_t, 12> buffer{};
  buffer.fill(0xEE);
  RtcpWriter writer(buffer);
  EXPECT_FALSE(writer.append_packet(0, rtcp_type::kApp, 9).has_value());
  EXPECT_FALSE(writer.append_packet(32, rtcp_type::kApp, 0).has_value());
  EXPECT_EQ(writer.size(), 0u);
  EXPECT_EQ(buffer[0], 0xEE);
  ASSERT_TRUE(writer.append_packet(0, rtcp_type::kApp, 8).has_value());
  EXPECT_EQ(writer.remaining(), 0u);
  EXPECT_FALSE(writer.append_packet(0, rtcp_type::kApp, 0).has_value());
  writer.truncate(0);
  EXPECT_EQ(writer.size(), 0u);
}

// ---- SR / RR ----

const Bytes kSenderReport = {
    0x81, 0xC8, 0x00, 0x0C,                          // V=2 RC=1 PT=200 length 12
    0x11, 0x22, 0x33, 0x44,                          // sender SSRC
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  // NTP
    0x0A, 0x0B, 0x0C, 0x0D,                          // RTP timestamp
    0x00, 0x00, 0x00, 0x10,                          // packets
    0x00, 0x00, 0x00, 0x20,                          // octets
    0x55, 0x66, 0x77, 0x88,                          // block: SSRC
    0x40, 0xFF, 0xFF, 0xFE,                          // fraction 64, lost -2
    0x00, 0x01, 0x00, 0x05,                          // extended highest seq
    0x00, 0x00, 0x00, 0x20,                          // jitter
    0x12, 0x34, 0x56, 0x78,                          // LSR
    0x00, 0x01, 0x00, 0x00};                         // DLSR

const ReportBlock kBlock{0x55667788, 0x40, -2, 0x00010005, 0x20, 0x12345678, 0x00010000};

TEST(RtcpReports, ParsesKnownSenderReport) {
  const auto sr = parse_sender_report(single_packet(kSenderReport));
  ASSERT_TRUE(sr.ok()) << to_string(sr.error());
  EXPECT_EQ(sr->sender_ssrc, 0x11223344u);
  EXPECT_EQ(sr->info, (SenderInfo{0x0102030405060708ull, 0x0A0B0C0D, 16, 32}));
  ASSERT_EQ(sr->blocks.size(), 1u);
  EXPECT_EQ(sr->blocks[0], kBlock);
  EXPECT_TRUE(sr->profile_extension.empty());
}

TEST(RtcpReports, SenderReportRoundTrip) {
  std::array<ReportBlock, 3> blocks = {kBlock, kBlock, kBlock};
  blocks[1].cumulative_lost = 0x7FFFFF;
  blocks[2].cumulative_lost = -0x800000;
  const SenderInfo info{0xFFFFFFFFFFFFFFFFull, 1, 2, 3};
  std::array<uint8_t, 256> buffer{};
  RtcpWriter writer(buffer);
  ASSERT_TRUE(write_sender_report(writer, 0xABCDEF01, info, blocks).ok());
  EXPECT_EQ(writer.size(), 4 + 24 + 3 * 24u);
  const Bytes bytes(writer.written().begin(), writer.written().end());
  const auto sr = parse_sender_report(single_packet(bytes));
  ASSERT_TRUE(sr.ok());
  EXPECT_EQ(sr->sender_ssrc, 0xABCDEF01u);
  EXPECT_EQ(sr->info, info);
  ASSERT_EQ(sr->blocks.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(sr->blocks[i], blocks[i]);
}

TEST(RtcpReports, KnownSenderReportIsWrittenByteForByte) {
  std::array<uint8_t, 64> buffer{};
  RtcpWriter writer(buffer);
  ASSERT_TRUE(write_sender_report(writer, 0x11223344, {0x0102030405060708ull, 0x0A0B0C0D, 16, 32},
                                  std::span(&kBlock, 1))
                  .ok());
  EXPECT_EQ(Bytes(writer.written().begin(), writer.written().end()), kSenderReport);
}

TEST(RtcpReports, CumulativeLostIsClampedTo24Bits) {
  ReportBlock block = kBlock;
  block.cumulative_lost = 100000000;
  std::array<uint8_t, 64> buffer{};
  RtcpWriter writer(buffer);
  ASSERT_TRUE(write_receiver_report(writer, 1, std::span(&block, 1)).ok());
  const Bytes bytes(writer.written().begin(), writer.written().end());
  const auto rr = parse_receiver_report(single_packet(bytes));
  ASSERT_TRUE(rr.ok());
  EXPECT_EQ(rr->blocks[0].cumulative_lost, 0x7FFFFF);
}

TEST(RtcpReports, ReceiverReportWithProfileExtension) {
  const Bytes rr = {0x80, 0xC9, 0x00, 0x02, 0, 0, 0, 9, 0xDE, 0xAD, 0xBE, 0xEF};
  const auto view = parse_receiver_report(single_packet(rr));
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->sender_ssrc, 9u);
  EXPECT_EQ(view->blocks.size(), 0u);
  EXPECT_EQ(view->profile_extension.size(), 4u);
}

TEST(RtcpReports, ReportErrors) {
  // RC=1 but no room for the block.
  const Bytes short_rr = {0x81, 0xC9, 0x00, 0x01, 0, 0, 0, 1};
  const auto rr = parse_receiver_report(single_packet(short_rr));
  ASSERT_FALSE(rr.ok());
  EXPECT_EQ(rr.error().kind, RtcpErrorKind::kTruncatedBody);
  // SR without a complete sender info.
  const Bytes short_sr = {0x80, 0xC8, 0x00, 0x01, 0, 0, 0, 1};
  EXPECT_EQ(parse_sender_report(single_packet(short_sr)).error().kind, RtcpErrorKind::kTruncatedBody);
  EXPECT_EQ(parse_sender_report(single_packet(kEmptyRr)).error().kind, RtcpErrorKind::kWrongType);
  EXPECT_EQ(parse_receiver_report(single_packet(kSenderReport)).error().kind, RtcpErrorKind::kWrongType);
  // RR with zero-length body (no SSRC).
  const Bytes empty_rr = {0x80, 0xC9, 0x00, 0x00};
  EXPECT_EQ(parse_receiver_report(single_packet(empty_rr)).error().kind, RtcpErrorKind::kTruncatedBody);

  std::array<ReportBlock, 32> too_many{};
  std::array<uint8_t, 1024> buffer{};
  RtcpWriter writer(buffer);
  EXPECT_EQ(write_receiver_report(writer, 1, too_many).kind, RtcpErrorKind::kTooManyItems);
  std::array<uint8_t, 27> small{};
  RtcpWriter small_writer(small);
  EXPECT_EQ(write_sender_report(small_writer, 1, {}, {}).kind, RtcpErrorKind::kNoRoom);
  EXPECT_EQ(small_writer.size(), 0u);
}

// ---- SDES ----

TEST(RtcpSdes, ParsesKnownCnameAndItems) {
  const Bytes sdes = {0x82, 0xCA, 0x00, 0x06,
                      0x00, 0x00, 0x00, 0x01, 0x01, 0x03, 'a', 'b', 'c', 0x00,  // chunk 1
                      0x00, 0x00,                                             // pad to word
                      0x00, 0x00, 0x00, 0x02, 0x06, 0x01, 'x', 0x01, 0x00, 0x00, 0x00, 0x00};
  // chunk 2: TOOL "x", CNAME "" then end.
  const RtcpPacketView packet = single_packet(sdes);
  SdesReader reader(packet);
  SdesItemView item;
  ASSERT_TRUE(reader.next(item));
  EXPECT_EQ(item.ssrc, 1u);
  EXPECT_EQ(item.type, sdes_type::kCname);
  EXPECT_EQ(std::string(item.value.begin(), item.value.end()), "abc");
  ASSERT_TRUE(reader.next(item));
  EXPECT_EQ(item.ssrc, 2u);
  EXPECT_EQ(item.type, 6);
  ASSERT_TRUE(reader.next(item));
  EXPECT_EQ(item.type, sdes_type::kCname);
  EXPECT_TRUE(item.value.empty());
  EXPECT_FALSE(reader.next(item));
  EXPECT_TRUE(reader.error().ok()) << to_string(reader.error());

  const auto cname = find_sdes_cname(packet);
  ASSERT_TRUE(cname.has_value());
  EXPECT_EQ(cname->ssrc, 1u);
}

struct SdesErrorCase {
  std::string name;
  Bytes packet;
  RtcpError expected;
};

class RtcpSdesErrors : public ::testing::TestWithParam<SdesErrorCase> {};

TEST_P(RtcpSdesErrors, ReportsKindAndOffset) {
  SdesReader reader(single_packet(GetParam().packet));
  SdesItemView item;
  while (reader.next(item)) {
  }
  EXPECT_EQ(reader.error(), GetParam().expected)
      << to_string(reader.error()) << " at " << reader.error().offset;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RtcpSdesErrors,
    ::testing::Values(
        SdesErrorCase{"ItemPastEnd", {0x81, 0xCA, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x09, 'a', 'b'},
                      {RtcpErrorKind::kBadItem, 8}},
        SdesErrorCase{"NoTerminator", {0x81, 0xCA, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x02, 'a', 'b'},
                      {RtcpErrorKind::kBadItem, 12}},
        SdesErrorCase{"LengthByteMissing", {0x81, 0xCA, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x01, 'a', 0x05},
                      {RtcpErrorKind::kBadItem, 11}},
        SdesErrorCase{"MissingChunk", {0x82, 0xCA, 0x00, 0x02, 0, 0, 0, 1, 0x00, 0x00, 0x00, 0x00},
                      {RtcpErrorKind::kTruncatedBody, 12}},
        SdesErrorCase{"WrongType", {0x80, 0xC9, 0x00, 0x01, 0, 0, 0, 1},
                      {RtcpErrorKind::kWrongType, 0}}),
    [](const auto& info) { return info.param.name; });

TEST(RtcpSdes, CnameRoundTripForEveryLengthModulo4) {
  for (const std::string cname : {"", "a", "ab", "abc", "abcd", "0123456789abcdef"}) {
    std::array<uint8_t, 64> buffer{};
    RtcpWriter writer(buffer);
    ASSERT_TRUE(write_sdes_cname(writer, 0xFEEDF00D, cname).ok());
    EXPECT_EQ(writer.size() % 4, 0u);
    EXPECT_EQ(buffer[0] & 0x20, 0);  // chunk null octets pad; no RTCP padding
    const Bytes bytes(writer.written().begin(), writer.written().end());
    const auto item = find_sdes_cname(single_packet(bytes));
    ASSERT_TRUE(item.has_value()) << cname;
    EXPECT_EQ(item->ssrc, 0xFEEDF00Du);
    EXPECT_EQ(std::string(item->value.begin(), item->value.end()), cname);
  }
  std::array<uint8_t, 512> buffer{};
  RtcpWriter writer(buffer);
  EXPECT_EQ(write_sdes_cname(writer, 1, std::string(256, 'x')).kind, RtcpErrorKind::kBadValue);
}

// ---- BYE ----

TEST(RtcpBye, ParsesKnownPacketWithReason) {
  const Bytes bye = {0x82, 0xCB, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 2, 0x05, 'l', 'e', 'a', 'v', 'e', 0, 0};
  const auto view = parse_bye(single_packet(bye));
  ASSERT_TRUE(view.ok());
  ASSERT_EQ(view->ssrc_count(), 2u);
  EXPECT_EQ(view->ssrc(0), 1u);
  EXPECT_EQ(view->ssrc(1), 2u);
  EXPECT_EQ(view->reason, "leave");
}

TEST(RtcpBye, Errors) {
  const Bytes missing_ssrc = {0x82, 0xCB, 0x00, 0x01, 0, 0, 0, 1};
  EXPECT_EQ(parse_bye(single_packet(missing_ssrc)).error(), (RtcpError{RtcpErrorKind::kTruncatedBody, 0}));
  const Bytes reason_past_end = {0x81, 0xCB, 0x00, 0x02, 0, 0, 0, 1, 0x09, 'a', 'b', 'c'};
  EXPECT_EQ(parse_bye(single_packet(reason_past_end)).error(),
            (RtcpError{RtcpErrorKind::kTruncatedBody, 8}));
}

TEST(RtcpBye, RoundTrip) {
  const std::array<uint32_t, 3> ssrcs = {7, 8, 0xFFFFFFFF};
  for (const std::string reason : {"", "x", "bye!", "session ended"}) {
    std::array<uint8_t, 64> buffer{};
    RtcpWriter writer(buffer);
    ASSERT_TRUE(write_bye(writer, ssrcs, reason).ok());
    const Bytes bytes(writer.written().begin(), writer.written().end());
    const auto view = parse_bye(single_packet(bytes));
    ASSERT_TRUE(view.ok());
    ASSERT_EQ(view->ssrc_count(), 3u);
    EXPECT_EQ(view->ssrc(2), 0xFFFFFFFFu);
    EXPECT_EQ(view->reason, reason);
  }
}

// ---- Compound ----

TEST(RtcpCompound, SenderReportPlusCname) {
  std::array<uint8_t, 128> buffer{};
  RtcpWriter writer(buffer);
  const SenderInfo info{1, 2, 3, 4};
  ASSERT_TRUE(write_report_compound(writer, 0x1234, &info, std::span(&kBlock, 1), "user@host").ok());
  const Bytes compound(writer.written().begin(), writer.written().end());
  RtcpError error;
  const auto packets = read_compound(compound, &error);
  ASSERT_TRUE(error.ok());
  ASSERT_EQ(packets.size(), 2u);
  const auto sr = parse_sender_report(packets[0]);
  ASSERT_TRUE(sr.ok());
  EXPECT_EQ(sr->info, info);
  EXPECT_EQ(sr->blocks[0], kBlock);
  const auto cname = find_sdes_cname(packets[1]);
  ASSERT_TRUE(cname.has_value());
  EXPECT_EQ(cname->ssrc, 0x1234u);
  EXPECT_EQ(std::string(cname->value.begin(), cname->value.end()), "user@host");
}

TEST(RtcpCompound, ReceiverReportPlusCnameAndRollbackWhenFull) {
  std::array<uint8_t, 128> buffer{};
  RtcpWriter writer(buffer);
  ASSERT_TRUE(write_report_compound(writer, 5, nullptr, {}, "c").ok());
  const Bytes bytes(writer.written().begin(), writer.written().end());
  const auto packets = read_compound(bytes);
  ASSERT_EQ(packets.size(), 2u);
  EXPECT_EQ(packets[0].packet_type, rtcp_type::kReceiverReport);
  EXPECT_EQ(packets[1].packet_type, rtcp_type::kSourceDescription);

  // Room for the RR (8 bytes) but not for the SDES (12 bytes): nothing stays.
  std::array<uint8_t, 16> small{};
  RtcpWriter small_writer(small);
  EXPECT_EQ(write_report_compound(small_writer, 5, nullptr, {}, "c").kind, RtcpErrorKind::kNoRoom);
  EXPECT_EQ(small_writer.size(), 0u);
}

}  // namespace
}  // namespace partyline::rtp
