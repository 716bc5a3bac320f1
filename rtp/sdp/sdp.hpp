// SDP (RFC 8866) as WebRTC uses it (JSEP, RFC 8829): the data model, the
// parser and the writer. Pure code: no I/O.
//
// The model keeps what partyline negotiates as typed fields and everything
// else as raw attributes, so that parse -> to_string -> parse is lossless in
// meaning (not byte for byte: the writer uses its own attribute order). It can
// express offers as well as answers, for later renegotiation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rtp/sdp/ice_candidate.hpp"
#include "rtp/result.hpp"

namespace partyline::rtp {

enum class MediaKind { kAudio, kVideo, kApplication, kOther };
enum class MediaDirection { kSendRecv, kSendOnly, kRecvOnly, kInactive };
enum class DtlsSetup { kActpass, kActive, kPassive, kHoldconn };

std::string_view to_string(MediaKind kind);            // "audio", "video", "application", "other"
std::string_view to_string(MediaDirection direction);  // "sendrecv", ...
std::string_view to_string(DtlsSetup setup);           // "actpass", ...
// The direction the other side sees: sendonly <-> recvonly.
MediaDirection reverse(MediaDirection direction);

// An attribute the model has no field for: "a=name" or "a=name:value".
struct SdpAttribute {
  std::string name;
  std::optional<std::string> value;
  bool operator==(const SdpAttribute&) const = default;
};

// A line of another type than a= that the model keeps raw (b=, i=, u=...).
struct SdpLine {
  char type = 'b';
  std::string value;
  bool operator==(const SdpLine&) const = default;
};

struct Origin {  // o=
  std::string username = "-";
  std::string session_id = "0";  // digits; may exceed 64 bits in theory
  uint64_t session_version = 0;
  std::string network_type = "IN";
  std::string address_type = "IP4";
  std::string address = "0.0.0.0";
  bool operator==(const Origin&) const = default;
};

struct ConnectionData {  // c=
  std::string network_type = "IN";
  std::string address_type = "IP4";
  std::string address = "0.0.0.0";
  bool operator==(const ConnectionData&) const = default;
};

struct Fingerprint {  // a=fingerprint:sha-256 AB:CD:...
  std::string algorithm;  // lower case, e.g. "sha-256"
  std::string value;      // colon-separated hex pairs, as written
  bool operator==(const Fingerprint&) const = default;
};

struct BundleGroup {  // a=group:BUNDLE 0 1 (any semantics is kept)
  std::string semantics;
  std::vector<std::string> mids;
  bool operator==(const BundleGroup&) const = default;
};

// One payload type's a=rtpmap, a=fmtp and a=rtcp-fb lines together.
struct RtpCodec {
  uint8_t payload_type = 0;
  std::string name;             // empty when there is no a=rtpmap (static type)
  uint32_t clock_rate = 0;
  uint16_t channels = 0;        // 0: not written (video, or audio default 1)
  std::optional<std::string> fmtp;  // the parameters after "a=fmtp:PT "
  std::vector<std::string> rtcp_feedback;  // "nack", "nack pli", "ccm fir"...
  bool operator==(const RtpCodec&) const = default;
};

struct Extmap {  // a=extmap:ID[/direction] URI [attributes]
  uint16_t id = 0;  // 1-14 one-byte header, up to 255 two-byte header
  std::optional<MediaDirection> direction;
  std::string uri;
  std::optional<std::string> attributes;
  bool operator==(const Extmap&) const = default;
};

struct Msid {  // a=msid:STREAM [TRACK]
  std::string stream_id;
  std::optional<std::string> track_id;
  bool operator==(const Msid&) const = default;
};

struct SsrcAttribute {  // a=ssrc:ID attribute[:value]
  uint32_t ssrc = 0;
  std::string attribute;  // "cname", "msid", ...
  std::optional<std::string> value;
  bool operator==(const SsrcAttribute&) const = default;
};

struct SsrcGroup {  // a=ssrc-group:FID 1 2
  std::string semantics;  // "FID", "SIM", "FEC-FR"...
  std::vector<uint32_t> ssrcs;
  bool operator==(const SsrcGroup&) const = default;
};

struct Rid {  // a=rid:ID send|recv [restrictions]
  std::string id;
  bool send = true;  // false: recv
  std::optional<std::string> restrictions;
  bool operator==(const Rid&) const = default;
};

// One simulcast stream: its alternatives (rids), each maybe paused ("~q").
struct SimulcastAlternative {
  std::string rid;
  bool paused = false;
  bool operator==(const SimulcastAlternative&) const = default;
};
using SimulcastStream = std::vector<SimulcastAlternative>;

struct Simulcast {  // a=simulcast:send q;h;f [recv ...]
  std::vector<SimulcastStream> send;
  std::vector<SimulcastStream> recv;
  bool operator==(const Simulcast&) const = default;
};

struct Sctpmap {  // legacy a=sctpmap:5000 webrtc-datachannel 256
  uint16_t number = 5000;
  std::string app = "webrtc-datachannel";
  std::optional<uint32_t> streams;
  bool operator==(const Sctpmap&) const = default;
};

// One m= section.
struct MediaDescription {
  MediaKind kind = MediaKind::kAudio;
  std::string media;  // the m= token as written ("audio", "text"...)
  uint16_t port = 9;
  std::optional<uint16_t> port_count;  // "m=video 9/2 ..." (never in WebRTC)
  std::string protocol = "UDP/TLS/RTP/SAVPF";
  std::vector<std::string> formats;  // payload types, or "webrtc-datachannel"
  std::optional<ConnectionData> connection;
  std::vector<SdpLine> other_lines;  // b=, i=, k= lines in this section

