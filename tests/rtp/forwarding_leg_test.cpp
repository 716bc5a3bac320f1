// ForwardingLeg and make_leg_config: what one subscriber receives of one
// publisher's stream, checked byte by byte on the written packets.
#include "rtp/forward/forwarding_leg.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rtp/packet/rtp_header_extensions.hpp"
#include "rtp/packet/rtp_packet.hpp"

namespace partyline::rtp {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr const char* kMidUri = "urn:ietf:params:rtp-hdrext:sdes:mid";
constexpr const char* kRidUri = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
constexpr const char* kRepairedRidUri = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";
constexpr const char* kAbsSendTimeUri = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
constexpr const char* kTransportCcUri =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
constexpr const char* kAudioLevelUri = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

constexpr uint32_t kPublisherSsrc = 0x11111111;
constexpr uint32_t kOtherPublisherSsrc = 0x22222222;
constexpr uint32_t kLegSsrc = 0xA0A0A0A0;
constexpr uint32_t kLegRtxSsrc = 0xB0B0B0B0;
constexpr uint8_t kPublisherPt = 96;
constexpr uint8_t kLegPt = 100;
constexpr uint8_t kLegRtxPt = 101;

// The publisher's ids (the ones in packets) and the subscriber's ids.
constexpr uint8_t kPublisherMidId = 1;
constexpr uint8_t kPublisherAudioLevelId = 2;  // the subscriber did not negotiate it
constexpr uint8_t kPublisherAbsSendTimeId = 3;
constexpr uint8_t kPublisherTransportCcId = 5;
constexpr uint8_t kLegAbsSendTimeId = 2;
constexpr uint8_t kLegTransportCcId = 7;  // negotiated by the subscriber, never mapped

Extmap extmap(uint16_t id, const char* uri) {
  Extmap map;
  map.id = id;
  map.uri = uri;
  return map;
}

StreamFormat publisher_video() {
  StreamFormat format{MediaKind::kVideo, "VP8", 90'000, kPublisherPt, 97, {}};
  format.extmaps = {extmap(kPublisherMidId, kMidUri),
                    extmap(kPublisherAudioLevelId, kAudioLevelUri),
                    extmap(kPublisherAbsSendTimeId, kAbsSendTimeUri),
                    extmap(kPublisherTransportCcId, kTransportCcUri),
                    extmap(10, kRidUri),
                    extmap(11, kRepairedRidUri)};
  return format;
}

StreamFormat subscriber_video() {
  StreamFormat format{MediaKind::kVideo, "vp8", 90'000, kLegPt, kLegRtxPt, {}};
  // The subscriber negotiated mid, rid and repaired-rid too, under other ids:
  // they must still never be mapped.
  format.extmaps = {extmap(4, kMidUri), extmap(kLegAbsSendTimeId, kAbsSendTimeUri),
                    extmap(kLegTransportCcId, kTransportCcUri), extmap(12, kRidUri),
                    extmap(13, kRepairedRidUri)};
  return format;
}

LegConfig video_leg_config(bool with_rtx = true, uint16_t first_sequence_number = 1000,
                           uint32_t first_timestamp = 50'000) {
  auto config = make_leg_config(publisher_video(), subscriber_video(), kLegSsrc,
                                with_rtx ? std::optional<uint32_t>(kLegRtxSsrc) : std::nullopt, 7);
  EXPECT_TRUE(config.ok());
  LegConfig fixed = *config;
  fixed.first_sequence_number = first_sequence_number;
  fixed.first_timestamp = first_timestamp;
  fixed.first_rtx_sequence_number = 60'000;
  return fixed;
}

struct SourceSpec {
  uint32_t ssrc = kPublisherSsrc;
  uint16_t sequence_number = 0;
  uint32_t timestamp = 0;
  uint8_t payload_type = kPublisherPt;
  bool marker = false;
  size_t payload_size = 40;
  uint8_t padding_size = 0;
  bool with_extensions = true;
};

// The publisher's one-byte extension block: mid "0", audio level, abs-send-time, transport-cc.
Bytes publisher_extension_block() {
  return {0x10, '0',                          // id 1 (mid), 1 byte
          0x32, 0xAA, 0xBB, 0xCC,             // id 3 (abs-send-time), 3 bytes
          0x51, 0x12, 0x34,                   // id 5 (transport-cc), 2 bytes
          0x20, 0x85,                         // id 2 (audio level), 1 byte
          0x00};                              // padding to 32 bits
}
// What the leg must carry instead: same length, ids mapped, the rest zeroed.
Bytes leg_extension_block() {
  return {0x00, 0x00,                          // mid blanked
          0x22, 0xAA, 0xBB, 0xCC,              // abs-send-time under id 2
          0x00, 0x00, 0x00,                    // transport-cc blanked: the publisher's hop
          0x00, 0x00,                          // audio level blanked
          0x00};
}

Bytes payload_of(const SourceSpec& spec) {
  Bytes payload(spec.payload_size);
  for (size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<uint8_t>(spec.sequence_number * 7 + i);
  }
  return payload;
}

Bytes source_packet(const SourceSpec& spec) {
  const Bytes extensions = publisher_extension_block();
  const Bytes payload = payload_of(spec);
  RtpHeaderSpec header;
  header.marker = spec.marker;
  header.payload_type = spec.payload_type;
  header.sequence_number = spec.sequence_number;
  header.timestamp = spec.timestamp;
  header.ssrc = spec.ssrc;
  header.has_extension = spec.with_extensions;
  header.extension_profile = kOneByteExtensionProfile;
  if (spec.with_extensions) header.extension_data = extensions;
  header.padding_size = spec.padding_size;
  Bytes out(1500);
  auto size = serialize_rtp_packet(header, payload, out);
  EXPECT_TRUE(size.ok());
  out.resize(*size);
  return out;
}

RtpPacketView parsed(const Bytes& packet) {
  auto view = parse_rtp_packet(packet);
  EXPECT_TRUE(view.ok());
  return *view;
}

// Forwards one source packet and returns the leg's bytes (empty when dropped).
Bytes forward(ForwardingLeg& leg, const SourceSpec& spec, int64_t now_us = 0, LegDrop* drop = nullptr) {
  const Bytes source = source_packet(spec);
  Bytes out(1600);
  const LegPacket written = leg.forward(parsed(source), out, now_us);
  if (drop != nullptr) *drop = written.drop;
  out.resize(written.length);
  return out;
}

Bytes span_bytes(std::span<const uint8_t> bytes) { return Bytes(bytes.begin(), bytes.end()); }

// ---- make_leg_config ----

TEST(ForwardingLegConfig, CodecMismatchIs415NamingBoth) {
  StreamFormat h264 = subscriber_video();
  h264.codec_name = "H264";
  auto config = make_leg_config(publisher_video(), h264, kLegSsrc, kLegRtxSsrc, 1);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code, 415);
  EXPECT_NE(config.error().message.find("VP8/90000"), std::string::npos) << config.error().message;
  EXPECT_NE(config.error().message.find("H264/90000"), std::string::npos) << config.error().message;

  StreamFormat other_rate = subscriber_video();
  other_rate.clock_rate = 48'000;
  auto rate_mismatch = make_leg_config(publisher_video(), other_rate, kLegSsrc, std::nullopt, 1);
  ASSERT_FALSE(rate_mismatch.ok());
  EXPECT_EQ(rate_mismatch.error().code, 415);
  EXPECT_NE(rate_mismatch.error().message.find("vp8/48000"), std::string::npos) << rate_mismatch.error().message;
}

TEST(ForwardingLegConfig, CodecNamesCompareWithoutCase) {
  EXPECT_TRUE(make_leg_config(publisher_video(), subscriber_video(), kLegSsrc, std::nullopt, 1).ok());
}

TEST(ForwardingLegConfig, MapsThePublishersPayloadTypeOnly) {
  const auto config = make_leg_config(publisher_video(), subscriber_video(), kLegSsrc, kLegRtxSsrc, 1);
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->ssrc, kLegSsrc);
  EXPECT_EQ(config->clock_rate, 90'000u);
  for (size_t pt = 0; pt < config->payload_types.size(); ++pt) {
    EXPECT_EQ(config->payload_types[pt], pt == kPublisherPt ? kLegPt : LegConfig::kNoPayloadType) << "pt " << pt;
  }
}

TEST(ForwardingLegConfig, MapsExtensionsByUriAndBlanksTheRest) {
  const auto config = make_leg_config(publisher_video(), subscriber_video(), kLegSsrc, kLegRtxSsrc, 1);
  ASSERT_TRUE(config.ok());
  ExtensionIdMap expected{};
  expected[kPublisherAbsSendTimeId] = kLegAbsSendTimeId;
  // mid (1), rid (10), repaired rid (11) and the transport-wide sequence
  // number (5): negotiated by both but never mapped (they belong to the
  // publisher's hop); audio level (2): the subscriber lacks it.
  EXPECT_EQ(config->extension_ids, expected);
}

TEST(ForwardingLegConfig, RtxOnlyWithBothPayloadTypeAndSsrc) {
  const auto both = make_leg_config(publisher_video(), subscriber_video(), kLegSsrc, kLegRtxSsrc, 1);
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->rtx_ssrc, kLegRtxSsrc);
  EXPECT_EQ(both->rtx_payload_type, kLegRtxPt);

  const auto no_ssrc = make_leg_config(publisher_video(), subscriber_video(), kLegSsrc, std::nullopt, 1);
  ASSERT_TRUE(no_ssrc.ok());
  EXPECT_FALSE(no_ssrc->rtx_ssrc);
  EXPECT_FALSE(no_ssrc->rtx_payload_type);

  StreamFormat no_rtx = subscriber_video();
  no_rtx.rtx_payload_type.reset();
  const auto no_pt = make_leg_config(publisher_video(), no_rtx, kLegSsrc, kLegRtxSsrc, 1);
  ASSERT_TRUE(no_pt.ok());
  EXPECT_FALSE(no_pt->rtx_ssrc);
  EXPECT_FALSE(no_pt->rtx_payload_type);
}

TEST(ForwardingLegConfig, StartingPointsComeFromTheSeed) {
  const auto a = make_leg_config(publisher_video(), subscriber_video(), kLegSsrc, kLegRtxSsrc, 0x12345678);
  const auto b = make_leg_config(publisher_video(), subscriber_video(), kLegSsrc, kLegRtxSsrc, 0x12345678);
  const auto c = make_leg_config(publisher_video(), subscriber_video(), kLegSsrc, kLegRtxSsrc, 0x87654321);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->first_sequence_number, b->first_sequence_number);
  EXPECT_EQ(a->first_timestamp, b->first_timestamp);
  EXPECT_NE(a->first_sequence_number, c->first_sequence_number);
  EXPECT_NE(a->first_timestamp, c->first_timestamp);
}

