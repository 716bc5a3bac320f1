#include "rtp/sdp/sdp_media_answer.hpp"

#include <algorithm>
#include <array>
#include <map>

#include "rtp/packet/rtp_header_extensions.hpp"
#include "rtp/sdp/sdp_common.hpp"

namespace partyline::rtp::media_answer {
namespace {

using sdp_common::fmtp_parameter;
using sdp_common::iequals;
using sdp_common::is_offered;
using sdp_common::remote_ssrcs;
using sdp_common::resolve_transport;
using sdp_common::trim;

// The transport-wide sequence number and "transport-cc" feedback: the
// server tells each publisher when its packets arrived
// (rtp::TransportCcRecorder), so its sender's estimate ramps up on delay,
// not on loss alone. goog-remb is not answered: transport-cc replaced it.
constexpr std::array<std::string_view, 5> kAcceptedExtensions = {
    "urn:ietf:params:rtp-hdrext:sdes:mid",
    "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    "urn:3gpp:video-orientation",
    kTransportCcExtensionUri,
};
// Only for an m-line whose simulcast the answer receives (RFC 8853: the
// layers are told apart by rid).
constexpr std::array<std::string_view, 2> kSimulcastExtensions = {
    "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
    "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
};
constexpr size_t kMaxSimulcastLayers = 4;  // rtp::LayerSelector::kMaxLayers
constexpr std::array<std::string_view, 4> kAcceptedFeedback = {"nack", "nack pli", "ccm fir", "transport-cc"};
constexpr std::string_view kOpusFmtp = "minptime=10;useinbandfec=1";

int hex_byte(std::string_view two) {
  int value = 0;
  for (char c : two) {
    int digit = (c >= '0' && c <= '9') ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

// RFC 6184 table 5: Constrained Baseline is profile_idc 66 with
// constraint_set1, 77 with constraint_set0, or 88 with both. The level (last
// byte) does not matter for compatibility.
bool is_constrained_baseline(std::string_view profile_level_id) {
  if (profile_level_id.size() != 6) return false;
  int profile_idc = hex_byte(profile_level_id.substr(0, 2));
  int profile_iop = hex_byte(profile_level_id.substr(2, 2));
  if (profile_idc < 0 || profile_iop < 0 || hex_byte(profile_level_id.substr(4, 2)) < 0) return false;
  constexpr int kSet0 = 0x80;
  constexpr int kSet1 = 0x40;
  if (profile_idc == 0x42) return (profile_iop & kSet1) != 0;
  if (profile_idc == 0x4D) return (profile_iop & kSet0) != 0;
  if (profile_idc == 0x58) return (profile_iop & (kSet0 | kSet1)) == (kSet0 | kSet1);
  return false;
}

bool is_usable_h264(const RtpCodec& codec) {
  if (!iequals(codec.name, "H264") || codec.clock_rate != 90000) return false;
  auto mode = fmtp_parameter(codec.fmtp, "packetization-mode");
  auto profile = fmtp_parameter(codec.fmtp, "profile-level-id");
  return mode == "1" && profile && is_constrained_baseline(*profile);
}

std::vector<std::string> accepted_feedback(const MediaDescription& media, const RtpCodec& codec) {
  std::vector<std::string> offered = codec.rtcp_feedback;
  offered.insert(offered.end(), media.rtcp_feedback_all.begin(), media.rtcp_feedback_all.end());
  std::vector<std::string> kept;
  for (const std::string& feedback : offered) {
    std::string normalized;  // collapse runs of spaces: "nack  pli" == "nack pli"
    for (char c : trim(feedback)) {
      if (c != ' ' || (!normalized.empty() && normalized.back() != ' ')) normalized += c;
    }
    bool accepted = std::find(kAcceptedFeedback.begin(), kAcceptedFeedback.end(), normalized) !=
                    kAcceptedFeedback.end();
    if (accepted && std::find(kept.begin(), kept.end(), normalized) == kept.end()) kept.push_back(normalized);
  }
  return kept;
}

bool is_opus(const RtpCodec& codec) {
  return iequals(codec.name, "opus") && codec.clock_rate == 48000 && codec.channels == 2;
}
bool is_vp8(const RtpCodec& codec) { return iequals(codec.name, "VP8") && codec.clock_rate == 90000; }

bool usable(MediaKind kind, const RtpCodec& codec) {
  if (kind == MediaKind::kAudio) return is_opus(codec);
  if (kind == MediaKind::kVideo) return is_vp8(codec) || is_usable_h264(codec);
  return false;
}

const std::vector<std::string> kDefaultVideoCodecs = {"VP8", "H264"};

// Opus for audio; of `video_codecs` (VP8, constrained-baseline H.264) the
// first the offer has, for video; `keep` first when the offer still has it.
std::optional<NegotiatedCodec> choose_codec(const MediaDescription& media, const NegotiatedCodec* keep,
                                            const std::vector<std::string>& video_codecs) {
  auto find = [&](auto&& acceptable) -> const RtpCodec* {
    for (const RtpCodec& codec : media.codecs) {
      if (is_offered(media, codec.payload_type) && usable(media.kind, codec) && acceptable(codec)) return &codec;
    }
    return nullptr;
  };
  const RtpCodec* chosen = nullptr;
  if (keep != nullptr) {
    chosen = find([&](const RtpCodec& c) {
      return c.payload_type == keep->payload_type && iequals(c.name, keep->name) && c.clock_rate == keep->clock_rate;
    });
  }
  if (chosen == nullptr && media.kind == MediaKind::kAudio) chosen = find(is_opus);
  for (const std::string& name : video_codecs) {
    if (chosen != nullptr || media.kind != MediaKind::kVideo) break;
    if (iequals(name, "VP8")) chosen = find(is_vp8);
    if (iequals(name, "H264")) chosen = find(is_usable_h264);
  }
  if (chosen == nullptr) return std::nullopt;
  // Opus: our own parameters; video: compatible, so answer what was offered.
  std::optional<std::string> fmtp = media.kind == MediaKind::kAudio ? std::string(kOpusFmtp) : chosen->fmtp;
  return NegotiatedCodec{chosen->payload_type, chosen->name, chosen->clock_rate, chosen->channels, fmtp,
                         accepted_feedback(media, *chosen)};
}

const RtpCodec* find_rtx(const MediaDescription& media, uint8_t primary_pt) {
  for (const RtpCodec& codec : media.codecs) {
    if (iequals(codec.name, "rtx") && is_offered(media, codec.payload_type) &&
        fmtp_parameter(codec.fmtp, "apt") == std::to_string(primary_pt)) {
      return &codec;
    }
  }
  return nullptr;
}

// The layers a simulcast offer sends (RFC 8853): the first alternative of
// each stream of a=simulcast:send, in its order, that is not paused and has
// an a=rid send line; none unless the rid extension is offered too (the
// layers could not be told apart), and at most kMaxSimulcastLayers.
std::vector<std::string> offered_layers(const MediaDescription& media) {
  std::vector<std::string> layers;
  if (media.kind != MediaKind::kVideo || !media.simulcast) return layers;
  const bool rid_extension = std::any_of(media.extmaps.begin(), media.extmaps.end(), [](const Extmap& extmap) {
    return extmap.uri == kSimulcastExtensions[0];
  });
  if (!rid_extension) return layers;
  for (const SimulcastStream& stream : media.simulcast->send) {
    if (stream.empty() || stream.front().paused || layers.size() == kMaxSimulcastLayers) continue;
    const std::string& rid = stream.front().rid;
    const bool declared = std::any_of(media.rids.begin(), media.rids.end(),
                                      [&](const Rid& candidate) { return candidate.id == rid && candidate.send; });
    if (declared && std::find(layers.begin(), layers.end(), rid) == layers.end()) layers.push_back(rid);
  }
  return layers;
}

bool is_one_of(const auto& uris, std::string_view uri) { return std::find(uris.begin(), uris.end(), uri) != uris.end(); }

std::vector<Extmap> accepted_extmaps(const MediaDescription& media, const std::set<uint16_t>& ambiguous_ids,
                                     bool simulcast) {
  std::vector<Extmap> kept;
  for (const Extmap& extmap : media.extmaps) {
    const bool accepted =
        is_one_of(kAcceptedExtensions, extmap.uri) || (simulcast && is_one_of(kSimulcastExtensions, extmap.uri));
    if (!accepted || ambiguous_ids.count(extmap.id) > 0) continue;
    Extmap answer{extmap.id, std::nullopt, extmap.uri, std::nullopt};
    if (extmap.direction) answer.direction = reverse(*extmap.direction);
    kept.push_back(std::move(answer));
  }
  return kept;
}

MediaDirection answer_direction(MediaDirection offered, bool send_media) {
  switch (offered) {
    case MediaDirection::kSendRecv: return send_media ? MediaDirection::kSendRecv : MediaDirection::kRecvOnly;
    case MediaDirection::kSendOnly: return MediaDirection::kRecvOnly;
    case MediaDirection::kRecvOnly: return send_media ? MediaDirection::kSendOnly : MediaDirection::kInactive;
    case MediaDirection::kInactive: return MediaDirection::kInactive;
  }
  return MediaDirection::kInactive;
}

}  // namespace

// A receiver that parses extensions by id alone would misread packets with
// such ids (aiortc 1.4 offers id 2 for both ssrc-audio-level and
// abs-send-time).
std::set<uint16_t> ambiguous_extension_ids(const SessionDescription& offer) {
  std::map<uint16_t, std::string_view> uri_by_id;
  std::set<uint16_t> ambiguous;
  for (const MediaDescription& media : offer.media) {
    for (const Extmap& extmap : media.extmaps) {
      auto [it, inserted] = uri_by_id.emplace(extmap.id, extmap.uri);
      if (!inserted && it->second != extmap.uri) ambiguous.insert(extmap.id);
    }
  }
  return ambiguous;
}

NegotiatedMedia negotiate(const SessionDescription& offer, size_t index, const std::set<uint16_t>& ambiguous_ids,
                          bool send_media, const NegotiatedCodec* keep, const std::vector<std::string>& video_codecs) {
  const std::vector<std::string>& taken = video_codecs.empty() ? kDefaultVideoCodecs : video_codecs;
  const MediaDescription& offered = offer.media[index];
  NegotiatedMedia media;
  media.index = index;
  media.mid = offered.mid.value_or("");
  media.kind = offered.kind;
  media.remote = resolve_transport(offer, offered);
  media.remote_ssrcs = remote_ssrcs(offered);
  if (offered.kind == MediaKind::kApplication) {
    media.rejection_reason = "data channels are not supported";
  } else if (offered.kind == MediaKind::kOther) {
    media.rejection_reason = "media \"" + offered.media + "\" is not supported";
  } else if (offered.port == 0 && !offered.bundle_only) {
    media.rejection_reason = "rejected by the offer (port 0)";
  } else if (!offered.is_rtp()) {
    media.rejection_reason = "protocol " + offered.protocol + " is not supported";
  } else if (auto codec = choose_codec(offered, keep, taken); !codec) {
    std::string names;
    for (const std::string& name : taken) {
      names += (names.empty() ? "" : " or ") +
               (iequals(name, "H264") ? std::string("H264 constrained baseline, packetization-mode=1") : name);
    }
    media.rejection_reason = offered.kind == MediaKind::kAudio ? "no common codec (partyline needs opus/48000/2)"
                                                               : "no common codec (partyline takes " + names + ")";
  } else {
    media.accepted = true;
    media.codec = std::move(codec);
    if (const RtpCodec* rtx = find_rtx(offered, media.codec->payload_type)) {
      media.rtx_payload_type = rtx->payload_type;
    }
    media.remote_rids = offered_layers(offered);
    media.extmaps = accepted_extmaps(offered, ambiguous_ids, !media.remote_rids.empty());
    media.direction = answer_direction(offered.effective_direction(), send_media);
  }
  return media;
}

MediaDescription accepted_section(const MediaDescription& offered, const NegotiatedMedia& negotiated,
                                  const LocalTransport& transport, bool tag, const std::optional<LocalSender>& sender) {
  MediaDescription section;
  section.kind = offered.kind;
  section.media = offered.media;
  section.protocol = offered.protocol;
  section.connection = ConnectionData{};
  // The default candidate (RFC 8839 5.4): our first UDP RTP candidate.
  for (const IceCandidate& candidate : transport.candidates) {
    if (candidate.is_udp() && candidate.component == 1) {
      section.port = candidate.port;
      section.connection->address_type = candidate.address.find(':') != std::string::npos ? "IP6" : "IP4";
      section.connection->address = candidate.address;
      break;
    }
  }
  section.mid = negotiated.mid;
  section.direction = negotiated.direction;
  section.rtcp_mux = true;
  section.rtcp_rsize = offered.rtcp_rsize;
  section.ice_ufrag = transport.ice_ufrag;
  section.ice_pwd = transport.ice_pwd;
  if (!transport.candidates_complete) section.ice_options = {"trickle"};
  section.fingerprints = {transport.fingerprint};
  section.setup = transport.setup;
  if (tag) {  // one transport for the whole BUNDLE: its candidates go here
    section.candidates = transport.candidates;
    section.end_of_candidates = transport.candidates_complete;
  }
  section.extmaps = negotiated.extmaps;
  // Simulcast is received as offered (RFC 8853 5.3: recv, the same rids).
  if (!negotiated.remote_rids.empty()) {
    Simulcast simulcast;
    for (const std::string& rid : negotiated.remote_rids) {
      section.rids.push_back(Rid{rid, false, std::nullopt});
      simulcast.recv.push_back(SimulcastStream{SimulcastAlternative{rid, false}});
    }
    section.simulcast = std::move(simulcast);
  }

  const NegotiatedCodec& codec = *negotiated.codec;
  section.formats.push_back(std::to_string(codec.payload_type));
  std::optional<std::string> fmtp = codec.fmtp;
  if (negotiated.kind == MediaKind::kVideo && transport.video_start_bitrate_kbps > 0) {
    const std::string start = "x-google-start-bitrate=" + std::to_string(transport.video_start_bitrate_kbps);
    fmtp = fmtp && !fmtp->empty() ? *fmtp + ";" + start : start;
  }
  section.codecs.push_back(
      RtpCodec{codec.payload_type, codec.name, codec.clock_rate, codec.channels, fmtp, codec.rtcp_feedback});
  if (negotiated.rtx_payload_type) {
    const RtpCodec& rtx = *offered.find_codec(*negotiated.rtx_payload_type);
    section.formats.push_back(std::to_string(rtx.payload_type));
    section.codecs.push_back(RtpCodec{rtx.payload_type, rtx.name, rtx.clock_rate, 0, rtx.fmtp, {}});
  }

  if (sender) {
    section.msids.push_back(Msid{sender->stream_id, sender->track_id});
    std::vector<uint32_t> ssrcs = {sender->ssrc};
    if (sender->rtx_ssrc) {
      ssrcs.push_back(*sender->rtx_ssrc);
      section.ssrc_groups.push_back(SsrcGroup{"FID", ssrcs});
    }
    for (uint32_t ssrc : ssrcs) section.ssrcs.push_back(SsrcAttribute{ssrc, "cname", sender->cname});
  }
  return section;
}

// The ICE/DTLS attributes and rtcp-mux are repeated because aiortc 1.4
// refuses an answer with any m-line lacking them.
MediaDescription rejected_section(const MediaDescription& offered, const std::string& mid,
                                  const LocalTransport& transport) {
  MediaDescription section;
  section.kind = offered.kind;
  section.media = offered.media;
  section.port = 0;
  section.protocol = offered.protocol;
  section.formats = offered.formats;
  section.connection = ConnectionData{};
  section.ice_ufrag = transport.ice_ufrag;
  section.ice_pwd = transport.ice_pwd;
  section.fingerprints = {transport.fingerprint};
  section.setup = transport.setup;
  if (!mid.empty()) section.mid = mid;
  if (offered.is_rtp()) {
    section.direction = MediaDirection::kInactive;
    section.rtcp_mux = offered.rtcp_mux;
  }
  return section;
}

std::string describe(const NegotiatedMedia& media) {
  return "m-line " + std::to_string(media.index) + " (" + std::string(to_string(media.kind)) +
         (media.mid.empty() ? std::string() : ", mid \"" + media.mid + "\"") + ")";
}


}  // namespace partyline::rtp::media_answer
