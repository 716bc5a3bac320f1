#include "plugin_rtp.hpp"

namespace plugin_rtp {

namespace {

uint16_t read16(const uint8_t* at) { return static_cast<uint16_t>(at[0] << 8 | at[1]); }
uint32_t read32(const uint8_t* at) {
  return static_cast<uint32_t>(at[0]) << 24 | static_cast<uint32_t>(at[1]) << 16 | static_cast<uint32_t>(at[2]) << 8 |
         at[3];
}

// The level in a header extension block (RFC 8285: one-byte 0xBEDE or
// two-byte 0x100X elements), -1 when the element is not there or malformed.
int find_level(uint16_t profile, std::span<const uint8_t> block, int level_id) {
  const bool one_byte = profile == 0xBEDE;
  const bool two_byte = (profile & 0xFFF0) == 0x1000;
  if (!one_byte && !two_byte) return -1;
  size_t at = 0;
  while (at < block.size()) {
    if (block[at] == 0) {  // padding
      ++at;
      continue;
    }
    int id = 0;
    size_t length = 0;
    if (one_byte) {
      id = block[at] >> 4;
      length = (block[at] & 0x0F) + 1u;
      if (id == 15) return -1;  // reserved: stop parsing (RFC 8285 section 4.2)
      at += 1;
    } else {
      if (at + 2 > block.size()) return -1;
      id = block[at];
      length = block[at + 1];
      at += 2;
    }
    if (at + length > block.size()) return -1;
    if (id == level_id && length >= 1) return block[at] & 0x7F;
    at += length;
  }
  return -1;
}

}  // namespace

std::optional<RtpView> parse_rtp(std::span<const uint8_t> packet, int level_id) {
  if (packet.size() < kRtpHeaderBytes || (packet[0] >> 6) != 2) return std::nullopt;
  const bool padding = (packet[0] & 0x20) != 0;
  const bool extension = (packet[0] & 0x10) != 0;
  const size_t csrc_count = packet[0] & 0x0F;
  RtpView rtp;
  rtp.marker = (packet[1] & 0x80) != 0;
  rtp.payload_type = packet[1] & 0x7F;
  rtp.sequence = read16(&packet[2]);
  rtp.timestamp = read32(&packet[4]);
  size_t start = kRtpHeaderBytes + 4 * csrc_count;
  if (start > packet.size()) return std::nullopt;
  if (extension) {
    if (start + 4 > packet.size()) return std::nullopt;
    const uint16_t profile = read16(&packet[start]);
    const size_t words = read16(&packet[start + 2]);
    const size_t block_start = start + 4;
    if (block_start + 4 * words > packet.size()) return std::nullopt;
    if (level_id > 0) rtp.audio_level = find_level(profile, packet.subspan(block_start, 4 * words), level_id);
    start = block_start + 4 * words;
  }
  size_t end = packet.size();
  if (padding) {
    const size_t pad = packet[end - 1];
    if (pad == 0 || start + pad > end) return std::nullopt;
    end -= pad;
  }
  rtp.payload = packet.subspan(start, end - start);
  return rtp;
}

void write_rtp_header(std::span<uint8_t> out, uint8_t payload_type, bool marker, uint16_t sequence,
                      uint32_t timestamp, uint32_t ssrc) {
  out[0] = 0x80;
  out[1] = static_cast<uint8_t>((marker ? 0x80 : 0) | (payload_type & 0x7F));
  out[2] = static_cast<uint8_t>(sequence >> 8);
  out[3] = static_cast<uint8_t>(sequence);
  out[4] = static_cast<uint8_t>(timestamp >> 24);
  out[5] = static_cast<uint8_t>(timestamp >> 16);
  out[6] = static_cast<uint8_t>(timestamp >> 8);
  out[7] = static_cast<uint8_t>(timestamp);
  out[8] = static_cast<uint8_t>(ssrc >> 24);
  out[9] = static_cast<uint8_t>(ssrc >> 16);
  out[10] = static_cast<uint8_t>(ssrc >> 8);
  out[11] = static_cast<uint8_t>(ssrc);
}

}  // namespace plugin_rtp
