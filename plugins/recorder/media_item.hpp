// What travels from the media thread to the writer thread, in order: a
// line's stream announcements, its packets and its removals, each in one
// fixed-size slot of the handle's ring (no allocation on the media thread).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "time.hpp"

namespace recorder {

// The largest RTP packet a slot holds; larger ones are dropped (counted).
// Line packets fit an Ethernet MTU.
constexpr size_t kMaxItemBytes = 1500;

enum class ItemKind : uint8_t { kPacket, kStreamAdded, kStreamRemoved };

struct MediaItem {
  ItemKind kind = ItemKind::kPacket;
  uint32_t session = 0;  // which recording of the handle it belongs to
  uint32_t stream = 0;   // the host's stream number
  uint16_t length = 0;   // of data
  Micros arrival{0};
  std::array<uint8_t, kMaxItemBytes> data;  // left uninitialised: written before read
};

// A stream as the host announced it (line_stream_added), in owning form.
struct StreamInfo {
  uint32_t stream = 0;
  bool video = false;
  std::string codec;  // "opus", "VP8", "H264"
  uint32_t clock_rate = 0;
  uint8_t payload_type = 0;
  std::string publisher;
  std::string publisher_name;
};

// The same, as views: what the media thread has during its callback.
struct StreamAnnouncement {
  bool video = false;
  std::string_view codec;
  uint32_t clock_rate = 0;
  uint8_t payload_type = 0;
  std::string_view publisher;
  std::string_view publisher_name;
};

// Packs an announcement into an item's data (strings cut at 255 bytes);
// returns the length used.
uint16_t encode_announcement(const StreamAnnouncement& announcement, std::span<uint8_t, kMaxItemBytes> out);
// nullopt when `data` is not one encode_announcement wrote.
std::optional<StreamInfo> decode_announcement(uint32_t stream, std::span<const uint8_t> data);

}  // namespace recorder
