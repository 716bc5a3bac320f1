// RTP header extension elements (RFC 8285): reading the one-byte (profile
// 0xBEDE) and two-byte (profile 0x100X) forms, lookup by id, a builder, and an
// in-place id rewrite for an SFU whose subscribers negotiated other ids.
// Nothing here allocates.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "rtp/parse_result.hpp"

namespace partyline::rtp {

inline constexpr uint16_t kOneByteExtensionProfile = 0xBEDE;

// The transport-wide sequence number (2 bytes), which transport-cc feedback
// reports on (rtp/rtcp/transport_cc_recorder.hpp).
inline constexpr std::string_view kTransportCcExtensionUri =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
inline constexpr uint16_t kTwoByteExtensionProfile = 0x1000;  // low 4 bits: appbits

enum class ExtensionForm : uint8_t { kOneByte, kTwoByte, kUnknown };
ExtensionForm extension_form(uint16_t profile);

enum class HeaderExtensionError : uint8_t {
  kNone,
  kUnknownProfile,         // neither 0xBEDE nor 0x100X
  kTwoByteHeaderPastEnd,   // two-byte element: id present, length byte missing
  kElementPastEnd,         // element value runs past the end of the extension
  kInvalidId,              // builder/rewrite: id not usable in this form
  kInvalidLength,          // builder: value length not encodable in this form
  kOutputTooSmall,         // builder: no room left
  kMalformedPacket,        // rewrite_packet_extension_ids: RTP header invalid
};
std::string_view to_string(HeaderExtensionError error);

struct HeaderExtensionElement {
  uint8_t id = 0;
  std::span<const uint8_t> value;
};

// Iterates the elements of one extension block. Padding bytes (id 0) are
// skipped; in the one-byte form id 15 ends parsing without an error, as RFC
// 8285 section 4.2 requires.
class HeaderExtensionReader {
 public:
  HeaderExtensionReader(uint16_t profile, std::span<const uint8_t> data);

  // True with `element` filled for each element; false at the end or on a
  // malformed element (then error() says which).
  bool next(HeaderExtensionElement& element);
  HeaderExtensionError error() const { return error_; }

 private:
  ExtensionForm form_;
  std::span<const uint8_t> data_;
  size_t offset_ = 0;
  HeaderExtensionError error_ = HeaderExtensionError::kNone;
};

// Checks the whole block; kNone if every element is well-formed.
HeaderExtensionError validate_header_extensions(uint16_t profile, std::span<const uint8_t> data);

// The value of the first element with `id`, or nullopt when it is absent or
// the block is malformed before reaching it.
std::optional<std::span<const uint8_t>> find_header_extension(uint16_t profile,
                                                              std::span<const uint8_t> data,
                                                              uint8_t id);

// Builds an extension block into a caller buffer. Pass profile() and data()
// to RtpHeaderSpec; data() is zero-padded to a 32-bit boundary.
class HeaderExtensionBuilder {
 public:
  HeaderExtensionBuilder(ExtensionForm form, std::span<uint8_t> out);

  // One-byte form: id 1..14, 1..16 bytes. Two-byte form: id 1..255, 0..255
  // bytes. On error nothing is written.
  HeaderExtensionError add(uint8_t id, std::span<const uint8_t> value);
  uint16_t profile() const;
  // The block written so far, padded; empty if there is no room for padding.
  std::span<const uint8_t> data();

 private:
  ExtensionForm form_;
  std::span<uint8_t> out_;
  size_t size_ = 0;
};

// Maps each element's id through `map` in place: map[old] is the new id, 0
// drops the element. A dropped element is overwritten with zero bytes, which
// both forms define as padding, instead of shifting the following bytes:
// this keeps the extension length, the payload offset and the packet size
// unchanged, so rewriting a packet in a scratch buffer never moves the
// payload and costs one pass over a few bytes. Everything is validated before
// the first byte changes, so an error leaves `data` untouched.
using ExtensionIdMap = std::array<uint8_t, 256>;
HeaderExtensionError rewrite_extension_ids(uint16_t profile, std::span<uint8_t> data,
                                           const ExtensionIdMap& map);

// The same on a whole RTP packet; kNone if it has no extension block.
HeaderExtensionError rewrite_packet_extension_ids(std::span<uint8_t> packet,
                                                  const ExtensionIdMap& map);

}  // namespace partyline::rtp
