#include "rtp/packet/rtp_packet.hpp"

#include <algorithm>
#include <optional>

#include "rtp/byte_io.hpp"

namespace partyline::rtp {

std::string_view to_string(RtpError error) {
  switch (error) {
    case RtpError::kTooShort: return "rtp: shorter than the 12-byte fixed header";
    case RtpError::kBadVersion: return "rtp: version field is not 2";
    case RtpError::kCsrcPastEnd: return "rtp: CSRC list runs past the end of the packet";
    case RtpError::kExtensionHeaderPastEnd:
      return "rtp: X bit set but the header extension header runs past the end";
    case RtpError::kExtensionPastEnd:
      return "rtp: header extension length runs past the end of the packet";
    case RtpError::kZeroPadding: return "rtp: P bit set but the padding count is 0";
    case RtpError::kPaddingTooLarge:
      return "rtp: padding count is larger than the bytes after the header";
    case RtpError::kTooManyCsrcs: return "rtp: more than 15 CSRCs";
    case RtpError::kBadPayloadType: return "rtp: payload type above 127";
    case RtpError::kExtensionNotAligned:
      return "rtp: header extension data is not a multiple of 4 bytes";
    case RtpError::kExtensionTooLong: return "rtp: header extension longer than 65535 words";
    case RtpError::kOutputTooSmall: return "rtp: output buffer too small";
  }
  return "rtp: unknown error";
}

uint32_t RtpPacketView::csrc(size_t index) const {
  return read_u32(csrc_bytes.data() + index * 4);
}

ParseResult<RtpPacketView, RtpError> parse_rtp_packet(std::span<const uint8_t> packet) {
  if (packet.size() < kRtpFixedHeaderSize) return RtpError::kTooShort;
  const uint8_t* p = packet.data();
  RtpPacketView view;
  view.packet = packet;
  view.version = p[0] >> 6;
  if (view.version != 2) return RtpError::kBadVersion;
  view.has_padding = (p[0] & 0x20) != 0;
  view.has_extension = (p[0] & 0x10) != 0;
  view.csrc_count = p[0] & 0x0F;
  view.marker = (p[1] & 0x80) != 0;
  view.payload_type = p[1] & 0x7F;
  view.sequence_number = read_u16(p + 2);
  view.timestamp = read_u32(p + 4);
  view.ssrc = read_u32(p + 8);

  size_t offset = kRtpFixedHeaderSize;
  const size_t csrc_size = size_t{view.csrc_count} * 4;
  if (packet.size() - offset < csrc_size) return RtpError::kCsrcPastEnd;
  view.csrc_bytes = packet.subspan(offset, csrc_size);
  offset += csrc_size;

  if (view.has_extension) {
    if (packet.size() - offset < 4) return RtpError::kExtensionHeaderPastEnd;
    view.extension_profile = read_u16(p + offset);
    const size_t extension_size = size_t{read_u16(p + offset + 2)} * 4;
    offset += 4;
    if (packet.size() - offset < extension_size) return RtpError::kExtensionPastEnd;
    view.extension_data = packet.subspan(offset, extension_size);
    offset += extension_size;
  }
  view.header_size = offset;

  size_t end = packet.size();
  if (view.has_padding) {
    // The count byte is the last byte of the packet and counts itself.
    const uint8_t padding = p[end - 1];
    if (padding == 0) return RtpError::kZeroPadding;
    if (padding > end - offset) return RtpError::kPaddingTooLarge;
    view.padding_size = padding;
    end -= padding;
  }
  view.payload = packet.subspan(offset, end - offset);
  return view;
}

bool set_rtp_ssrc(std::span<uint8_t> packet, uint32_t ssrc) {
  if (packet.size() < kRtpFixedHeaderSize) return false;
  write_u32(packet.data() + 8, ssrc);
  return true;
}

bool set_rtp_sequence_number(std::span<uint8_t> packet, uint16_t sequence_number) {
  if (packet.size() < kRtpFixedHeaderSize) return false;
  write_u16(packet.data() + 2, sequence_number);
  return true;
}

bool set_rtp_timestamp(std::span<uint8_t> packet, uint32_t timestamp) {
  if (packet.size() < kRtpFixedHeaderSize) return false;
  write_u32(packet.data() + 4, timestamp);
  return true;
}

bool set_rtp_payload_type(std::span<uint8_t> packet, uint8_t payload_type) {
  if (packet.size() < kRtpFixedHeaderSize || payload_type > 127) return false;
  packet[1] = static_cast<uint8_t>((packet[1] & 0x80) | payload_type);
  return true;
}

bool set_rtp_marker(std::span<uint8_t> packet, bool marker) {
  if (packet.size() < kRtpFixedHeaderSize) return false;
  packet[1] = static_cast<uint8_t>((packet[1] & 0x7F) | (marker ? 0x80 : 0));
  return true;
}

namespace {

std::optional<RtpError> check_spec(const RtpHeaderSpec& header) {
  if (header.csrcs.size() > kRtpMaxCsrcs) return RtpError::kTooManyCsrcs;
  if (header.payload_type > 127) return RtpError::kBadPayloadType;
  if (header.has_extension) {
    if (header.extension_data.size() % 4 != 0) return RtpError::kExtensionNotAligned;
    if (header.extension_data.size() / 4 > 0xFFFF) return RtpError::kExtensionTooLong;
  }
  return std::nullopt;
}

}  // namespace

ParseResult<size_t, RtpError> serialize_rtp_packet(const RtpHeaderSpec& header,
                                                   std::span<const uint8_t> payload,
                                                   std::span<uint8_t> out) {
  if (const auto error = check_spec(header)) return *error;
  const size_t extension_size = header.has_extension ? 4 + header.extension_data.size() : 0;
  const size_t header_size = kRtpFixedHeaderSize + header.csrcs.size() * 4 + extension_size;
  const size_t total = header_size + payload.size() + header.padding_size;
  if (out.size() < total) return RtpError::kOutputTooSmall;

  uint8_t* p = out.data();
  p[0] = static_cast<uint8_t>(0x80 | (header.padding_size ? 0x20 : 0) |
                              (header.has_extension ? 0x10 : 0) | header.csrcs.size());
  p[1] = static_cast<uint8_t>((header.marker ? 0x80 : 0) | header.payload_type);
  write_u16(p + 2, header.sequence_number);
  write_u32(p + 4, header.timestamp);
  write_u32(p + 8, header.ssrc);
  size_t offset = kRtpFixedHeaderSize;
  for (const uint32_t csrc : header.csrcs) {
    write_u32(p + offset, csrc);
    offset += 4;
  }
  if (header.has_extension) {
    write_u16(p + offset, header.extension_profile);
    write_u16(p + offset + 2, static_cast<uint16_t>(header.extension_data.size() / 4));
    offset += 4;
    std::copy(header.extension_data.begin(), header.extension_data.end(), p + offset);
    offset += header.extension_data.size();
  }
  std::copy(payload.begin(), payload.end(), p + offset);
  offset += payload.size();
  if (header.padding_size) {
    std::fill(p + offset, p + offset + header.padding_size - 1, uint8_t{0});
    offset += header.padding_size;
    p[offset - 1] = header.padding_size;
  }
  return total;
}

}  // namespace partyline::rtp