TEST(ForwardingLegConfig, StreamFormatOfANegotiatedMLine) {
  NegotiatedMedia media;
  media.kind = MediaKind::kVideo;
  media.accepted = true;
  EXPECT_FALSE(stream_format(media)) << "no codec";
  media.codec = NegotiatedCodec{};
  media.codec->name = "VP8";
  media.codec->clock_rate = 90'000;
  media.codec->payload_type = 96;
  media.rtx_payload_type = 97;
  media.extmaps = {extmap(3, kAbsSendTimeUri)};
  const auto format = stream_format(media);
  ASSERT_TRUE(format);
  EXPECT_EQ(format->codec_name, "VP8");
  EXPECT_EQ(format->payload_type, 96);
  EXPECT_EQ(format->rtx_payload_type, 97);
  EXPECT_EQ(format->extmaps, media.extmaps);
  media.accepted = false;
  EXPECT_FALSE(stream_format(media)) << "rejected m-line";
}

// ---- forward ----

TEST(ForwardingLeg, RewritesHeaderAndExtensionsAndKeepsPayload) {
  ForwardingLeg leg(video_leg_config());
  for (uint16_t i = 0; i < 5; ++i) {
    const SourceSpec spec{kPublisherSsrc, static_cast<uint16_t>(30000 + i), 777'000u + i * 3000u, kPublisherPt,
                          i == 4};
    const Bytes source = source_packet(spec);
    const Bytes out = forward(leg, spec);
    ASSERT_EQ(out.size(), source.size()) << "packet " << i;
    const RtpPacketView view = parsed(out);
    EXPECT_EQ(view.ssrc, kLegSsrc);
    EXPECT_EQ(view.sequence_number, 1000 + i);
    EXPECT_EQ(view.timestamp, 50'000u + i * 3000u);
    EXPECT_EQ(view.payload_type, kLegPt);
    EXPECT_EQ(view.marker, i == 4);
    EXPECT_EQ(view.extension_profile, kOneByteExtensionProfile);
    EXPECT_EQ(span_bytes(view.extension_data), leg_extension_block());
    EXPECT_EQ(span_bytes(view.payload), payload_of(spec));
    // Byte level: the header's first byte (V, P, X, CC) and everything after
    // the extension block are the source's.
    EXPECT_EQ(out[0], source[0]);
    EXPECT_TRUE(std::equal(out.begin() + static_cast<ptrdiff_t>(view.header_size), out.end(),
                           source.begin() + static_cast<ptrdiff_t>(view.header_size)));
  }
  EXPECT_EQ(leg.packets_sent(), 5u);
}

TEST(ForwardingLeg, PacketWithoutExtensionsIsForwarded) {
  ForwardingLeg leg(video_leg_config());
  SourceSpec spec{kPublisherSsrc, 5, 900};
  spec.with_extensions = false;
  const Bytes out = forward(leg, spec);
  ASSERT_FALSE(out.empty());
  const RtpPacketView view = parsed(out);
  EXPECT_FALSE(view.has_extension);
  EXPECT_EQ(view.sequence_number, 1000);
  EXPECT_EQ(span_bytes(view.payload), payload_of(spec));
}

TEST(ForwardingLeg, UnknownPayloadTypeIsDroppedWithoutAGap) {
  ForwardingLeg leg(video_leg_config());
  EXPECT_FALSE(forward(leg, {kPublisherSsrc, 10, 0}).empty());
  LegDrop drop = LegDrop::kNone;
  EXPECT_TRUE(forward(leg, {kPublisherSsrc, 11, 0, 97}, 0, &drop).empty());
  EXPECT_EQ(drop, LegDrop::kUnknownPayloadType);
  EXPECT_EQ(to_string(drop), "payload type not negotiated on the leg");
  // The subscriber never sees a hole for a packet it could not be sent.
  EXPECT_EQ(parsed(forward(leg, {kPublisherSsrc, 12, 0})).sequence_number, 1001);
  EXPECT_EQ(leg.packets_sent(), 2u);
}

TEST(ForwardingLeg, SourceSwitchKeepsTheLegContinuous) {
  ForwardingLeg leg(video_leg_config());
  EXPECT_EQ(parsed(forward(leg, {kPublisherSsrc, 100, 9000}, 0)).sequence_number, 1000);
  EXPECT_EQ(parsed(forward(leg, {kPublisherSsrc, 101, 12000}, 33'333)).timestamp, 53'000u);
  // Another SSRC with unrelated numbers, 100 ms later (9000 ticks).
  const RtpPacketView first_b = parsed(forward(leg, {kOtherPublisherSsrc, 40000, 5}, 133'333));
  EXPECT_EQ(first_b.ssrc, kLegSsrc);
  EXPECT_EQ(first_b.sequence_number, 1002);
  EXPECT_EQ(first_b.timestamp, 62'000u);
  const RtpPacketView second_b = parsed(forward(leg, {kOtherPublisherSsrc, 40001, 3005}, 166'666));
  EXPECT_EQ(second_b.sequence_number, 1003);
  EXPECT_EQ(second_b.timestamp, 65'000u);
}

TEST(ForwardingLeg, UpstreamLossLeavesAGapAndReorderingMapsBack) {
  ForwardingLeg leg(video_leg_config(true, 65534));
  EXPECT_EQ(parsed(forward(leg, {kPublisherSsrc, 500, 0})).sequence_number, 65534);
  EXPECT_EQ(parsed(forward(leg, {kPublisherSsrc, 503, 0})).sequence_number, 1);  // 501, 502 missing
  EXPECT_EQ(parsed(forward(leg, {kPublisherSsrc, 502, 0})).sequence_number, 0);  // late
  EXPECT_EQ(parsed(forward(leg, {kPublisherSsrc, 504, 0})).sequence_number, 2);
  EXPECT_EQ(parsed(forward(leg, {kPublisherSsrc, 501, 0})).sequence_number, 65535);
}

TEST(ForwardingLeg, TooLargeForTheBufferTakesNoNumber) {
  ForwardingLeg leg(video_leg_config());
  const Bytes source = source_packet({kPublisherSsrc, 1, 0});
  Bytes small(source.size() - 1);
  const LegPacket written = leg.forward(parsed(source), small, 0);
  EXPECT_EQ(written.length, 0u);
  EXPECT_EQ(written.drop, LegDrop::kTooLarge);
  EXPECT_EQ(leg.packets_sent(), 0u);
  EXPECT_EQ(parsed(forward(leg, {kPublisherSsrc, 2, 0})).sequence_number, 1000);
}

TEST(ForwardingLeg, PaddingOnlyPacketsAreNotForwardedAndTakeNoNumber) {
  ForwardingLeg leg(video_leg_config());
  EXPECT_EQ(parsed(forward(leg, {kPublisherSsrc, 1, 0})).sequence_number, 1000);
  SourceSpec probe{kPublisherSsrc, 2, 0};
  probe.payload_size = 0;
  probe.padding_size = 200;
  LegDrop drop = LegDrop::kNone;
  EXPECT_TRUE(forward(leg, probe, 0, &drop).empty());
  EXPECT_EQ(drop, LegDrop::kPaddingOnly);
  EXPECT_EQ(parsed(forward(leg, {kPublisherSsrc, 3, 0})).sequence_number, 1001);  // no hole to NACK
  EXPECT_FALSE(leg.source_sequence_number(1002).has_value());
}

TEST(ForwardingLeg, MalformedExtensionBlockIsDropped) {
  ForwardingLeg leg(video_leg_config());
  Bytes source = source_packet({kPublisherSsrc, 1, 0});
  // The abs-send-time element claims 16 bytes: past the end of the block.
  const RtpPacketView view = parsed(source);
  source[view.extension_data_offset() + 2] = 0x3F;
  Bytes out(1500);
  EXPECT_EQ(leg.forward(parsed(source), out, 0).drop, LegDrop::kBadExtensions);
}

// ---- NACKs: source_sequence_number and retransmit ----

TEST(ForwardingLeg, SourceSequenceNumberOfSentAndLostPackets) {
  ForwardingLeg leg(video_leg_config());
  EXPECT_FALSE(leg.source_sequence_number(1000)) << "nothing forwarded yet";
  forward(leg, {kPublisherSsrc, 7000, 0});
  forward(leg, {kPublisherSsrc, 7001, 0});
  forward(leg, {kPublisherSsrc, 7003, 0});  // 7002 lost upstream: leg 1002 reserved for it
  forward(leg, {kPublisherSsrc, 7004, 0, 97});  // not carried: takes no number
  forward(leg, {kPublisherSsrc, 7005, 0});
  EXPECT_EQ(leg.source_sequence_number(1000), 7000);
  EXPECT_EQ(leg.source_sequence_number(1001), 7001);
  EXPECT_EQ(leg.source_sequence_number(1002), 7002) << "what to ask the publisher for";
  EXPECT_EQ(leg.source_sequence_number(1003), 7003);
  EXPECT_EQ(leg.source_sequence_number(1004), 7005);
  EXPECT_FALSE(leg.source_sequence_number(1005)) << "not sent yet";
  EXPECT_FALSE(leg.source_sequence_number(999));
}

TEST(ForwardingLeg, RetransmitsAsRtxWhenNegotiated) {
  ForwardingLeg leg(video_leg_config());
  std::vector<Bytes> sources;
  std::vector<Bytes> sent;
  for (uint16_t i = 0; i < 6; ++i) {
    SourceSpec spec{kPublisherSsrc, static_cast<uint16_t>(7000 + i), 3000u * i, kPublisherPt, i % 2 == 1};
    spec.padding_size = i == 3 ? 8 : 0;
    sources.push_back(source_packet(spec));
    sent.push_back(forward(leg, spec, 1000 * i));
  }
  for (uint16_t round = 0; round < 2; ++round) {
    const uint16_t nacked = 1003;  // the padded one
    const auto source_sequence = leg.source_sequence_number(nacked);
    ASSERT_EQ(source_sequence, 7003);
    const RtpPacketView source = parsed(sources[3]);
    Bytes out(1600);
    const LegPacket written = leg.retransmit(source, out, 10'000);
    ASSERT_EQ(written.drop, LegDrop::kNone);
    ASSERT_EQ(written.length, source.header_size + 2 + source.payload.size());
    out.resize(written.length);
    const RtpPacketView rtx = parsed(out);
    EXPECT_EQ(rtx.ssrc, kLegRtxSsrc);
    EXPECT_EQ(rtx.payload_type, kLegRtxPt);
    EXPECT_EQ(rtx.sequence_number, 60'000 + round) << "the RTX stream has its own numbers";
    EXPECT_EQ(rtx.timestamp, parsed(sent[3]).timestamp);
    EXPECT_TRUE(rtx.marker);
    EXPECT_FALSE(rtx.has_padding);
    EXPECT_EQ(span_bytes(rtx.extension_data), leg_extension_block());
    ASSERT_EQ(rtx.payload.size(), source.payload.size() + 2);
    EXPECT_EQ(rtx.payload[0], nacked >> 8);
    EXPECT_EQ(rtx.payload[1], nacked & 0xff);
    EXPECT_EQ(span_bytes(rtx.payload.subspan(2)), span_bytes(source.payload));
  }
  EXPECT_EQ(leg.retransmissions_sent(), 2u);
  EXPECT_EQ(leg.packets_sent(), 6u);
  // A retransmission changes nothing for the packets that follow.
  EXPECT_EQ(parsed(forward(leg, {kPublisherSsrc, 7006, 18000})).sequence_number, 1006);
}

TEST(ForwardingLeg, RtxNeedsTwoMoreBytes) {
  ForwardingLeg leg(video_leg_config());
  const Bytes source = source_packet({kPublisherSsrc, 7000, 0});
  forward(leg, {kPublisherSsrc, 7000, 0});
  Bytes exact(source.size() + 1);
  EXPECT_EQ(leg.retransmit(parsed(source), exact, 0).drop, LegDrop::kTooLarge);
  Bytes enough(source.size() + 2);
  EXPECT_EQ(leg.retransmit(parsed(source), enough, 0).length, source.size() + 2);
}

TEST(ForwardingLeg, RetransmitsThePacketAgainWithoutRtx) {
  ForwardingLeg leg(video_leg_config(false));
  std::vector<Bytes> sources;
  std::vector<Bytes> sent;
  for (uint16_t i = 0; i < 4; ++i) {
    const SourceSpec spec{kPublisherSsrc, static_cast<uint16_t>(100 + i), 3000u * i};
    sources.push_back(source_packet(spec));
    sent.push_back(forward(leg, spec));
  }
  ASSERT_EQ(leg.source_sequence_number(1002), 102);
  Bytes out(1600);
  const LegPacket written = leg.retransmit(parsed(sources[2]), out, 0);
  ASSERT_EQ(written.drop, LegDrop::kNone);
  out.resize(written.length);
  EXPECT_EQ(out, sent[2]) << "byte-identical to the first sending";
  EXPECT_EQ(leg.retransmissions_sent(), 1u);
}

TEST(ForwardingLeg, RetransmitRefusesAnotherSourcesPacket) {
  ForwardingLeg leg(video_leg_config());
  forward(leg, {kPublisherSsrc, 100, 0});
  forward(leg, {kPublisherSsrc, 101, 0});
  // A cache hit of a previous publisher's packet must not switch the leg.
  const Bytes stale = source_packet({kOtherPublisherSsrc, 101, 0});
  Bytes out(1600);
  EXPECT_EQ(leg.retransmit(parsed(stale), out, 0).drop, LegDrop::kNotCached);
  EXPECT_EQ(parsed(forward(leg, {kPublisherSsrc, 102, 0})).sequence_number, 1002);
}

TEST(ForwardingLeg, RetransmitOfAPacketOlderThanTheWindowIsNotCached) {
  ForwardingLeg leg(video_leg_config());
  const Bytes first = source_packet({kPublisherSsrc, 0, 0});
  forward(leg, {kPublisherSsrc, 0, 0});
  for (uint16_t i = 1; i <= SequenceRewriter::kWindow; ++i) forward(leg, {kPublisherSsrc, i, 0});
  EXPECT_FALSE(leg.source_sequence_number(1000));
  Bytes out(1600);
  EXPECT_EQ(leg.retransmit(parsed(first), out, 0).drop, LegDrop::kNotCached);
}

// ---- sender reports ----

TEST(ForwardingLeg, SenderInfoCountsAndExtrapolatesTheTimestamp) {
  ForwardingLeg leg(video_leg_config(true, 1000, 50'000));
  const SenderInfo before = leg.sender_info(0x0102030405060708ull, 0);
  EXPECT_EQ(before.ntp_timestamp, 0x0102030405060708ull);
  EXPECT_EQ(before.rtp_timestamp, 50'000u);
  EXPECT_EQ(before.packet_count, 0u);
  EXPECT_EQ(before.octet_count, 0u);

  SourceSpec spec{kPublisherSsrc, 1, 10'000};
  spec.payload_size = 100;
  forward(leg, spec, 1'000'000);
  spec = {kPublisherSsrc, 2, 13'000};
  spec.payload_size = 200;
  forward(leg, spec, 1'033'000);  // newest output timestamp 53'000 at 1.033 s
  spec = {kPublisherSsrc, 3, 13'000};
  spec.payload_size = 50;
  spec.padding_size = 4;  // padding is not payload
  forward(leg, spec, 1'040'000);  // same timestamp: the newest stays at 1.033 s

  // 20 ms after the newest timestamp at 90 kHz: 1800 ticks.
  const SenderInfo info = leg.sender_info(42, 1'053'000);
  EXPECT_EQ(info.ntp_timestamp, 42u);
  EXPECT_EQ(info.rtp_timestamp, 54'800u);
  EXPECT_EQ(info.packet_count, 3u);
  EXPECT_EQ(info.octet_count, 350u);
  // A clock that went backwards never moves RTP time back.
  EXPECT_EQ(leg.sender_info(42, 1'000'000).rtp_timestamp, 53'000u);
}

TEST(ForwardingLeg, SenderInfoUsesTheLegsClockRate) {
  StreamFormat opus{MediaKind::kAudio, "opus", 48'000, 111, std::nullopt, {}};
  StreamFormat leg_opus{MediaKind::kAudio, "opus", 48'000, 109, std::nullopt, {}};
  auto config = make_leg_config(opus, leg_opus, kLegSsrc, std::nullopt, 3);
  ASSERT_TRUE(config.ok());
  config->first_timestamp = 0xFFFFFF00u;
  ForwardingLeg leg(*config);
  SourceSpec spec{kPublisherSsrc, 1, 960, 111};
  spec.with_extensions = false;
  const Bytes out = forward(leg, spec, 5'000'000);
  EXPECT_EQ(parsed(out).payload_type, 109);
  // 10 ms at 48 kHz, across the 32-bit wrap.
  EXPECT_EQ(leg.sender_info(0, 5'010'000).rtp_timestamp, 0xFFFFFF00u + 480u);
}

}  // namespace
}  // namespace partyline::rtp
