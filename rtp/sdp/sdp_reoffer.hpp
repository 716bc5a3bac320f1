// The answer to a participant's re-offer (its `update` with an offer,
// docs/protocol.md "Client offers"; JSEP RFC 8829 section 5.3.2): the
// participant adds, stops or changes what it publishes on the session the
// last round fixed.
//
//   - Every m-line of the session stays, in order, with its kind and mid;
//     new m-lines may only be appended (400 otherwise, naming the m-line).
//   - One transport: BUNDLE and rtcp-mux stay (415); the ICE credentials
//     stay (a change is an ICE restart: 501); the fingerprint stays and
//     a=setup must let us keep our DTLS role (400). The answer keeps our ICE
//     credentials, fingerprint and role, and the o= session id (version + 1).
//   - The participant's own m-lines, and appended ones, are answered as the
//     first answer does (the same codec, RTX and extension choice), keeping
//     the payload type already in use: recvonly while the participant sends,
//     inactive once it stops; port 0 rejects an m-line for good.
//   - A server m-line keeps what the server sends on it: sendonly when it
//     carries a stream and the participant still receives, else inactive.
//     The server never receives there, even if the participant now sends on
//     it (a browser's addTrack may reuse a receiving transceiver).
#pragma once

#include <string>
#include <vector>

#include "rtp/result.hpp"
#include "rtp/sdp/negotiated.hpp"
#include "rtp/sdp/sdp.hpp"

namespace partyline::rtp {

struct ReofferOptions {
  // Our candidates known now ("candidate:..." strings): on the BUNDLE tag.
  std::vector<std::string> candidates;
  bool candidates_complete = false;  // add a=end-of-candidates
  // x-google-start-bitrate on every video codec, as in the first answer (a
  // changed value would restart the participant's estimate); 0: none.
  uint32_t video_start_bitrate_kbps = 0;
  std::vector<std::string> video_codecs = {};  // AnswerOptions::video_codecs, for new m-lines
};

struct ReofferAnswer {
  std::string sdp;
  SessionDescription description;  // what sdp was written from
  NegotiatedSession session;       // the state once the answer is sent
};

// Errors: 400 for an m-line removed, reordered or of another kind, a mid
// changed or repeated, missing ICE credentials, a changed fingerprint or an
// a=setup that would flip our DTLS role; 415 without BUNDLE or rtcp-mux on
// an m-line we accept, or with no m-line left to carry the transport; 400
// when a server m-line no longer offers the codec the server sends there;
// 501 for an ICE restart; 500 for a session or options that do not hold.
Result<ReofferAnswer> answer_reoffer(const NegotiatedSession& session, const SessionDescription& offer,
                                     const ReofferOptions& options);

}  // namespace partyline::rtp
