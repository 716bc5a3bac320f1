#include "rtp/rtcp/transport_cc.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace partyline::rtp {
namespace {

using Bytes = std::vector<uint8_t>;

// Views point into `bytes`, so temporaries are refused.
RtcpPacketView single_packet(Bytes&&) = delete;
RtcpPacketView single_packet(const Bytes& bytes) {
  RtcpCompoundReader reader(bytes);
  RtcpPacketView packet;
  EXPECT_TRUE(reader.next(packet)) << to_string(reader.error());
  return packet;
}

std::vector<TransportCcPacket> read_all(const TransportCcView& view) {
  std::vector<TransportCcPacket> packets;
  TransportCcReader reader(view);
  TransportCcPacket packet;
  while (reader.next(packet)) packets.push_back(packet);
  return packets;
}

TransportCcPacket received(uint16_t sequence, int32_t delta, int64_t time_us) {
  return {sequence, true, delta, time_us};
}
TransportCcPacket lost(uint16_t sequence) { return {sequence, false, 0, 0}; }

// base 100, 5 packets, reference time 1 (64 ms), feedback count 7; one
// two-bit status vector [small, lost, small, large, small]; deltas 4, 1, -1, 255.
const Bytes kTwoBitVector = {0xAF, 0xCD, 0x00, 0x06, 0, 0, 0, 1, 0, 0, 0, 2,
                             0x00, 0x64, 0x00, 0x05, 0x00, 0x00, 0x01, 0x07,
                             0xD1, 0x90, 0x04, 0x01, 0xFF, 0xFF, 0xFF, 0x01};

TEST(TransportCc, ParsesTwoBitVectorWithSmallAndLargeDeltas) {
  const auto view = parse_transport_cc(single_packet(kTwoBitVector));
  ASSERT_TRUE(view.ok()) << to_string(view.error()) << " at " << view.error().offset;
  EXPECT_EQ(view->sender_ssrc, 1u);
  EXPECT_EQ(view->media_ssrc, 2u);
  EXPECT_EQ(view->base_sequence, 100);
  EXPECT_EQ(view->status_count, 5);
  EXPECT_EQ(view->reference_time, 1);
  EXPECT_EQ(view->feedback_count, 7);
  EXPECT_EQ(view->chunks.size(), 2u);
  EXPECT_EQ(view->deltas.size(), 5u);
  EXPECT_EQ(read_all(*view),
            (std::vector<TransportCcPacket>{received(100, 4, 65000), lost(101),
                                            received(102, 1, 65250), received(103, -1, 65000),
                                            received(104, 255, 128750)}));
}

TEST(TransportCc, WriterProducesTheKnownBytes) {
  const std::array<TransportCcEntry, 5> entries = {
      TransportCcEntry{true, 4}, TransportCcEntry{false, 0}, TransportCcEntry{true, 1},
      TransportCcEntry{true, -1}, TransportCcEntry{true, 255}};
  std::array<uint8_t, 64> buffer{};
  RtcpWriter writer(buffer);
  ASSERT_TRUE(write_transport_cc(writer, {1, 2, 100, 1, 7}, entries).ok());
  EXPECT_EQ(Bytes(writer.written().begin(), writer.written().end()), kTwoBitVector);
}

// base 65535, 17 packets, reference time -1, run-length chunk (3 x small)
// then a one-bit vector [1, 0 x 12, 1]; trailing zero bytes without P bit.
const Bytes kRunAndOneBit = {0x8F, 0xCD, 0x00, 0x07, 0, 0, 0, 1, 0, 0, 0, 2,
                             0xFF, 0xFF, 0x00, 0x11, 0xFF, 0xFF, 0xFF, 0x00,
                             0x20, 0x03, 0xA0, 0x01, 0x01, 0x02, 0x03, 0x04,
                             0x05, 0x00, 0x00, 0x00};

TEST(TransportCc, ParsesRunLengthAndOneBitVectorAcrossWrap) {
  const auto view = parse_transport_cc(single_packet(kRunAndOneBit));
  ASSERT_TRUE(view.ok()) << to_string(view.error()) << " at " << view.error().offset;
  EXPECT_EQ(view->reference_time, -1);
  EXPECT_EQ(view->status_count, 17);
  std::vector<TransportCcPacket> expected = {received(65535, 1, -63750), received(0, 2, -63250),
                                             received(1, 3, -62500), received(2, 4, -61500)};
  for (uint16_t sequence = 3; sequence <= 14; ++sequence) expected.push_back(lost(sequence));
  expected.push_back(received(15, 5, -60250));
  EXPECT_EQ(read_all(*view), expected);

  std::array<TransportCcPacket, 4> first{};
  EXPECT_EQ(read_transport_cc(*view, first), 4u);
  EXPECT_EQ(first[3], expected[3]);
}

TEST(TransportCc, EmptyRunLengthChunksAreSkipped) {
  const Bytes packet = {0x8F, 0xCD, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 2,
                        0x00, 0x0A, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                        0x20, 0x00, 0x20, 0x01};  // run of 0, then run of 1 small
  // The delta byte would be past the end: 24 bytes hold no delta.
  const auto view = parse_transport_cc(single_packet(packet));
  ASSERT_FALSE(view.ok());
  EXPECT_EQ(view.error(), (RtcpError{RtcpErrorKind::kTruncatedBody, 24}));

  const Bytes with_delta = {0x8F, 0xCD, 0x00, 0x06, 0, 0, 0, 1, 0, 0, 0, 2,
                            0x00, 0x0A, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                            0x20, 0x00, 0x20, 0x01, 0x08, 0, 0, 0};
  const auto ok = parse_transport_cc(single_packet(with_delta));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(read_all(*ok), (std::vector<TransportCcPacket>{received(10, 8, 2000)}));
}

struct TwccErrorCase {
  std::string name;
  Bytes packet;
  RtcpError expected;
};

class TransportCcErrors : public ::testing::TestWithParam<TwccErrorCase> {};

TEST_P(TransportCcErrors, ReportsKindAndOffset) {
  const auto view = parse_transport_cc(single_packet(GetParam().packet));
  ASSERT_FALSE(view.ok());
  EXPECT_EQ(view.error(), GetParam().expected) << to_string(view.error()) << " at " << view.error().offset;
}

// Header + SSRCs for an RTPFB FMT 15 packet of `words` length.
Bytes twcc_prefix(uint8_t first_byte, uint8_t words) {
  return {first_byte, 0xCD, 0x00, words, 0, 0, 0, 1, 0, 0, 0, 2};
}
Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, TransportCcErrors,
    ::testing::Values(
        TwccErrorCase{"FciShorterThanFixedPart", cat(twcc_prefix(0x8F, 3), {0, 1, 0, 1}),
                      {RtcpErrorKind::kTruncatedBody, 12}},
        TwccErrorCase{"NoChunkForStatusCount", cat(twcc_prefix(0x8F, 4), {0, 1, 0, 1, 0, 0, 0, 0}),
                      {RtcpErrorKind::kTruncatedBody, 20}},
        TwccErrorCase{"ChunksEndBeforeStatusCount",
                      cat(twcc_prefix(0x8F, 5), {0, 1, 0, 9, 0, 0, 0, 0, 0x00, 0x04, 0x00, 0x04}),
                      {RtcpErrorKind::kTruncatedBody, 24}},
        TwccErrorCase{"ReservedRunLengthSymbol",
                      cat(twcc_prefix(0x8F, 5), {0, 1, 0, 1, 0, 0, 0, 0, 0x60, 0x01, 0, 0}),
                      {RtcpErrorKind::kBadValue, 20}},
        TwccErrorCase{"ReservedTwoBitSymbol",
                      cat(twcc_prefix(0x8F, 5), {0, 1, 0, 2, 0, 0, 0, 0, 0xF0, 0x00, 0, 0}),
                      {RtcpErrorKind::kBadValue, 20}},
        TwccErrorCase{"DeltasPastEnd",
                      cat(twcc_prefix(0xAF, 5), {0, 1, 0, 2, 0, 0, 0, 0, 0x20, 0x02, 0x01, 0x01}),
                      {RtcpErrorKind::kTruncatedBody, 22}},
        TwccErrorCase{"LargeDeltaPastEnd",
                      cat(twcc_prefix(0xAF, 5), {0, 1, 0, 1, 0, 0, 0, 0, 0x40, 0x01, 0x01, 0x02}),
                      {RtcpErrorKind::kTruncatedBody, 22}},
        TwccErrorCase{"WrongFormat", cat(twcc_prefix(0x81, 4), {0, 1, 0, 0, 0, 0, 0, 0}),
                      {RtcpErrorKind::kWrongType, 0}}),
    [](const auto& info) { return info.param.name; });

