// RTCP compound packets (RFC 3550 section 6): the shared header, a
// non-allocating reader that walks and validates the packets of a compound,
// and RtcpWriter, which appends packets into a caller buffer. The typed
// packets live in rtcp_reports.hpp (SR, RR, SDES, BYE), rtcp_feedback.hpp
// (NACK, PLI, FIR, REMB) and transport_cc.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "rtp/parse_result.hpp"

namespace partyline::rtp {

namespace rtcp_type {
inline constexpr uint8_t kSenderReport = 200;
inline constexpr uint8_t kReceiverReport = 201;
inline constexpr uint8_t kSourceDescription = 202;
inline constexpr uint8_t kBye = 203;
inline constexpr uint8_t kApp = 204;
inline constexpr uint8_t kTransportFeedback = 205;  // RTPFB, RFC 4585
inline constexpr uint8_t kPayloadFeedback = 206;    // PSFB, RFC 4585
}  // namespace rtcp_type

inline constexpr size_t kRtcpHeaderSize = 4;
inline constexpr uint8_t kRtcpMaxCount = 31;  // the 5-bit RC/SC/FMT field

enum class RtcpErrorKind : uint8_t {
  kNone,
  kTruncatedHeader,   // fewer than 4 bytes left for a packet header
  kBadVersion,        // version is not 2
  kLengthPastEnd,     // length field points beyond the buffer
  kZeroPadding,       // P set, padding count 0
  kPaddingTooLarge,   // padding count exceeds the packet body
  kWrongType,         // typed parser given another packet type / FMT
  kTruncatedBody,     // body shorter than its fields or count require
  kBadItem,           // SDES item / chunk malformed
  kBadValue,          // field holds a value the format forbids
  kNoRoom,            // writer: output buffer full
  kTooManyItems,      // writer: more items than the count field can hold
};
std::string_view to_string(RtcpErrorKind kind);

// An error and the byte offset (within the buffer given to the reader) of the
// packet or field it concerns.
struct RtcpError {
  RtcpErrorKind kind = RtcpErrorKind::kNone;
  size_t offset = 0;

  bool ok() const { return kind == RtcpErrorKind::kNone; }
  friend bool operator==(const RtcpError&, const RtcpError&) = default;
};
std::string_view to_string(const RtcpError& error);  // the kind's text
Error to_error(const RtcpError& error);              // text with the offset

// One validated packet of a compound. Spans point into the compound buffer.
struct RtcpPacketView {
  uint8_t count = 0;        // RC, SC or FMT, depending on the type
  uint8_t packet_type = 0;
  std::span<const uint8_t> packet;  // header + body + padding
  std::span<const uint8_t> body;    // after the 4-byte header, padding removed
  size_t offset = 0;                // of the packet within the compound
};

// Iterates a compound. Padding is accepted on any packet (not only the last,
// as RFC 3550 asks) because senders do pad inner packets, e.g. transport-cc.
class RtcpCompoundReader {
 public:
  explicit RtcpCompoundReader(std::span<const uint8_t> compound) : compound_(compound) {}

  // True with `packet` filled for each valid packet; false at the end or at
  // the first invalid packet (error() then says why and where).
  bool next(RtcpPacketView& packet);
  const RtcpError& error() const { return error_; }

 private:
  std::span<const uint8_t> compound_;
  size_t offset_ = 0;
  RtcpError error_;
};

// Validates every packet; returns the number of packets.
ParseResult<size_t, RtcpError> validate_rtcp_compound(std::span<const uint8_t> compound);

// Appends RTCP packets into a caller buffer. Every append is all-or-nothing:
// when a packet does not fit nothing is written.
class RtcpWriter {
 public:
  explicit RtcpWriter(std::span<uint8_t> buffer) : buffer_(buffer) {}

  // Reserves a packet with a body of `body_size` bytes and writes its
  // header; the caller fills the returned span completely. A body that is not
  // a multiple of 4 is followed by RFC 3550 padding (P bit and count byte).
  // nullopt when it does not fit or `count` exceeds 31.
  std::optional<std::span<uint8_t>> append_packet(uint8_t count, uint8_t packet_type,
                                                  size_t body_size);

  std::span<const uint8_t> written() const { return buffer_.first(size_); }
  size_t size() const { return size_; }
  size_t remaining() const { return buffer_.size() - size_; }
  // Drops everything after `size` (for undoing a partly written compound).
  void truncate(size_t size) {
    if (size < size_) size_ = size;
  }

 private:
  std::span<uint8_t> buffer_;
  size_t size_ = 0;
};

// Helpers for the typed parsers and writers.
RtcpError rtcp_error(RtcpErrorKind kind, size_t offset);
RtcpError rtcp_no_room(const RtcpWriter& writer);

}  // namespace partyline::rtp
