// A simulcast publisher through LineMedia and the router, without a
// network: Alice offers three rid layers (a captured Chromium offer), Bob
// receives her video on a leg that forwards one layer: the tallest by
// default, the tallest within his max_height once he sets one, switched at
// a keyframe of the new layer.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/media/line_media.hpp"
#include "rtp/packet/rtp_header_extensions.hpp"
#include "rtp/rtcp/rtcp_packet.hpp"
#include "rtp/rtcp/rtcp_reports.hpp"
#include "rtp/packet/rtp_packet.hpp"
#include "tests/core/recording_transport.hpp"
#include "tests/rtp/negotiated_session_fixtures.hpp"

namespace partyline::core {
namespace {

using Bytes = std::vector<uint8_t>;
using namespace rtp::test_sessions;

// From tests/data/sdp/chromium156_captured_offer_simulcast.sdp.
constexpr uint8_t kVp8 = 96, kRidId = 10;
constexpr uint32_t kLegSsrc = 0x1111, kLegRtxSsrc = 0x1112;
struct Layer {
  const char* rid;
  uint32_t ssrc;
  uint16_t width, height;
  uint8_t fill;  // the payload's bytes, so a received packet names its layer
};
constexpr Layer kLayers[] = {{"q", 0x51, 320, 180, 0x0A}, {"h", 0x52, 640, 360, 0x0B}, {"f", 0x53, 1280, 720, 0x0C}};

// A VP8 packet of a layer: its rid in a header extension, and when
// `keyframe`, the start of a key frame that declares the layer's size.
Bytes layer_packet(const Layer& layer, uint16_t sequence_number, bool keyframe, size_t payload_bytes = 200) {
  std::array<uint8_t, 16> extension_bytes{};
  rtp::HeaderExtensionBuilder extensions(rtp::ExtensionForm::kOneByte, extension_bytes);
  const std::string rid = layer.rid;
  EXPECT_EQ(extensions.add(kRidId, std::span(reinterpret_cast<const uint8_t*>(rid.data()), rid.size())),
            rtp::HeaderExtensionError::kNone);
  const auto data = extensions.data();
  rtp::RtpHeaderSpec header;
  header.payload_type = kVp8;
  header.sequence_number = sequence_number;
  header.timestamp = sequence_number * 3000u;
  header.ssrc = layer.ssrc;
  header.has_extension = true;
  header.extension_profile = extensions.profile();
  header.extension_data = data;
  Bytes payload(payload_bytes, layer.fill);
  payload[0] = keyframe ? 0x10 : 0x00;  // descriptor: S=1, partition 0 for a keyframe's first packet
  if (keyframe) {
    const uint8_t vp8[] = {0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, static_cast<uint8_t>(layer.width),
                           static_cast<uint8_t>(layer.width >> 8), static_cast<uint8_t>(layer.height),
                           static_cast<uint8_t>(layer.height >> 8)};
    std::copy(std::begin(vp8), std::end(vp8), payload.begin() + 1);
  }
  Bytes packet(1500);
  auto size = rtp::serialize_rtp_packet(header, payload, packet);
  EXPECT_TRUE(size.ok());
  packet.resize(size.ok() ? *size : 0);
  return packet;
}

class LineMediaSimulcastTest : public ::testing::Test {
 protected:
  void SetUp() override {
    alice_session_ = start(capture("chromium156_captured_offer_simulcast.sdp"));
    auto published = alice_.publish(alice_session_, [next = StreamKey{10}]() mutable { return next++; });
    ASSERT_EQ(published.size(), 1u) << "one stream, its layers inside";
    EXPECT_EQ(published[0].key, 10u);
    EXPECT_EQ(published[0].layers, (std::vector<StreamKey>{10, 11, 12}));

    bob_session_ = start(bob_offer_);
    rtp::OutgoingStream video{rtp::MediaKind::kVideo, "alice", "video-alice", kLegSsrc, kLegRtxSsrc, "alice"};
    const rtp::UpdateOffer offer = offer_ok(bob_session_, {video});
    bob_session_ = applied(bob_session_, offer, client_answer(offer, bob_offer_));
    LegRequest request{published[0].key, 0, published[0].format, "alice", "video-alice", "alice", "Alice"};
    request.layers = published[0].layers;
    ASSERT_TRUE(bob_.set_legs(bob_session_, {request}).empty());
    ASSERT_EQ(bob_.leg_count(), 1u);
  }

  // One packet of each layer (a keyframe when asked), then what Bob got of
  // them: the fill bytes, one per packet.
  std::vector<uint8_t> round(bool keyframes) {
    const size_t before = bob_transport_.rtp.size();
    for (size_t i = 0; i < std::size(kLayers); ++i) {
      Bytes packet = layer_packet(kLayers[i], sequences_[i]++, keyframes, payload_bytes_[i]);
      alice_.on_rtp(packet, now_us_);
    }
    now_us_ += 33'000;
    fabric_.router(1).drain(now_us_);
    std::vector<uint8_t> fills;
    for (size_t i = before; i < bob_transport_.rtp.size(); ++i) {
      auto parsed = rtp::parse_rtp_packet(bob_transport_.rtp[i]);
      EXPECT_TRUE(parsed.ok());
      if (!parsed.ok()) continue;
      EXPECT_EQ(parsed->ssrc, kLegSsrc) << "one SSRC for the subscriber, whichever layer";
      fills.push_back(parsed->payload.back());
    }
    return fills;
  }

