#include "rtp/packet/audio_level.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

#include "rtp/packet/rtp_header_extensions.hpp"
#include "rtp/packet/rtp_packet.hpp"

namespace partyline::rtp {
namespace {

constexpr uint8_t kLevelId = 1;

// An Opus-like packet with `extensions` (id, value) in the one-byte form.
std::vector<uint8_t> packet_with(std::vector<std::pair<uint8_t, std::vector<uint8_t>>> extensions) {
  std::array<uint8_t, 64> block{};
  HeaderExtensionBuilder builder(ExtensionForm::kOneByte, block);
  for (const auto& [id, value] : extensions) EXPECT_EQ(builder.add(id, value), HeaderExtensionError::kNone);
  RtpHeaderSpec header;
  header.payload_type = 111;
  header.ssrc = 0x1234;
  header.has_extension = !extensions.empty();
  header.extension_profile = builder.profile();
  header.extension_data = builder.data();
  const std::array<uint8_t, 3> payload = {0xfc, 0xff, 0xfe};
  std::vector<uint8_t> out(128);
  auto size = serialize_rtp_packet(header, payload, out);
  EXPECT_TRUE(static_cast<bool>(size));
  out.resize(size.value());
  return out;
}

std::optional<AudioLevel> level_of(const std::vector<uint8_t>& bytes, uint8_t id = kLevelId) {
  auto parsed = parse_rtp_packet(bytes);
  EXPECT_TRUE(static_cast<bool>(parsed));
  return read_audio_level(*parsed, id);
}

TEST(AudioLevel, ReadsLevelAndVoiceFlag) {
  auto loud = level_of(packet_with({{kLevelId, {0x80 | 12}}}));
  ASSERT_TRUE(loud);
  EXPECT_TRUE(loud->voice);
  EXPECT_EQ(loud->level, 12);
  auto quiet = level_of(packet_with({{3, {0x01, 0x02, 0x03}}, {kLevelId, {127}}}));
  ASSERT_TRUE(quiet);
  EXPECT_FALSE(quiet->voice);
  EXPECT_EQ(quiet->level, 127);
}

TEST(AudioLevel, AbsentWhenNotCarried) {
  EXPECT_FALSE(level_of(packet_with({})));                      // no extension block
  EXPECT_FALSE(level_of(packet_with({{3, {0x01, 0x02}}})));     // other elements only
  EXPECT_FALSE(level_of(packet_with({{kLevelId, {40}}}), 2));   // another id negotiated
}

TEST(AudioLevelMeter, MeanOfAnInterval) {
  AudioLevelMeter meter;
  EXPECT_EQ(meter.take(), kSilentAudioLevel);  // no packets: silence
  for (uint8_t level : {10, 20, 30, 41}) meter.add(level);
  EXPECT_EQ(meter.pending(), 4u);
  EXPECT_EQ(meter.take(), 25);  // 101 / 4, rounded
  EXPECT_EQ(meter.pending(), 0u);
  EXPECT_EQ(meter.take(), kSilentAudioLevel);  // the next interval starts empty
}

TEST(AudioLevelMeter, ClampsOutOfRangeLevels) {
  AudioLevelMeter meter;
  meter.add(200);  // not a level a 7-bit field can carry: counted as silence
  meter.add(127);
  EXPECT_EQ(meter.take(), kSilentAudioLevel);
}

}  // namespace
}  // namespace partyline::rtp
