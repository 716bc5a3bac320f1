// The server's first offer to a participant, when the server offers first
// (docs/protocol.md, `media_offer`): a client that can only answer (seed
// 003's callee gets the call's offer in its incoming_call) still publishes
// and receives through the SFU.
//
// One m-line per requested kind, in order, each sendrecv: the participant
// publishes on it (a browser's addTrack transceivers take these m-lines,
// JSEP RFC 8829 section 5.10) and the server sends one stream of that kind
// on it, with an SSRC and a=msid chosen now: the m-line's slot carries that
// reserved OutgoingStream, so whichever stream the server later forwards
// there needs no new offer (a paired session: PeerConnection::pair_streams).
// Codecs and extensions are the server's defaults (sdp_server_media.hpp);
// ICE and DTLS as in our answers, with a=setup:actpass.
// apply_first_answer() checks the participant's answer and starts the
// session; the answer's a=setup decides our DTLS role.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "rtp/result.hpp"
#include "rtp/sdp/negotiated.hpp"
#include "rtp/sdp/sdp.hpp"
#include "rtp/sdp/sdp_offer.hpp"

namespace partyline::rtp {

struct FirstOfferOptions {
  std::string ice_ufrag;
  std::string ice_pwd;
  Fingerprint fingerprint;  // our DTLS certificate's
  std::string cname;
  std::string stream_id;  // a=msid stream of what the server sends
  std::vector<MediaKind> kinds;  // one m-line each (audio or video), in order
  // Draws the SSRCs the server sends with (0 and repeats are drawn again).
  std::function<uint32_t()> generate_ssrc;
  std::vector<std::string> candidates;  // ours ("candidate:..."), on the first m-line
  bool candidates_complete = false;     // add a=end-of-candidates
  uint64_t session_id = 1;              // o= session id
  bool ice_lite = false;                // a=ice-lite, as AnswerOptions::ice_lite
};

// Errors (500): no kinds, a kind other than audio or video, more than 16
// m-lines, an SSRC generator that repeats itself, an unreadable candidate.
Result<UpdateOffer> build_first_offer(const FirstOfferOptions& options);

// Checks the answer to build_first_offer()'s offer as apply_update_answer()
// checks one to an update (400 naming the m-line, 415 without BUNDLE or
// rtcp-mux), and fixes the transport: 400 without ICE credentials or a
// fingerprint, or with an a=setup other than active or passive. An m-line
// the participant does not receive on (answered sendonly or inactive)
// drops its reserved stream.
Result<NegotiatedSession> apply_first_answer(const UpdateOffer& offer, const SessionDescription& answer);

}  // namespace partyline::rtp
