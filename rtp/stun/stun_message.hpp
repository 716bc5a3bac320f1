// STUN messages (RFC 5389) as ICE connectivity checks use them (RFC 8445
// section 7): a zero-copy parser into a view that checks every length and
// the FINGERPRINT, MESSAGE-INTEGRITY with a short-term key, and a writer
// into a caller-provided buffer. Nothing here allocates: the parser reads
// input from anyone on the internet, once per datagram.
//
// Why partyline reads STUN itself rather than through libnice: its
// single-port mode (issue 18) finds the participant a datagram belongs to
// from the USERNAME of the first check, before any ICE agent is involved,
// and answers checks as an ICE-lite agent (rtp/stun/ice_lite_responder.hpp);
// libnice has no mode in which agents share one socket.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "rtp/parse_result.hpp"

namespace partyline::rtp {

inline constexpr uint32_t kStunMagicCookie = 0x2112A442;
inline constexpr size_t kStunHeaderSize = 20;
inline constexpr size_t kStunIntegritySize = 20;  // HMAC-SHA1
inline constexpr uint16_t kStunBindingMethod = 0x001;
// RFC 5389 section 15.3: a USERNAME is less than 513 bytes.
inline constexpr size_t kStunMaxUsername = 512;

namespace stun_attribute {
inline constexpr uint16_t kMappedAddress = 0x0001;
inline constexpr uint16_t kUsername = 0x0006;
inline constexpr uint16_t kMessageIntegrity = 0x0008;
inline constexpr uint16_t kErrorCode = 0x0009;
inline constexpr uint16_t kUnknownAttributes = 0x000A;
inline constexpr uint16_t kXorMappedAddress = 0x0020;
inline constexpr uint16_t kPriority = 0x0024;
inline constexpr uint16_t kUseCandidate = 0x0025;
inline constexpr uint16_t kSoftware = 0x8022;
inline constexpr uint16_t kFingerprint = 0x8028;
inline constexpr uint16_t kIceControlled = 0x8029;
inline constexpr uint16_t kIceControlling = 0x802A;
// Types below 0x8000 are comprehension-required: a request carrying one
// this parser does not know is answered with 420 (RFC 5389 section 7.3.1).
inline constexpr bool comprehension_required(uint16_t type) { return type < 0x8000; }
}  // namespace stun_attribute

enum class StunClass : uint8_t { kRequest, kIndication, kSuccess, kError };
std::string_view to_string(StunClass message_class);

enum class StunError : uint8_t {
  kTooShort,                   // fewer than 20 bytes
  kNotStun,                    // the two leading bits are not 0, or no magic cookie
  kLengthMismatch,             // the header's length is not the datagram's size minus 20
  kLengthNotAligned,           // the header's length is not a multiple of 4
  kAttributePastEnd,           // an attribute (or its header) runs past the message
  kBadAttributeLength,         // a known attribute of the wrong size
  kBadAttributeValue,          // a known attribute with an impossible value (family, error class)
  kAttributeAfterFingerprint,  // FINGERPRINT is not the last attribute
  kBadFingerprint,             // the CRC-32 does not match: not a STUN message (RFC 7983)
  kOutputTooSmall,             // writer: the buffer cannot hold the message
};
std::string_view to_string(StunError error);

// An IP address and a port: a "transport address" in RFC 8445's words. Plain
// data (rtp/ has no sockets); ice/ converts from and to sockaddr.
struct TransportAddress {
  enum class Family : uint8_t { kIpv4 = 1, kIpv6 = 2 };
  Family family = Family::kIpv4;
  std::array<uint8_t, 16> address{};  // an IPv4 address in its first 4 bytes, the rest 0
  uint16_t port = 0;

