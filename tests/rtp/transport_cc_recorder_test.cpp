#include "rtp/rtcp/transport_cc_recorder.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

namespace partyline::rtp {
namespace {

constexpr uint32_t kSender = 0x1111;
constexpr uint32_t kMedia = 0x2222;

// One feedback as the sender reads it: which sequence numbers arrived, and
// the arrival times the deltas add up to (relative to the reference).
struct Reported {
  uint16_t base = 0;
  int32_t reference_time = 0;
  uint8_t feedback_count = 0;
  std::vector<TransportCcPacket> packets;
};

// Writes every feedback the recorder has now, each as its own RTCP packet,
// and parses it back with the reader a sender would use.
std::vector<Reported> drain(TransportCcRecorder& recorder, int64_t now_us) {
  std::vector<Reported> all;
  for (;;) {
    std::array<uint8_t, 1500> buffer{};
    RtcpWriter writer(buffer);
    if (!recorder.write_feedback(writer, kSender, kMedia, now_us)) break;
    EXPECT_LE(writer.size(), 1200u);
    RtcpCompoundReader reader(writer.written());
    RtcpPacketView packet;
    EXPECT_TRUE(reader.next(packet));
    auto view = parse_transport_cc(packet);
    EXPECT_TRUE(view.ok());
    if (!view.ok()) break;
    EXPECT_EQ(view->sender_ssrc, kSender);
    EXPECT_EQ(view->media_ssrc, kMedia);
    Reported reported{view->base_sequence, view->reference_time, view->feedback_count, {}};
    TransportCcReader packets(*view);
    TransportCcPacket one;
    while (packets.next(one)) reported.packets.push_back(one);
    all.push_back(std::move(reported));
  }
  return all;
}

std::vector<uint16_t> received_sequences(const Reported& reported) {
  std::vector<uint16_t> sequences;
  for (const TransportCcPacket& packet : reported.packets) {
    if (packet.received) sequences.push_back(packet.sequence_number);
  }
  return sequences;
}

TEST(TransportCcRecorder, NothingToReportBeforeAPacket) {
  TransportCcRecorder recorder;
  EXPECT_FALSE(recorder.has_unreported());
  EXPECT_EQ(recorder.next_wakeup(), std::nullopt);
  EXPECT_TRUE(drain(recorder, 0).empty());
}

TEST(TransportCcRecorder, ReportsArrivalTimesToTheQuarterMillisecond) {
  TransportCcRecorder recorder;
  // 64 ms units: the reference is the first arrival's 64 ms slot, 1 s = 15.625 of them.
  const int64_t start = 1'000'000;
  recorder.on_packet(10, start);
  recorder.on_packet(11, start + 1'000);
  recorder.on_packet(12, start + 1'250);
  recorder.on_packet(13, start + 40'000);
  EXPECT_EQ(recorder.next_wakeup(), 0);  // due at once: nothing was sent yet
  auto feedback = drain(recorder, start + 50'000);
  ASSERT_EQ(feedback.size(), 1u);
  EXPECT_EQ(feedback[0].base, 10);
  EXPECT_EQ(feedback[0].reference_time, start / 64'000);
  EXPECT_EQ(feedback[0].feedback_count, 0);
  ASSERT_EQ(feedback[0].packets.size(), 4u);
  const int64_t expected[] = {start, start + 1'000, start + 1'250, start + 40'000};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_TRUE(feedback[0].packets[i].received);
    EXPECT_NEAR(feedback[0].packets[i].receive_time_us, expected[i], 125) << i;
  }
  EXPECT_FALSE(recorder.has_unreported());
  EXPECT_EQ(recorder.next_wakeup(), std::nullopt);
  recorder.on_packet(14, start + 60'000);
  EXPECT_EQ(recorder.next_wakeup(), start + 50'000 + TransportCcRecorder::kFeedbackIntervalUs);
}

TEST(TransportCcRecorder, MissingSequenceNumbersAreReportedLost) {
  TransportCcRecorder recorder;
  for (uint16_t sequence : {100, 101, 104, 106}) recorder.on_packet(sequence, 500'000 + sequence * 100);
  auto feedback = drain(recorder, 600'000);
  ASSERT_EQ(feedback.size(), 1u);
  EXPECT_EQ(feedback[0].packets.size(), 7u);  // 100..106
  EXPECT_EQ(received_sequences(feedback[0]), (std::vector<uint16_t>{100, 101, 104, 106}));
}

TEST(TransportCcRecorder, ReorderedPacketsKeepTheirOwnArrivalTimes) {
  TransportCcRecorder recorder;
  recorder.on_packet(7, 2'000'000);
  recorder.on_packet(5, 2'003'000);  // before the first feedback: extends the range back
  recorder.on_packet(6, 2'001'000);
  auto feedback = drain(recorder, 2'010'000);
  ASSERT_EQ(feedback.size(), 1u);
  EXPECT_EQ(feedback[0].base, 5);
  ASSERT_EQ(feedback[0].packets.size(), 3u);
  EXPECT_NEAR(feedback[0].packets[0].receive_time_us, 2'003'000, 125);
  EXPECT_NEAR(feedback[0].packets[1].receive_time_us, 2'001'000, 125);
  EXPECT_NEAR(feedback[0].packets[2].receive_time_us, 2'000'000, 125);
}

TEST(TransportCcRecorder, EachRangeIsReportedOnceAndLateArrivalsAreCounted) {
  TransportCcRecorder recorder;
  recorder.on_packet(1, 100'000);
  recorder.on_packet(3, 101'000);
  auto first = drain(recorder, 110'000);
  ASSERT_EQ(first.size(), 1u);
  recorder.on_packet(2, 111'000);  // its range was reported: lost for the sender
  recorder.on_packet(3, 111'500);  // a duplicate after the report is late too
  EXPECT_FALSE(recorder.has_unreported());
  recorder.on_packet(4, 112'000);
  auto second = drain(recorder, 210'000);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].base, 4);
  EXPECT_EQ(second[0].feedback_count, 1);
  EXPECT_EQ(received_sequences(second[0]), (std::vector<uint16_t>{4}));
  EXPECT_EQ(recorder.stats().late, 2u);
  EXPECT_EQ(recorder.stats().feedbacks, 2u);
}

TEST(TransportCcRecorder, DuplicatesBeforeTheReportAreIgnored) {
  TransportCcRecorder recorder;
  recorder.on_packet(9, 100'000);
  recorder.on_packet(9, 150'000);
  auto feedback = drain(recorder, 160'000);
  ASSERT_EQ(feedback.size(), 1u);
  ASSERT_EQ(feedback[0].packets.size(), 1u);
  EXPECT_NEAR(feedback[0].packets[0].receive_time_us, 100'000, 125);
  EXPECT_EQ(recorder.stats().duplicates, 1u);
}

TEST(TransportCcRecorder, SequenceNumbersWrapAround) {
  TransportCcRecorder recorder;
  for (uint16_t sequence : {65534, 65535, 0, 1}) recorder.on_packet(sequence, 300'000 + sequence % 7 * 10);
  auto feedback = drain(recorder, 400'000);
  ASSERT_EQ(feedback.size(), 1u);
  EXPECT_EQ(feedback[0].base, 65534);
  EXPECT_EQ(received_sequences(feedback[0]), (std::vector<uint16_t>{65534, 65535, 0, 1}));
}

TEST(TransportCcRecorder, ManyPacketsSplitIntoSeveralFeedbacks) {
  TransportCcRecorder recorder;
  const size_t total = TransportCcRecorder::kMaxPacketsPerFeedback * 2 + 17;
  for (size_t i = 0; i < total; ++i) {
    // Every third packet lost, the others 300 us apart.
    if (i % 3 != 2) recorder.on_packet(static_cast<uint16_t>(1000 + i), 1'000'000 + static_cast<int64_t>(i) * 300);
  }
  auto feedback = drain(recorder, 2'000'000);
  ASSERT_EQ(feedback.size(), 3u);
  size_t next = 1000;
  for (size_t f = 0; f < feedback.size(); ++f) {
    EXPECT_EQ(feedback[f].base, next);
    EXPECT_EQ(feedback[f].feedback_count, f);
    for (const TransportCcPacket& packet : feedback[f].packets) {
      EXPECT_EQ(packet.sequence_number, next);
      EXPECT_EQ(packet.received, (next - 1000) % 3 != 2) << next;
      if (packet.received) {
        EXPECT_NEAR(packet.receive_time_us, 1'000'000 + int64_t(next - 1000) * 300, 125);
      }
      ++next;
    }
  }
  // The last feedback ends with the highest packet received: the last one
  // ((total - 1) % 3 == 0).
  EXPECT_EQ(next, 1000 + total);
}

TEST(TransportCcRecorder, ADeltaBeyondSixteenBitsStartsANewFeedback) {
  TransportCcRecorder recorder;
  recorder.on_packet(1, 1'000'000);
  recorder.on_packet(2, 1'000'000 + 9'000'000);  // 9 s later: 36,000 ticks > 32,767
  auto feedback = drain(recorder, 11'000'000);
  ASSERT_EQ(feedback.size(), 2u);
  EXPECT_EQ(received_sequences(feedback[0]), (std::vector<uint16_t>{1}));
  EXPECT_EQ(received_sequences(feedback[1]), (std::vector<uint16_t>{2}));
  EXPECT_NEAR(feedback[1].packets[0].receive_time_us, 10'000'000, 125);
}

TEST(TransportCcRecorder, APacketFarAheadPushesTheOldestOutUnreported) {
  TransportCcRecorder recorder;
  recorder.on_packet(0, 100'000);
  recorder.on_packet(1, 100'100);
  const uint16_t far = TransportCcRecorder::kWindow + 1;  // the window is [2, far]
  recorder.on_packet(far, 100'200);
  EXPECT_EQ(recorder.stats().pushed_out, 2u);
  auto feedback = drain(recorder, 200'000);
  ASSERT_FALSE(feedback.empty());
  EXPECT_EQ(feedback[0].base, 2);
  std::vector<uint16_t> received;
  for (const Reported& one : feedback) {
    for (uint16_t sequence : received_sequences(one)) received.push_back(sequence);
  }
  EXPECT_EQ(received, (std::vector<uint16_t>{far}));
}

TEST(TransportCcRecorder, TheReferenceTimeWrapsInTwentyFourBits) {
  TransportCcRecorder recorder;
  const int64_t late_in_uptime = (int64_t{1} << 24) * 64'000 + 5 * 64'000 + 1'000;  // past one wrap
  recorder.on_packet(1, late_in_uptime);
  auto feedback = drain(recorder, late_in_uptime + 1'000);
  ASSERT_EQ(feedback.size(), 1u);
  EXPECT_EQ(feedback[0].reference_time, 5);
}

}  // namespace
}  // namespace partyline::rtp
