// AnsweredStream: one m-line of a PeerConnection whose answer sends media
// back to the participant on the server's own SSRCs (the echo test, plugin
// media): what the participant sends on it and what the server sends. Built
// once from the answer; the media handlers work from these, not from SDP.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "rtp/packet/rtp_header_extensions.hpp"
#include "rtp/sdp/sdp_answer.hpp"

namespace partyline::core {

struct AnsweredStream {
  size_t mline = 0;  // the m-line's index in the offer
  bool video = false;
  std::vector<uint8_t> payload_types;   // media payload types of this m-line
  std::optional<uint8_t> rtx_payload_type;
  uint32_t local_ssrc = 0;              // what the server sends on
  std::optional<uint32_t> local_rtx_ssrc;
  std::optional<uint32_t> remote_ssrc;  // from the offer; learned by payload type otherwise
  std::optional<uint32_t> remote_rtx_ssrc;
  // Header extension ids negotiated for this m-line map to themselves; every
  // other id is dropped from what the server sends, so the receiver never
  // meets an extension it did not agree to (or one whose id means something
  // else).
  rtp::ExtensionIdMap extension_ids{};
};

// One per accepted m-line of `answer` that has a codec and a server SSRC,
// in m-line order.
std::vector<AnsweredStream> answered_streams(const rtp::Answer& answer);

}  // namespace partyline::core
