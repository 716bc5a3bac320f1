// RoomMedia against a fake host (MediaPort) in virtual time: the room's
// clock (which handle's timer drives it, how it is handed over, how many
// frames a tick mixes when the timer runs late), each seat's outgoing RTP
// stream, the talking events, and muting, with real libopus tones on the
// way in and a decoder on the way out.
#include <gtest/gtest.h>
#include <jansson.h>

#include <atomic>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "room_media.hpp"
#include "tone_tools.hpp"

namespace audiobridge {
namespace {

using namespace std::chrono_literals;
using Bytes = std::vector<uint8_t>;

constexpr double kAmplitude = 6000;  // talking at the default threshold (as in room_mixer_test)

struct ClockCall {
  pl_handle* handle;
  uint32_t period_ms;  // 0 for a stop
  bool operator==(const ClockCall&) const = default;
};

// Records what the room asks of the host.
class FakePort final : public MediaPort {
 public:
  struct Sent {
    pl_handle* handle;
    uint32_t mline;
    Bytes bytes;
  };
  struct Pushed {
    pl_handle* handle;
    std::string json;
  };

  void send_rtp(const SeatConfig& seat, std::span<const uint8_t> packet) override {
    sent.push_back({seat.handle, seat.mline, Bytes(packet.begin(), packet.end())});
  }
  void start_clock(pl_handle* handle, uint32_t period_ms) override { clocks.push_back({handle, period_ms}); }
  void stop_clock(pl_handle* handle) override { clocks.push_back({handle, 0}); }
  void push_event(pl_handle* handle, const std::string& json) override { events.push_back({handle, json}); }

  std::vector<Sent> sent_to(pl_handle* handle) const {
    std::vector<Sent> out;
    for (const Sent& packet : sent) {
      if (packet.handle == handle) out.push_back(packet);
    }
    return out;
  }

  std::vector<Sent> sent;
  std::vector<ClockCall> clocks;
  std::vector<Pushed> events;
};

ClockCall start(pl_handle* handle) { return {handle, RoomMedia::kClockPeriodMs}; }
ClockCall stop(pl_handle* handle) { return {handle, 0}; }

// A participant's client: a tone encoded by libopus, packetized as RTP.
struct ToneClient {
  ToneClient(uint32_t seat_, double frequency, uint8_t payload_type_ = 111)
      : seat(seat_), payload_type(payload_type_), tone(frequency, kAmplitude) {}

  Bytes next_packet(bool on) {
    const std::span<const uint8_t> payload = tone.next_packet(on);
    Bytes packet(kRtpHeaderBytes);
    write_rtp_header(packet, payload_type, false, tone.sequence(), tone.timestamp());
    packet.insert(packet.end(), payload.begin(), payload.end());
    return packet;
  }

  uint32_t seat;
  uint8_t payload_type;
  test::ToneSender tone;
};

MixerConfig short_hold() {
  MixerConfig config;
  config.talk.hold = 100ms;  // so stopped-talking comes within a few frames
  return config;
}

class RoomMediaTest : public ::testing::Test {
 protected:
  SeatConfig seat(int i, uint8_t payload_type = 111, uint32_t mline = 0) {
    SeatConfig config;
    config.handle = &handles_[i];
    config.id = 100 + static_cast<uint32_t>(i);
    config.display = "seat " + std::to_string(i);
    config.payload_type = payload_type;
    config.incoming_payload_type = payload_type;
    config.mline = mline;
    return config;
  }
  pl_handle* handle(int i) { return &handles_[i]; }
  static uint32_t id(int i) { return 100 + static_cast<uint32_t>(i); }

  // One tick on `clock` at now_, then now_ advances by `step`.
  void tick(pl_handle* clock, Micros step = 10ms) {
    room_.tick(clock, now_);
    now_ += step;
  }

  // `frames` frames of 20 ms, the clock ticking every 10 ms; each client's
  // packet for the frame (its tone when `on`, else silence) arrives first.
  void run(pl_handle* clock, int frames, std::vector<ToneClient*> clients = {}, bool on = true) {
    for (int i = 0; i < frames; ++i) {
      for (ToneClient* client : clients) room_.receive(client->seat, client->next_packet(on), now_);
      tick(clock);
      tick(clock);
    }
  }

