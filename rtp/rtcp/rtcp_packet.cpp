#include "rtp/rtcp/rtcp_packet.hpp"

#include <algorithm>
#include <string>

#include "rtp/byte_io.hpp"

namespace partyline::rtp {

namespace {
// The largest packet the 16-bit length field (in 32-bit words minus one) can
// describe; the writer refuses bodies beyond it rather than wrap the field.
// On the read side any length is representable, so the absurd lengths are
// the ones pointing past the end of the buffer.
constexpr size_t kMaxRtcpPacketSize = (size_t{0xFFFF} + 1) * 4;
}  // namespace

std::string_view to_string(RtcpErrorKind kind) {
  switch (kind) {
    case RtcpErrorKind::kNone: return "rtcp: no error";
    case RtcpErrorKind::kTruncatedHeader: return "rtcp: fewer than 4 bytes for a packet header";
    case RtcpErrorKind::kBadVersion: return "rtcp: version field is not 2";
    case RtcpErrorKind::kLengthPastEnd: return "rtcp: length field points past the end of the buffer";
    case RtcpErrorKind::kZeroPadding: return "rtcp: P bit set but the padding count is 0";
    case RtcpErrorKind::kPaddingTooLarge: return "rtcp: padding count exceeds the packet body";
    case RtcpErrorKind::kWrongType: return "rtcp: packet type or FMT does not match the parser";
    case RtcpErrorKind::kTruncatedBody: return "rtcp: body shorter than its fields require";
    case RtcpErrorKind::kBadItem: return "rtcp: malformed SDES chunk or item";
    case RtcpErrorKind::kBadValue: return "rtcp: field holds a forbidden value";
    case RtcpErrorKind::kNoRoom: return "rtcp: output buffer full";
    case RtcpErrorKind::kTooManyItems: return "rtcp: more items than the count field holds";
  }
  return "rtcp: unknown error";
}

std::string_view to_string(const RtcpError& error) { return to_string(error.kind); }

Error to_error(const RtcpError& error) {
  return make_error(error_code::kBadRequest,
                    std::string(to_string(error.kind)) + " (at byte " +
                        std::to_string(error.offset) + ")");
}

RtcpError rtcp_error(RtcpErrorKind kind, size_t offset) { return RtcpError{kind, offset}; }

RtcpError rtcp_no_room(const RtcpWriter& writer) {
  return RtcpError{RtcpErrorKind::kNoRoom, writer.size()};
}

bool RtcpCompoundReader::next(RtcpPacketView& packet) {
  if (!error_.ok()) return false;
  if (compound_.empty()) {
    // A compound holds at least one packet; an empty datagram is not RTCP.
    error_ = rtcp_error(RtcpErrorKind::kTruncatedHeader, 0);
    return false;
  }
  if (offset_ >= compound_.size()) return false;
  const size_t left = compound_.size() - offset_;
  const uint8_t* p = compound_.data() + offset_;
  if (left < kRtcpHeaderSize) {
    error_ = rtcp_error(RtcpErrorKind::kTruncatedHeader, offset_);
    return false;
  }
  if ((p[0] >> 6) != 2) {
    error_ = rtcp_error(RtcpErrorKind::kBadVersion, offset_);
    return false;
  }
  const size_t size = (size_t{read_u16(p + 2)} + 1) * 4;
  if (size > left) {
    error_ = rtcp_error(RtcpErrorKind::kLengthPastEnd, offset_ + 2);
    return false;
  }
  size_t padding = 0;
  if (p[0] & 0x20) {
    padding = p[size - 1];
    if (padding == 0) {
      error_ = rtcp_error(RtcpErrorKind::kZeroPadding, offset_ + size - 1);
      return false;
    }
    if (padding > size - kRtcpHeaderSize) {
      error_ = rtcp_error(RtcpErrorKind::kPaddingTooLarge, offset_ + size - 1);
      return false;
    }
  }
  packet.count = p[0] & 0x1F;
  packet.packet_type = p[1];
  packet.packet = compound_.subspan(offset_, size);
  packet.body = packet.packet.subspan(kRtcpHeaderSize, size - kRtcpHeaderSize - padding);
  packet.offset = offset_;
  offset_ += size;
  return true;
}

ParseResult<size_t, RtcpError> validate_rtcp_compound(std::span<const uint8_t> compound) {
  RtcpCompoundReader reader(compound);
  RtcpPacketView packet;
  size_t count = 0;
  while (reader.next(packet)) ++count;
  if (!reader.error().ok()) return reader.error();
  return count;
}

std::optional<std::span<uint8_t>> RtcpWriter::append_packet(uint8_t count, uint8_t packet_type,
                                                            size_t body_size) {
  const size_t padded_body = (body_size + 3) / 4 * 4;
  const size_t total = kRtcpHeaderSize + padded_body;
  if (count > kRtcpMaxCount || total > kMaxRtcpPacketSize || total > remaining()) {
    return std::nullopt;
  }
  uint8_t* p = buffer_.data() + size_;
  const size_t padding = padded_body - body_size;
  p[0] = static_cast<uint8_t>(0x80 | (padding ? 0x20 : 0) | count);
  p[1] = packet_type;
  write_u16(p + 2, static_cast<uint16_t>(total / 4 - 1));
  if (padding) {
    std::fill(p + total - padding, p + total - 1, uint8_t{0});
    p[total - 1] = static_cast<uint8_t>(padding);
  }
  std::span<uint8_t> body = buffer_.subspan(size_ + kRtcpHeaderSize, body_size);
  size_ += total;
  return body;
}

}  // namespace partyline::rtp
