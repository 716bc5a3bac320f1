// The SDP side of one loadgen participant, built on partyline's own SDP
// model (rtp/sdp/sdp.hpp): its offer (a publisher sends audio and video with
// a=ssrc lines, a receiver offers recvonly m-lines), reading the server's
// answer (ICE, DTLS role, candidates) and answering the server's offers
// (each m-line mirrored, the streams it announces learned). Pure code.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rtp/result.hpp"
#include "rtp/sdp/sdp.hpp"

namespace partyline::loadgen {

struct OfferSettings {
  bool publish = false;  // sendonly with SSRCs, else recvonly
  bool audio = true;
  bool video = true;
  uint32_t audio_ssrc = 0;
  uint32_t video_ssrc = 0;
  uint32_t video_rtx_ssrc = 0;
  std::string stream_id;  // a=msid stream, and the cname
  uint64_t session_id = 1;
};

struct LocalTransport {
  std::string ice_ufrag;
  std::string ice_pwd;
  std::string fingerprint_algorithm;  // "sha-256"
  std::string fingerprint;
};

// The server's transport, from its answer.
struct RemoteTransportInfo {
  std::string ice_ufrag;
  std::string ice_pwd;
  std::string fingerprint_algorithm;
  std::string fingerprint;
  rtp::DtlsSetup setup = rtp::DtlsSetup::kActpass;  // as the server's SDP says
  bool we_are_dtls_client = true;  // the role we take (an answer's a=setup:passive)
  std::vector<std::string> candidates;  // "candidate:..."
  bool end_of_candidates = false;
};

// A stream the server says it sends us (a sendonly m-line of its offer).
struct AnnouncedStream {
  std::string mid;
  std::string stream_id;  // a=msid stream: the publisher's session
  rtp::MediaKind kind = rtp::MediaKind::kAudio;
  uint32_t ssrc = 0;
  std::optional<uint32_t> rtx_ssrc;
};

struct ServerOfferAnswer {
  std::string answer_sdp;
  RemoteTransportInfo remote;            // the server's ICE/DTLS parameters and candidates in the offer
  std::vector<AnnouncedStream> streams;  // every stream the offer sends, not only new ones
  std::bitset<128> rtx_payload_types;    // payload types that carry RTX
};

class SdpNegotiator {
 public:
  SdpNegotiator(OfferSettings settings, LocalTransport transport);

  // Our first offer, with `candidates` ("candidate:..." lines) on the
  // first m-line when not trickling, and a=end-of-candidates if `complete`.
  std::string create_offer(const std::vector<std::string>& candidates = {}, bool complete = false);
  // The server's answer to it. Errors name what is missing.
  Result<RemoteTransportInfo> accept_answer(std::string_view answer_sdp);
  // Answers a server offer: every m-line mirrored (sendonly -> recvonly,
  // the offered codecs, payload types and extension ids), in one BUNDLE,
  // our ICE/DTLS parameters unchanged, our own m-lines keeping their SSRCs.
  // The server's offer may also come first (a Janus subscription): we then
  // take the DTLS client role, unless the offer says a=setup:active. `candidates` and `complete` as for create_offer.
  Result<ServerOfferAnswer> answer_offer(std::string_view offer_sdp, const std::vector<std::string>& candidates = {},
                                         bool complete = false);

  bool we_are_dtls_client() const { return we_are_dtls_client_; }

 private:
  rtp::MediaDescription local_section(rtp::MediaKind kind, const std::string& mid) const;
  void set_transport(rtp::MediaDescription& section, rtp::DtlsSetup setup) const;

  OfferSettings settings_;
  LocalTransport transport_;
  rtp::SessionDescription offer_;  // our first offer: the SSRCs of our own m-lines
  uint64_t version_ = 1;
  bool we_are_dtls_client_ = true;
};

}  // namespace partyline::loadgen
