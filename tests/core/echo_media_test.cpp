#include "core/echo_media.hpp"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "rtp/rtcp_feedback.hpp"
#include "rtp/rtcp_packet.hpp"
#include "rtp/rtcp_reports.hpp"
#include "rtp/rtp_header_extensions.hpp"
#include "rtp/rtp_packet.hpp"

namespace partyline::core {
namespace {

constexpr uint32_t kRemoteAudio = 0x1111, kRemoteVideo = 0x2222, kRemoteVideoRtx = 0x2223;
constexpr uint32_t kLocalAudio = 0xA1, kLocalVideo = 0xB1, kLocalVideoRtx = 0xB2;

std::vector<EchoStream> two_streams() {
  EchoStream audio{false, {111}, std::nullopt, kLocalAudio, std::nullopt, kRemoteAudio, std::nullopt, {}};
  EchoStream video{true, {96}, uint8_t{97}, kLocalVideo, kLocalVideoRtx, kRemoteVideo, kRemoteVideoRtx, {}};
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

struct Buffers {
  std::array<uint8_t, 1500> rtp{};
  std::array<uint8_t, 1500> rtcp{};
};

TEST(EchoMediaTest, AudioComesBackOnOurSsrcWithPayloadUntouched) {
  EchoMedia echo(two_streams());
  Buffers out;
  auto packet = rtp_packet(kRemoteAudio, 111, 7);
  auto result = echo.on_rtp(packet, out.rtp, out.rtcp);
  ASSERT_EQ(result.rtp_length, packet.size());
  EXPECT_EQ(result.rtcp_length, 0u);  // no keyframe request for audio
  auto echoed = rtp::parse_rtp_packet(std::span(out.rtp.data(), result.rtp_length));
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

  EchoMedia echo(two_streams());
  Buffers out;
  auto result = echo.on_rtp(std::span(packet.data(), size.value()), out.rtp, out.rtcp);
  ASSERT_EQ(result.rtp_length, size.value());
  auto echoed = rtp::parse_rtp_packet(std::span(out.rtp.data(), result.rtp_length));
  ASSERT_TRUE(echoed);
  EXPECT_TRUE(rtp::find_header_extension(echoed->extension_profile, echoed->extension_data, 1).has_value());
  EXPECT_FALSE(rtp::find_header_extension(echoed->extension_profile, echoed->extension_data, 2).has_value());
  EXPECT_EQ(echoed->payload.size(), 4u);
}

TEST(EchoMediaTest, FirstVideoPacketRequestsOneKeyframe) {
  EchoMedia echo(two_streams());
  Buffers out;
  auto first = echo.on_rtp(rtp_packet(kRemoteVideo, 96, 1), out.rtp, out.rtcp);
  ASSERT_GT(first.rtcp_length, 0u);
  rtp::RtcpCompoundReader reader(std::span(out.rtcp.data(), first.rtcp_length));
  rtp::RtcpPacketView packet;
  ASSERT_TRUE(reader.next(packet));
  auto pli = rtp::parse_pli(packet);
  ASSERT_TRUE(pli);
  EXPECT_EQ(pli->media_ssrc, kRemoteVideo);
  auto second = echo.on_rtp(rtp_packet(kRemoteVideo, 96, 2), out.rtp, out.rtcp);
  EXPECT_EQ(second.rtcp_length, 0u);
  EXPECT_EQ(echo.echoed_packets(), 2u);
}

TEST(EchoMediaTest, RetransmissionsGoOutOnOurRtxSsrc) {
  EchoMedia echo(two_streams());
  Buffers out;
  auto result = echo.on_rtp(rtp_packet(kRemoteVideoRtx, 97, 1), out.rtp, out.rtcp);
  ASSERT_GT(result.rtp_length, 0u);
  EXPECT_EQ(rtp::parse_rtp_packet(std::span(out.rtp.data(), result.rtp_length))->ssrc, kLocalVideoRtx);
}

TEST(EchoMediaTest, UnannouncedSsrcIsLearnedByPayloadTypeAndUnknownOnesDropped) {
  auto streams = two_streams();
  streams[0].remote_ssrc.reset();
  EchoMedia echo(streams);
  Buffers out;
  EXPECT_GT(echo.on_rtp(rtp_packet(0x9999, 111, 1), out.rtp, out.rtcp).rtp_length, 0u);
  EXPECT_EQ(echo.on_rtp(rtp_packet(0x7777, 111, 1), out.rtp, out.rtcp).rtp_length, 0u);  // audio already learned
  EXPECT_EQ(echo.on_rtp(rtp_packet(0x8888, 45, 1), out.rtp, out.rtcp).rtp_length, 0u);
  EXPECT_EQ(echo.drops(EchoDrop::kUnknownStream), 2u);
  const std::array<uint8_t, 3> garbage{0x80, 0, 1};
  EXPECT_EQ(echo.on_rtp(garbage, out.rtp, out.rtcp).rtp_length, 0u);
  EXPECT_EQ(echo.drops(EchoDrop::kMalformedRtp), 1u);
}

TEST(EchoMediaTest, FeedbackAboutOurSsrcsIsMappedToTheParticipantsSsrcs) {
  EchoMedia echo(two_streams());
  std::array<uint8_t, 512> in{};
  rtp::RtcpWriter writer(in);
  ASSERT_TRUE(rtp::write_receiver_report(writer, 0x5555, {}).ok());
  ASSERT_TRUE(rtp::write_pli(writer, 0x5555, kLocalVideo).ok());
  const std::array<uint16_t, 3> lost{100, 101, 103};
  ASSERT_TRUE(rtp::write_nack(writer, 0x5555, kLocalVideo, lost).ok());
  ASSERT_TRUE(rtp::write_pli(writer, 0x5555, 0xDEAD).ok());  // not ours: ignored

  Buffers out;
  auto result = echo.on_rtcp(writer.written(), out.rtcp);
  rtp::RtcpCompoundReader reader(std::span(out.rtcp.data(), result.rtcp_length));
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
  EchoMedia echo(two_streams());
  std::array<uint8_t, 256> in{};
  rtp::RtcpWriter writer(in);
  const rtp::SenderInfo info{0x0102030405060708ull, 90000, 10, 1000};
  ASSERT_TRUE(rtp::write_sender_report(writer, kRemoteVideo, info, {}).ok());
  Buffers out;
  auto result = echo.on_rtcp(writer.written(), out.rtcp);
  rtp::RtcpCompoundReader reader(std::span(out.rtcp.data(), result.rtcp_length));
  rtp::RtcpPacketView packet;
  ASSERT_TRUE(reader.next(packet));
  auto report = rtp::parse_sender_report(packet);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->sender_ssrc, kLocalVideo);
  EXPECT_EQ(report->info, info);

  const std::array<uint8_t, 8> absurd{0x80, 200, 0xFF, 0xFF, 0, 0, 0, 1};
  EXPECT_EQ(echo.on_rtcp(absurd, out.rtcp).rtcp_length, 0u);
  EXPECT_EQ(echo.drops(EchoDrop::kMalformedRtcp), 1u);
}

}  // namespace
}  // namespace partyline::core
