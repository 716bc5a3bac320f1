// LineMix against a fake host (MediaPort) in virtual time: a phone line's
// occupants announced as listeners and their audio as streams (in either
// order), each occupant's tone encoded by libopus and sent with its own
// payload type, each listener's mix decoded and read with Goertzel: it
// holds everyone else's tone and never its own. Also the outgoing streams
// (the line's payload type, an SSRC per listener), a listener or stream
// going, and what the mixer refuses or drops.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "line_mix.hpp"
#include "tone_tools.hpp"

namespace audiobridge {
namespace {

using namespace std::chrono_literals;
using Bytes = std::vector<uint8_t>;

constexpr double kAmplitude = 6000;  // talking at the default threshold (as in room_mixer_test)

// Records what the line asks of the host.
class FakePort final : public MediaPort {
 public:
  void send_rtp(const SeatConfig& seat, std::span<const uint8_t> packet) override {
    sent[seat.id].emplace_back(packet.begin(), packet.end());
    handles.insert(seat.handle);
  }
  void start_clock(pl_handle* handle, uint32_t) override { clocks.push_back({handle, true}); }
  void stop_clock(pl_handle* handle) override { clocks.push_back({handle, false}); }
  void push_event(pl_handle*, const std::string&) override { ++events; }

  std::map<uint32_t, std::vector<Bytes>> sent;  // by listener
  std::set<pl_handle*> handles;
  std::vector<std::pair<pl_handle*, bool>> clocks;  // (handle, started)
  int events = 0;
};

// An occupant's client: a tone encoded by libopus, as the host forwards it
// to the mixing handle (its own payload type, no header extension).
struct Occupant {
  Occupant(double frequency, uint8_t payload_type_) : payload_type(payload_type_), tone(frequency, kAmplitude) {}

  Bytes next_packet(bool on = true) {
    const std::span<const uint8_t> payload = tone.next_packet(on);
    Bytes packet(kRtpHeaderBytes);
    write_rtp_header(packet, payload_type, false, tone.sequence(), tone.timestamp());
    packet.insert(packet.end(), payload.begin(), payload.end());
    return packet;
  }

  uint8_t payload_type;
  test::ToneSender tone;
};

pl_line_stream audio_stream(uint32_t number, const char* publisher, uint8_t payload_type) {
  pl_line_stream stream{};
  stream.stream = number;
  stream.video = 0;
  stream.codec = "opus";
  stream.clock_rate = 48000;
  stream.payload_type = payload_type;
  stream.publisher = publisher;
  stream.publisher_name = publisher;
  return stream;
}

// The three occupants of most tests: listener number, occupant id, stream
// number, tone, payload type (each its own: the line forwards the
// publisher's).
struct Member {
  uint32_t listener;
  const char* occupant;
  uint32_t stream;
  double frequency;
  uint8_t payload_type;
};
constexpr Member kAlice{1, "alice", 10, 440, 109};
constexpr Member kBob{2, "bob", 11, 660, 111};
constexpr Member kCarol{3, "carol", 12, 880, 96};

class LineMixTest : public ::testing::Test {
 protected:
  void add_listener(const Member& member) {
    ASSERT_TRUE(line_.listener_added(member.listener, member.occupant, member.occupant));
  }
  void add_stream(const Member& member) {
    line_.stream_added(audio_stream(member.stream, member.occupant, member.payload_type));
    if (!occupants_.contains(member.stream)) {
      occupants_.emplace(member.stream, std::make_unique<Occupant>(member.frequency, member.payload_type));
    }
  }
  void add(const Member& member) {
    add_listener(member);
    add_stream(member);
  }

  // `frames` frames of 20 ms, the clock ticking every 10 ms; each stream's
  // packet for the frame (of `sending`, or of every stream added) first.
  void run(int frames, std::vector<uint32_t> sending = {}) {
    if (sending.empty()) {
      for (const auto& [stream, occupant] : occupants_) sending.push_back(stream);
    }
    for (int i = 0; i < frames; ++i) {
      for (uint32_t stream : sending) line_.rtp(stream, occupants_.at(stream)->next_packet(), now_);
      line_.tick(now_);
      now_ += 10ms;
      line_.tick(now_);
      now_ += 10ms;
    }
  }

