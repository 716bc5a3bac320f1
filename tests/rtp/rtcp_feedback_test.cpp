// Feedback messages: generic NACK, PLI, FIR, REMB.
#include "rtp/rtcp/rtcp_feedback.hpp"

#include <gtest/gtest.h>

#include <algorithm>
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
  EXPECT_FALSE(reader.next(packet));
  EXPECT_TRUE(reader.error().ok());
  return packet;
}

Bytes written(const RtcpWriter& writer) {
  return Bytes(writer.written().begin(), writer.written().end());
}

// ---- NACK ----

const Bytes kNack100Blp5 = {0x81, 0xCD, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 2, 0x00, 0x64, 0x00, 0x05};

TEST(RtcpNack, KnownPacketExpandsToLostSequences) {
  const auto nack = parse_nack(single_packet(kNack100Blp5));
  ASSERT_TRUE(nack.ok()) << to_string(nack.error());
  EXPECT_EQ(nack->sender_ssrc, 1u);
  EXPECT_EQ(nack->media_ssrc, 2u);
  ASSERT_EQ(nack->item_count(), 1u);
  EXPECT_EQ(nack->item(0), (NackItem{100, 0x0005}));
  std::array<uint16_t, 17> lost{};
  ASSERT_EQ(nack->expand(lost), 3u);
  EXPECT_EQ(lost[0], 100);
  EXPECT_EQ(lost[1], 101);
  EXPECT_EQ(lost[2], 103);
  EXPECT_EQ(nack->lost_count(), 3u);
}

TEST(RtcpNack, ExpandWrapsAndStopsAtCapacity) {
  const Bytes nack_bytes = {0x81, 0xCD, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 2,
                            0xFF, 0xFE, 0x80, 0x03,   // 65534; bits 0,1,15 -> 65535, 0, 14
                            0x00, 0x10, 0x00, 0x00};  // 16
  const auto nack = parse_nack(single_packet(nack_bytes));
  ASSERT_TRUE(nack.ok());
  std::vector<uint16_t> all;
  nack->for_each_lost([&](uint16_t sequence) { all.push_back(sequence); });
  EXPECT_EQ(all, (std::vector<uint16_t>{65534, 65535, 0, 14, 16}));
  std::array<uint16_t, 2> small{};
  EXPECT_EQ(nack->expand(small), 2u);
  EXPECT_EQ(small[1], 65535);
  EXPECT_EQ(nack->lost_count(), 5u);
}

TEST(RtcpNack, WriterPacksKnownBytes) {
  const std::array<uint16_t, 3> lost = {100, 101, 103};
  std::array<uint8_t, 64> buffer{};
  RtcpWriter writer(buffer);
  ASSERT_TRUE(write_nack(writer, 1, 2, lost).ok());
  EXPECT_EQ(written(writer), kNack100Blp5);
}

struct NackRoundTripCase {
  std::string name;
  std::vector<uint16_t> lost;
  size_t expected_items;
};

class RtcpNackRoundTrip : public ::testing::TestWithParam<NackRoundTripCase> {};

TEST_P(RtcpNackRoundTrip, ExpandsBackToTheInput) {
  const NackRoundTripCase& c = GetParam();
  std::array<uint8_t, 1024> buffer{};
  RtcpWriter writer(buffer);
  ASSERT_TRUE(write_nack(writer, 9, 10, c.lost).ok());
  const Bytes bytes(writer.written().begin(), writer.written().end());
  const auto nack = parse_nack(single_packet(bytes));
  ASSERT_TRUE(nack.ok());
  EXPECT_EQ(nack->item_count(), c.expected_items);
  std::vector<uint16_t> expanded(nack->lost_count());
  nack->expand(expanded);
  std::vector<uint16_t> unique = c.lost;
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  EXPECT_EQ(expanded, unique);
}

std::vector<uint16_t> range(uint16_t first, size_t count, uint16_t step = 1) {
  std::vector<uint16_t> out;
  for (size_t i = 0; i < count; ++i) out.push_back(static_cast<uint16_t>(first + i * step));
  return out;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RtcpNackRoundTrip,
    ::testing::Values(NackRoundTripCase{"Single", {5}, 1},
                      NackRoundTripCase{"SeventeenConsecutive", range(1000, 17), 1},
                      NackRoundTripCase{"EighteenConsecutive", range(1000, 18), 2},
                      NackRoundTripCase{"AcrossWrap", range(65530, 12), 1},
                      NackRoundTripCase{"Sparse", range(0, 5, 20), 5},
                      NackRoundTripCase{"Duplicates", {7, 7, 8, 8, 9}, 1},
                      NackRoundTripCase{"Edge16", {10, 26}, 1},
                      NackRoundTripCase{"Edge17", {10, 27}, 2}),
    [](const auto& info) { return info.param.name; });

