#include "rtp/stun/stun_message.hpp"

#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <nettle/sha1.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "rtp/byte_io.hpp"

namespace partyline::rtp {
namespace {

// RFC 5389 section 15.5: the CRC-32 of the message XOR this.
constexpr uint32_t kFingerprintXor = 0x5354554e;
constexpr size_t kAttributeHeaderSize = 4;
constexpr size_t kFingerprintAttributeSize = kAttributeHeaderSize + 4;
constexpr size_t kIntegrityAttributeSize = kAttributeHeaderSize + kStunIntegritySize;
constexpr size_t kMaxErrorReason = 127;

size_t padded(size_t size) { return (size + 3) & ~size_t{3}; }

uint32_t fingerprint_of(std::span<const uint8_t> bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, bytes.data(), static_cast<uInt>(bytes.size()));
  return static_cast<uint32_t>(crc) ^ kFingerprintXor;
}

// HMAC-SHA1 of `message` up to `integrity_offset`, its header's length set as
// if MESSAGE-INTEGRITY were the last attribute (section 15.4).
void integrity_of(std::span<const uint8_t> message, size_t integrity_offset, std::string_view key,
                  uint8_t (&digest)[kStunIntegritySize]) {
  uint8_t header[kStunHeaderSize];
  std::memcpy(header, message.data(), kStunHeaderSize);
  write_u16(header + 2, static_cast<uint16_t>(integrity_offset + kIntegrityAttributeSize - kStunHeaderSize));
  hmac_sha1_ctx context;
  hmac_sha1_set_key(&context, key.size(), reinterpret_cast<const uint8_t*>(key.data()));
  hmac_sha1_update(&context, kStunHeaderSize, header);
  hmac_sha1_update(&context, integrity_offset - kStunHeaderSize, message.data() + kStunHeaderSize);
  hmac_sha1_digest(&context, kStunIntegritySize, digest);
}

// XOR-MAPPED-ADDRESS (section 15.2): the port XORed with the cookie's top
// half, the address with the cookie (IPv6: the cookie and transaction id).
std::array<uint8_t, 16> address_mask(std::span<const uint8_t> header) {
  std::array<uint8_t, 16> mask{};
  std::memcpy(mask.data(), header.data() + 4, 16);  // cookie + transaction id
  return mask;
}

std::optional<TransportAddress> read_xor_address(std::span<const uint8_t> value,
                                                 std::span<const uint8_t> header) {
  if (value.size() < 4) return std::nullopt;
  TransportAddress address;
  if (value[1] == 1 && value.size() == 8) {
    address.family = TransportAddress::Family::kIpv4;
  } else if (value[1] == 2 && value.size() == 20) {
    address.family = TransportAddress::Family::kIpv6;
  } else {
    return std::nullopt;
  }
  address.port = static_cast<uint16_t>(read_u16(value.data() + 2) ^ (kStunMagicCookie >> 16));
  const auto mask = address_mask(header);
  for (size_t i = 0; i < address.address_size(); ++i) address.address[i] = value[4 + i] ^ mask[i];
  return address;
}

// Expected value sizes of the attributes partyline reads; 0 = any.
bool size_fits(uint16_t type, size_t size) {
  using namespace stun_attribute;
  switch (type) {
    case kUsername: return size <= kStunMaxUsername;
    case kMessageIntegrity: return size == kStunIntegritySize;
    case kFingerprint:
    case kPriority: return size == 4;
    case kUseCandidate: return size == 0;
    case kIceControlled:
    case kIceControlling: return size == 8;
    case kErrorCode: return size >= 4 && size <= 4 + 763;
    case kXorMappedAddress: return size == 8 || size == 20;
    default: return true;
  }
}

bool known(uint16_t type) {
  using namespace stun_attribute;
  switch (type) {
    case kMappedAddress: case kUsername: case kMessageIntegrity: case kErrorCode:
    case kUnknownAttributes: case kXorMappedAddress: case kPriority: case kUseCandidate:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string_view to_string(StunClass message_class) {
  switch (message_class) {
    case StunClass::kRequest: return "request";
    case StunClass::kIndication: return "indication";
    case StunClass::kSuccess: return "success response";
    case StunClass::kError: return "error response";
  }
  return "unknown";
}

std::string_view to_string(StunError error) {
  switch (error) {
    case StunError::kTooShort: return "STUN message shorter than its 20-byte header";
    case StunError::kNotStun: return "not a STUN message (leading bits or magic cookie)";
    case StunError::kLengthMismatch: return "STUN length field does not match the datagram";
    case StunError::kLengthNotAligned: return "STUN length is not a multiple of 4";
    case StunError::kAttributePastEnd: return "STUN attribute runs past the message";
    case StunError::kBadAttributeLength: return "STUN attribute has the wrong length";
    case StunError::kBadAttributeValue: return "STUN attribute has an invalid value";
    case StunError::kAttributeAfterFingerprint: return "STUN attribute after FINGERPRINT";
    case StunError::kBadFingerprint: return "STUN FINGERPRINT does not match";
    case StunError::kOutputTooSmall: return "STUN output buffer too small";
  }
  return "unknown STUN error";
}

ParseResult<StunMessage, StunError> parse_stun_message(std::span<const uint8_t> datagram) {
  if (datagram.size() < kStunHeaderSize) return StunError::kTooShort;
  const uint16_t type = read_u16(datagram.data());
  if ((type & 0xC000) != 0 || read_u32(datagram.data() + 4) != kStunMagicCookie) return StunError::kNotStun;
  const size_t length = read_u16(datagram.data() + 2);
  if (length % 4 != 0) return StunError::kLengthNotAligned;
  if (length + kStunHeaderSize != datagram.size()) return StunError::kLengthMismatch;

  StunMessage message;
  // The type's 14 bits interleave the method (M0-M11) and the class (C0, C1).
  message.method = static_cast<uint16_t>((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));
  message.message_class = static_cast<StunClass>(((type >> 4) & 0x1) | ((type >> 7) & 0x2));
  std::memcpy(message.transaction_id.data(), datagram.data() + 8, message.transaction_id.size());
  message.bytes = datagram;

  const std::span<const uint8_t> header = datagram.first(kStunHeaderSize);
  size_t offset = kStunHeaderSize;
  while (offset < datagram.size()) {
    if (datagram.size() - offset < kAttributeHeaderSize) return StunError::kAttributePastEnd;
    const uint16_t attribute = read_u16(datagram.data() + offset);
    const size_t size = read_u16(datagram.data() + offset + 2);
    const size_t value_offset = offset + kAttributeHeaderSize;
    if (datagram.size() - value_offset < padded(size)) return StunError::kAttributePastEnd;
    const std::span<const uint8_t> value = datagram.subspan(value_offset, size);

    using namespace stun_attribute;
    if ((attribute == kFingerprint || !message.has_integrity()) && !size_fits(attribute, size)) {
      return StunError::kBadAttributeLength;
    }
    if (attribute == kFingerprint) {
      if (value_offset + padded(size) != datagram.size()) return StunError::kAttributeAfterFingerprint;
      if (fingerprint_of(datagram.first(offset)) != read_u32(value.data())) return StunError::kBadFingerprint;
      message.has_fingerprint = true;
    } else if (message.has_integrity()) {
      // Section 15.4: only FINGERPRINT may follow MESSAGE-INTEGRITY; others are ignored.
    } else {
      switch (attribute) {
        case kUsername:
          message.username = std::string_view(reinterpret_cast<const char*>(value.data()), value.size());
          break;
        case kMessageIntegrity: message.integrity_offset = offset; break;
        case kPriority: message.priority = read_u32(value.data()); break;
        case kUseCandidate: message.use_candidate = true; break;
        case kIceControlling: message.ice_controlling = read_u64(value.data()); break;
        case kIceControlled: message.ice_controlled = read_u64(value.data()); break;
        case kXorMappedAddress:
          message.xor_mapped_address = read_xor_address(value, header);
          if (!message.xor_mapped_address) return StunError::kBadAttributeValue;
          break;
        case kErrorCode: {
          const unsigned error_class = value[2] & 0x7;
          const unsigned number = value[3];
          if (error_class < 3 || error_class > 6 || number > 99) return StunError::kBadAttributeValue;
          message.error_code = static_cast<uint16_t>(error_class * 100 + number);
          break;
        }
        default:
          if (comprehension_required(attribute) && !known(attribute) && !message.unknown_required) {
            message.unknown_required = attribute;
          }
      }
    }
    offset = value_offset + padded(size);
  }
  return message;
}

bool stun_integrity_matches(const StunMessage& message, std::string_view key) {
  if (!message.has_integrity()) return false;
  uint8_t digest[kStunIntegritySize];
  integrity_of(message.bytes, message.integrity_offset, key, digest);
  const uint8_t* received = message.bytes.data() + message.integrity_offset + kAttributeHeaderSize;
  return memeql_sec(digest, received, kStunIntegritySize) != 0;
}

StunWriter::StunWriter(std::span<uint8_t> buffer, uint16_t method, StunClass message_class,
                       const StunTransactionId& transaction_id)
    : buffer_(buffer) {
  if (buffer.size() < kStunHeaderSize || method > 0xFFF) {
    ok_ = false;
    return;
  }
  const auto cls = static_cast<uint16_t>(message_class);
  const uint16_t type = static_cast<uint16_t>((method & 0x000F) | ((method & 0x0070) << 1) |
                                              ((method & 0x0F80) << 2) | ((cls & 0x1) << 4) |
                                              ((cls & 0x2) << 7));
  write_u16(buffer.data(), type);
  write_u32(buffer.data() + 4, kStunMagicCookie);
  std::memcpy(buffer.data() + 8, transaction_id.data(), transaction_id.size());
  size_ = kStunHeaderSize;
  set_length(size_);
}

void StunWriter::set_length(size_t length) {
  write_u16(buffer_.data() + 2, static_cast<uint16_t>(length - kStunHeaderSize));
}

uint8_t* StunWriter::reserve(uint16_t type, size_t value_size) {
  const size_t total = kAttributeHeaderSize + padded(value_size);
  if (!ok_ || value_size > 0xFFFF || buffer_.size() - size_ < total ||
      size_ + total - kStunHeaderSize > 0xFFFF) {
    ok_ = false;
    return nullptr;
  }
  uint8_t* attribute = buffer_.data() + size_;
  write_u16(attribute, type);
  write_u16(attribute + 2, static_cast<uint16_t>(value_size));
  std::memset(attribute + kAttributeHeaderSize + value_size, 0, padded(value_size) - value_size);
  size_ += total;
  set_length(size_);
  return attribute + kAttributeHeaderSize;
}

void StunWriter::add_bytes(uint16_t type, std::span<const uint8_t> value) {
  if (uint8_t* out = reserve(type, value.size()); out != nullptr && !value.empty()) {
    std::memcpy(out, value.data(), value.size());
  }
}

void StunWriter::add_string(uint16_t type, std::string_view value) {
  add_bytes(type, {reinterpret_cast<const uint8_t*>(value.data()), value.size()});
}

void StunWriter::add_u32(uint16_t type, uint32_t value) {
  if (uint8_t* out = reserve(type, 4)) write_u32(out, value);
}

void StunWriter::add_u64(uint16_t type, uint64_t value) {
  if (uint8_t* out = reserve(type, 8)) write_u64(out, value);
}

void StunWriter::add_xor_mapped_address(const TransportAddress& address) {
  const size_t address_size = address.address_size();
  uint8_t* out = reserve(stun_attribute::kXorMappedAddress, 4 + address_size);
  if (out == nullptr) return;
  out[0] = 0;
  out[1] = static_cast<uint8_t>(address.family);
  write_u16(out + 2, static_cast<uint16_t>(address.port ^ (kStunMagicCookie >> 16)));
  const auto mask = address_mask(buffer_.first(kStunHeaderSize));
  for (size_t i = 0; i < address_size; ++i) out[4 + i] = address.address[i] ^ mask[i];
}

void StunWriter::add_error_code(uint16_t code, std::string_view reason) {
  if (code < 300 || code > 699) {
    ok_ = false;
    return;
  }
  reason = reason.substr(0, kMaxErrorReason);
  uint8_t* out = reserve(stun_attribute::kErrorCode, 4 + reason.size());
  if (out == nullptr) return;
  out[0] = 0;
  out[1] = 0;
  out[2] = static_cast<uint8_t>(code / 100);
  out[3] = static_cast<uint8_t>(code % 100);
  std::memcpy(out + 4, reason.data(), reason.size());
}

void StunWriter::add_unknown_attributes(std::span<const uint16_t> types) {
  uint8_t* out = reserve(stun_attribute::kUnknownAttributes, 2 * types.size());
  if (out == nullptr) return;
  for (size_t i = 0; i < types.size(); ++i) write_u16(out + 2 * i, types[i]);
}

void StunWriter::add_message_integrity(std::string_view key) {
  const size_t integrity_offset = size_;
  uint8_t* out = reserve(stun_attribute::kMessageIntegrity, kStunIntegritySize);
  if (out == nullptr) return;
  uint8_t digest[kStunIntegritySize];
  integrity_of(buffer_.first(size_), integrity_offset, key, digest);
  std::memcpy(out, digest, kStunIntegritySize);
}

void StunWriter::add_fingerprint() {
  const size_t fingerprint_offset = size_;
  uint8_t* out = reserve(stun_attribute::kFingerprint, 4);
  if (out == nullptr) return;
  write_u32(out, fingerprint_of(buffer_.first(fingerprint_offset)));
}

std::optional<IceUsername> split_ice_username(std::string_view username) {
  const size_t colon = username.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  return IceUsername{username.substr(0, colon), username.substr(colon + 1)};
}

}  // namespace partyline::rtp
