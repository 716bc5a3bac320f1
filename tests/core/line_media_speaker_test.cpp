// LineMedia's part in active speaker and last-N: the audio levels it
// reports to the control plane, and the video legs it pauses and resumes.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "core/media/line_media.hpp"
#include "tests/core/line_media_fixture.hpp"

namespace partyline::core {
namespace {

using namespace line_media_test;

constexpr uint8_t kAudioLevelId = 1;  // the captured Chromium offer's

// One Opus packet from Alice declaring `level` (-dBov) in the RFC 6464 extension.
Bytes audio_packet_at(uint16_t sequence_number, uint8_t level) {
  std::array<uint8_t, 8> extension_bytes{};
  rtp::HeaderExtensionBuilder extensions(rtp::ExtensionForm::kOneByte, extension_bytes);
  const uint8_t value[] = {static_cast<uint8_t>(0x80 | level)};
  EXPECT_EQ(extensions.add(kAudioLevelId, value), rtp::HeaderExtensionError::kNone);
  rtp::RtpHeaderSpec header;
  header.payload_type = kOpus;
  header.sequence_number = sequence_number;
  header.timestamp = sequence_number * 960u;
  header.ssrc = kAliceAudioSsrc;
  header.has_extension = true;
  header.extension_profile = extensions.profile();
  header.extension_data = extensions.data();
  Bytes payload(80, 0x55);
  Bytes packet(200);
  auto size = rtp::serialize_rtp_packet(header, payload, packet);
  EXPECT_TRUE(size.ok());
  packet.resize(size.ok() ? *size : 0);
  return packet;
}

class LineMediaSpeakerTest : public LineMediaTest {
 protected:
  void send_audio(uint8_t level) {
    Bytes packet = audio_packet_at(audio_sequence_++, level);
    alice_.on_rtp(packet, now_us_);
  }
  // Alice's timer at the end of the next level interval.
  void next_interval() {
    now_us_ += LineMedia::kLevelIntervalUs;
    alice_.on_timer(now_us_);
  }
  std::vector<uint16_t> bob_video_sequence_numbers() {
    std::vector<uint16_t> numbers;
    for (const Bytes& packet : bob_received()) {
      auto parsed = rtp::parse_rtp_packet(packet);
      if (parsed.ok() && parsed->ssrc == kLegVideoSsrc) numbers.push_back(parsed->sequence_number);
    }
    return numbers;
  }
  size_t bob_audio_packets() {
    size_t count = 0;
    for (const Bytes& packet : bob_received()) {
      auto parsed = rtp::parse_rtp_packet(packet);
      if (parsed.ok() && parsed->ssrc == kLegAudioSsrc) ++count;
    }
    return count;
  }
  size_t plis_from_alice() { return alice_transport_.feedback(206, rtp::feedback_format::kPli).size(); }

  uint16_t audio_sequence_ = 1;
};

TEST_F(LineMediaSpeakerTest, ReportsTheMeanLevelWhileThereIsSoundAndOnceWhenSilent) {
  std::vector<uint8_t> levels;
  alice_.on_audio_level([&](uint8_t level) { levels.push_back(level); });
  alice_.on_timer(now_us_);
  EXPECT_TRUE(levels.empty());  // silence from the start is not reported
  for (int i = 0; i < 5; ++i) send_audio(20);
  for (int i = 0; i < 5; ++i) send_audio(30);
  next_interval();
  EXPECT_EQ(levels, (std::vector<uint8_t>{25}));
  send_audio(60);
  next_interval();
  next_interval();  // no packets: silence, reported once
  next_interval();
  EXPECT_EQ(levels, (std::vector<uint8_t>{25, 60, 127}));
  // An operator's mute: nobody hears it, so it is not speech.
  alice_.set_forwarding(rtp::MediaKind::kAudio, false);
  send_audio(5);
  next_interval();
  EXPECT_EQ(levels.size(), 3u);
}

TEST_F(LineMediaSpeakerTest, TheTimerWakesForLevelsOnlyWhenSomeoneListens) {
  const int64_t unheard = alice_.on_timer(now_us_);
  alice_.on_audio_level([](uint8_t) {});
  const int64_t heard = alice_.on_timer(now_us_ + 1);
  EXPECT_LE(heard, now_us_ + 1 + LineMedia::kLevelIntervalUs);
  EXPECT_GT(unheard, now_us_ + LineMedia::kLevelIntervalUs);
}

TEST_F(LineMediaSpeakerTest, LastNPausesAVideoLegAndResumesItWithoutAHole) {
  Bytes first = video_packet(1, 90000, 0x01);
  alice_.on_rtp(first, now_us_);
  const std::vector<uint16_t> before = bob_video_sequence_numbers();
  ASSERT_EQ(before.size(), 1u);

  bob_.set_video_from(std::vector<std::string>{});  // video from nobody
  EXPECT_TRUE(bob_.leg_stats()[1].paused);
  EXPECT_FALSE(bob_.leg_stats()[0].paused);  // audio is never paused
  for (uint16_t sequence = 2; sequence < 50; ++sequence) {
    Bytes packet = video_packet(sequence, 90000 + sequence * 3000u, 0x02);
    alice_.on_rtp(packet, now_us_ += 33'000);
  }
  send_audio(40);
  EXPECT_EQ(bob_video_sequence_numbers().size(), 1u);  // nothing more of the video
  EXPECT_EQ(bob_audio_packets(), 1u);                  // the audio still arrives

  const size_t plis = plis_from_alice();
  now_us_ += 1'000'000;  // past the keyframe requester's hold-off
  bob_.set_video_from(std::vector<std::string>{"alice"});
  EXPECT_FALSE(bob_.leg_stats()[1].paused);
  EXPECT_EQ(plis_from_alice(), plis + 1);  // the resumed leg starts on a keyframe
  Bytes resumed = video_packet(60, 90000 + 60 * 3000u, 0x03);
  alice_.on_rtp(resumed, now_us_);
  const std::vector<uint16_t> after = bob_video_sequence_numbers();
  ASSERT_EQ(after.size(), 2u);
  // The 58 packets Bob never got leave no hole he would NACK.
  EXPECT_EQ(after[1], static_cast<uint16_t>(before[0] + 1));
}

TEST_F(LineMediaSpeakerTest, APausedPublisherStaysPausedForLegsALaterNegotiationAdds) {
  bob_.set_video_from(std::vector<std::string>{"carol"});
  // Bob's legs are built again (as after a renegotiation that replaced them).
  LineMedia carol_view{fabric_.router(1), bob_transport_, 0xC0};
  carol_view.set_video_from(std::vector<std::string>{"carol"});
  ASSERT_TRUE(carol_view.set_legs(bob_session_, requests_).empty());
  const auto stats = carol_view.leg_stats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_FALSE(stats[0].paused);
  EXPECT_TRUE(stats[1].paused);
  bob_.set_video_from(std::nullopt);  // everyone's again
  EXPECT_FALSE(bob_.leg_stats()[1].paused);
}

}  // namespace
}  // namespace partyline::core