TEST(RtcpNack, Errors) {
  // No FCI at all.
  const Bytes empty = {0x81, 0xCD, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2};
  EXPECT_EQ(parse_nack(single_packet(empty)).error(), (RtcpError{RtcpErrorKind::kTruncatedBody, 12}));
  // Missing media SSRC.
  const Bytes no_media = {0x81, 0xCD, 0x00, 0x01, 0, 0, 0, 1};
  EXPECT_EQ(parse_nack(single_packet(no_media)).error(), (RtcpError{RtcpErrorKind::kTruncatedBody, 0}));
  // Partial item (padding keeps the length a whole number of words).
  const Bytes partial = {0xA1, 0xCD, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 2, 0x00, 0x64, 0, 2};
  EXPECT_EQ(parse_nack(single_packet(partial)).error().kind, RtcpErrorKind::kTruncatedBody);
  // FMT 15 (transport-cc) and PT 206 are not NACKs.
  Bytes other_fmt = kNack100Blp5;
  other_fmt[0] = 0x8F;
  EXPECT_EQ(parse_nack(single_packet(other_fmt)).error().kind, RtcpErrorKind::kWrongType);
  Bytes psfb = kNack100Blp5;
  psfb[1] = 206;
  EXPECT_EQ(parse_nack(single_packet(psfb)).error().kind, RtcpErrorKind::kWrongType);

  std::array<uint8_t, 15> small{};
  RtcpWriter writer(small);
  const std::array<uint16_t, 1> one = {1};
  EXPECT_EQ(write_nack(writer, 1, 2, one).kind, RtcpErrorKind::kNoRoom);
  EXPECT_EQ(write_nack(writer, 1, 2, {}).kind, RtcpErrorKind::kBadValue);
  EXPECT_EQ(writer.size(), 0u);
}

// ---- PLI ----

TEST(RtcpPli, KnownBytesAndRoundTrip) {
  const Bytes pli = {0x81, 0xCE, 0x00, 0x02, 0xAA, 0xBB, 0xCC, 0xDD, 0x11, 0x22, 0x33, 0x44};
  const auto view = parse_pli(single_packet(pli));
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->sender_ssrc, 0xAABBCCDDu);
  EXPECT_EQ(view->media_ssrc, 0x11223344u);
  std::array<uint8_t, 12> buffer{};
  RtcpWriter writer(buffer);
  ASSERT_TRUE(write_pli(writer, 0xAABBCCDD, 0x11223344).ok());
  EXPECT_EQ(written(writer), pli);
  EXPECT_EQ(write_pli(writer, 1, 2).kind, RtcpErrorKind::kNoRoom);

  Bytes fir_fmt = pli;
  fir_fmt[0] = 0x84;
  EXPECT_EQ(parse_pli(single_packet(fir_fmt)).error().kind, RtcpErrorKind::kWrongType);
}

// ---- FIR ----

TEST(RtcpFir, KnownBytesAndRoundTrip) {
  const Bytes fir = {0x84, 0xCE, 0x00, 0x06, 0, 0, 0, 1, 0, 0, 0, 0,
                     0x00, 0x00, 0x00, 0x05, 0x07, 0, 0, 0,
                     0x00, 0x00, 0x00, 0x06, 0xFF, 0, 0, 0};
  const auto view = parse_fir(single_packet(fir));
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->sender_ssrc, 1u);
  ASSERT_EQ(view->entry_count(), 2u);
  EXPECT_EQ(view->entry(0), (FirEntry{5, 7}));
  EXPECT_EQ(view->entry(1), (FirEntry{6, 255}));

  const std::array<FirEntry, 2> entries = {FirEntry{5, 7}, FirEntry{6, 255}};
  std::array<uint8_t, 64> buffer{};
  RtcpWriter writer(buffer);
  ASSERT_TRUE(write_fir(writer, 1, entries).ok());
  EXPECT_EQ(written(writer), fir);
}