TEST(TransportCc, ReservedSymbolBeyondStatusCountIsIgnored) {
  // Two-bit vector [small, 3, 3, ...] with status count 1.
  const Bytes packet = cat(twcc_prefix(0x8F, 5), {0, 1, 0, 1, 0, 0, 0, 0, 0xDF, 0xFF, 0x07, 0});
  const auto view = parse_transport_cc(single_packet(packet));
  ASSERT_TRUE(view.ok()) << to_string(view.error());
  EXPECT_EQ(read_all(*view), (std::vector<TransportCcPacket>{received(1, 7, 1750)}));
}

struct TwccRoundTripCase {
  std::string name;
  std::vector<TransportCcEntry> entries;
};

class TransportCcRoundTrip : public ::testing::TestWithParam<TwccRoundTripCase> {};

TEST_P(TransportCcRoundTrip, DecodesWhatWasWritten) {
  const auto& entries = GetParam().entries;
  std::vector<uint8_t> buffer(300000);
  RtcpWriter writer(buffer);
  const TransportCcFeedback feedback{11, 22, 65000, -5, 200};
  ASSERT_TRUE(write_transport_cc(writer, feedback, entries).ok());
  EXPECT_EQ(writer.size() % 4, 0u);
  const Bytes bytes(writer.written().begin(), writer.written().end());
  const auto view = parse_transport_cc(single_packet(bytes));
  ASSERT_TRUE(view.ok()) << to_string(view.error()) << " at " << view.error().offset;
  EXPECT_EQ(view->base_sequence, 65000);
  EXPECT_EQ(view->reference_time, -5);
  EXPECT_EQ(view->feedback_count, 200);
  ASSERT_EQ(view->status_count, entries.size());
  const auto packets = read_all(*view);
  ASSERT_EQ(packets.size(), entries.size());
  int64_t time_us = -5 * kTransportCcReferenceUs;
  for (size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(packets[i].sequence_number, static_cast<uint16_t>(65000 + i)) << i;
    EXPECT_EQ(packets[i].received, entries[i].received) << i;
    if (entries[i].received) {
      time_us += entries[i].delta_ticks * kTransportCcDeltaUs;
      EXPECT_EQ(packets[i].delta_ticks, entries[i].delta_ticks) << i;
      EXPECT_EQ(packets[i].receive_time_us, time_us) << i;
    }
  }
}

