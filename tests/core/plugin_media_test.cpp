#include "core/media/plugin_media.hpp"

#include <gtest/gtest.h>

#include <array>
#include <tuple>
#include <vector>

#include "rtp/packet/rtp_packet.hpp"
#include "rtp/rtcp/rtcp_feedback.hpp"
#include "tests/core/recording_transport.hpp"

namespace partyline::core {
namespace {

constexpr uint32_t kRemoteAudio = 0x1111, kRemoteVideo = 0x2222, kRemoteVideoRtx = 0x2223;
constexpr uint32_t kLocalAudio = 0xA1, kLocalVideo = 0xB1, kLocalVideoRtx = 0xB2;
constexpr int64_t kNow = 1'000'000;

// The offer's m-line 0 was a data channel (not answered), 1 audio, 2 video.
std::vector<AnsweredStream> streams() {
  AnsweredStream audio{1, false, {111}, std::nullopt, kLocalAudio, std::nullopt, kRemoteAudio, std::nullopt, {}};
  AnsweredStream video{2, true, {96}, uint8_t{97}, kLocalVideo, kLocalVideoRtx, kRemoteVideo, kRemoteVideoRtx, {}};
  audio.extension_ids[1] = 1;  // only mid is negotiated on audio
  return {audio, video};
}

std::vector<uint8_t> rtp_packet(uint32_t ssrc, uint8_t payload_type, uint16_t sequence) {
  std::array<uint8_t, 200> buffer{};
  const std::array<uint8_t, 3> payload{7, 8, 9};
  rtp::RtpHeaderSpec spec;
  spec.ssrc = ssrc;
  spec.payload_type = payload_type;
  spec.sequence_number = sequence;
  auto size = rtp::serialize_rtp_packet(spec, payload, buffer);
  return {buffer.begin(), buffer.begin() + size.value()};
}

class RecordingSink : public PluginMediaSink {
 public:
  void on_media_rtp(size_t mline, bool video, bool rtx, std::span<uint8_t>) override {
    rtp.emplace_back(mline, video, rtx);
  }
  void on_media_rtcp(std::span<const uint8_t>) override { ++rtcp; }
  void on_keyframe_requested(size_t mline) override { keyframe_requests.push_back(mline); }
  void on_media_gone(PluginMedia* media) override { gone = media; }

  std::vector<std::tuple<size_t, bool, bool>> rtp;
  int rtcp = 0;
  std::vector<size_t> keyframe_requests;
  PluginMedia* gone = nullptr;
};

TEST(PluginMediaTest, PacketsReachThePluginTaggedWithTheirOfferMline) {
  RecordingTransport transport;
  RecordingSink sink;
  PluginMedia media(streams(), transport, sink);
  for (auto packet : {rtp_packet(kRemoteAudio, 111, 1), rtp_packet(kRemoteVideo, 96, 1),
                      rtp_packet(kRemoteVideoRtx, 97, 1), rtp_packet(0x9999, 45, 1)}) {
    media.on_rtp(packet, kNow);
  }
  EXPECT_EQ(sink.rtp, (std::vector<std::tuple<size_t, bool, bool>>{{1, false, false}, {2, true, false}, {2, true, true}}));
  EXPECT_EQ(media.unknown_stream_drops(), 1u);
}

TEST(PluginMediaTest, WhatThePluginSendsGoesOutAsTheServersStreamOfThatMline) {
  RecordingTransport transport;
  RecordingSink sink;
  PluginMedia media(streams(), transport, sink);
  EXPECT_EQ(media.send_rtp(2, rtp_packet(0x5555, 96, 10)), PluginSendResult::kSent);
  EXPECT_EQ(media.send_rtp(2, rtp_packet(0x5555, 97, 11)), PluginSendResult::kSent);  // RTX payload type
  EXPECT_EQ(media.send_rtp(1, rtp_packet(0x5555, 111, 12)), PluginSendResult::kSent);
  ASSERT_EQ(transport.rtp.size(), 3u);
  EXPECT_EQ(rtp::parse_rtp_packet(transport.rtp[0])->ssrc, kLocalVideo);
  EXPECT_EQ(rtp::parse_rtp_packet(transport.rtp[1])->ssrc, kLocalVideoRtx);
  EXPECT_EQ(rtp::parse_rtp_packet(transport.rtp[2])->ssrc, kLocalAudio);
  EXPECT_TRUE(transport.room_for_trailer);
  // No m-line 0 (not answered) or 5; no RTX on audio; garbage.
  EXPECT_EQ(media.send_rtp(0, rtp_packet(0x5555, 111, 13)), PluginSendResult::kNoSuchStream);
  EXPECT_EQ(media.send_rtp(5, rtp_packet(0x5555, 111, 13)), PluginSendResult::kNoSuchStream);
  const std::array<uint8_t, 3> garbage{0x80, 0, 1};
  EXPECT_EQ(media.send_rtp(1, garbage), PluginSendResult::kBadPacket);
  transport.secure = false;
  EXPECT_EQ(media.send_rtp(1, rtp_packet(0x5555, 111, 14)), PluginSendResult::kNotSent);
  EXPECT_EQ(transport.rtp.size(), 3u);
}

TEST(PluginMediaTest, KeyframeRequestsTravelBothWaysByMline) {
  RecordingTransport transport;
  RecordingSink sink;
  PluginMedia media(streams(), transport, sink);
  // The client asks for a keyframe of what we send on m-line 2.
  std::array<uint8_t, 64> buffer{};
  rtp::RtcpWriter writer(buffer);
  ASSERT_TRUE(rtp::write_pli(writer, 0x7777, kLocalVideo).ok());
  media.on_rtcp(writer.written(), kNow);
  EXPECT_EQ(sink.keyframe_requests, std::vector<size_t>{2});
  EXPECT_EQ(sink.rtcp, 1);
  // The plugin asks the client for one of what it sends on m-line 2.
  EXPECT_EQ(media.request_keyframe(2), PluginSendResult::kSent);
  const auto plis = transport.feedback(206, rtp::feedback_format::kPli);
  ASSERT_EQ(plis.size(), 1u);
  EXPECT_EQ(plis[0].media_ssrc, kRemoteVideo);
  EXPECT_EQ(media.request_keyframe(1), PluginSendResult::kNoSuchStream);  // audio
}

TEST(PluginMediaTest, TheSinkHearsWhenTheMediaIsGone) {
  RecordingTransport transport;
  RecordingSink sink;
  PluginMedia* address = nullptr;
  {
    PluginMedia media(streams(), transport, sink);
    address = &media;
  }
  EXPECT_EQ(sink.gone, address);
}

}  // namespace
}  // namespace partyline::core
