// The audio level a publisher declares in each packet (RFC 6464, the
// "ssrc-audio-level" header extension), and AudioLevelMeter, which sums a
// stream's levels up per interval for active-speaker detection. Reading the
// level costs one walk over the extension block; the server never decodes
// audio for it. Nothing here allocates.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "rtp/packet/rtp_packet.hpp"

namespace partyline::rtp {

inline constexpr std::string_view kAudioLevelExtensionUri = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

// 0 is the loudest a packet can be (0 dBov), 127 silence (-127 dBov or less).
inline constexpr uint8_t kSilentAudioLevel = 127;

struct AudioLevel {
  bool voice = false;     // the sender's voice activity flag (V); many senders leave it 0
  uint8_t level = kSilentAudioLevel;  // -dBov, 0..127
};

// The level in `packet` when it carries the extension with `id` (one byte
// of value at least); nullopt otherwise.
std::optional<AudioLevel> read_audio_level(const RtpPacketView& packet, uint8_t id);

// How loud one stream was over an interval: the mean of its packets' levels
// in -dBov (a mean of decibels, not of power: a steady voice and a steady
// tone read as their level, and a click in a quiet interval moves it
// little). take() returns it and starts the next interval; an interval
// without packets is silence.
class AudioLevelMeter {
 public:
  void add(uint8_t level) {
    sum_ += level > kSilentAudioLevel ? kSilentAudioLevel : level;
    ++count_;
  }
  uint8_t take() {
    const uint8_t mean = count_ == 0 ? kSilentAudioLevel : static_cast<uint8_t>((sum_ + count_ / 2) / count_);
    sum_ = 0;
    count_ = 0;
    return mean;
  }
  uint32_t pending() const { return count_; }  // packets in the current interval

 private:
  uint32_t sum_ = 0;
  uint32_t count_ = 0;
};

}  // namespace partyline::rtp