  // What `listener`'s client hears: every packet sent to it, decoded.
  test::Listener heard(uint32_t listener) {
    test::Listener decoded;
    for (const Bytes& packet : port_.sent[listener]) decoded.receive(parse_rtp(packet, 0)->payload);
    return decoded;
  }

  // The tone of `member` in `listener`'s frames [first, end), relative to its amplitude sent.
  double level(uint32_t listener, const Member& member, size_t first, size_t end) {
    const test::Listener decoded = heard(listener);
    EXPECT_GE(decoded.pcm().size(), end * kFrameSamples) << "listener " << listener;
    if (decoded.pcm().size() < end * kFrameSamples) return 0;
    return test::tone_amplitude(decoded.frames(first, end), member.frequency) / kAmplitude;
  }

  FakePort port_;
  pl_handle handle_{7};
  LineMix line_{"line1", MixerConfig{}, port_, &handle_};
  std::map<uint32_t, std::unique_ptr<Occupant>> occupants_;  // by stream number
  Micros now_ = 1s;  // the steady clock is never at 0
};

constexpr double kHeard = 0.6;    // of the amplitude sent (as room_media_test)
constexpr double kSilent = 0.03;

TEST_F(LineMixTest, EachOfThreeListenersHearsTheOtherTwoAndNotItself) {
  for (const Member& member : {kAlice, kBob, kCarol}) add(member);
  run(50);
  for (const Member& listener : {kAlice, kBob, kCarol}) {
    for (const Member& talker : {kAlice, kBob, kCarol}) {
      const double heard = level(listener.listener, talker, 25, 50);
      if (talker.listener == listener.listener) {
        EXPECT_LT(heard, kSilent) << listener.occupant << " hears itself";
      } else {
        EXPECT_GT(heard, kHeard) << listener.occupant << " does not hear " << talker.occupant;
      }
    }
  }
  EXPECT_EQ(line_.media().packets_malformed(), 0u);
  EXPECT_EQ(line_.counters().unbound + line_.counters().unknown_stream, 0u);
}

TEST_F(LineMixTest, EachListenerGetsAStreamOfItsOwnOnTheLinesPayloadType) {
  for (const Member& member : {kAlice, kBob, kCarol}) add(member);
  run(10);
  EXPECT_EQ(port_.handles, std::set<pl_handle*>{&handle_});
  std::set<std::vector<uint8_t>> ssrcs;
  for (const Member& member : {kAlice, kBob, kCarol}) {
    const std::vector<Bytes>& packets = port_.sent[member.listener];
    ASSERT_EQ(packets.size(), 10u) << member.occupant;
    const Bytes ssrc(packets[0].begin() + 8, packets[0].begin() + 12);
    EXPECT_NE(ssrc, Bytes(4, 0)) << "the plugin's own SSRC";
    ssrcs.insert(ssrc);
    for (size_t k = 0; k < packets.size(); ++k) {
      const auto rtp = parse_rtp(packets[k], 0);
      ASSERT_TRUE(rtp.has_value());
      EXPECT_EQ(rtp->payload_type, PL_LINE_OPUS_PAYLOAD_TYPE);
      EXPECT_EQ(Bytes(packets[k].begin() + 8, packets[k].begin() + 12), ssrc);
      EXPECT_EQ(rtp->marker, k == 0);
      if (k == 0) continue;
      const auto previous = parse_rtp(packets[k - 1], 0);
      EXPECT_EQ(rtp->sequence, static_cast<uint16_t>(previous->sequence + 1));
      EXPECT_EQ(rtp->timestamp, previous->timestamp + 960);
    }
  }
  EXPECT_EQ(ssrcs.size(), 3u) << "one SSRC per listener";
  // Talking events go to the port (the plugin's drops them): each talker to each seat.
  EXPECT_EQ(port_.events, 9);
}

TEST_F(LineMixTest, TheFirstListenerStartsTheClockOnTheLinesHandleAndTheLastOneStopsIt) {
  add(kAlice);
  add(kBob);
  EXPECT_EQ(port_.clocks, (std::vector<std::pair<pl_handle*, bool>>{{&handle_, true}}));
  line_.listener_removed(kAlice.listener);
  EXPECT_EQ(port_.clocks.size(), 1u);
  line_.listener_removed(kBob.listener);
  EXPECT_EQ(port_.clocks, (std::vector<std::pair<pl_handle*, bool>>{{&handle_, true}, {&handle_, false}}));
  EXPECT_EQ(line_.listeners(), 0u);
}

TEST_F(LineMixTest, AListenerThatPublishesNothingHearsEveryone) {
  for (const Member& member : {kAlice, kBob, kCarol}) add(member);
  ASSERT_TRUE(line_.listener_added(4, "dave", "Dave"));
  run(50);
  for (const Member& talker : {kAlice, kBob, kCarol}) {
    EXPECT_GT(level(4, talker, 25, 50), kHeard) << "dave does not hear " << talker.occupant;
  }
}

TEST_F(LineMixTest, AStreamAnnouncedBeforeItsListenerIsMixedOnceItComesButNotIntoItsOwnMix) {
  add(kBob);
  add_stream(kAlice);  // alice's listener comes later
  run(10);
  EXPECT_EQ(line_.counters().unbound, 10u) << "alice's packets with no seat yet";
  EXPECT_TRUE(port_.sent[kAlice.listener].empty());
  add_listener(kAlice);
  run(50);
  EXPECT_EQ(line_.counters().unbound, 10u);
  // Bob's stream has 60 frames: alice is heard in its last ones.
  EXPECT_GT(level(kBob.listener, kAlice, 35, 60), kHeard);
  EXPECT_GT(level(kAlice.listener, kBob, 25, 50), kHeard);
  EXPECT_LT(level(kAlice.listener, kAlice, 25, 50), kSilent) << "alice hears herself";
}

TEST_F(LineMixTest, AListenerAnnouncedBeforeItsStreamIsBoundWhenTheStreamComes) {
  add(kBob);
  add_listener(kAlice);
  run(10);
  add_stream(kAlice);
  run(50);
  EXPECT_GT(level(kBob.listener, kAlice, 35, 60), kHeard);
  EXPECT_LT(level(kAlice.listener, kAlice, 35, 60), kSilent) << "alice hears herself";
  EXPECT_EQ(line_.counters().unbound, 0u);
}

TEST_F(LineMixTest, ARemovedListenerGetsNoMoreOutputAndIsNoLongerHeard) {
  for (const Member& member : {kAlice, kBob, kCarol}) add(member);
  run(50);
  line_.listener_removed(kAlice.listener);
  EXPECT_EQ(line_.listeners(), 2u);
  run(50);  // alice's stream still arrives until the host removes it
  EXPECT_EQ(port_.sent[kAlice.listener].size(), 50u) << "nothing sent to alice after her removal";
  EXPECT_EQ(line_.counters().unbound, 50u);
  EXPECT_GT(level(kBob.listener, kAlice, 25, 50), kHeard) << "before";
  EXPECT_LT(level(kBob.listener, kAlice, 75, 100), kSilent) << "after";
  EXPECT_GT(level(kBob.listener, kCarol, 75, 100), kHeard);
  line_.stream_removed(kAlice.stream);
  line_.rtp(kAlice.stream, occupants_.at(kAlice.stream)->next_packet(), now_);
  EXPECT_EQ(line_.counters().unknown_stream, 1u);
}

TEST_F(LineMixTest, ARemovedStreamStopsTheVoiceButItsListenerStillHearsTheOthers) {
  for (const Member& member : {kAlice, kBob}) add(member);
  run(50);
  line_.stream_removed(kAlice.stream);
  run(50, {kBob.stream});
  EXPECT_LT(level(kBob.listener, kAlice, 75, 100), kSilent);
  EXPECT_EQ(port_.sent[kAlice.listener].size(), 100u);
  EXPECT_GT(level(kAlice.listener, kBob, 75, 100), kHeard);
}

TEST_F(LineMixTest, PacketsWithAnotherPayloadTypeThanTheirStreamsAreMalformedAndNotMixed) {
  add(kBob);
  add_listener(kAlice);
  line_.stream_added(audio_stream(kAlice.stream, kAlice.occupant, 109));
  // 111 is the line's own type, not this stream's.
  occupants_.emplace(kAlice.stream, std::make_unique<Occupant>(kAlice.frequency, 111));
  run(50);
  EXPECT_EQ(line_.media().packets_malformed(), 50u);
  EXPECT_EQ(line_.media().mixer().jitter_counters(kAlice.listener)->received, 0u);
  EXPECT_LT(level(kBob.listener, kAlice, 25, 50), kSilent);
}

TEST_F(LineMixTest, VideoAndStreamsThatAreNotOpusAt48kHzAreRefused) {
  add_listener(kAlice);
  pl_line_stream video = audio_stream(20, "alice", 96);
  video.video = 1;
  video.codec = "VP8";
  video.clock_rate = 90000;
  pl_line_stream pcmu = audio_stream(21, "alice", 0);
  pcmu.codec = "PCMU";
  pcmu.clock_rate = 8000;
  pl_line_stream odd_rate = audio_stream(22, "alice", 109);
  odd_rate.clock_rate = 16000;
  for (const pl_line_stream& stream : {video, pcmu, odd_rate}) line_.stream_added(stream);
  EXPECT_EQ(line_.counters().streams_refused, 3u);
  line_.stream_added(audio_stream(23, "alice", 109));  // "opus" in any case is fine
  pl_line_stream upper = audio_stream(24, "bob", 109);
  upper.codec = "OPUS";
  line_.stream_added(upper);
  EXPECT_EQ(line_.counters().streams_refused, 3u);
  const Bytes packet = Occupant(440, 96).next_packet();
  line_.rtp(20, packet, now_);
  line_.rtp(99, packet, now_);
  EXPECT_EQ(line_.counters().unknown_stream, 2u);
}

TEST_F(LineMixTest, ListenersBeyondTheMixersMaximumAreRefusedAndSentNothing) {
  MixerConfig config;
  config.max_participants = 2;
  LineMix small("line2", config, port_, &handle_);
  EXPECT_TRUE(small.listener_added(1, "alice", "Alice"));
  EXPECT_TRUE(small.listener_added(2, "bob", "Bob"));
  EXPECT_FALSE(small.listener_added(3, "carol", "Carol"));
  EXPECT_TRUE(small.listener_added(2, "bob", "Bob")) << "announced again: still seated";
  EXPECT_EQ(small.counters().listeners_refused, 1u);
  EXPECT_EQ(small.listeners(), 2u);
  small.tick(now_);
  EXPECT_EQ(port_.sent[1].size(), 1u);
  EXPECT_TRUE(port_.sent[3].empty());
}

TEST_F(LineMixTest, AnOccupantsNewestStreamTakesItsSeatAndTheOlderOnesPacketsAreUnbound) {
  add(kBob);
  add_listener(kAlice);
  line_.stream_added(audio_stream(30, kAlice.occupant, kAlice.payload_type));
  line_.stream_added(audio_stream(31, kAlice.occupant, kAlice.payload_type));
  Occupant old_stream(kAlice.frequency, kAlice.payload_type);
  line_.rtp(30, old_stream.next_packet(), now_);
  EXPECT_EQ(line_.counters().unbound, 1u);
  // The newest going, the older one takes the seat back.
  line_.stream_removed(31);
  line_.rtp(30, old_stream.next_packet(), now_);
  EXPECT_EQ(line_.counters().unbound, 1u);
  EXPECT_EQ(line_.media().mixer().jitter_counters(kAlice.listener)->received, 1u);
}

}  // namespace
}  // namespace audiobridge
