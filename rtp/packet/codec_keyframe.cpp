#include "rtp/packet/codec_keyframe.hpp"

#include <strings.h>

#include <string>

namespace partyline::rtp {

namespace {
constexpr uint8_t kH264Idr = 5;
constexpr uint8_t kH264Sps = 7;
constexpr uint8_t kH264StapA = 24;
constexpr uint8_t kH264FuA = 28;

bool is_h264_key_nal(uint8_t type) { return type == kH264Idr || type == kH264Sps; }
}  // namespace

namespace {

// Where the VP8 payload header starts after the payload descriptor, or
// nullopt when the packet does not start partition 0 of a frame.
std::optional<size_t> vp8_frame_start(std::span<const uint8_t> payload) {
  if (payload.empty()) return std::nullopt;
  const uint8_t first = payload[0];
  const bool extended = (first & 0x80) != 0;
  const bool start = (first & 0x10) != 0;
  const uint8_t partition = first & 0x07;
  if (!start || partition != 0) return std::nullopt;
  size_t offset = 1;
  if (extended) {
    if (payload.size() < 2) return std::nullopt;
    const uint8_t flags = payload[1];
    offset = 2;
    if (flags & 0x80) {  // I: picture id, 7 or 15 bits
      if (payload.size() <= offset) return std::nullopt;
      offset += (payload[offset] & 0x80) ? 2 : 1;
    }
    if (flags & 0x40) ++offset;            // L: TL0PICIDX
    if (flags & 0x30) ++offset;            // T or K: TID/KEYIDX byte
  }
  if (payload.size() <= offset) return std::nullopt;
  return offset;
}

}  // namespace

bool is_vp8_keyframe_start(std::span<const uint8_t> payload) {
  // VP8 payload header: bit 0 of the first byte is P, 0 for a key frame.
  const std::optional<size_t> frame = vp8_frame_start(payload);
  return frame && (payload[*frame] & 0x01) == 0;
}

std::optional<PictureSize> vp8_keyframe_size(std::span<const uint8_t> payload) {
  const std::optional<size_t> frame = vp8_frame_start(payload);
  constexpr size_t kFrameTag = 3, kStartCode = 3, kSizes = 4;
  if (!frame || (payload[*frame] & 0x01) != 0 || payload.size() < *frame + kFrameTag + kStartCode + kSizes) {
    return std::nullopt;
  }
  const uint8_t* header = payload.data() + *frame + kFrameTag;
  if (header[0] != 0x9d || header[1] != 0x01 || header[2] != 0x2a) return std::nullopt;
  const uint16_t width = static_cast<uint16_t>((header[3] | (header[4] << 8)) & 0x3fff);
  const uint16_t height = static_cast<uint16_t>((header[5] | (header[6] << 8)) & 0x3fff);
  if (width == 0 || height == 0) return std::nullopt;
  return PictureSize{width, height};
}

bool is_h264_keyframe_start(std::span<const uint8_t> payload) {
  if (payload.empty()) return false;
  const uint8_t type = payload[0] & 0x1f;
  if (is_h264_key_nal(type)) return true;
  if (type == kH264StapA) {
    // Aggregated NAL units, each behind a 16-bit size.
    size_t offset = 1;
    while (offset + 2 < payload.size()) {
      const size_t size = (size_t{payload[offset]} << 8) | payload[offset + 1];
      if (size == 0 || offset + 2 + size > payload.size()) return false;
      if (is_h264_key_nal(payload[offset + 2] & 0x1f)) return true;
      offset += 2 + size;
    }
    return false;
  }
  if (type == kH264FuA) {
    return payload.size() >= 2 && (payload[1] & 0x80) != 0 && is_h264_key_nal(payload[1] & 0x1f);
  }
  return false;
}

VideoCodec video_codec(std::string_view codec_name) {
  const std::string name(codec_name);
  if (strcasecmp(name.c_str(), "VP8") == 0) return VideoCodec::kVp8;
  if (strcasecmp(name.c_str(), "H264") == 0) return VideoCodec::kH264;
  return VideoCodec::kOther;
}

bool is_keyframe_start(VideoCodec codec, std::span<const uint8_t> payload) {
  switch (codec) {
    case VideoCodec::kVp8: return is_vp8_keyframe_start(payload);
    case VideoCodec::kH264: return is_h264_keyframe_start(payload);
    case VideoCodec::kOther: break;
  }
  return false;
}

}  // namespace partyline::rtp
