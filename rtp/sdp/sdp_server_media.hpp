// What the server writes into an m-line of its own offers: default codecs
// and header extensions when nothing in the session numbers them yet, and
// the a=msid / a=ssrc lines of a stream it sends. Shared by
// build_update_offer() (sdp_offer.hpp) and build_first_offer()
// (sdp_first_offer.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "rtp/result.hpp"
#include "rtp/sdp/negotiated.hpp"
#include "rtp/sdp/sdp.hpp"

namespace partyline::rtp::server_media {

// Opus 111, or VP8 96 + RTX 97, when those numbers are not in `used` (one
// BUNDLE transport should not give one payload type two meanings); else the
// first free dynamic types. Adds what it takes to `used`. 500 when none is free.
Status add_default_codecs(MediaDescription& section, std::set<uint8_t>& used);

// The extensions build_answer() accepts for the section's kind. One BUNDLE
// transport has one extension id space (RFC 8843 section 9.1): a URI in
// `known` keeps its id, a new URI gets an id nobody in `known` uses (and is
// added to it); a URI with no one-byte id left is not offered.
void add_default_extmaps(MediaDescription& section, std::vector<std::pair<uint16_t, std::string>>& known);

// Whether `codec` (an m-line's) is `wanted`: same name and clock rate, and
// for H.264 the same packetization mode and profile (the level may differ:
// a decoder of a profile takes any level its fmtp allows).
bool carries(const StreamCodec& wanted, const RtpCodec& codec);
// The fmtp a server offer writes for a publisher's codec: its parameters
// without the hints addressed to the publisher's sender (x-google-*).
std::optional<std::string> offered_fmtp(const std::optional<std::string>& fmtp);

// The stream's a=msid, a=ssrc cname lines and, when the section has RTX
// and the stream an RTX SSRC, a=ssrc-group:FID; clears any earlier ones.
// Nothing for nullopt. The direction is the caller's.
void write_sender(MediaDescription& section, const std::optional<OutgoingStream>& stream);

}  // namespace partyline::rtp::server_media