  FakePort port_;
  pl_handle handles_[5] = {{0}, {1}, {2}, {3}, {4}};
  RoomMedia room_{"room1", short_hold(), port_};
  Micros now_ = 1s;  // the steady clock is never at 0
};

TEST_F(RoomMediaTest, TheFirstAttachStartsTheClockOnItsHandleAndLaterOnesDoNot) {
  ASSERT_TRUE(room_.attach(seat(0)));
  ASSERT_TRUE(room_.attach(seat(1)));
  ASSERT_TRUE(room_.attach(seat(2)));
  EXPECT_EQ(port_.clocks, std::vector<ClockCall>{start(handle(0))});
  EXPECT_EQ(RoomMedia::kClockPeriodMs, 10u);
  EXPECT_EQ(room_.seats(), 3u);
}

TEST_F(RoomMediaTest, ATickOnAHandleThatIsNotTheClockDoesNothing) {
  ASSERT_TRUE(room_.attach(seat(0)));
  ASSERT_TRUE(room_.attach(seat(1)));
  for (int i = 0; i < 10; ++i) tick(handle(1));
  EXPECT_TRUE(port_.sent.empty());
  tick(handle(0));
  EXPECT_EQ(port_.sent.size(), 2u);  // one frame, one packet per seat
}

TEST_F(RoomMediaTest, TicksEvery10MsMixOneFrameEvery20Ms) {
  ASSERT_TRUE(room_.attach(seat(0)));
  ASSERT_TRUE(room_.attach(seat(1)));
  for (int i = 0; i < 100; ++i) tick(handle(0));  // one second
  EXPECT_EQ(port_.sent_to(handle(0)).size(), 50u);
  EXPECT_EQ(port_.sent_to(handle(1)).size(), 50u);
  EXPECT_EQ(room_.packets_sent(), 100u);
}

TEST_F(RoomMediaTest, EachSeatGetsItsOwnRtpStreamOnItsMline) {
  ASSERT_TRUE(room_.attach(seat(0, 111, 0)));
  ASSERT_TRUE(room_.attach(seat(1, 109, 2)));
  run(handle(0), 10);
  for (auto [i, payload_type, mline] : {std::tuple{0, 111, 0u}, std::tuple{1, 109, 2u}}) {
    const std::vector<FakePort::Sent> packets = port_.sent_to(handle(i));
    ASSERT_EQ(packets.size(), 10u);
    for (size_t k = 0; k < packets.size(); ++k) {
      const Bytes& bytes = packets[k].bytes;
      EXPECT_EQ(packets[k].mline, mline);
      const auto rtp = parse_rtp(bytes, 0);
      ASSERT_TRUE(rtp.has_value());
      EXPECT_EQ(rtp->payload_type, payload_type);
      EXPECT_FALSE(rtp->payload.empty());
      EXPECT_EQ((bytes[1] & 0x80) != 0, k == 0) << "the marker bit on the first packet only";
      EXPECT_EQ(Bytes(bytes.begin() + 8, bytes.begin() + 12), Bytes(4, 0)) << "the host writes the SSRC";
      if (k == 0) continue;
      const auto previous = parse_rtp(packets[k - 1].bytes, 0);
      EXPECT_EQ(rtp->sequence, static_cast<uint16_t>(previous->sequence + 1));
      EXPECT_EQ(rtp->timestamp, previous->timestamp + 960);
    }
  }
}

// How many frames each tick at the given times mixes (a one-seat room: one packet per frame).
std::vector<size_t> frames_per_tick(RoomMedia& room, FakePort& port, pl_handle* clock, std::vector<Micros> ticks) {
  std::vector<size_t> frames;
  for (Micros at : ticks) {
    const size_t before = port.sent.size();
    room.tick(clock, at);
    frames.push_back(port.sent.size() - before);
  }
  return frames;
}

TEST_F(RoomMediaTest, ATimer50MsLateCatchesUpWithThreeFramesAndKeepsTheSchedule) {
  ASSERT_TRUE(room_.attach(seat(0)));
  // Frames are due at 0, 20, 40, 60, 80 ms: at 70 the ones of 20, 40 and 60.
  EXPECT_EQ(frames_per_tick(room_, port_, handle(0), {now_, now_ + 70ms, now_ + 80ms, now_ + 90ms}),
            (std::vector<size_t>{1, 3, 1, 0}));
  // The caught-up frames are consecutive in the stream, not a jump.
  const auto packets = port_.sent_to(handle(0));
  EXPECT_EQ(parse_rtp(packets.back().bytes, 0)->timestamp - parse_rtp(packets.front().bytes, 0)->timestamp, 4u * 960);
}

TEST_F(RoomMediaTest, NoTickMixesMoreThanThreeFrames) {
  ASSERT_TRUE(room_.attach(seat(0)));
  // At 80 ms, four frames are due (20, 40, 60, 80): three now, the last at the next tick.
  EXPECT_EQ(frames_per_tick(room_, port_, handle(0), {now_, now_ + 80ms, now_ + 90ms, now_ + 100ms}),
            (std::vector<size_t>{1, 3, 1, 1}));
}

TEST_F(RoomMediaTest, ATimerFarBehindRestartsFromNowInsteadOfBursting) {
  ASSERT_TRUE(room_.attach(seat(0)));
  const Micros late = now_ + 1s;
  EXPECT_EQ(frames_per_tick(room_, port_, handle(0), {now_, late, late + 10ms, late + 20ms, late + 30ms}),
            (std::vector<size_t>{1, 1, 0, 1, 0}));
  // The second of frames not mixed still passed on the stream's clock: the
  // client sees a gap of 49 frames, not a late packet.
  const auto packets = port_.sent_to(handle(0));
  ASSERT_EQ(packets.size(), 3u);
  EXPECT_EQ(parse_rtp(packets[1].bytes, 0)->timestamp - parse_rtp(packets[0].bytes, 0)->timestamp, 50u * 960);
  EXPECT_EQ(parse_rtp(packets[2].bytes, 0)->timestamp - parse_rtp(packets[1].bytes, 0)->timestamp, 960u);
}

TEST_F(RoomMediaTest, DetachingTheClocksHandleHandsTheClockToTheNextSeatInJoinOrder) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(room_.attach(seat(i)));
  room_.detach(id(0));
  EXPECT_EQ(port_.clocks, (std::vector<ClockCall>{start(handle(0)), stop(handle(0)), start(handle(1))}));
  tick(handle(0));  // the old timer's last firing
  EXPECT_TRUE(port_.sent.empty());
  tick(handle(1));
  EXPECT_EQ(port_.sent.size(), 2u);
  EXPECT_TRUE(port_.sent_to(handle(0)).empty());
  // Another seat leaving leaves the clock alone.
  room_.detach(id(2));
  EXPECT_EQ(port_.clocks.size(), 3u);
}

TEST_F(RoomMediaTest, DetachingTheLastSeatStopsTheClockAndTheNextAttachStartsIt) {
  ASSERT_TRUE(room_.attach(seat(0)));
  ASSERT_TRUE(room_.attach(seat(1)));
  room_.detach(id(1));
  room_.detach(id(0));
  EXPECT_EQ(port_.clocks, (std::vector<ClockCall>{start(handle(0)), stop(handle(0))}));
  EXPECT_EQ(room_.seats(), 0u);
  EXPECT_EQ(room_.mixer().size(), 0u);
  ASSERT_TRUE(room_.attach(seat(2)));
  EXPECT_EQ(port_.clocks.back(), start(handle(2)));
}

TEST_F(RoomMediaTest, SeatsSharingTheClocksHandleKeepTheClockUntilTheLastOfThemLeaves) {
  // A mixed line: every seat is a listener of the one handle mixing it.
  for (int i = 0; i < 3; ++i) {
    SeatConfig config = seat(i);
    config.handle = handle(0);
    ASSERT_TRUE(room_.attach(config));
  }
  room_.detach(id(0));
  room_.detach(id(1));
  EXPECT_EQ(port_.clocks, std::vector<ClockCall>{start(handle(0))});
  tick(handle(0));
  EXPECT_EQ(port_.sent.size(), 1u) << "seat 2 still gets its frame";
  room_.detach(id(2));
  EXPECT_EQ(port_.clocks, (std::vector<ClockCall>{start(handle(0)), stop(handle(0))}));
}

TEST_F(RoomMediaTest, AHandleStillUsedByAnotherSeatKeepsTheClockWhenOneOfItsSeatsLeaves) {
  SeatConfig first = seat(0), second = seat(1), other = seat(2);
  second.handle = handle(0);
  for (const SeatConfig& config : {first, second, other}) ASSERT_TRUE(room_.attach(config));
  room_.detach(id(0));
  EXPECT_EQ(port_.clocks, std::vector<ClockCall>{start(handle(0))});
  room_.detach(id(1));
  EXPECT_EQ(port_.clocks, (std::vector<ClockCall>{start(handle(0)), stop(handle(0)), start(handle(2))}));
}

TEST_F(RoomMediaTest, TheIncomingPayloadTypeIsCheckedAndTheOutgoingOneWritten) {
  SeatConfig config = seat(0, 111);
  config.incoming_payload_type = 109;
  ASSERT_TRUE(room_.attach(config));
  ToneClient as_109(id(0), 440, 109), as_111(id(0), 440, 111);
  room_.receive(id(0), as_111.next_packet(true), now_);
  EXPECT_EQ(room_.packets_malformed(), 1u);
  room_.receive(id(0), as_109.next_packet(true), now_);
  EXPECT_EQ(room_.packets_malformed(), 1u);
  EXPECT_EQ(room_.mixer().jitter_counters(id(0))->received, 1u);
  // Another type from now on (a line's stream announced with it).
  room_.set_incoming_payload_type(id(0), 111);
  room_.receive(id(0), as_109.next_packet(true), now_);
  EXPECT_EQ(room_.packets_malformed(), 2u);
  tick(handle(0));
  ASSERT_EQ(port_.sent.size(), 1u);
  EXPECT_EQ(parse_rtp(port_.sent[0].bytes, 0)->payload_type, 111);
}

TEST_F(RoomMediaTest, ASeatsSsrcIsWrittenWhenItHasOne) {
  SeatConfig own = seat(0), host = seat(1);
  own.ssrc = 0x01020304;
  ASSERT_TRUE(room_.attach(own));
  ASSERT_TRUE(room_.attach(host));
  tick(handle(0));
  const Bytes mine = port_.sent_to(handle(0)).at(0).bytes;
  EXPECT_EQ(Bytes(mine.begin() + 8, mine.begin() + 12), (Bytes{1, 2, 3, 4}));
  const Bytes theirs = port_.sent_to(handle(1)).at(0).bytes;
  EXPECT_EQ(Bytes(theirs.begin() + 8, theirs.begin() + 12), Bytes(4, 0));
}

TEST_F(RoomMediaTest, DetachingAnUnknownSeatChangesNothing) {
  ASSERT_TRUE(room_.attach(seat(0)));
  room_.detach(id(3));
  EXPECT_EQ(room_.seats(), 1u);
  EXPECT_EQ(port_.clocks, std::vector<ClockCall>{start(handle(0))});
  tick(handle(0));
  EXPECT_EQ(port_.sent.size(), 1u);
}

TEST_F(RoomMediaTest, AttachingTheSameIdTwiceKeepsOneSeat) {
  ASSERT_TRUE(room_.attach(seat(0)));
  EXPECT_TRUE(room_.attach(seat(0)));
  EXPECT_EQ(room_.seats(), 1u);
  EXPECT_EQ(room_.mixer().size(), 1u);
  EXPECT_EQ(port_.clocks.size(), 1u);
  tick(handle(0));
  EXPECT_EQ(port_.sent.size(), 1u);
}

TEST_F(RoomMediaTest, AttachBeyondTheMixersMaxParticipantsIsRefused) {
  MixerConfig config;
  config.max_participants = 2;
  RoomMedia room("small", config, port_);
  ASSERT_TRUE(room.attach(seat(0)));
  ASSERT_TRUE(room.attach(seat(1)));
  EXPECT_FALSE(room.attach(seat(2)));
  EXPECT_EQ(room.seats(), 2u);
  room.tick(handle(0), now_);
  EXPECT_EQ(port_.sent.size(), 2u);
  EXPECT_TRUE(port_.sent_to(handle(2)).empty());
}

TEST_F(RoomMediaTest, APacketWithAnotherPayloadTypeIsCountedMalformedAndNotMixed) {
  ASSERT_TRUE(room_.attach(seat(0, 111)));
  ToneClient wrong(id(0), 440, 96);
  ToneClient right(id(0), 440, 111);
  room_.receive(id(0), wrong.next_packet(true), now_);
  EXPECT_EQ(room_.packets_malformed(), 1u);
  EXPECT_EQ(room_.mixer().jitter_counters(100)->received, 0u);
  room_.receive(id(0), Bytes{0x80, 111, 0}, now_);  // not RTP at all
  EXPECT_EQ(room_.packets_malformed(), 2u);
  room_.receive(id(0), right.next_packet(true), now_);
  EXPECT_EQ(room_.packets_malformed(), 2u);
  EXPECT_EQ(room_.mixer().jitter_counters(100)->received, 1u);
}

// The events of `kind` pushed to `handle`, as (participant id, display).
std::vector<std::pair<json_int_t, std::string>> talk_events(const FakePort& port, pl_handle* handle,
                                                            const std::string& kind) {
  std::vector<std::pair<json_int_t, std::string>> out;
  for (const FakePort::Pushed& pushed : port.events) {
    if (pushed.handle != handle) continue;
    json_t* root = json_loads(pushed.json.c_str(), 0, nullptr);
    EXPECT_NE(root, nullptr) << pushed.json;
    if (root == nullptr) continue;
    EXPECT_STREQ(json_string_value(json_object_get(root, "room")), "room1");
    json_t* participant = json_object_get(root, "participant");
    if (kind == json_string_value(json_object_get(root, "audiobridge"))) {
      out.emplace_back(json_integer_value(json_object_get(participant, "id")),
                       json_string_value(json_object_get(participant, "display")));
    }
    json_decref(root);
  }
  return out;
}

TEST_F(RoomMediaTest, TalkingEventsReachEverySeatAndStopAfterTheHold) {
  std::atomic<bool> talking[3] = {false, false, false};
  std::vector<std::unique_ptr<ToneClient>> clients;
  std::vector<ToneClient*> senders;
  for (int i = 0; i < 3; ++i) {
    SeatConfig config = seat(i);
    config.talking = &talking[i];
    ASSERT_TRUE(room_.attach(config));
    clients.push_back(std::make_unique<ToneClient>(id(i), 440 + 220 * i));
    senders.push_back(clients.back().get());
  }
  const std::vector<std::pair<json_int_t, std::string>> everyone = {{100, "seat 0"}, {101, "seat 1"}, {102, "seat 2"}};
  run(handle(0), 25, senders, true);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(talk_events(port_, handle(i), "talking"), everyone) << "seat " << i;
    EXPECT_TRUE(talk_events(port_, handle(i), "stopped-talking").empty());
    EXPECT_TRUE(talking[i].load());
  }
  run(handle(0), 25, senders, false);  // silence, well past the 100 ms hold
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(talk_events(port_, handle(i), "stopped-talking"), everyone) << "seat " << i;
    EXPECT_EQ(talk_events(port_, handle(i), "talking").size(), 3u) << "no new talking";
    EXPECT_FALSE(talking[i].load());
  }
}

TEST_F(RoomMediaTest, MutingASeatRemovesItsToneFromTheOthersMix) {
  ToneClient a(id(0), 440), b(id(1), 660), c(id(2), 880);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(room_.attach(seat(i)));
  run(handle(0), 50, {&a, &b, &c});
  room_.configure(id(0), true, 1.0f, "seat 0");
  run(handle(0), 50, {&a, &b, &c});
  // Decode what seat 1 received, frame by frame, as its client would.
  test::Listener listener;
  for (const FakePort::Sent& packet : port_.sent_to(handle(1))) listener.receive(parse_rtp(packet.bytes, 0)->payload);
  ASSERT_EQ(listener.pcm().size(), 100u * kFrameSamples);
  EXPECT_GT(test::tone_amplitude(listener.frames(25, 50), 440), 0.6 * kAmplitude) << "heard before the mute";
  EXPECT_LT(test::tone_amplitude(listener.frames(75, 100), 440), 0.03 * kAmplitude) << "muted";
  EXPECT_GT(test::tone_amplitude(listener.frames(75, 100), 880), 0.6 * kAmplitude) << "the others still heard";
}

}  // namespace
}  // namespace audiobridge
