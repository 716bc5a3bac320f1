#include "rtp/rtcp/receive_statistics.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace partyline::rtp {
namespace {

constexpr int64_t kMs = 1000;

TEST(ReceiveStatistics, EmptyReportCarriesOnlySsrc) {
  ReceiveStatistics stats(0x1234, 90000);
  EXPECT_EQ(stats.report_block(0), (ReportBlock{.ssrc = 0x1234}));
}

TEST(ReceiveStatistics, LossAndFractionPerInterval) {
  ReceiveStatistics stats(1, 8000);
  // 0..9 with 3, 4 and 7 lost: 10 expected, 7 received.
  for (const uint16_t seq : {0, 1, 2, 5, 6, 8, 9}) stats.on_packet(seq, seq * 160u, seq * 20 * kMs);
  ReportBlock block = stats.report_block(200 * kMs);
  EXPECT_EQ(block.cumulative_lost, 3);
  EXPECT_EQ(block.fraction_lost, 76);  // 3 * 256 / 10
  EXPECT_EQ(block.extended_highest_sequence, 9u);
  // 10..19 all received: nothing lost in this interval.
  for (uint16_t seq = 10; seq < 20; ++seq) stats.on_packet(seq, seq * 160u, seq * 20 * kMs);
  block = stats.report_block(400 * kMs);
  EXPECT_EQ(block.fraction_lost, 0);
  EXPECT_EQ(block.cumulative_lost, 3);
  // 20..23 with 21 lost: 1 of 4 = 64/256.
  for (const uint16_t seq : {20, 22, 23}) stats.on_packet(seq, seq * 160u, seq * 20 * kMs);
  block = stats.report_block(480 * kMs);
  EXPECT_EQ(block.fraction_lost, 64);
  EXPECT_EQ(block.cumulative_lost, 4);
}

TEST(ReceiveStatistics, LateArrivalsAndDuplicatesReduceLoss) {
  ReceiveStatistics stats(1, 8000);
  for (const uint16_t seq : {0, 1, 4}) stats.on_packet(seq, 0, 0);
  EXPECT_EQ(stats.report_block(0).cumulative_lost, 2);
  stats.on_packet(2, 0, 0);
  stats.on_packet(3, 0, 0);
  stats.on_packet(3, 0, 0);  // duplicate: RFC 3550 counts it
  const ReportBlock block = stats.report_block(0);
  EXPECT_EQ(block.cumulative_lost, -1);
  EXPECT_EQ(block.fraction_lost, 0);  // more received than expected this interval
}

TEST(ReceiveStatistics, ExtendedHighestCountsCycles) {
  ReceiveStatistics stats(1, 90000);
  for (int i = 0; i < 12; ++i) stats.on_packet(static_cast<uint16_t>(65530 + i), 0, 0);
  stats.on_packet(65533, 0, 0);  // late duplicate does not move it back
  const ReportBlock block = stats.report_block(0);
  EXPECT_EQ(block.extended_highest_sequence, 0x10005u);
  EXPECT_EQ(block.cumulative_lost, -1);
}

TEST(ReceiveStatistics, CumulativeLostSaturatesAt24Bits) {
  ReceiveStatistics stats(1, 90000);
  uint16_t seq = 0;
  for (int i = 0; i < 300; ++i) {
    stats.on_packet(seq, 0, 0);
    seq = static_cast<uint16_t>(seq + 30000);
  }
  EXPECT_GT(stats.cumulative_lost(), 0x7FFFFF);
  EXPECT_EQ(stats.report_block(0).cumulative_lost, 0x7FFFFF);
}

TEST(ReceiveStatistics, JitterZeroForConstantTransit) {
  ReceiveStatistics stats(1, 8000);
  for (uint16_t seq = 0; seq < 50; ++seq) {
    stats.on_packet(seq, 1000 + seq * 160u, 5 * kMs + seq * 20 * kMs);
  }
  EXPECT_EQ(stats.jitter(), 0u);
}

// RFC 3550 A.8 by hand at 8 kHz (one tick = 125 us), integer form:
// transits 0, 0, 40, 0, 0 ticks -> J*16 = 0, 0, 40, 77, 72.
TEST(ReceiveStatistics, JitterFollowsRfc3550) {
  ReceiveStatistics stats(1, 8000);
  stats.on_packet(0, 0, 0);
  stats.on_packet(1, 160, 20 * kMs);
  EXPECT_EQ(stats.jitter(), 0u);
  stats.on_packet(2, 320, 45 * kMs);  // 5 ms late
  EXPECT_EQ(stats.jitter(), 2u);      // 40 / 16
  stats.on_packet(3, 480, 60 * kMs);
  EXPECT_EQ(stats.jitter(), 4u);  // 77 / 16
  stats.on_packet(4, 640, 80 * kMs);
  EXPECT_EQ(stats.jitter(), 4u);  // 72 / 16
  EXPECT_EQ(stats.report_block(80 * kMs).jitter, 4u);
}

TEST(ReceiveStatistics, JitterConvergesToAlternatingDelay) {
  ReceiveStatistics stats(1, 90000);
  // Every other packet 10 ms late: |D| = 900 ticks each time.
  for (uint16_t seq = 0; seq < 400; ++seq) {
    const int64_t late = (seq % 2) ? 10 * kMs : 0;
    stats.on_packet(seq, seq * 3000u, seq * 33'333 / 1 + late);
  }
  EXPECT_GE(stats.jitter(), 895u);
  EXPECT_LE(stats.jitter(), 900u);
}

TEST(ReceiveStatistics, JitterSurvivesTimestampWrap) {
  ReceiveStatistics stats(1, 90000);
  for (uint32_t i = 0; i < 10; ++i)
    stats.on_packet(static_cast<uint16_t>(i), 0xFFFFF000u + i * 900, i * 10 * kMs);
  EXPECT_EQ(stats.jitter(), 0u);
}

TEST(ReceiveStatistics, RetransmissionsDoNotTouchJitter) {
  ReceiveStatistics stats(1, 8000);
  stats.on_packet(0, 0, 0);
  stats.on_packet(2, 320, 40 * kMs);
  stats.on_packet(1, 160, 500 * kMs, /*retransmission=*/true);
  EXPECT_EQ(stats.jitter(), 0u);
  EXPECT_EQ(stats.report_block(500 * kMs).cumulative_lost, 0);
}

TEST(ReceiveStatistics, EchoesLastSenderReport) {
  ReceiveStatistics stats(1, 90000);
  stats.on_packet(0, 0, 0);
  stats.on_sender_report(0x0123456789ABCDEFull, 1000 * kMs);
  const ReportBlock block = stats.report_block(1500 * kMs);
  EXPECT_EQ(block.last_sender_report, 0x456789ABu);
  EXPECT_EQ(block.delay_since_last_sender_report, 32768u);  // 0.5 s in 1/65536 s
  EXPECT_EQ(ReceiveStatistics(2, 90000).report_block(0).last_sender_report, 0u);
}

}  // namespace
}  // namespace partyline::rtp
