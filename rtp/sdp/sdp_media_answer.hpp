// How partyline answers one offered m-line: the codec, RTX, header
// extension and direction choice, and the answer's m= section. Shared by the
// first answer (build_answer, sdp_answer.cpp) and the answer to a
// participant's re-offer (answer_reoffer, sdp_reoffer.cpp), so both accept
// exactly the same media. Internal to rtp/: the public API is in
// sdp_answer.hpp and sdp_reoffer.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "rtp/sdp/negotiated.hpp"
#include "rtp/sdp/sdp.hpp"

namespace partyline::rtp::media_answer {

// Ids the offer gives to different URIs on different m-lines: none of them
// is accepted (one BUNDLE transport has one id space, RFC 8843 section 9.1).
std::set<uint16_t> ambiguous_extension_ids(const SessionDescription& offer);

// Decides offered m-line `index`: accepted with a codec (Opus; VP8, else
// constrained-baseline H.264), its RTX, the accepted extensions with the
// offer's ids and our direction, or not accepted with a reason. BUNDLE,
// rtcp-mux and the transport are the caller's to check. `keep`: a codec
// already in use on this m-line; its payload type is chosen again while the
// offer still lists it with the same name and clock rate, so a re-offer
// that reorders its codecs does not change what flows. SSRCs and rids are
// the offer's; local SSRCs are the caller's to assign.
// `video_codecs`: the video codecs taken ("VP8", "H264"), the first the
// offer has winning; empty: VP8, else H264.
NegotiatedMedia negotiate(const SessionDescription& offer, size_t index, const std::set<uint16_t>& ambiguous_ids,
                          bool send_media, const NegotiatedCodec* keep = nullptr,
                          const std::vector<std::string>& video_codecs = {});

// What we declare on every m-line of an answer: one transport for the BUNDLE.
struct LocalTransport {
  std::string ice_ufrag;
  std::string ice_pwd;
  Fingerprint fingerprint;
  DtlsSetup setup = DtlsSetup::kPassive;
  std::vector<IceCandidate> candidates;  // written on the BUNDLE tag only
  bool candidates_complete = false;      // a=end-of-candidates, no trickle option
  // Where the participant's send-side estimate starts (Chromium's
  // x-google-start-bitrate, written in the fmtp of every video codec we
  // answer); 0: the browser's own (300 kbit/s). Not part of the negotiated
  // format: only a hint to the sender.
  uint32_t video_start_bitrate_kbps = 0;
};

// What we send on an m-line: a=msid and a=ssrc (with FID when there is RTX).
struct LocalSender {
  std::string stream_id;
  std::string track_id;
  std::string cname;
  uint32_t ssrc = 0;
  std::optional<uint32_t> rtx_ssrc;
};

// The answer's section for an accepted m-line: `negotiated`'s direction,
// codec (and its RTX, which `offered` must list) and extensions.
MediaDescription accepted_section(const MediaDescription& offered, const NegotiatedMedia& negotiated,
                                  const LocalTransport& transport, bool tag, const std::optional<LocalSender>& sender);

// JSEP 5.3.1: a rejected m-line keeps its kind, protocol, formats and mid,
// with port 0.
MediaDescription rejected_section(const MediaDescription& offered, const std::string& mid,
                                  const LocalTransport& transport);

// "m-line 2 (video, mid "1")", for error messages.
std::string describe(const NegotiatedMedia& media);

}  // namespace partyline::rtp::media_answer
