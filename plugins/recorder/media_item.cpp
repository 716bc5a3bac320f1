#include "media_item.hpp"

#include <algorithm>
#include <cstring>

namespace recorder {

namespace {

// Layout: video(1) payload_type(1) clock_rate(4, big-endian), then three
// strings, each a length byte and its bytes: codec, publisher, name.
constexpr size_t kFixed = 6;
constexpr size_t kMaxString = 255;

size_t put_string(std::string_view text, uint8_t* out) {
  const size_t length = std::min(text.size(), kMaxString);
  out[0] = static_cast<uint8_t>(length);
  std::memcpy(out + 1, text.data(), length);
  return 1 + length;
}

}  // namespace

uint16_t encode_announcement(const StreamAnnouncement& announcement, std::span<uint8_t, kMaxItemBytes> out) {
  static_assert(kFixed + 3 * (1 + kMaxString) <= kMaxItemBytes, "an announcement fits a slot");
  uint8_t* data = out.data();
  data[0] = announcement.video ? 1 : 0;
  data[1] = announcement.payload_type;
  for (int i = 0; i < 4; ++i) data[2 + i] = static_cast<uint8_t>(announcement.clock_rate >> (24 - 8 * i));
  size_t length = kFixed;
  length += put_string(announcement.codec, data + length);
  length += put_string(announcement.publisher, data + length);
  length += put_string(announcement.publisher_name, data + length);
  return static_cast<uint16_t>(length);
}

std::optional<StreamInfo> decode_announcement(uint32_t stream, std::span<const uint8_t> data) {
  if (data.size() < kFixed) return std::nullopt;
  StreamInfo info;
  info.stream = stream;
  info.video = data[0] != 0;
  info.payload_type = data[1];
  for (int i = 0; i < 4; ++i) info.clock_rate = info.clock_rate << 8 | data[2 + i];
  size_t offset = kFixed;
  for (std::string* text : {&info.codec, &info.publisher, &info.publisher_name}) {
    if (offset >= data.size() || offset + 1 + data[offset] > data.size()) return std::nullopt;
    text->assign(reinterpret_cast<const char*>(data.data() + offset + 1), data[offset]);
    offset += 1 + data[offset];
  }
  if (offset != data.size() || info.clock_rate == 0) return std::nullopt;
  return info;
}

}  // namespace recorder