TEST(RtcpFir, Errors) {
  const Bytes no_entries = {0x84, 0xCE, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 0};
  EXPECT_EQ(parse_fir(single_packet(no_entries)).error(), (RtcpError{RtcpErrorKind::kTruncatedBody, 12}));
  const Bytes half_entry = {0x84, 0xCE, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5};
  EXPECT_EQ(parse_fir(single_packet(half_entry)).error().kind, RtcpErrorKind::kTruncatedBody);
  std::array<uint8_t, 64> buffer{};
  RtcpWriter writer(buffer);
  EXPECT_EQ(write_fir(writer, 1, {}).kind, RtcpErrorKind::kBadValue);
}

// ---- REMB ----

TEST(RtcpRemb, KnownBytes) {
  // 1 SSRC, exponent 3, mantissa 0x3FFFF -> 262143 << 3 = 2097144 bps.
  const Bytes remb = {0x8F, 0xCE, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 0,
                      'R',  'E',  'M',  'B',  0x01, 0x0F, 0xFF, 0xFF,
                      0x12, 0x34, 0x56, 0x78};
  const auto view = parse_remb(single_packet(remb));
  ASSERT_TRUE(view.ok()) << to_string(view.error());
  EXPECT_EQ(view->sender_ssrc, 1u);
  EXPECT_EQ(view->bitrate_bps, 2097144u);
  ASSERT_EQ(view->ssrc_count(), 1u);
  EXPECT_EQ(view->ssrc(0), 0x12345678u);

  std::array<uint8_t, 64> buffer{};
  RtcpWriter writer(buffer);
  const std::array<uint32_t, 1> ssrcs = {0x12345678};
  ASSERT_TRUE(write_remb(writer, 1, 2097144, ssrcs).ok());
  EXPECT_EQ(written(writer), remb);
}

TEST(RtcpRemb, RoundTripRoundsDownTo18BitMantissa) {
  for (const uint64_t bitrate : {0ull, 1ull, 262143ull, 262144ull, 1000000ull, 123456789ull,
                                 (1ull << 40) + 12345}) {
    std::array<uint8_t, 64> buffer{};
    RtcpWriter writer(buffer);
    const std::array<uint32_t, 3> ssrcs = {1, 2, 3};
    ASSERT_TRUE(write_remb(writer, 9, bitrate, ssrcs).ok());
    const Bytes bytes(writer.written().begin(), writer.written().end());
    const auto view = parse_remb(single_packet(bytes));
    ASSERT_TRUE(view.ok());
    EXPECT_LE(view->bitrate_bps, bitrate);
    // Dropping low bits below an 18-bit mantissa loses less than 2^-17.
    EXPECT_GE(view->bitrate_bps + bitrate / 131072 + 1, bitrate) << bitrate;
    EXPECT_EQ(view->ssrc_count(), 3u);
    EXPECT_EQ(view->ssrc(2), 3u);
  }
}

TEST(RtcpRemb, Errors) {
  const Bytes not_remb = {0x8F, 0xCE, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 0,
                          'A', 'B', 'C', 'D', 0x00, 0x00, 0x00, 0x00};
  EXPECT_EQ(parse_remb(single_packet(not_remb)).error().kind, RtcpErrorKind::kWrongType);
  // Claims 2 SSRCs, carries 1.
  const Bytes short_list = {0x8F, 0xCE, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 0,
                            'R', 'E', 'M', 'B', 0x02, 0x00, 0x00, 0x01, 0, 0, 0, 1};
  EXPECT_EQ(parse_remb(single_packet(short_list)).error(), (RtcpError{RtcpErrorKind::kTruncatedBody, 16}));
  // Exponent 63 with a mantissa above 1 overflows 64 bits.
  const Bytes overflow = {0x8F, 0xCE, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 0,
                          'R', 'E', 'M', 'B', 0x00, 0xFC, 0x00, 0x02};
  EXPECT_EQ(parse_remb(single_packet(overflow)).error(), (RtcpError{RtcpErrorKind::kBadValue, 17}));
  const Bytes identifier_only = {0x8F, 0xCE, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 0, 'R', 'E', 'M', 'B'};
  EXPECT_EQ(parse_remb(single_packet(identifier_only)).error().kind, RtcpErrorKind::kTruncatedBody);

  std::array<uint8_t, 2048> buffer{};
  RtcpWriter writer(buffer);
  const std::vector<uint32_t> too_many(256, 1);
  EXPECT_EQ(write_remb(writer, 1, 1000, too_many).kind, RtcpErrorKind::kTooManyItems);
}

}  // namespace
}  // namespace partyline::rtp
