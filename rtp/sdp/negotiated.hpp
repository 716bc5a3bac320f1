// The negotiated model: what an offer/answer round fixed for each m-line of
// a participant's session, and what the server sends on it. build_answer()
// (sdp_answer.hpp) produces the first round's NegotiatedMedia,
// start_session() / apply_update_answer() (sdp_offer.hpp) the session; the
// media code (core/media/, rtp/forward/) works only from these types, never
// from SDP text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rtp/sdp/ice_candidate.hpp"
#include "rtp/sdp/sdp.hpp"

namespace partyline::rtp {

// Which side of the DTLS handshake we are, from a=setup.
enum class DtlsRole { kServer, kClient };

struct NegotiatedCodec {
  uint8_t payload_type = 0;
  std::string name;  // as the offer spells it ("opus", "VP8", "H264")
  uint32_t clock_rate = 0;
  uint16_t channels = 0;
  std::optional<std::string> fmtp;  // what the answer declares
  std::vector<std::string> rtcp_feedback;
};

struct RemoteSsrc {  // a sender in the offer
  uint32_t ssrc = 0;
  std::optional<uint32_t> rtx_ssrc;  // from a=ssrc-group:FID
};

// The remote ICE/DTLS parameters of an m-line (media level, else session).
struct RemoteTransport {
  std::string ice_ufrag;
  std::string ice_pwd;
  Fingerprint fingerprint;  // sha-256 if offered, else the first
  DtlsSetup setup = DtlsSetup::kActpass;
  std::vector<IceCandidate> candidates;
  bool end_of_candidates = false;
};

struct NegotiatedMedia {
  size_t index = 0;  // m-line position
  std::string mid;
  MediaKind kind = MediaKind::kAudio;
  bool accepted = false;
  std::string rejection_reason;  // why, when not accepted
  MediaDirection direction = MediaDirection::kInactive;  // ours, as in the answer
  std::optional<NegotiatedCodec> codec;
  std::optional<uint8_t> rtx_payload_type;
  std::vector<Extmap> extmaps;  // accepted, with the offer's ids
  std::vector<RemoteSsrc> remote_ssrcs;
  // The simulcast layers the participant sends here (rids, in its
  // a=simulcast order), when the answer receives its simulcast; else empty.
  std::vector<std::string> remote_rids;
  std::optional<uint32_t> local_ssrc;
  std::optional<uint32_t> local_rtx_ssrc;
  std::string local_track_id;
  RemoteTransport remote;
};

// The codec a stream is sent in: its publisher's, which the server m-line
// carrying it offers (docs/protocol.md, "Codec per stream").
struct StreamCodec {
  std::string name;  // "VP8", "H264"
  uint32_t clock_rate = 0;
  std::optional<std::string> fmtp;  // H.264: profile-level-id and packetization-mode matter
  bool operator==(const StreamCodec&) const = default;
};

// A stream the server sends to this participant: another occupant's track.
struct OutgoingStream {
  MediaKind kind = MediaKind::kAudio;  // audio or video
  std::string stream_id;  // a=msid stream: the publisher's session
  std::string track_id;   // a=msid track; (stream_id, track_id) names the stream
  uint32_t ssrc = 0;
  std::optional<uint32_t> rtx_ssrc;  // declared only if the m-line has RTX
  std::string cname;
  // Video: the publisher's codec, the only one its m-line offers; nullopt:
  // the m-line offers what the participant's own m-line of the kind took.
  std::optional<StreamCodec> codec = std::nullopt;
  bool operator==(const OutgoingStream&) const = default;
};

// Whose an m-line is: the participant's (it publishes there: its own
// offer's m-lines, and those of a first offer the server made for it), or
// one a server update offer added for a stream the server sends.
enum class MediaOrigin { kParticipant, kServer };

// One m-line of the session and what the server does with it.
struct MediaSlot {
  std::string mid;
  MediaKind kind = MediaKind::kAudio;
  MediaOrigin origin = MediaOrigin::kParticipant;
  bool rejected = false;  // port 0: kept in place, never used again
  // What the server sends on it. On a participant's m-line: a paired
  // session's reserved sender (sendrecv), see PeerConnection::pair_streams.
  std::optional<OutgoingStream> stream;
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
  // Every video codec the participant's descriptions numbered so far (its
  // first offer lists all it has), the first numbering of a payload type
  // kept: a server m-line offering a publisher's codec reuses the
  // participant's number for it, and never gives its numbers another meaning.
  std::vector<RtpCodec> numbered_codecs = {};
};

}  // namespace partyline::rtp
