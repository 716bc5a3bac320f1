// Whether an RTP payload starts a keyframe, for the codecs partyline
// forwards: the SFU needs it to know its keyframe requests were answered
// (rtp/forward/keyframe_requester.hpp). Reads only the payload descriptor and the
// first bytes of the codec header; never the whole frame.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace partyline::rtp {

// VP8 (RFC 7741): the first packet of a key frame (S=1, partition 0, P=0).
bool is_vp8_keyframe_start(std::span<const uint8_t> payload);
// The picture size a VP8 key frame's first packet declares (RFC 6386 9.1:
// after the 3-byte frame tag, the start code 9d 01 2a, then 14-bit width
// and height, little-endian); nullopt for anything else. How the SFU tells
// simulcast layers apart by size.
struct PictureSize {
  uint16_t width = 0;
  uint16_t height = 0;
  bool operator==(const PictureSize&) const = default;
};
std::optional<PictureSize> vp8_keyframe_size(std::span<const uint8_t> payload);
// H.264 (RFC 6184): an IDR slice or SPS, alone, first in a STAP-A, or as the
// start of an FU-A.
bool is_h264_keyframe_start(std::span<const uint8_t> payload);
enum class VideoCodec : uint8_t { kOther, kVp8, kH264 };
// From an SDP codec name ("VP8", "H264", any case): resolved once per stream.
VideoCodec video_codec(std::string_view codec_name);
// False for kOther.
bool is_keyframe_start(VideoCodec codec, std::span<const uint8_t> payload);

}  // namespace partyline::rtp