  int64_t now_us_ = 7'000'000'000;
  uint16_t sequences_[3] = {100, 5000, 60000};  // each layer its own RTP stream
  size_t payload_bytes_[3] = {200, 200, 200};
  MediaFabric fabric_{2};
  RecordingTransport alice_transport_, bob_transport_;
  LineMedia alice_{fabric_.router(0), alice_transport_, 0xA11CE};
  LineMedia bob_{fabric_.router(1), bob_transport_, 0xB0B};
  rtp::SessionDescription bob_offer_ = capture("chromium156_offer_av_dc.sdp");
  rtp::NegotiatedSession alice_session_, bob_session_;
};

TEST_F(LineMediaSimulcastTest, EachLayerIsLearnedByItsRidAndTheTallestIsForwarded) {
  EXPECT_TRUE(round(false).empty()) << "nothing before a keyframe";
  // All three send; until each one's height is known, the last listed counts as tallest.
  EXPECT_EQ(round(true), (std::vector<uint8_t>{0x0C}));
  EXPECT_EQ(round(false), (std::vector<uint8_t>{0x0C}));
  EXPECT_EQ(alice_.stats().unknown_ssrc_drops, 0u);
  // Every layer was asked for a keyframe (the new leg), each under its own SSRC.
  std::vector<uint32_t> asked;
  for (const auto& pli : alice_transport_.feedback(206, rtp::feedback_format::kPli)) asked.push_back(pli.media_ssrc);
  for (const Layer& layer : kLayers) {
    EXPECT_NE(std::find(asked.begin(), asked.end(), layer.ssrc), asked.end()) << layer.rid;
  }
}

TEST_F(LineMediaSimulcastTest, AMaxHeightMovesTheLegToTheLayerThatFitsAtItsKeyframe) {
  round(true);
  ASSERT_EQ(round(false), (std::vector<uint8_t>{0x0C}));
  alice_transport_.rtcp.clear();
  bob_.set_max_height("alice", "", 400);
  EXPECT_EQ(round(false), (std::vector<uint8_t>{0x0C})) << "the high layer until the middle one's keyframe";
  bool asked_middle = false;
  for (const auto& pli : alice_transport_.feedback(206, rtp::feedback_format::kPli)) {
    asked_middle = asked_middle || pli.media_ssrc == kLayers[1].ssrc;
  }
  EXPECT_TRUE(asked_middle) << "the switch asks the middle layer for a keyframe";
  EXPECT_EQ(round(true), (std::vector<uint8_t>{0x0B}));
  EXPECT_EQ(round(false), (std::vector<uint8_t>{0x0B}));

  bob_.set_max_height("alice", "video-bob", 100);  // another track: no change
  EXPECT_EQ(round(true), (std::vector<uint8_t>{0x0B}));
  bob_.set_max_height("alice", "video-alice", std::nullopt);  // lifted for her track
  // The middle layer's packet comes first in the round, the high layer's keyframe switches.
  EXPECT_EQ(round(true), (std::vector<uint8_t>{0x0B, 0x0C}));
  EXPECT_EQ(round(false), (std::vector<uint8_t>{0x0C}));
}

TEST_F(LineMediaSimulcastTest, SequenceNumbersStayContinuousAcrossASwitch) {
  round(true);
  round(false);
  bob_.set_max_height("alice", "", 200);
  round(true);
  round(false);
  std::vector<uint16_t> numbers;
  for (const Bytes& packet : bob_transport_.rtp) numbers.push_back(rtp::parse_rtp_packet(packet)->sequence_number);
  for (size_t i = 1; i < numbers.size(); ++i) EXPECT_EQ(uint16_t(numbers[i - 1] + 1), numbers[i]) << i;
}

// Bandwidth toward the subscriber: Bob's receiver report shows half his
// packets lost while he gets the high layer (288 kbit/s of payload here:
// 1,200 bytes 30 times a second); the estimate drops to 216 kbit/s, which
// fits the middle layer (144 kbit/s with 20 % to spare), and the leg moves
// there at its keyframe.
TEST_F(LineMediaSimulcastTest, LossInTheSubscribersReportsMovesItsLegToALayerThatFits) {
  payload_bytes_[0] = 200;
  payload_bytes_[1] = 600;
  payload_bytes_[2] = 1'200;
  round(true);
  bob_.on_timer(now_us_);  // the first report interval starts
  for (int i = 0; i < 35; ++i) ASSERT_EQ(round(false), (std::vector<uint8_t>{0x0C}));
  EXPECT_FALSE(bob_.stats().downlink_estimate_bps);  // no loss reported yet

  Bytes report(64);
  rtp::RtcpWriter writer(report);
  const rtp::ReportBlock block{.ssrc = kLegSsrc, .fraction_lost = 128};
  ASSERT_TRUE(rtp::write_receiver_report(writer, 0xB0B0, std::span(&block, 1)).ok());
  report.resize(writer.size());
  bob_.on_rtcp(report, now_us_);
  bob_.on_timer(now_us_);  // the interval ends: bitrates, then the estimate
  ASSERT_TRUE(bob_.stats().downlink_estimate_bps);
  EXPECT_NEAR(static_cast<double>(*bob_.stats().downlink_estimate_bps), 216'000, 15'000);
  EXPECT_EQ(round(false), (std::vector<uint8_t>{0x0C})) << "the high layer until the middle one's keyframe";
  EXPECT_EQ(round(true), (std::vector<uint8_t>{0x0B}));
  EXPECT_EQ(round(false), (std::vector<uint8_t>{0x0B}));
}

}  // namespace
}  // namespace partyline::core
