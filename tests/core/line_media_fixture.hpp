// The fixture of LineMedia's tests (line_media_test.cpp and the files
// beside it): two occupants negotiated from a captured Chromium offer, the
// publisher on worker 0 and the subscriber on worker 1 of one MediaFabric
// (drained by hand), transports that record what would have been protected
// and sent.
#pragma once

#include "core/media/line_media.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "rtp/rtcp/rtcp_feedback.hpp"
#include "rtp/rtcp/rtcp_packet.hpp"
#include "rtp/rtcp/rtcp_reports.hpp"
#include "rtp/rtcp/transport_cc.hpp"
#include "rtp/packet/rtp_header_extensions.hpp"
#include "rtp/packet/rtp_packet.hpp"
#include "rtp/sdp/sdp_reoffer.hpp"
#include "tests/core/recording_transport.hpp"
#include "tests/rtp/negotiated_session_fixtures.hpp"

namespace partyline::core::line_media_test {

using Bytes = std::vector<uint8_t>;
using namespace rtp::test_sessions;

// From tests/data/sdp/chromium156_offer_av_dc.sdp.
constexpr uint32_t kAliceVideoSsrc = 1889125638;
constexpr uint32_t kAliceRtxSsrc = 2888277619;
constexpr uint32_t kAliceAudioSsrc = 2382238961;
constexpr uint8_t kVp8 = 96, kRtx = 97, kOpus = 111;
constexpr uint8_t kMidId = 4, kAbsSendTimeId = 2, kTransportCcId = 3;
constexpr StreamKey kAudioKey = 2, kVideoKey = kAudioKey + 1;  // in m-line order
constexpr uint32_t kLegVideoSsrc = 0x1111, kLegRtxSsrc = 0x1112, kLegAudioSsrc = 0x2222;

inline Bytes video_packet(uint16_t sequence_number, uint32_t timestamp, uint8_t fill, uint32_t ssrc = kAliceVideoSsrc,
                   std::optional<uint16_t> transport_sequence = std::nullopt) {
  std::array<uint8_t, 16> extension_bytes{};
  rtp::HeaderExtensionBuilder extensions(rtp::ExtensionForm::kOneByte, extension_bytes);
  const uint8_t mid[] = {'1'};
  const uint8_t abs_send_time[] = {0x12, 0x34, 0x56};
  EXPECT_EQ(extensions.add(kMidId, mid), rtp::HeaderExtensionError::kNone);
  EXPECT_EQ(extensions.add(kAbsSendTimeId, abs_send_time), rtp::HeaderExtensionError::kNone);
  if (transport_sequence) {
    const uint8_t value[] = {static_cast<uint8_t>(*transport_sequence >> 8), static_cast<uint8_t>(*transport_sequence)};
    EXPECT_EQ(extensions.add(kTransportCcId, value), rtp::HeaderExtensionError::kNone);
  }
  const auto data = extensions.data();
  rtp::RtpHeaderSpec header;
  header.payload_type = kVp8;
  header.sequence_number = sequence_number;
  header.timestamp = timestamp;
  header.ssrc = ssrc;
  header.has_extension = true;
  header.extension_profile = extensions.profile();
  header.extension_data = data;
  Bytes payload(600, fill);
  payload[0] = 0x10;  // VP8 descriptor: start of partition 0
  payload[1] = 0x00;  // VP8 header: key frame
  Bytes packet(1500);
  auto size = rtp::serialize_rtp_packet(header, payload, packet);
  EXPECT_TRUE(size.ok());
  packet.resize(size.ok() ? *size : 0);
  return packet;
}

// One Opus packet from Alice (100 bytes of payload).
inline Bytes audio_packet() {
  Bytes audio(200, 0);
  rtp::RtpHeaderSpec header;
  header.payload_type = kOpus;
  header.ssrc = kAliceAudioSsrc;
  Bytes payload(100, 0x55);
  auto size = rtp::serialize_rtp_packet(header, payload, audio);
  EXPECT_TRUE(size.ok());
  audio.resize(size.ok() ? *size : 0);
  return audio;
}

// Every transport-cc feedback in what a transport sent: which transport-wide
// sequence numbers it reports received.
inline std::vector<std::vector<uint16_t>> transport_cc_received(const RecordingTransport& transport, uint32_t sender_ssrc) {
  std::vector<std::vector<uint16_t>> all;
  for (const Bytes& compound : transport.rtcp) {
    rtp::RtcpCompoundReader reader(compound);
    rtp::RtcpPacketView packet;
    while (reader.next(packet)) {
      if (packet.packet_type != 205 || packet.count != rtp::feedback_format::kTransportCc) continue;
      auto view = rtp::parse_transport_cc(packet);
      EXPECT_TRUE(view.ok());
      if (!view.ok()) continue;
      EXPECT_EQ(view->sender_ssrc, sender_ssrc);
      std::vector<uint16_t> received;
      rtp::TransportCcReader entries(*view);
      rtp::TransportCcPacket entry;
      while (entries.next(entry)) {
        if (entry.received) received.push_back(entry.sequence_number);
      }
      all.push_back(std::move(received));
    }
  }
  return all;
}

inline Bytes nack(uint32_t media_ssrc, std::vector<uint16_t> lost) {
  Bytes compound(256);
  rtp::RtcpWriter writer(compound);
  EXPECT_TRUE(rtp::write_nack(writer, 0x77, media_ssrc, lost).ok());
  compound.resize(writer.size());
  return compound;
}

class LineMediaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    alice_session_ = start(alice_offer_);
    auto published = alice_.publish(alice_session_, [next = kAudioKey]() mutable { return next++; });  // audio, then video
    ASSERT_EQ(published.size(), 2u);
    EXPECT_EQ(published[0].format.codec_name, "opus");
    EXPECT_EQ(published[1].format.codec_name, "VP8");

