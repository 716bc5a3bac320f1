#include "rtp/packet/rtp_header_extensions.hpp"

#include <algorithm>

#include "rtp/packet/rtp_packet.hpp"

namespace partyline::rtp {

namespace {

constexpr uint8_t kOneByteStopId = 15;
constexpr uint8_t kOneByteMaxId = 14;
constexpr size_t kOneByteMaxLength = 16;
constexpr size_t kTwoByteMaxLength = 255;

// Where one element sits inside the block: header byte(s) then value.
struct ElementLocation {
  size_t header_offset = 0;
  size_t value_offset = 0;
  size_t value_size = 0;
};

uint8_t element_id(ExtensionForm form, uint8_t first_byte) {
  return form == ExtensionForm::kOneByte ? static_cast<uint8_t>(first_byte >> 4) : first_byte;
}

// The shared walker behind the reader and the rewriter: finds the next
// element starting at `offset`, skipping padding. Returns false at the end.
bool next_element(ExtensionForm form, std::span<const uint8_t> data, size_t& offset,
                  ElementLocation& location, HeaderExtensionError& error) {
  while (offset < data.size()) {
    const uint8_t first = data[offset];
    // Id 0 is a one-byte padding element in both forms. In the one-byte form
    // its length nibble is ignored, as libwebrtc does, so a sender's stray
    // non-zero nibble cannot swallow the elements behind it.
    if (element_id(form, first) == 0) {
      ++offset;
      continue;
    }
    location.header_offset = offset;
    if (form == ExtensionForm::kOneByte) {
      if ((first >> 4) == kOneByteStopId) {
        offset = data.size();
        return false;
      }
      location.value_offset = offset + 1;
      location.value_size = (first & 0x0F) + 1u;
    } else {
      if (data.size() - offset < 2) {
        error = HeaderExtensionError::kTwoByteHeaderPastEnd;
        return false;
      }
      location.value_offset = offset + 2;
      location.value_size = data[offset + 1];
    }
    if (data.size() - location.value_offset < location.value_size) {
      error = HeaderExtensionError::kElementPastEnd;
      return false;
    }
    offset = location.value_offset + location.value_size;
    return true;
  }
  return false;
}

}  // namespace

ExtensionForm extension_form(uint16_t profile) {
  if (profile == kOneByteExtensionProfile) return ExtensionForm::kOneByte;
  if ((profile & 0xFFF0) == kTwoByteExtensionProfile) return ExtensionForm::kTwoByte;
  return ExtensionForm::kUnknown;
}

std::string_view to_string(HeaderExtensionError error) {
  switch (error) {
    case HeaderExtensionError::kNone: return "rtp extension: no error";
    case HeaderExtensionError::kUnknownProfile:
      return "rtp extension: profile is neither 0xBEDE nor 0x100X";
    case HeaderExtensionError::kTwoByteHeaderPastEnd:
      return "rtp extension: two-byte element length byte past the end";
    case HeaderExtensionError::kElementPastEnd:
      return "rtp extension: element value runs past the end of the extension";
    case HeaderExtensionError::kInvalidId: return "rtp extension: id not valid for this form";
    case HeaderExtensionError::kInvalidLength:
      return "rtp extension: value length not encodable in this form";
    case HeaderExtensionError::kOutputTooSmall: return "rtp extension: output buffer too small";
    case HeaderExtensionError::kMalformedPacket: return "rtp extension: malformed RTP packet";
  }
  return "rtp extension: unknown error";
}

HeaderExtensionReader::HeaderExtensionReader(uint16_t profile, std::span<const uint8_t> data)
    : form_(extension_form(profile)), data_(data) {
  if (form_ == ExtensionForm::kUnknown) error_ = HeaderExtensionError::kUnknownProfile;
}

bool HeaderExtensionReader::next(HeaderExtensionElement& element) {
  if (error_ != HeaderExtensionError::kNone) return false;
  ElementLocation location;
  if (!next_element(form_, data_, offset_, location, error_)) return false;
  element.id = element_id(form_, data_[location.header_offset]);
  element.value = data_.subspan(location.value_offset, location.value_size);
  return true;
}

HeaderExtensionError validate_header_extensions(uint16_t profile,
                                                std::span<const uint8_t> data) {
  HeaderExtensionReader reader(profile, data);
  HeaderExtensionElement element;
  while (reader.next(element)) {
  }
  return reader.error();
}

std::optional<std::span<const uint8_t>> find_header_extension(uint16_t profile,
                                                              std::span<const uint8_t> data,
                                                              uint8_t id) {
  HeaderExtensionReader reader(profile, data);
  HeaderExtensionElement element;
  while (reader.next(element)) {
    if (element.id == id) return element.value;
  }
  return std::nullopt;
}

HeaderExtensionBuilder::HeaderExtensionBuilder(ExtensionForm form, std::span<uint8_t> out)
    : form_(form), out_(out) {}

uint16_t HeaderExtensionBuilder::profile() const {
  return form_ == ExtensionForm::kOneByte ? kOneByteExtensionProfile : kTwoByteExtensionProfile;
}

HeaderExtensionError HeaderExtensionBuilder::add(uint8_t id, std::span<const uint8_t> value) {
  size_t header_size = 0;
  if (form_ == ExtensionForm::kOneByte) {
    if (id < 1 || id > kOneByteMaxId) return HeaderExtensionError::kInvalidId;
    if (value.empty() || value.size() > kOneByteMaxLength) {
      return HeaderExtensionError::kInvalidLength;
    }
    header_size = 1;
  } else if (form_ == ExtensionForm::kTwoByte) {
    if (id == 0) return HeaderExtensionError::kInvalidId;
    if (value.size() > kTwoByteMaxLength) return HeaderExtensionError::kInvalidLength;
    header_size = 2;
  } else {
    return HeaderExtensionError::kUnknownProfile;
  }
  if (out_.size() - size_ < header_size + value.size()) {
    return HeaderExtensionError::kOutputTooSmall;
  }
  if (header_size == 1) {
    out_[size_++] = static_cast<uint8_t>((id << 4) | (value.size() - 1));
  } else {
    out_[size_++] = id;
    out_[size_++] = static_cast<uint8_t>(value.size());
  }
  std::copy(value.begin(), value.end(), out_.begin() + static_cast<ptrdiff_t>(size_));
  size_ += value.size();
  return HeaderExtensionError::kNone;
}

std::span<const uint8_t> HeaderExtensionBuilder::data() {
  const size_t padded = (size_ + 3) / 4 * 4;
  if (padded > out_.size()) return {};
  std::fill(out_.begin() + static_cast<ptrdiff_t>(size_),
            out_.begin() + static_cast<ptrdiff_t>(padded), uint8_t{0});
  return out_.first(padded);
}

HeaderExtensionError rewrite_extension_ids(uint16_t profile, std::span<uint8_t> data,
                                           const ExtensionIdMap& map) {
  const ExtensionForm form = extension_form(profile);
  if (form == ExtensionForm::kUnknown) return HeaderExtensionError::kUnknownProfile;
  HeaderExtensionError error = HeaderExtensionError::kNone;
  ElementLocation location;

  // Pass 1: validate the block and every target id, so errors change nothing.
  size_t offset = 0;
  while (next_element(form, data, offset, location, error)) {
    const uint8_t target = map[element_id(form, data[location.header_offset])];
    if (form == ExtensionForm::kOneByte && target > kOneByteMaxId) {
      return HeaderExtensionError::kInvalidId;
    }
  }
  if (error != HeaderExtensionError::kNone) return error;

  // Pass 2: rewrite or blank out each element.
  offset = 0;
  while (next_element(form, data, offset, location, error)) {
    uint8_t& first = data[location.header_offset];
    const uint8_t target = map[element_id(form, first)];
    if (target == 0) {
      std::fill(data.begin() + static_cast<ptrdiff_t>(location.header_offset),
                data.begin() + static_cast<ptrdiff_t>(location.value_offset + location.value_size),
                uint8_t{0});
    } else if (form == ExtensionForm::kOneByte) {
      first = static_cast<uint8_t>((target << 4) | (first & 0x0F));
    } else {
      first = target;
    }
  }
  return HeaderExtensionError::kNone;
}

HeaderExtensionError rewrite_packet_extension_ids(std::span<uint8_t> packet,
                                                  const ExtensionIdMap& map) {
  const auto view = parse_rtp_packet(packet);
  if (!view) return HeaderExtensionError::kMalformedPacket;
  if (!view->has_extension) return HeaderExtensionError::kNone;
  return rewrite_extension_ids(
      view->extension_profile,
      packet.subspan(view->extension_data_offset(), view->extension_data.size()), map);
}

}  // namespace partyline::rtp
