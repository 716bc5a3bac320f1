// RoomMixer with real Opus: participants send sine tones encoded by libopus,
// each one's mixed payloads are decoded as its client would, and a Goertzel
// filter reads which tones it hears. Virtual time: one mix() per 20 ms.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <vector>

#include "room_mixer.hpp"
#include "tone_tools.hpp"

namespace audiobridge {
namespace {

using namespace std::chrono_literals;
using test::Listener;
using test::ToneSender;
using test::tone_amplitude;

constexpr double kAmplitude = 6000;  // about -18 dBov RMS: talking at the default threshold

struct Event {
  int frame;
  uint32_t participant;
  bool started;
};

// A room whose participants send tones (or silence) and listen to their mix.
class ToneRoom {
 public:
  explicit ToneRoom(MixerConfig config = MixerConfig()) : mixer_(config) {}

  void join(uint32_t id, double frequency) {
    ASSERT_EQ(mixer_.add_participant(id), RoomMixer::Join::kOk);
    senders_.emplace(id, std::make_unique<ToneSender>(frequency, kAmplitude));
    listeners_.emplace(id, std::make_unique<Listener>());
  }

  void leave(uint32_t id) {
    ASSERT_TRUE(mixer_.remove_participant(id));
    senders_.erase(id);
  }

  // `frames` ticks. `sends(id, frame)`: 't' tone, 's' silence, 'x' the packet is lost.
  void run(int frames, const std::function<char(uint32_t, int)>& sends) {
    for (int i = 0; i < frames; ++i, ++frame_) {
      const Micros now = kFrameDuration * frame_;
      for (auto& [id, sender] : senders_) {
        const char what = sends(id, frame_);
        auto packet = sender->next_packet(what == 't');
        if (what == 'x') continue;
        EXPECT_EQ(mixer_.receive(id, sender->sequence(), sender->timestamp(), packet, now),
                  JitterBuffer::Insert::kAccepted);
      }
      const MixedFrame mixed = mixer_.mix(now);
      encodes_.push_back(mixed.encodes);
      talkers_.push_back(mixed.talkers);
      EXPECT_EQ(mixed.outputs.size(), senders_.size());
      for (const MixOutput& output : mixed.outputs) {
        EXPECT_FALSE(output.payload.empty());
        listeners_.at(output.participant)->receive(output.payload);
      }
      for (const TalkEvent& event : mixed.events) events_.push_back({frame_, event.participant, event.started});
      last_ = std::vector<MixOutput>(mixed.outputs.begin(), mixed.outputs.end());
    }
  }

  // What participant `id` heard at `frequency` over frames [first, end).
  double heard(uint32_t id, double frequency, int first, int end) const {
    return tone_amplitude(listeners_.at(id)->frames(first, end), frequency);
  }

  RoomMixer& mixer() { return mixer_; }
  const std::vector<int>& encodes() const { return encodes_; }
  const std::vector<int>& talkers() const { return talkers_; }
  const std::vector<Event>& events() const { return events_; }
  const std::vector<MixOutput>& last_outputs() const { return last_; }
  const Listener& listener(uint32_t id) const { return *listeners_.at(id); }

