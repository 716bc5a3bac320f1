// Helpers shared by the SDP answerer (sdp_answer.cpp) and the re-offerer
// (sdp_offer.cpp): fmtp lookup, reading senders and transport parameters out
// of a description. Internal to rtp/: the public API is in sdp_answer.hpp and
// sdp_offer.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rtp/sdp/sdp.hpp"
#include "rtp/sdp/sdp_answer.hpp"

namespace partyline::rtp::sdp_common {

bool iequals(std::string_view a, std::string_view b);  // ASCII, case-insensitive
std::string_view trim(std::string_view text);          // strips spaces at both ends

// The value of `key` in an fmtp "k=v;k=v" list.
std::optional<std::string_view> fmtp_parameter(const std::optional<std::string>& fmtp, std::string_view key);

// Whether the m= line lists this payload type.
bool is_offered(const MediaDescription& media, uint8_t payload_type);

// The senders a section declares: primaries, with their RTX SSRC from
// a=ssrc-group:FID.
std::vector<RemoteSsrc> remote_ssrcs(const MediaDescription& media);

// The ICE/DTLS parameters of a section (media level, else session level).
RemoteTransport resolve_transport(const SessionDescription& description, const MediaDescription& media);

// Bundled m-lines that declare no ICE credentials or fingerprint of their
// own use the BUNDLE transport's (`bundle`: the tag m-line's).
void inherit_bundle_transport(std::vector<NegotiatedMedia>& media, const RemoteTransport& bundle);

// Adds the video codecs of `description` whose payload type `codecs` does
// not have yet (NegotiatedSession::numbered_codecs).
void remember_codecs(std::vector<RtpCodec>& codecs, const SessionDescription& description);

// "offer m-line 2 (video, mid \"1\")": how errors name a section of `which`
// description ("offer", "answer").
std::string describe_section(std::string_view which, size_t index, const MediaDescription& section);

bool sends(MediaDirection direction);     // sendrecv or sendonly
bool receives(MediaDirection direction);  // sendrecv or recvonly

}  // namespace partyline::rtp::sdp_common
