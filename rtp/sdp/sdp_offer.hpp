// Server-generated SDP offers for SFU renegotiation (JSEP RFC 8829 section
// 5.2.2, BUNDLE RFC 8843), and the check of the participant's answer.
//
// A participant has one PeerConnection with the server. Its first offer (its
// own published tracks) is answered by build_answer(); start_session() then
// records what that round fixed. Whenever the set of streams the server
// forwards to the participant changes, build_update_offer() writes a new
// offer from the last negotiated state and the full list of wanted streams:
//   - every existing m-line stays, in order, with its mid;
//   - a stream already sent keeps its m-line; a stream no longer wanted
//     leaves its m-line a=inactive (still bundled, port non-zero, so it can
//     be reused without an ICE/DTLS change);
//   - a new stream takes the first m-line of its kind that the server added
//     and that was already inactive before this offer (never one of the
//     participant's own m-lines, never a rejected one), else a new sendonly
//     m-line is appended;
//   - payload types and header extension ids are the ones the session
//     already uses (the participant's numbering), so packets from a
//     publisher using the same numbering need no rewriting.
// apply_update_answer() validates the answer and gives the next state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rtp/result.hpp"
#include "rtp/sdp/sdp.hpp"
#include "rtp/sdp/negotiated.hpp"
#include "rtp/sdp/sdp_answer.hpp"

namespace partyline::rtp {

// The state after the first round, answered by build_answer(): every
// m-line is the participant's. An m-line the answer sends on (a paired
// session's: AnswerOptions::send_media) carries that sender as its slot's
// stream. Errors (500) if `answer` does not fit `offer`.
Result<NegotiatedSession> start_session(const SessionDescription& offer, const Answer& answer);

// The m-line assignment alone: `current` slots plus the full list of streams
// to send -> the slots of the next offer (existing ones first, appended
// ones after, with new mids). Error 500 for an invalid stream list (kind not
// audio/video, empty ids or cname, SSRC 0, duplicate stream or SSRC).
Result<std::vector<MediaSlot>> plan_slots(const std::vector<MediaSlot>& current,
                                          const std::vector<OutgoingStream>& streams);

struct UpdateOffer {
  std::string sdp;
  SessionDescription description;  // what sdp was written from
  std::vector<MediaSlot> slots;    // the plan, one per m-line
};

// Our next offer: o= version + 1, same ICE credentials, fingerprint and
// candidates, a=setup:actpass (the answerer keeps its DTLS role; aiortc 1.4
// refuses any other value in an offer). Errors: those of plan_slots(), 409
// when an outgoing SSRC is one the participant sends with.
Result<UpdateOffer> build_update_offer(const NegotiatedSession& session, const std::vector<OutgoingStream>& streams);

// Checks the participant's answer to `offer` and returns the new state.
// Errors name the m-line: 400 when the answer does not match the offer
// (m-line count, kind or mid changed, a payload type or extension id that
// was not offered, a direction the offer does not allow, a rejected m-line
// revived, ICE credentials or fingerprint changed, a DTLS role flip), 415
// when it drops BUNDLE or rtcp-mux, or rejects the BUNDLE tag.
Result<NegotiatedSession> apply_update_answer(const NegotiatedSession& session, const UpdateOffer& offer,
                                              const SessionDescription& answer);

}  // namespace partyline::rtp
