#include "rtp_header.hpp"

namespace recorder {

std::optional<RtpView> parse_rtp(std::span<const uint8_t> packet) {
  if (packet.size() < 12 || (packet[0] >> 6) != 2) return std::nullopt;
  RtpView view;
  view.marker = (packet[1] & 0x80) != 0;
  view.payload_type = packet[1] & 0x7f;
  view.sequence = static_cast<uint16_t>(packet[2] << 8 | packet[3]);
  view.timestamp = static_cast<uint32_t>(packet[4]) << 24 | static_cast<uint32_t>(packet[5]) << 16 |
                   static_cast<uint32_t>(packet[6]) << 8 | packet[7];
  size_t offset = 12 + 4 * static_cast<size_t>(packet[0] & 0x0f);
  if ((packet[0] & 0x10) != 0) {  // header extension: 4-byte header, then length 32-bit words
    if (packet.size() < offset + 4) return std::nullopt;
    offset += 4 + 4 * static_cast<size_t>(packet[offset + 2] << 8 | packet[offset + 3]);
  }
  size_t end = packet.size();
  if ((packet[0] & 0x20) != 0) {  // padding: its count is the last byte
    if (end == 0 || packet[end - 1] == 0 || packet[end - 1] > end) return std::nullopt;
    end -= packet[end - 1];
  }
  if (offset > end) return std::nullopt;
  view.payload = packet.subspan(offset, end - offset);
  return view;
}

}  // namespace recorder