std::vector<TransportCcEntry> pattern(size_t count, auto&& make) {
  std::vector<TransportCcEntry> entries;
  for (size_t i = 0; i < count; ++i) entries.push_back(make(i));
  return entries;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, TransportCcRoundTrip,
    ::testing::Values(
        TwccRoundTripCase{"Single", {{true, 3}}},
        TwccRoundTripCase{"SingleLost", {{false, 0}}},
        TwccRoundTripCase{"AllSmall", pattern(100, [](size_t i) { return TransportCcEntry{true, int32_t(i % 256)}; })},
        TwccRoundTripCase{"Alternating", pattern(50, [](size_t i) { return TransportCcEntry{i % 2 == 0, 20}; })},
        TwccRoundTripCase{"LargeAndNegative", pattern(40, [](size_t i) {
                            return TransportCcEntry{true, i % 3 == 0 ? -32768 : (i % 3 == 1 ? 32767 : 256)};
                          })},
        TwccRoundTripCase{"MixedAllSymbols", pattern(97, [](size_t i) {
                            return TransportCcEntry{i % 5 != 0, i % 7 == 0 ? -3 : int32_t(i)};
                          })},
        TwccRoundTripCase{"LongLossRunOverRunLengthLimit", pattern(20000, [](size_t i) {
                            return TransportCcEntry{i == 0 || i == 19999, 1};
                          })},
        TwccRoundTripCase{"MaxStatusCount", pattern(65535, [](size_t i) {
                            return TransportCcEntry{i % 1000 != 0, int32_t(i % 300)};
                          })}),
    [](const auto& info) { return info.param.name; });

TEST(TransportCc, WriterErrors) {
  std::array<uint8_t, 64> buffer{};
  RtcpWriter writer(buffer);
  const std::array<TransportCcEntry, 1> too_big = {TransportCcEntry{true, 40000}};
  EXPECT_EQ(write_transport_cc(writer, {}, too_big).kind, RtcpErrorKind::kBadValue);
  const std::array<TransportCcEntry, 1> one = {TransportCcEntry{true, 1}};
  EXPECT_EQ(write_transport_cc(writer, {}, {}).kind, RtcpErrorKind::kBadValue);
  EXPECT_EQ(write_transport_cc(writer, {1, 2, 3, 1 << 23, 0}, one).kind, RtcpErrorKind::kBadValue);
  EXPECT_TRUE(write_transport_cc(writer, {1, 2, 3, -(1 << 23), 0}, one).ok());
  const std::vector<TransportCcEntry> too_many(65536, TransportCcEntry{false, 0});
  EXPECT_EQ(write_transport_cc(writer, {}, too_many).kind, RtcpErrorKind::kTooManyItems);
  std::array<uint8_t, 23> small{};
  RtcpWriter small_writer(small);
  EXPECT_EQ(write_transport_cc(small_writer, {}, one).kind, RtcpErrorKind::kNoRoom);
  EXPECT_EQ(small_writer.size(), 0u);
}

}  // namespace
}  // namespace partyline::rtp