  std::optional<std::string> mid;
  std::optional<MediaDirection> direction;  // absent means sendrecv
  bool rtcp_mux = false;
  bool rtcp_rsize = false;
  bool bundle_only = false;
  std::optional<std::string> rtcp;  // a=rtcp value, e.g. "9 IN IP4 0.0.0.0"

  std::optional<std::string> ice_ufrag;
  std::optional<std::string> ice_pwd;
  std::vector<std::string> ice_options;
  std::vector<Fingerprint> fingerprints;
  std::optional<DtlsSetup> setup;
  std::vector<IceCandidate> candidates;
  bool end_of_candidates = false;

  std::vector<RtpCodec> codecs;  // in order of first appearance
  std::vector<std::string> rtcp_feedback_all;  // a=rtcp-fb:* values
  std::vector<Extmap> extmaps;
  std::vector<Msid> msids;
  std::vector<SsrcAttribute> ssrcs;
  std::vector<SsrcGroup> ssrc_groups;
  std::vector<Rid> rids;
  std::optional<Simulcast> simulcast;

  std::optional<uint16_t> sctp_port;
  std::optional<Sctpmap> sctpmap;
  std::optional<uint64_t> max_message_size;

  std::vector<SdpAttribute> other_attributes;

  bool is_rtp() const;  // protocol contains "RTP/"
  MediaDirection effective_direction() const { return direction.value_or(MediaDirection::kSendRecv); }
  const RtpCodec* find_codec(uint8_t payload_type) const;
  // The first a=ssrc:ID cname:VALUE for this SSRC, if any.
  std::optional<std::string> ssrc_cname(uint32_t ssrc) const;

  bool operator==(const MediaDescription&) const = default;
};

struct SessionDescription {
  Origin origin;
  std::string session_name = "-";
  uint64_t start_time = 0;
  uint64_t stop_time = 0;
  std::optional<ConnectionData> connection;
  std::vector<SdpLine> other_lines;  // b=, i=, u=, e=, p=, z=, k=, r=

  std::vector<BundleGroup> groups;
  std::optional<std::string> msid_semantic;  // value after "a=msid-semantic:", trimmed
  bool extmap_allow_mixed = false;
  bool ice_lite = false;
  std::optional<std::string> ice_ufrag;
  std::optional<std::string> ice_pwd;
  std::vector<std::string> ice_options;
  std::vector<Fingerprint> fingerprints;
  std::optional<DtlsSetup> setup;
  std::optional<MediaDirection> direction;
  std::vector<SdpAttribute> other_attributes;

  std::vector<MediaDescription> media;

  // The first group with this semantics ("BUNDLE"), or null.
  const BundleGroup* find_group(std::string_view semantics) const;

  bool operator==(const SessionDescription&) const = default;
};

// Limits on untrusted SDP. Exceeding one is an error with code 413.
struct SdpLimits {
  size_t max_bytes = 256 * 1024;
  size_t max_lines = 8192;
  size_t max_line_length = 4096;
  size_t max_media_sections = 64;
};

// Parses an SDP text (lines ending in \r\n or \n). Errors (code 400, or 413
// for the limits) name the line number, the line and the reason:
//   line 12 "a=rtpmap:abc opus/48000/2": payload type must be an integer 0-127
Result<SessionDescription> parse_sdp(std::string_view text, const SdpLimits& limits = {});

// Writes SDP with \r\n line endings, in the attribute order browsers use.
std::string to_string(const SessionDescription& description);

}  // namespace partyline::rtp