    // Bob receives Alice's two streams through a server offer he answers.
    bob_session_ = start(bob_offer_);
    rtp::OutgoingStream audio{rtp::MediaKind::kAudio, "alice", "audio-alice", kLegAudioSsrc, std::nullopt, "alice"};
    rtp::OutgoingStream video{rtp::MediaKind::kVideo, "alice", "video-alice", kLegVideoSsrc, kLegRtxSsrc, "alice"};
    const rtp::UpdateOffer offer = offer_ok(bob_session_, {audio, video});
    bob_session_ = applied(bob_session_, offer, client_answer(offer, bob_offer_));
    requests_ = {LegRequest{kAudioKey, 0, published[0].format, "alice", "audio-alice", "alice", "Alice"},
                 LegRequest{kVideoKey, 0, published[1].format, "alice", "video-alice", "alice", "Alice"}};
    ASSERT_TRUE(bob_.set_legs(bob_session_, requests_).empty());
    ASSERT_EQ(bob_.leg_count(), 2u);
  }

  // What Bob received, after worker 1 drained the ring from worker 0.
  const std::vector<Bytes>& bob_received() {
    fabric_.router(1).drain(now_us_);
    return bob_transport_.rtp;
  }

  int64_t now_us_ = 5'000'000'000;  // virtual time
  MediaFabric fabric_{2};
  RecordingTransport alice_transport_, bob_transport_;
  LineMedia alice_{fabric_.router(0), alice_transport_, 0xA11CE};
  LineMedia bob_{fabric_.router(1), bob_transport_, 0xB0B};
  rtp::SessionDescription alice_offer_ = capture("chromium156_offer_av_dc.sdp");
  rtp::SessionDescription bob_offer_ = capture("chromium156_offer_av_dc.sdp");
  rtp::NegotiatedSession alice_session_, bob_session_;
  std::vector<LegRequest> requests_;
};

}  // namespace partyline::core::line_media_test
