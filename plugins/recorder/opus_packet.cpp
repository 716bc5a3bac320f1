#include "opus_packet.hpp"

namespace recorder {

uint32_t opus_samples_48k(std::span<const uint8_t> packet) {
  if (packet.empty()) return 0;
  const uint8_t config = packet[0] >> 3;
  // Frame size in 48 kHz samples: SILK-only configs 0-11 (10/20/40/60 ms),
  // hybrid 12-15 (10/20 ms), CELT-only 16-31 (2.5/5/10/20 ms).
  uint32_t frame;
  if (config < 12) {
    static constexpr uint32_t kSilk[] = {480, 960, 1920, 2880};
    frame = kSilk[config % 4];
  } else if (config < 16) {
    frame = config % 2 == 0 ? 480 : 960;
  } else {
    static constexpr uint32_t kCelt[] = {120, 240, 480, 960};
    frame = kCelt[config % 4];
  }
  uint32_t frames;
  switch (packet[0] & 0x03) {
    case 0: frames = 1; break;
    case 1:
    case 2: frames = 2; break;
    default:  // code 3: the count is in the next byte
      if (packet.size() < 2) return 0;
      frames = packet[1] & 0x3f;
  }
  return frame * frames;
}

std::array<uint8_t, 19> opus_head(uint16_t pre_skip) {
  std::array<uint8_t, 19> head{'O', 'p', 'u', 's', 'H', 'e', 'a', 'd'};
  head[8] = 1;  // version
  head[9] = 2;  // channels
  head[10] = static_cast<uint8_t>(pre_skip & 0xff);  // little-endian fields
  head[11] = static_cast<uint8_t>(pre_skip >> 8);
  constexpr uint32_t kRate = 48000;
  head[12] = kRate & 0xff;
  head[13] = (kRate >> 8) & 0xff;
  head[14] = (kRate >> 16) & 0xff;
  head[15] = (kRate >> 24) & 0xff;
  // head[16..17]: output gain 0; head[18]: channel mapping family 0
  return head;
}

}  // namespace recorder
