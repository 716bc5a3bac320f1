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
#include "rtp/sdp.hpp"
#include "rtp/sdp_answer.hpp"

namespace partyline::rtp {

// A stream the server sends to this participant: another occupant's track.
struct OutgoingStream {
  MediaKind kind = MediaKind::kAudio;  // audio or video
  std::string stream_id;  // a=msid stream: the publisher's session
  std::string track_id;   // a=msid track; (stream_id, track_id) names the stream
  uint32_t ssrc = 0;
  std::optional<uint32_t> rtx_ssrc;  // declared only if the m-line has RTX
  std::string cname;
  bool operator==(const OutgoingStream&) const = default;
};

// Who created an m-line: the participant's own offer, or a server offer.
enum class MediaOrigin { kParticipant, kServer };

// One m-line of the session and what the server does with it.
struct MediaSlot {
  std::string mid;
  MediaKind kind = MediaKind::kAudio;
  MediaOrigin origin = MediaOrigin::kParticipant;
  bool rejected = false;  // port 0: kept in place, never used again
  std::optional<OutgoingStream> stream;  // what the server sends on it
  bool operator==(const MediaSlot&) const = default;
};

// What the last completed offer/answer round fixed.
struct NegotiatedSession {
  SessionDescription local;   // our last description (answer or offer)
  SessionDescription remote;  // the participant's last description
  std::vector<MediaSlot> slots;  // one per m-line, in order
  // One per m-line: codec and RTX payload types, header extension ids and
  // SSRCs as negotiated. Forwarding maps a publisher's packets onto these:
  // when the publisher's own NegotiatedMedia numbers a codec or an extension
  // URI differently (another browser, or defaults chosen here), the SFU must
  // rewrite the payload type and extension ids per subscriber, and drop
  // extensions the subscriber did not negotiate.
  std::vector<NegotiatedMedia> media;
  DtlsRole dtls_role = DtlsRole::kServer;  // kept for the session's lifetime
  std::string bundle_mid;                  // our BUNDLE tag
  RemoteTransport remote_transport;        // ICE/DTLS of the participant
};

// The state after the first round, answered by build_answer(): every
// m-line is the participant's. Errors (500) if `answer` does not fit `offer`.
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
