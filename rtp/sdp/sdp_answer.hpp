// Builds partyline's SDP answer to a client's offer (JSEP answerer), and the
// per-m-line summary the media code works from.
//
// What partyline accepts: BUNDLE + rtcp-mux (415 otherwise); audio Opus
// 48000/2; video VP8, else H.264 constrained baseline with
// packetization-mode=1; RTX for the chosen codec; rtcp-fb nack, nack pli,
// ccm fir; header extensions sdes:mid, ssrc-audio-level, abs-send-time,
// video-orientation. Data channel m-lines are rejected (port 0). Simulcast is
// not accepted yet: the answer has no a=simulcast, so the offerer sends only
// its first encoding (the offered rids are still reported).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "rtp/sdp/ice_candidate.hpp"
#include "rtp/result.hpp"
#include "rtp/sdp/negotiated.hpp"
#include "rtp/sdp/sdp.hpp"

namespace partyline::rtp {

struct AnswerOptions {
  std::string ice_ufrag;
  std::string ice_pwd;
  Fingerprint fingerprint;  // {"sha-256", "AB:CD:..."}: our DTLS certificate
  std::string cname;
  std::string stream_id;  // for a=msid:STREAM TRACK
  // Called for each SSRC we send with; results that are 0 or already used
  // (by us or by the offer) are drawn again.
  std::function<uint32_t()> generate_ssrc;
  // Our candidates ("candidate:..." strings); empty when they are trickled.
  std::vector<std::string> candidates;
  bool candidates_complete = false;  // add a=end-of-candidates
  // Whether we send media back on accepted m-lines (true for the echo test):
  // the answer direction then mirrors the offer's.
  bool send_media = true;
  uint64_t session_id = 1;  // o= session id of our SDP
  // x-google-start-bitrate on every video codec (media_answer::LocalTransport); 0: none.
  uint32_t video_start_bitrate_kbps = 0;
  // The video codecs a publisher's offer may be answered in, the first it
  // has winning (media.video_codecs); empty: VP8, else H264.
  std::vector<std::string> video_codecs = {};
  // a=ice-lite at session level: the server is an ICE-lite agent (single-port
  // mode), so the participant's agent controls and nominates.
  bool ice_lite = false;
};

struct Answer {
  std::string sdp;
  SessionDescription description;  // what sdp was written from
  DtlsRole dtls_role = DtlsRole::kServer;
  std::string bundle_mid;  // our BUNDLE tag: the first accepted m-line
  // The transport the whole BUNDLE uses: the remote parameters of the
  // BUNDLE-tag m-line. The ICE/DTLS layer should use these.
  RemoteTransport remote_transport;
  std::vector<NegotiatedMedia> media;  // one per offered m-line, in order
};

// Errors: 400 when the offer lacks ICE credentials or a fingerprint (or is
// not an offer partyline can read), 415 when it lacks BUNDLE/rtcp-mux or has
// no acceptable m-line; the message names what is missing and where.
Result<Answer> build_answer(const SessionDescription& offer, const AnswerOptions& options);

}  // namespace partyline::rtp
