// The little of SDP the bridge reads itself: the m-lines of a join's offer
// (it takes exactly one, audio), and from the host's answer the Opus payload
// type and the audio level extension's id. The host parses and answers the
// offer; these only look up lines in text it already accepted.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace audiobridge {

// The media kind of each m-line, in order ("audio", "video", "application").
std::vector<std::string> media_kinds(std::string_view sdp);
// The payload type of opus/48000 in the first m-line, if there is one.
std::optional<int> opus_payload_type(std::string_view sdp);
// The id of header extension `uri` in the first m-line (or the session), 0 when absent.
int extension_id(std::string_view sdp, std::string_view uri);

inline constexpr std::string_view kAudioLevelUri = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

}  // namespace audiobridge
