#include "rtp/packet/audio_level.hpp"

#include "rtp/packet/rtp_header_extensions.hpp"

namespace partyline::rtp {

std::optional<AudioLevel> read_audio_level(const RtpPacketView& packet, uint8_t id) {
  if (!packet.has_extension) return std::nullopt;
  auto value = find_header_extension(packet.extension_profile, packet.extension_data, id);
  if (!value || value->empty()) return std::nullopt;
  const uint8_t byte = (*value)[0];
  return AudioLevel{(byte & 0x80) != 0, static_cast<uint8_t>(byte & 0x7f)};
}

}  // namespace partyline::rtp
