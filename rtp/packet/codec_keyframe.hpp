// Whether an RTP payload starts a keyframe, for the codecs partyline
// forwards: the SFU needs it to know its keyframe requests were answered
// (rtp/forward/keyframe_requester.hpp). Reads only the payload descriptor and the
// first bytes of the codec header; never the whole frame.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace partyline::rtp {

// VP8 (RFC 7741): the first packet of a key frame (S=1, partition 0, P=0).
bool is_vp8_keyframe_start(std::span<const uint8_t> payload);
// H.264 (RFC 6184): an IDR slice or SPS, alone, first in a STAP-A, or as the
// start of an FU-A.
bool is_h264_keyframe_start(std::span<const uint8_t> payload);
enum class VideoCodec : uint8_t { kOther, kVp8, kH264 };
// From an SDP codec name ("VP8", "H264", any case): resolved once per stream.
VideoCodec video_codec(std::string_view codec_name);
// False for kOther.
bool is_keyframe_start(VideoCodec codec, std::span<const uint8_t> payload);

}  // namespace partyline::rtp
