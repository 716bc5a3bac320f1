#include "core/media/echo_media.hpp"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "rtp/rtcp/rtcp_feedback.hpp"
#include "rtp/rtcp/rtcp_packet.hpp"
#include "rtp/rtcp/rtcp_reports.hpp"
#include "rtp/packet/rtp_header_extensions.hpp"
#include "rtp/packet/rtp_packet.hpp"
#include "tests/core/recording_transport.hpp"

namespace partyline::core {
namespace {

constexpr uint32_t kRemoteAudio = 0x1111, kRemoteVideo = 0x2222, kRemoteVideoRtx = 0x2223;
constexpr uint32_t kLocalAudio = 0xA1, kLocalVideo = 0xB1, kLocalVideoRtx = 0xB2;

std::vector<AnsweredStream> two_streams() {
  AnsweredStream audio{0, false, {111}, std::nullopt, kLocalAudio, std::nullopt, kRemoteAudio, std::nullopt, {}};
  AnsweredStream video{1, true, {96}, uint8_t{97}, kLocalVideo, kLocalVideoRtx, kRemoteVideo, kRemoteVideoRtx, {}};
  audio.extension_ids[1] = 1;  // mid negotiated on audio
  return {audio, video};
}

std::vector<uint8_t> rtp_packet(uint32_t ssrc, uint8_t payload_type, uint16_t sequence) {
  std::array<uint8_t, 200> buffer{};
  const std::array<uint8_t, 5> payload{1, 2, 3, 4, 5};
  rtp::RtpHeaderSpec spec;
  spec.ssrc = ssrc;
  spec.payload_type = payload_type;
  spec.sequence_number = sequence;
  spec.timestamp = 1234;
  auto size = rtp::serialize_rtp_packet(spec, payload, buffer);
  return {buffer.begin(), buffer.begin() + size.value()};
}

constexpr int64_t kNow = 1'000'000;

// An echo and what it sent.
struct Echo {
  explicit Echo(std::vector<AnsweredStream> streams = two_streams()) : media(std::move(streams), sent) {}
  RecordingTransport sent;
  EchoMedia media;
};

TEST(EchoMediaTest, AudioComesBackOnOurSsrcWithPayloadUntouched) {
  Echo echo;
  auto packet = rtp_packet(kRemoteAudio, 111, 7);
  echo.media.on_rtp(packet, kNow);
  ASSERT_EQ(echo.sent.rtp.size(), 1u);
  ASSERT_EQ(echo.sent.rtp[0].size(), packet.size());
  EXPECT_TRUE(echo.sent.rtcp.empty());  // no keyframe request for audio
  EXPECT_TRUE(echo.sent.room_for_trailer);
  auto echoed = rtp::parse_rtp_packet(echo.sent.rtp[0]);
  ASSERT_TRUE(echoed);
  EXPECT_EQ(echoed->ssrc, kLocalAudio);
  EXPECT_EQ(echoed->sequence_number, 7);
  EXPECT_EQ(std::vector<uint8_t>(echoed->payload.begin(), echoed->payload.end()), (std::vector<uint8_t>{1, 2, 3, 4, 5}));
}

TEST(EchoMediaTest, OnlyNegotiatedHeaderExtensionsAreEchoed) {
  std::array<uint8_t, 32> extension_buffer{};
  rtp::HeaderExtensionBuilder builder(rtp::ExtensionForm::kOneByte, extension_buffer);
  const std::array<uint8_t, 1> mid{'0'};
  const std::array<uint8_t, 3> send_time{1, 2, 3};
  ASSERT_EQ(builder.add(1, mid), rtp::HeaderExtensionError::kNone);
  ASSERT_EQ(builder.add(2, send_time), rtp::HeaderExtensionError::kNone);  // not negotiated on audio
  std::array<uint8_t, 200> packet{};
  rtp::RtpHeaderSpec spec;
  spec.ssrc = kRemoteAudio;
  spec.payload_type = 111;
  spec.has_extension = true;
  spec.extension_profile = builder.profile();
  spec.extension_data = builder.data();
  const std::array<uint8_t, 4> payload{9, 9, 9, 9};
  auto size = rtp::serialize_rtp_packet(spec, payload, packet);
  ASSERT_TRUE(size);

  Echo echo;
  echo.media.on_rtp(std::span(packet.data(), size.value()), kNow);
  ASSERT_EQ(echo.sent.rtp.size(), 1u);
  ASSERT_EQ(echo.sent.rtp[0].size(), size.value());
  auto echoed = rtp::parse_rtp_packet(echo.sent.rtp[0]);
  ASSERT_TRUE(echoed);
  EXPECT_TRUE(rtp::find_header_extension(echoed->extension_profile, echoed->extension_data, 1).has_value());
  EXPECT_FALSE(rtp::find_header_extension(echoed->extension_profile, echoed->extension_data, 2).has_value());
  EXPECT_EQ(echoed->payload.size(), 4u);
}

TEST(EchoMediaTest, FirstVideoPacketRequestsOneKeyframe) {
  Echo echo;
  auto first = rtp_packet(kRemoteVideo, 96, 1);
  echo.media.on_rtp(first, kNow);
  ASSERT_EQ(echo.sent.rtcp.size(), 1u);
  rtp::RtcpCompoundReader reader(echo.sent.rtcp[0]);
  rtp::RtcpPacketView packet;
  ASSERT_TRUE(reader.next(packet));
  auto pli = rtp::parse_pli(packet);
  ASSERT_TRUE(pli);
  EXPECT_EQ(pli->media_ssrc, kRemoteVideo);
  auto second = rtp_packet(kRemoteVideo, 96, 2);
  echo.media.on_rtp(second, kNow);
  EXPECT_EQ(echo.sent.rtcp.size(), 1u);
  EXPECT_EQ(echo.media.echoed_packets(), 2u);
  EXPECT_EQ(echo.sent.rtp.size(), 2u);
}

TEST(EchoMediaTest, RetransmissionsGoOutOnOurRtxSsrc) {
  Echo echo;
  auto retransmission = rtp_packet(kRemoteVideoRtx, 97, 1);
  echo.media.on_rtp(retransmission, kNow);
  ASSERT_EQ(echo.sent.rtp.size(), 1u);
  EXPECT_EQ(rtp::parse_rtp_packet(echo.sent.rtp[0])->ssrc, kLocalVideoRtx);
}

TEST(EchoMediaTest, UnannouncedSsrcIsLearnedByPayloadTypeAndUnknownOnesDropped) {
  auto streams = two_streams();
  streams[0].remote_ssrc.reset();
  Echo echo(streams);
  for (auto packet : {rtp_packet(0x9999, 111, 1), rtp_packet(0x7777, 111, 1) /* audio already learned */,
                      rtp_packet(0x8888, 45, 1)}) {
    echo.media.on_rtp(packet, kNow);
  }
  ASSERT_EQ(echo.sent.rtp.size(), 1u);
  EXPECT_EQ(rtp::parse_rtp_packet(echo.sent.rtp[0])->ssrc, kLocalAudio);
  EXPECT_EQ(echo.media.drops(EchoDrop::kUnknownStream), 2u);
  std::array<uint8_t, 3> garbage{0x80, 0, 1};
  echo.media.on_rtp(garbage, kNow);
  EXPECT_EQ(echo.sent.rtp.size(), 1u);
  EXPECT_EQ(echo.media.drops(EchoDrop::kMalformedRtp), 1u);
}

TEST(EchoMediaTest, FeedbackAboutOurSsrcsIsMappedToTheParticipantsSsrcs) {
  Echo echo;
  std::array<uint8_t, 512> in{};
  rtp::RtcpWriter writer(in);
  ASSERT_TRUE(rtp::write_receiver_report(writer, 0x5555, {}).ok());
  ASSERT_TRUE(rtp::write_pli(writer, 0x5555, kLocalVideo).ok());
  const std::array<uint16_t, 3> lost{100, 101, 103};
  ASSERT_TRUE(rtp::write_nack(writer, 0x5555, kLocalVideo, lost).ok());
  ASSERT_TRUE(rtp::write_pli(writer, 0x5555, 0xDEAD).ok());  // not ours: ignored

  echo.media.on_rtcp(writer.written(), kNow);
  ASSERT_EQ(echo.sent.rtcp.size(), 1u);
  rtp::RtcpCompoundReader reader(echo.sent.rtcp[0]);
  rtp::RtcpPacketView packet;
  ASSERT_TRUE(reader.next(packet));
  EXPECT_EQ(rtp::parse_pli(packet)->media_ssrc, kRemoteVideo);
  ASSERT_TRUE(reader.next(packet));
  auto nack = rtp::parse_nack(packet);
  ASSERT_TRUE(nack);
  EXPECT_EQ(nack->media_ssrc, kRemoteVideo);
  std::array<uint16_t, 8> expanded{};
  ASSERT_EQ(nack->expand(expanded), 3u);
  EXPECT_EQ(expanded[2], 103);
  EXPECT_FALSE(reader.next(packet));
  EXPECT_TRUE(reader.error().ok());
}

TEST(EchoMediaTest, SenderReportsAreRewrittenOntoOurSsrcAndGarbageIsCounted) {
  Echo echo;
  std::array<uint8_t, 256> in{};
  rtp::RtcpWriter writer(in);
  const rtp::SenderInfo info{0x0102030405060708ull, 90000, 10, 1000};
  ASSERT_TRUE(rtp::write_sender_report(writer, kRemoteVideo, info, {}).ok());
  echo.media.on_rtcp(writer.written(), kNow);
  ASSERT_EQ(echo.sent.rtcp.size(), 1u);
  rtp::RtcpCompoundReader reader(echo.sent.rtcp[0]);
  rtp::RtcpPacketView packet;
  ASSERT_TRUE(reader.next(packet));
  auto report = rtp::parse_sender_report(packet);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->sender_ssrc, kLocalVideo);
  EXPECT_EQ(report->info, info);

  const std::array<uint8_t, 8> absurd{0x80, 200, 0xFF, 0xFF, 0, 0, 0, 1};
  echo.media.on_rtcp(absurd, kNow);
  EXPECT_EQ(echo.sent.rtcp.size(), 1u);  // nothing more
  EXPECT_EQ(echo.media.drops(EchoDrop::kMalformedRtcp), 1u);
}

}  // namespace
}  // namespace partyline::core
