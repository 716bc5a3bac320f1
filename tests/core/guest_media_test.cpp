// GuestMedia: a plugin handle's seat in a line, on one worker's router (a
// fabric without poster or waker: everything runs inline, in virtual time).
#include "core/media/guest_media.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "rtp/packet/rtp_packet.hpp"

namespace partyline::core {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr StreamKey kVideoKey = 3;
constexpr StreamKey kAudioKey = 4;
constexpr uint8_t kVp8Pt = 96;
constexpr int64_t kNow = 5'000'000;

class RecordingGuest : public GuestMediaSink {
 public:
  void on_stream_added(const GuestStream& stream) override { events.push_back("added " + describe(stream)); added.push_back(stream); }
  void on_stream_removed(uint32_t number) override { events.push_back("removed " + std::to_string(number)); }
  void on_stream_rtp(uint32_t number, std::span<const uint8_t> packet) override {
    if (packets.empty()) events.push_back("first packet " + std::to_string(number));
    packets.emplace_back(number, Bytes(packet.begin(), packet.end()));
    if (on_packet) on_packet(number);
  }
  static std::string describe(const GuestStream& stream) {
    return std::to_string(stream.number) + " " + stream.format.codec_name + " " + stream.publisher + " " +
           stream.publisher_name;
  }
  void on_listener_added(const GuestListener& listener) override {
    events.push_back("listener " + std::to_string(listener.number) + " " + listener.occupant + " " + listener.name);
  }
  void on_listener_removed(uint32_t number) override { events.push_back("listener removed " + std::to_string(number)); }
  std::vector<std::string> events;
  std::vector<GuestStream> added;
  std::vector<std::pair<uint32_t, Bytes>> packets;
  std::function<void(uint32_t)> on_packet;
};

class RecordingOwner : public SourceOwner {
 public:
  void on_keyframe_request(StreamKey key, rtp::KeyframeRequestReason) override { keyframes.push_back(key); }
  void on_retransmission_request(StreamKey key, std::span<const uint16_t> numbers) override {
    asked.emplace_back(key, std::vector<uint16_t>(numbers.begin(), numbers.end()));
  }
  std::vector<StreamKey> keyframes;
  std::vector<std::pair<StreamKey, std::vector<uint16_t>>> asked;
};

// A legs-only subscriber, to see what a guest publishes.
class RecordingLegSink : public LegSink {
 public:
  ice::SendResult send_leg_rtp(std::span<uint8_t> buffer, size_t length) override {
    packets.emplace_back(buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(length));
    return ice::SendResult::kSent;
  }
  std::vector<Bytes> packets;
};

rtp::StreamFormat vp8_format() {
  rtp::StreamFormat format;
  format.kind = rtp::MediaKind::kVideo;
  format.codec_name = "VP8";
  format.clock_rate = 90000;
  format.payload_type = kVp8Pt;
  format.rtx_payload_type = 97;
  format.extmaps.push_back(rtp::Extmap{3, std::nullopt, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", std::nullopt});
  return format;
}

LegRequest request_for(StreamKey key, rtp::StreamFormat format, std::string publisher, std::string name) {
  LegRequest request;
  request.key = key;
  request.source_format = std::move(format);
  request.stream_id = publisher;
  request.track_id = "t-" + std::to_string(key);
  request.cname = publisher;
  request.publisher_name = std::move(name);
  return request;
}

Bytes packet(uint8_t payload_type, uint16_t sequence_number, uint32_t ssrc = 0xABCD0001) {
  rtp::RtpHeaderSpec header;
  header.payload_type = payload_type;
  header.sequence_number = sequence_number;
  header.timestamp = 3000u * sequence_number;
  header.ssrc = ssrc;
  Bytes payload(60, static_cast<uint8_t>(sequence_number));
  Bytes out(200);
  out.resize(*rtp::serialize_rtp_packet(header, payload, out));
  return out;
}

void send_source(WorkerRouter& router, StreamKey key, uint8_t payload_type, uint16_t sequence_number) {
  const Bytes bytes = packet(payload_type, sequence_number);
  router.on_source_rtp(key, *rtp::parse_rtp_packet(bytes), kNow);
}

class GuestMediaTest : public ::testing::Test {
 protected:
  MediaFabric fabric{1};
  WorkerRouter& router = fabric.router(0);
  RecordingOwner publisher;
  RecordingGuest sink;
};

TEST_F(GuestMediaTest, AnnouncesAStreamThenDeliversItRewrittenWithAKeyframeAskedFor) {
  router.add_source(kVideoKey, &publisher);
  GuestMedia guest(router, sink, 42);
  EXPECT_EQ(guest.set_streams({request_for(kVideoKey, vp8_format(), "alice-session", "Alice")}), 0u);
  ASSERT_EQ(sink.added.size(), 1u);
  EXPECT_EQ(sink.added[0].format.codec_name, "VP8");
  EXPECT_EQ(sink.added[0].publisher, "alice-session");
  EXPECT_EQ(sink.added[0].publisher_name, "Alice");
  EXPECT_EQ(publisher.keyframes, std::vector<StreamKey>{kVideoKey});  // a new subscriber starts on a keyframe

  for (uint16_t sequence = 100; sequence < 105; ++sequence) send_source(router, kVideoKey, kVp8Pt, sequence);
  ASSERT_EQ(sink.packets.size(), 5u);
  std::vector<uint16_t> sequence_numbers;
  for (const auto& [number, bytes] : sink.packets) {
    EXPECT_EQ(number, sink.added[0].number);
    auto parsed = rtp::parse_rtp_packet(bytes);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->payload_type, kVp8Pt);  // the publisher's numbering
    EXPECT_NE(parsed->ssrc, 0xABCD0001u);     // the leg's own SSRC
    sequence_numbers.push_back(parsed->sequence_number);
  }
  for (size_t i = 1; i < sequence_numbers.size(); ++i) {
    EXPECT_EQ(static_cast<uint16_t>(sequence_numbers[i - 1] + 1), sequence_numbers[i]);
  }
  EXPECT_EQ(sink.events.front(), "added 1 VP8 alice-session Alice");
  EXPECT_EQ(guest.stats().packets_received, 5u);
}

TEST_F(GuestMediaTest, ANackIsAnsweredFromTheCacheWithThePacketItself) {
  router.add_source(kVideoKey, &publisher);
  GuestMedia guest(router, sink, 7);
  guest.set_streams({request_for(kVideoKey, vp8_format(), "alice", "Alice")});
  for (uint16_t sequence = 10; sequence < 14; ++sequence) send_source(router, kVideoKey, kVp8Pt, sequence);
  const Bytes third = sink.packets[2].second;
  const uint16_t lost = rtp::parse_rtp_packet(third)->sequence_number;
  ASSERT_TRUE(guest.nack(sink.added[0].number, std::vector<uint16_t>{lost}, kNow + 1000));
  ASSERT_EQ(sink.packets.size(), 5u);
  EXPECT_EQ(sink.packets.back().second, third);  // no RTX: the same packet again
  EXPECT_TRUE(publisher.asked.empty());
  EXPECT_FALSE(guest.nack(99, std::vector<uint16_t>{1}, kNow));  // no such stream
  EXPECT_TRUE(guest.request_keyframe(sink.added[0].number));
  EXPECT_EQ(publisher.keyframes.size(), 2u);
  EXPECT_FALSE(guest.request_keyframe(99));
}

TEST_F(GuestMediaTest, OnePublishersStreamsAreAnnouncedTogetherAndRemovedWhenGone) {
  router.add_source(kVideoKey, &publisher);
  router.add_source(kAudioKey, &publisher);
  GuestMedia guest(router, sink, 1);
  guest.set_streams({request_for(kAudioKey, guest_audio_format(), "bob", "Bob"),
                     request_for(kVideoKey, vp8_format(), "bob", "Bob")});
  send_source(router, kAudioKey, 111, 1);
  EXPECT_EQ(sink.events, (std::vector<std::string>{"added 1 opus bob Bob", "added 2 VP8 bob Bob", "first packet 1"}));
  // Bob's video goes, his audio stays (and keeps its number).
  guest.set_streams({request_for(kAudioKey, guest_audio_format(), "bob", "Bob")});
  EXPECT_EQ(sink.events.back(), "removed 2");
  send_source(router, kVideoKey, kVp8Pt, 2);
  send_source(router, kAudioKey, 111, 2);
  ASSERT_EQ(sink.packets.size(), 2u);
  EXPECT_EQ(sink.packets.back().first, 1u);
  guest.remove_all_streams();
  EXPECT_EQ(sink.events.back(), "removed 1");
  EXPECT_EQ(guest.stream_count(), 0u);
  EXPECT_EQ(router.leg_count(), 0u);
}

TEST_F(GuestMediaTest, WhatItPublishesReachesTheLinesSubscribers) {
  GuestMedia guest(router, sink, 9);
  guest.publish(kAudioKey, guest_audio_format());
  rtp::StreamFormat subscriber_opus = guest_audio_format();
  subscriber_opus.payload_type = 109;  // the subscriber's own numbering
  auto config = rtp::make_leg_config(guest_audio_format(), subscriber_opus, 0x11110000, std::nullopt, 5);
  ASSERT_TRUE(config);
  RecordingLegSink subscriber;
  SubscriberLeg leg(kAudioKey, 0, *config, &subscriber);
  router.add_leg(&leg, false);

  EXPECT_EQ(guest.send_rtp(packet(111, 1), kNow), GuestSendResult::kSent);
  EXPECT_EQ(guest.send_rtp(packet(111, 2), kNow + 20'000), GuestSendResult::kSent);
  ASSERT_EQ(subscriber.packets.size(), 2u);
  EXPECT_EQ(rtp::parse_rtp_packet(subscriber.packets[0])->payload_type, 109);
  EXPECT_EQ(rtp::parse_rtp_packet(subscriber.packets[0])->ssrc, 0x11110000u);

  EXPECT_EQ(guest.send_rtp(packet(96, 3), kNow), GuestSendResult::kBadPacket);  // not its payload type
  EXPECT_EQ(guest.send_rtp(Bytes{0x80, 0x6f}, kNow), GuestSendResult::kBadPacket);
  EXPECT_EQ(subscriber.packets.size(), 2u);
  EXPECT_EQ(guest.stats().packets_published, 2u);
  router.remove_leg(&leg);
}

TEST_F(GuestMediaTest, AGuestThatDoesNotPublishCannotSendAndNoneSendsFromInsideADelivery) {
  GuestMedia listener(router, sink, 3);
  EXPECT_EQ(listener.send_rtp(packet(111, 1), kNow), GuestSendResult::kNotPublishing);

  // A guest that publishes and subscribes, sending from inside its own
  // delivery (which could loop through another guest back to it): refused.
  router.add_source(kVideoKey, &publisher);
  RecordingGuest echoing_sink;
  GuestMedia echoing(router, echoing_sink, 4);
  echoing.publish(kAudioKey, guest_audio_format());
  echoing.set_streams({request_for(kVideoKey, vp8_format(), "alice", "Alice")});
  std::vector<GuestSendResult> results;
  echoing_sink.on_packet = [&](uint32_t) { results.push_back(echoing.send_rtp(packet(111, 5), kNow)); };
  send_source(router, kVideoKey, kVp8Pt, 1);
  EXPECT_EQ(results, std::vector<GuestSendResult>{GuestSendResult::kInsideDelivery});
  EXPECT_EQ(echoing.send_rtp(packet(111, 6), kNow), GuestSendResult::kSent);  // outside: fine
}

// A line mixer's listeners: one source each, reaching only the leg that
// subscribes to that listener's key.
TEST_F(GuestMediaTest, AMixerSendsEachListenerItsOwnStream) {
  GuestMedia mixer(router, sink, 7);
  EXPECT_EQ(mixer.send_rtp_to(1, packet(111, 1), kNow), GuestSendResult::kNotPublishing);
  mixer.set_listeners({ListenerStream{20, "s-alice", "Alice"}, ListenerStream{21, "s-bob", "Bob"}});
  EXPECT_EQ(sink.events, (std::vector<std::string>{"listener 1 s-alice Alice", "listener 2 s-bob Bob"}));
  EXPECT_EQ(mixer.listener_count(), 2u);
  auto config = rtp::make_leg_config(guest_audio_format(), guest_audio_format(), 0x22220000, std::nullopt, 5);
  ASSERT_TRUE(config);
  RecordingLegSink alice, bob;
  SubscriberLeg alice_leg(20, 0, *config, &alice), bob_leg(21, 0, *config, &bob);
  router.add_leg(&alice_leg, false);
  router.add_leg(&bob_leg, false);

  EXPECT_EQ(mixer.send_rtp_to(1, packet(111, 1), kNow), GuestSendResult::kSent);
  EXPECT_EQ(mixer.send_rtp_to(2, packet(111, 1), kNow), GuestSendResult::kSent);
  EXPECT_EQ(mixer.send_rtp_to(2, packet(111, 2), kNow), GuestSendResult::kSent);
  EXPECT_EQ(alice.packets.size(), 1u);
  EXPECT_EQ(bob.packets.size(), 2u);
  EXPECT_EQ(mixer.send_rtp_to(3, packet(111, 3), kNow), GuestSendResult::kNoSuchListener);
  EXPECT_EQ(mixer.send_rtp_to(1, packet(96, 3), kNow), GuestSendResult::kBadPacket);

  // Alice leaves: her stream leaves the router, then she is announced gone;
  // a newcomer gets a new number.
  sink.events.clear();
  mixer.set_listeners({ListenerStream{21, "s-bob", "Bob"}, ListenerStream{22, "s-carol", "Carol"}});
  EXPECT_EQ(sink.events, (std::vector<std::string>{"listener removed 1", "listener 3 s-carol Carol"}));
  EXPECT_EQ(mixer.send_rtp_to(1, packet(111, 4), kNow), GuestSendResult::kNoSuchListener);
  EXPECT_EQ(mixer.send_rtp_to(3, packet(111, 1), kNow), GuestSendResult::kSent);
  EXPECT_EQ(alice.packets.size(), 1u);
  router.remove_leg(&alice_leg);
  router.remove_leg(&bob_leg);
}

TEST_F(GuestMediaTest, LeavesTheRouterWhenDestroyed) {
  router.add_source(kVideoKey, &publisher);
  {
    GuestMedia guest(router, sink, 5);
    guest.publish(kAudioKey, guest_audio_format());
    guest.set_streams({request_for(kVideoKey, vp8_format(), "alice", "Alice")});
    EXPECT_EQ(router.leg_count(), 1u);
  }
  EXPECT_EQ(router.leg_count(), 0u);
  send_source(router, kVideoKey, kVp8Pt, 1);  // nobody to deliver to, nothing dangling
  EXPECT_TRUE(sink.packets.empty());
}

}  // namespace
}  // namespace partyline::core