  bool operator==(const TransportAddress&) const = default;
  size_t address_size() const { return family == Family::kIpv4 ? 4 : 16; }
};

// For maps keyed by a remote address (single-port mode's routing): FNV-1a
// over the address bytes in use and the port.
struct TransportAddressHash {
  size_t operator()(const TransportAddress& address) const {
    uint64_t hash = 1469598103934665603ull;
    for (size_t i = 0; i < address.address_size(); ++i) hash = (hash ^ address.address[i]) * 1099511628211ull;
    hash = (hash ^ (address.port >> 8)) * 1099511628211ull;
    hash = (hash ^ (address.port & 0xFF)) * 1099511628211ull;
    return static_cast<size_t>(hash);
  }
};

using StunTransactionId = std::array<uint8_t, 12>;

// A parsed message. `bytes` and `username` point into the parsed buffer,
// which must outlive the view. Attributes after MESSAGE-INTEGRITY other than
// FINGERPRINT are ignored, as RFC 5389 section 15.4 requires.
struct StunMessage {
  uint16_t method = 0;
  StunClass message_class = StunClass::kRequest;
  StunTransactionId transaction_id{};
  std::span<const uint8_t> bytes;

  std::optional<std::string_view> username;
  std::optional<uint32_t> priority;
  bool use_candidate = false;
  std::optional<uint64_t> ice_controlling;  // the tie-breaker
  std::optional<uint64_t> ice_controlled;
  std::optional<TransportAddress> xor_mapped_address;
  std::optional<uint16_t> error_code;  // 300-699
  // Where MESSAGE-INTEGRITY's attribute header starts; 0 when absent.
  size_t integrity_offset = 0;
  bool has_fingerprint = false;  // present and matching (a mismatch fails the parse)
  // The first comprehension-required attribute type this parser does not know.
  std::optional<uint16_t> unknown_required;

  bool has_integrity() const { return integrity_offset != 0; }
};

ParseResult<StunMessage, StunError> parse_stun_message(std::span<const uint8_t> datagram);

// True when the message carries MESSAGE-INTEGRITY and it is the HMAC-SHA1,
// keyed with `key` (ICE: the receiver's password), of the message up to it
// (RFC 5389 section 15.4). Compared in constant time.
bool stun_integrity_matches(const StunMessage& message, std::string_view key);

// Writes one message into `buffer`: the header first, then each add_*
// appends an attribute (with zero padding) and keeps the header's length
// current. MESSAGE-INTEGRITY and then FINGERPRINT go last. When the buffer is
// too small, the writer stops writing and ok() turns false.
class StunWriter {
 public:
  StunWriter(std::span<uint8_t> buffer, uint16_t method, StunClass message_class,
             const StunTransactionId& transaction_id);

  void add_bytes(uint16_t type, std::span<const uint8_t> value);
  void add_string(uint16_t type, std::string_view value);
  void add_u32(uint16_t type, uint32_t value);
  void add_u64(uint16_t type, uint64_t value);
  void add_flag(uint16_t type) { add_bytes(type, {}); }
  void add_xor_mapped_address(const TransportAddress& address);
  // code 300-699; `reason` is cut to 127 bytes (RFC 5389's limit in characters).
  void add_error_code(uint16_t code, std::string_view reason);
  void add_unknown_attributes(std::span<const uint16_t> types);
  void add_message_integrity(std::string_view key);
  void add_fingerprint();

  bool ok() const { return ok_; }
  size_t size() const { return ok_ ? size_ : 0; }
  std::span<const uint8_t> message() const { return buffer_.first(size()); }

 private:
  uint8_t* reserve(uint16_t type, size_t value_size);
  void set_length(size_t length);

  std::span<uint8_t> buffer_;
  size_t size_ = 0;
  bool ok_ = true;
};

// "ufrag:ufrag" split at the first colon (RFC 8445 section 7.2.2: the
// receiver's fragment, then the sender's). nullopt without a colon.
struct IceUsername {
  std::string_view receiver;
  std::string_view sender;
};
std::optional<IceUsername> split_ice_username(std::string_view username);

}  // namespace partyline::rtp