 private:
  RoomMixer mixer_;
  std::map<uint32_t, std::unique_ptr<ToneSender>> senders_;
  std::map<uint32_t, std::unique_ptr<Listener>> listeners_;
  int frame_ = 0;
  std::vector<int> encodes_;
  std::vector<int> talkers_;
  std::vector<Event> events_;
  std::vector<MixOutput> last_;
};

auto always(char what) {
  return [what](uint32_t, int) { return what; };
}

TEST(RoomMixerTest, EachParticipantHearsTheOtherTwoTonesAndNotItsOwn) {
  ToneRoom room;
  room.join(1, 440);
  room.join(2, 660);
  room.join(3, 880);
  room.run(75, always('t'));
  const std::map<uint32_t, double> tone = {{1, 440}, {2, 660}, {3, 880}};
  for (const auto& [listener, own] : tone) {
    for (const auto& [speaker, frequency] : tone) {
      // Frames 25-75: a second after the prebuffer and the codecs settled.
      const double amplitude = room.heard(listener, frequency, 25, 75);
      if (speaker == listener) {
        EXPECT_LT(amplitude, 0.03 * kAmplitude) << listener << " hears itself at " << frequency;
      } else {
        EXPECT_GT(amplitude, 0.6 * kAmplitude) << listener << " misses " << frequency;
      }
    }
  }
}

TEST(RoomMixerTest, AMutedParticipantsToneLeavesTheOthersMixesButItStillHearsThem) {
  ToneRoom room;
  room.join(1, 440);
  room.join(2, 660);
  room.join(3, 880);
  ASSERT_TRUE(room.mixer().set_muted(1, true));
  room.run(75, always('t'));
  EXPECT_LT(room.heard(2, 440, 25, 75), 0.03 * kAmplitude);
  EXPECT_LT(room.heard(3, 440, 25, 75), 0.03 * kAmplitude);
  EXPECT_GT(room.heard(2, 880, 25, 75), 0.6 * kAmplitude);
  EXPECT_GT(room.heard(1, 660, 25, 75), 0.6 * kAmplitude);
  EXPECT_GT(room.heard(1, 880, 25, 75), 0.6 * kAmplitude);
  EXPECT_FALSE(room.mixer().talking(1));
  // Unmuted, it is back in the mix.
  ASSERT_TRUE(room.mixer().set_muted(1, false));
  room.run(50, always('t'));
  EXPECT_GT(room.heard(2, 440, 100, 125), 0.6 * kAmplitude);
}

TEST(RoomMixerTest, AParticipantWhoLeavesLeavesTheMixAndOneWhoJoinsIsHeard) {
  ToneRoom room;
  room.join(1, 440);
  room.join(2, 660);
  room.join(3, 880);
  room.run(40, always('t'));
  room.leave(3);
  room.join(4, 1100);
  room.run(60, always('t'));
  // Frames 60-100: 3 is gone, 4 is settled.
  EXPECT_LT(room.heard(1, 880, 60, 100), 0.03 * kAmplitude);
  EXPECT_GT(room.heard(1, 1100, 60, 100), 0.6 * kAmplitude);
  EXPECT_GT(room.heard(4, 440, 20, 60), 0.6 * kAmplitude);  // 4's own frames count from its join
  EXPECT_LT(room.heard(4, 1100, 20, 60), 0.03 * kAmplitude);
}

TEST(RoomMixerTest, GainScalesAParticipantsToneInTheOthersMixes) {
  ToneRoom room;
  room.join(1, 440);
  room.join(2, 660);
  room.join(3, 880);
  ASSERT_TRUE(room.mixer().set_gain(1, 0.5f));
  room.run(75, always('t'));
  const double ratio = room.heard(3, 440, 25, 75) / room.heard(3, 660, 25, 75);
  EXPECT_NEAR(ratio, 0.5, 0.1);
  EXPECT_FALSE(room.mixer().set_gain(99, 1.0f));
}

TEST(RoomMixerTest, ListenersShareOneEncodeSoEncodesPerFrameAreTalkersPlusOne) {
  ToneRoom room;
  const double frequencies[] = {440, 660, 880, 1100, 1320, 1540};
  for (uint32_t id = 1; id <= 6; ++id) room.join(id, frequencies[id - 1]);
  // 1 and 2 talk; 3-6 send silence.
  room.run(50, [](uint32_t id, int) { return id <= 2 ? 't' : 's'; });
  for (int frame = 10; frame < 50; ++frame) {
    EXPECT_EQ(room.talkers()[frame], 2) << "frame " << frame;
    EXPECT_EQ(room.encodes()[frame], 3) << "frame " << frame;
  }
  // The four listeners got the very same bytes; each talker its own.
  const auto& outputs = room.last_outputs();
  ASSERT_EQ(outputs.size(), 6u);
  for (const MixOutput& output : outputs) EXPECT_EQ(output.shared, output.participant > 2) << output.participant;
  for (size_t i = 3; i < outputs.size(); ++i) EXPECT_EQ(outputs[i].payload.data(), outputs[2].payload.data());
  EXPECT_NE(outputs[0].payload.data(), outputs[1].payload.data());
  // And the listeners hear both talkers.
  EXPECT_GT(room.heard(5, 440, 25, 50), 0.6 * kAmplitude);
  EXPECT_GT(room.heard(5, 660, 25, 50), 0.6 * kAmplitude);
}

TEST(RoomMixerTest, WhenEveryoneTalksThereIsNoSharedEncode) {
  ToneRoom room;
  room.join(1, 440);
  room.join(2, 660);
  room.join(3, 880);
  room.run(30, always('t'));
  EXPECT_EQ(room.encodes().back(), 3);
  EXPECT_EQ(room.mixer().counters().encodes,
            static_cast<uint64_t>(std::accumulate(room.encodes().begin(), room.encodes().end(), 0)));
}

TEST(RoomMixerTest, TalkingStartsAndStopsWithTheToneInVirtualTime) {
  MixerConfig config;
  config.talk.hold = 200ms;
  ToneRoom room(config);
  room.join(1, 440);
  room.join(2, 660);
  room.join(3, 880);
  // 1 plays its tone in frames 10-39 only; packets play 2 frames later (40 ms prebuffer).
  room.run(80, [](uint32_t id, int frame) { return id == 1 && frame >= 10 && frame < 40 ? 't' : 's'; });
  ASSERT_EQ(room.events().size(), 2u);
  EXPECT_EQ(room.events()[0].participant, 1u);
  EXPECT_TRUE(room.events()[0].started);
  EXPECT_EQ(room.events()[0].frame, 12);
  EXPECT_EQ(room.events()[1].participant, 1u);
  EXPECT_FALSE(room.events()[1].started);
  // Last loud frame 41 (or 42: the codec's tail), plus 10 frames of hold.
  EXPECT_GE(room.events()[1].frame, 51);
  EXPECT_LE(room.events()[1].frame, 52);
  // While quiet, nobody is mixed: one shared encode of silence.
  EXPECT_EQ(room.encodes()[5], 1);
  EXPECT_EQ(room.encodes()[70], 1);
  EXPECT_EQ(room.encodes()[30], 2);
}

TEST(RoomMixerTest, TheRfc6464LevelIsUsedWhenTheClientSendsIt) {
  RoomMixer mixer{MixerConfig()};
  ASSERT_EQ(mixer.add_participant(1), RoomMixer::Join::kOk);
  ToneSender sender(440, kAmplitude);
  int started_at = -1;
  for (int frame = 0; frame < 10; ++frame) {
    const Micros now = kFrameDuration * frame;
    auto packet = sender.next_packet(true);
    // The tone is loud, but the client says level 100 (quiet) until packet 5.
    mixer.receive(1, sender.sequence(), sender.timestamp(), packet, now, frame < 5 ? 100 : 10);
    for (const TalkEvent& event : mixer.mix(now).events) {
      if (event.started) started_at = frame;
    }
  }
  EXPECT_EQ(started_at, 7);  // packet 5 plays at frame 7
}

// The longest run of 5 ms windows of `pcm` quieter than 10 % of the first
// window's RMS (the steady tone), in windows.
int longest_quiet_run(std::span<const int16_t> pcm) {
  const auto rms = test::window_rms(pcm, 240);
  int longest = 0;
  int run = 0;
  for (double window : rms) {
    run = window < 0.1 * rms.front() ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return longest;
}

// 1 plays its tone and its packet of frame 30 is lost; 2 and 3 are silent.
void run_with_one_loss(ToneRoom& room) {
  room.join(1, 440);
  room.join(2, 660);
  room.join(3, 880);
  room.run(60, [](uint32_t id, int frame) { return id != 1 ? 's' : (frame == 30 ? 'x' : 't'); });
  EXPECT_EQ(room.mixer().jitter_counters(1)->concealed, 1u);
  EXPECT_EQ(room.mixer().jitter_counters(1)->played, 59u - 2u);
  // Packet 31 was already held when frame 30 was due: its FEC was tried (it
  // has none: libopus runs PLC).
  EXPECT_EQ(room.mixer().counters().fec_attempts, 1u);
  const auto rms = test::window_rms(room.listener(2).frames(20, 50), 240);
  EXPECT_GT(rms.front(), 0.5 * kAmplitude / std::sqrt(2.0));  // the steady tone, before the loss
}

TEST(RoomMixerTest, AMissingPacketIsConcealedWithoutASilenceGap) {
  // Without FEC libopus runs PLC: the tone dips for a few ms. Filling the
  // lost frame with silence instead gives 20 ms of quiet windows here.
  ToneRoom room;
  run_with_one_loss(room);
  EXPECT_LE(longest_quiet_run(room.listener(2).frames(20, 50)), 1) << "a gap of 5 ms windows";
}

TEST(RoomMixerTest, JoinsAndLeavesAreCheckedAndBounded) {
  MixerConfig config;
  config.max_participants = 2;
  RoomMixer mixer(config);
  EXPECT_EQ(mixer.add_participant(1), RoomMixer::Join::kOk);
  EXPECT_EQ(mixer.add_participant(1), RoomMixer::Join::kDuplicate);
  EXPECT_EQ(mixer.add_participant(2), RoomMixer::Join::kOk);
  EXPECT_EQ(mixer.add_participant(3), RoomMixer::Join::kFull);
  EXPECT_TRUE(mixer.remove_participant(1));
  EXPECT_FALSE(mixer.remove_participant(1));
  EXPECT_EQ(mixer.size(), 1u);
  const uint8_t packet[1] = {0};
  EXPECT_FALSE(mixer.receive(1, 0, 0, packet, 0ms).has_value());
  EXPECT_EQ(mixer.counters().unknown_participant, 1u);
  EXPECT_EQ(mixer.jitter_counters(1), nullptr);
}

TEST(RoomMixerTest, AGarbagePacketIsConcealedAndCounted) {
  RoomMixer mixer{MixerConfig()};
  ASSERT_EQ(mixer.add_participant(1), RoomMixer::Join::kOk);
  ASSERT_EQ(mixer.add_participant(2), RoomMixer::Join::kOk);
  // A TOC byte announcing 60 ms (code 3, 3 frames) is not a 20 ms frame.
  const uint8_t bad[] = {0xFB, 0x03, 0x01, 0x02};
  mixer.receive(1, 100, 0, bad, 0ms);
  mixer.mix(0ms);
  const MixedFrame frame = mixer.mix(40ms);
  EXPECT_EQ(mixer.counters().decode_errors, 1u);
  EXPECT_EQ(frame.outputs.size(), 2u);
}

TEST(RoomMixerTest, SaturationClipsInsteadOfWrapping) {
  EXPECT_EQ(saturate16(40000), 32767);
  EXPECT_EQ(saturate16(-40000), -32768);
  EXPECT_EQ(saturate16(32767), 32767);
  EXPECT_EQ(saturate16(-32768), -32768);
  EXPECT_EQ(saturate16(-5), -5);
}

TEST(RoomMixerTest, LoudTalkersClipTheMixRatherThanWrapIt) {
  // Three talkers at amplitude 6000 in phase would not clip; twelve do
  // (72000 peak). A wrapped sum would flip sign at the peaks: the 440 Hz
  // component would collapse. Clipped, it stays near full scale.
  ToneRoom room;
  for (uint32_t id = 1; id <= 12; ++id) room.join(id, 440);
  room.join(13, 1000);
  room.run(50, [](uint32_t id, int) { return id == 13 ? 's' : 't'; });
  EXPECT_GT(room.heard(13, 440, 25, 50), 30000);
}

}  // namespace
}  // namespace audiobridge
