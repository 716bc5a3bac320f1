// RTP packets (RFC 3550 section 5.1): a zero-copy parser into a view, cheap
// in-place rewrites of the fields an SFU changes per subscriber, and a
// serializer into a caller-provided buffer. Nothing here allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "rtp/parse_result.hpp"

namespace partyline::rtp {

inline constexpr size_t kRtpFixedHeaderSize = 12;
inline constexpr size_t kRtpMaxCsrcs = 15;

enum class RtpError : uint8_t {
  kTooShort,                // fewer than 12 bytes
  kBadVersion,              // version field is not 2
  kCsrcPastEnd,             // CSRC list runs past the end of the buffer
  kExtensionHeaderPastEnd,  // X set but the 4-byte extension header is missing
  kExtensionPastEnd,        // extension length field runs past the end
  kZeroPadding,             // P set but the padding count byte is 0
  kPaddingTooLarge,         // padding count larger than what follows the header
  kTooManyCsrcs,            // serializer: more than 15 CSRCs
  kBadPayloadType,          // serializer/setter: payload type above 127
  kExtensionNotAligned,     // serializer: extension data not a multiple of 4
  kExtensionTooLong,        // serializer: extension longer than 65535 words
  kOutputTooSmall,          // serializer/setter: buffer too small
};
std::string_view to_string(RtpError error);

// A parsed RTP packet. Every span points into the parsed buffer, which must
// outlive the view.
struct RtpPacketView {
  uint8_t version = 0;
  bool has_padding = false;
  bool has_extension = false;
  uint8_t csrc_count = 0;
  bool marker = false;
  uint8_t payload_type = 0;
  uint16_t sequence_number = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  std::span<const uint8_t> csrc_bytes;  // csrc_count * 4 bytes
  uint16_t extension_profile = 0;       // 0xBEDE, 0x100X, ... when has_extension
  std::span<const uint8_t> extension_data;  // after the 4-byte extension header
  size_t header_size = 0;  // fixed header + CSRCs + extension
  std::span<const uint8_t> payload;
  uint8_t padding_size = 0;  // includes the count byte itself; 0 without P
  std::span<const uint8_t> packet;  // the whole input

  uint32_t csrc(size_t index) const;  // index < csrc_count
  // Offset of extension_data within the packet, for in-place rewriting.
  size_t extension_data_offset() const { return header_size - extension_data.size(); }
};

ParseResult<RtpPacketView, RtpError> parse_rtp_packet(std::span<const uint8_t> packet);

// In-place rewrites. Each returns false and leaves the buffer untouched when
// it is shorter than the fixed header (or the payload type exceeds 127); they
// do not validate the rest of the packet, which the caller has parsed already.
bool set_rtp_ssrc(std::span<uint8_t> packet, uint32_t ssrc);
bool set_rtp_sequence_number(std::span<uint8_t> packet, uint16_t sequence_number);
bool set_rtp_timestamp(std::span<uint8_t> packet, uint32_t timestamp);
bool set_rtp_payload_type(std::span<uint8_t> packet, uint8_t payload_type);
bool set_rtp_marker(std::span<uint8_t> packet, bool marker);

// What serialize_rtp_packet() writes in front of the payload.
struct RtpHeaderSpec {
  bool marker = false;
  uint8_t payload_type = 0;
  uint16_t sequence_number = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  std::span<const uint32_t> csrcs;
  bool has_extension = false;
  uint16_t extension_profile = 0;
  std::span<const uint8_t> extension_data;  // multiple of 4 bytes
  uint8_t padding_size = 0;  // 0 = no padding; else total padding incl. count byte
};

// Writes header + payload (+ padding) into `out`; returns the packet size.
ParseResult<size_t, RtpError> serialize_rtp_packet(const RtpHeaderSpec& header,
                                                   std::span<const uint8_t> payload,
                                                   std::span<uint8_t> out);

}  // namespace partyline::rtp
