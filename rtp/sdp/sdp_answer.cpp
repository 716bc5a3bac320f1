#include "rtp/sdp/sdp_answer.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <set>

#include "rtp/sdp/sdp_common.hpp"

namespace partyline::rtp {
namespace {

using sdp_common::fmtp_parameter;
using sdp_common::iequals;
using sdp_common::is_offered;
using sdp_common::remote_ssrcs;
using sdp_common::resolve_transport;
using sdp_common::sends;
using sdp_common::trim;

constexpr std::array<std::string_view, 4> kAcceptedExtensions = {
    "urn:ietf:params:rtp-hdrext:sdes:mid",
    "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    "urn:3gpp:video-orientation",
};
// transport-cc and goog-remb need congestion control partyline lacks so far.
constexpr std::array<std::string_view, 3> kAcceptedFeedback = {"nack", "nack pli", "ccm fir"};
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

// Opus for audio; VP8, else constrained-baseline H.264, for video.
std::optional<NegotiatedCodec> choose_codec(const MediaDescription& media) {
  auto find = [&](auto&& usable) -> const RtpCodec* {
    for (const RtpCodec& codec : media.codecs) {
      if (is_offered(media, codec.payload_type) && usable(codec)) return &codec;
    }
    return nullptr;
  };
  const RtpCodec* chosen = nullptr;
  std::optional<std::string> fmtp;
  if (media.kind == MediaKind::kAudio) {
    chosen = find([](const RtpCodec& c) { return iequals(c.name, "opus") && c.clock_rate == 48000 && c.channels == 2; });
    fmtp = std::string(kOpusFmtp);
  } else if (media.kind == MediaKind::kVideo) {
    chosen = find([](const RtpCodec& c) { return iequals(c.name, "VP8") && c.clock_rate == 90000; });
    if (chosen == nullptr) chosen = find(is_usable_h264);
    if (chosen != nullptr) fmtp = chosen->fmtp;  // compatible, so answer what was offered
  }
  if (chosen == nullptr) return std::nullopt;
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

// Ids the offer gives to different URIs on different m-lines. One BUNDLE
// transport has one id space (RFC 8843 section 9.1): a receiver that parses
// extensions by id alone would misread such packets (aiortc 1.4 offers id 2
// for both ssrc-audio-level and abs-send-time), so none of them is accepted.
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

std::vector<Extmap> accepted_extmaps(const MediaDescription& media, const std::set<uint16_t>& ambiguous_ids) {
  std::vector<Extmap> kept;
  for (const Extmap& extmap : media.extmaps) {
    if (std::find(kAcceptedExtensions.begin(), kAcceptedExtensions.end(), extmap.uri) == kAcceptedExtensions.end() ||
        ambiguous_ids.count(extmap.id) > 0) {
      continue;
    }
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

std::string describe(const NegotiatedMedia& media) {
  return "m-line " + std::to_string(media.index) + " (" + std::string(to_string(media.kind)) +
         (media.mid.empty() ? std::string() : ", mid \"" + media.mid + "\"") + ")";
}

}  // namespace

namespace {

class AnswerBuilder {
 public:
  AnswerBuilder(const SessionDescription& offer, const AnswerOptions& options)
      : offer_(offer), options_(options), ambiguous_extension_ids_(ambiguous_extension_ids(offer)) {}

  Result<Answer> build();

 private:
  void evaluate(size_t index);
  Status check_bundle();
  Status check_transport();
  Status assign_local_ssrcs();
  Result<uint32_t> draw_ssrc();
  Status parse_local_candidates();
  MediaDescription accepted_section(const MediaDescription& offered, const NegotiatedMedia& negotiated, bool tag);
  MediaDescription rejected_section(const MediaDescription& offered, const NegotiatedMedia& negotiated);
  SessionDescription write_description();
  // Offer passive -> we are the DTLS client (active); else the server.
  DtlsSetup local_setup() const {
    return answer_.dtls_role == DtlsRole::kClient ? DtlsSetup::kActive : DtlsSetup::kPassive;
  }

  const SessionDescription& offer_;
  const AnswerOptions& options_;
  Answer answer_;
  std::vector<IceCandidate> local_candidates_;
  std::set<uint32_t> used_ssrcs_;
  std::optional<size_t> tag_index_;  // our BUNDLE tag: the first accepted m-line
  std::set<uint16_t> ambiguous_extension_ids_;
};

Result<Answer> AnswerBuilder::build() {
  if (options_.ice_ufrag.empty() || options_.ice_pwd.empty() || options_.fingerprint.value.empty() ||
      options_.cname.empty() || options_.stream_id.empty() || (options_.send_media && !options_.generate_ssrc)) {
    return make_error(error_code::kInternal,
                      "answer options need ice ufrag/pwd, fingerprint, cname, stream id and an SSRC generator");
  }
  if (Status status = parse_local_candidates(); !status) return status.error();
  for (size_t i = 0; i < offer_.media.size(); ++i) evaluate(i);
  for (NegotiatedMedia& media : answer_.media) {
    if (media.accepted && !tag_index_) tag_index_ = media.index;
  }
  if (!tag_index_) {
    std::string reasons;
    for (const NegotiatedMedia& media : answer_.media) {
      reasons += (reasons.empty() ? "" : "; ") + describe(media) + ": " + media.rejection_reason;
    }
    return make_error(error_code::kUnsupported,
                      "no m-line can be accepted" + (reasons.empty() ? std::string() : " (" + reasons + ")"));
  }
  if (Status status = check_bundle(); !status) return status.error();
  if (Status status = check_transport(); !status) return status.error();
  if (Status status = assign_local_ssrcs(); !status) return status.error();

  answer_.bundle_mid = answer_.media[*tag_index_].mid;
  answer_.remote_transport = answer_.media[*tag_index_].remote;
  answer_.dtls_role =
      answer_.remote_transport.setup == DtlsSetup::kPassive ? DtlsRole::kClient : DtlsRole::kServer;
  answer_.description = write_description();
  answer_.sdp = to_string(answer_.description);
  return std::move(answer_);
}

// Decides whether an m-line can be accepted (codec, kind); BUNDLE, rtcp-mux
// and transport are checked afterwards, since lacking them is an error.
void AnswerBuilder::evaluate(size_t index) {
  const MediaDescription& offered = offer_.media[index];
  NegotiatedMedia media;
  media.index = index;
  media.mid = offered.mid.value_or("");
  media.kind = offered.kind;
  media.remote = resolve_transport(offer_, offered);
  media.remote_ssrcs = remote_ssrcs(offered);
  for (const Rid& rid : offered.rids) {
    if (rid.send) media.remote_rids.push_back(rid.id);
  }
  if (offered.kind == MediaKind::kApplication) {
    media.rejection_reason = "data channels are not supported";
  } else if (offered.kind == MediaKind::kOther) {
    media.rejection_reason = "media \"" + offered.media + "\" is not supported";
  } else if (offered.port == 0 && !offered.bundle_only) {
    media.rejection_reason = "rejected by the offer (port 0)";
  } else if (!offered.is_rtp()) {
    media.rejection_reason = "protocol " + offered.protocol + " is not supported";
  } else if (auto codec = choose_codec(offered); !codec) {
    media.rejection_reason = offered.kind == MediaKind::kAudio
                                 ? "no common codec (partyline needs opus/48000/2)"
                                 : "no common codec (partyline needs VP8 or H264 constrained baseline, "
                                   "packetization-mode=1)";
  } else {
    media.accepted = true;
    media.codec = std::move(codec);
    if (const RtpCodec* rtx = find_rtx(offered, media.codec->payload_type)) {
      media.rtx_payload_type = rtx->payload_type;
    }
    media.extmaps = accepted_extmaps(offered, ambiguous_extension_ids_);
    media.direction = answer_direction(offered.effective_direction(), options_.send_media);
  }
  answer_.media.push_back(std::move(media));
}

// Every accepted m-line must be in the BUNDLE group of the first one, and
// use rtcp-mux: partyline runs one ICE component for everything.
Status AnswerBuilder::check_bundle() {
  const NegotiatedMedia& tag = answer_.media[*tag_index_];
  const BundleGroup* bundle = nullptr;
  for (const BundleGroup& group : offer_.groups) {
    if (group.semantics == "BUNDLE" && !tag.mid.empty() &&
        std::find(group.mids.begin(), group.mids.end(), tag.mid) != group.mids.end()) {
      bundle = &group;
      break;
    }
  }
  for (const NegotiatedMedia& media : answer_.media) {
    if (!media.accepted) continue;
    if (media.mid.empty()) {
      return make_error(error_code::kUnsupported, describe(media) + " has no a=mid, so it cannot be BUNDLEd");
    }
    if (bundle == nullptr) {
      return make_error(error_code::kUnsupported,
                        "the offer has no a=group:BUNDLE containing " + describe(tag) + "; partyline requires BUNDLE");
    }
    if (std::find(bundle->mids.begin(), bundle->mids.end(), media.mid) == bundle->mids.end()) {
      return make_error(error_code::kUnsupported,
                        describe(media) + " is not in the a=group:BUNDLE of " + describe(tag));
    }
    if (!offer_.media[media.index].rtcp_mux) {
      return make_error(error_code::kUnsupported, describe(media) + " has no a=rtcp-mux; partyline requires rtcp-mux");
    }
  }
  return {};
}

// The BUNDLE transport needs ICE credentials and a DTLS fingerprint; other
// bundled m-lines that lack them use the tag's.
Status AnswerBuilder::check_transport() {
  NegotiatedMedia& tag = answer_.media[*tag_index_];
  const RemoteTransport& remote = tag.remote;
  if (remote.ice_ufrag.empty() || remote.ice_pwd.empty()) {
    return make_error(error_code::kBadRequest, describe(tag) + " has no a=ice-ufrag/a=ice-pwd (media or session level)");
  }
  if (remote.fingerprint.value.empty()) {
    return make_error(error_code::kBadRequest, describe(tag) + " has no a=fingerprint (media or session level)");
  }
  if (remote.setup == DtlsSetup::kHoldconn) {
    return make_error(error_code::kUnsupported, describe(tag) + " has a=setup:holdconn, which partyline does not support");
  }
  for (NegotiatedMedia& media : answer_.media) {
    if (media.remote.ice_ufrag.empty() || media.remote.ice_pwd.empty()) {
      media.remote.ice_ufrag = remote.ice_ufrag;
      media.remote.ice_pwd = remote.ice_pwd;
    }
    if (media.remote.fingerprint.value.empty()) media.remote.fingerprint = remote.fingerprint;
  }
  return {};
}

Result<uint32_t> AnswerBuilder::draw_ssrc() {
  constexpr int kAttempts = 64;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    uint32_t ssrc = options_.generate_ssrc();
    if (ssrc != 0 && used_ssrcs_.insert(ssrc).second) return ssrc;
  }
  return make_error(error_code::kInternal, "the SSRC generator gave no new non-zero SSRC in 64 attempts");
}

Status AnswerBuilder::assign_local_ssrcs() {
  for (const NegotiatedMedia& media : answer_.media) {
    for (const RemoteSsrc& remote : media.remote_ssrcs) {
      used_ssrcs_.insert(remote.ssrc);
      if (remote.rtx_ssrc) used_ssrcs_.insert(*remote.rtx_ssrc);
    }
  }
  for (NegotiatedMedia& media : answer_.media) {
    if (!media.accepted || !sends(media.direction)) continue;
    auto primary = draw_ssrc();
    if (!primary) return primary.error();
    media.local_ssrc = *primary;
    if (media.rtx_payload_type) {
      auto rtx = draw_ssrc();
      if (!rtx) return rtx.error();
      media.local_rtx_ssrc = *rtx;
    }
    media.local_track_id = std::string(to_string(media.kind)) + "-" + media.mid;
  }
  return {};
}

Status AnswerBuilder::parse_local_candidates() {
  for (const std::string& text : options_.candidates) {
    auto candidate = parse_ice_candidate(text);
    if (!candidate) return make_error(error_code::kInternal, "local " + candidate.error().message);
    local_candidates_.push_back(std::move(candidate.value()));
  }
  return {};
}

MediaDescription AnswerBuilder::accepted_section(const MediaDescription& offered, const NegotiatedMedia& negotiated,
                                                 bool tag) {
  MediaDescription section;
  section.kind = offered.kind;
  section.media = offered.media;
  section.protocol = offered.protocol;
  section.connection = ConnectionData{};
  // The default candidate (RFC 8839 5.4): our first UDP RTP candidate.
  for (const IceCandidate& candidate : local_candidates_) {
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
  section.ice_ufrag = options_.ice_ufrag;
  section.ice_pwd = options_.ice_pwd;
  if (!options_.candidates_complete) section.ice_options = {"trickle"};
  section.fingerprints = {options_.fingerprint};
  section.setup = local_setup();
  if (tag) {  // one transport for the whole BUNDLE: its candidates go here
    section.candidates = local_candidates_;
    section.end_of_candidates = options_.candidates_complete;
  }
  section.extmaps = negotiated.extmaps;

  const NegotiatedCodec& codec = *negotiated.codec;
  section.formats.push_back(std::to_string(codec.payload_type));
  section.codecs.push_back(
      RtpCodec{codec.payload_type, codec.name, codec.clock_rate, codec.channels, codec.fmtp, codec.rtcp_feedback});
  if (negotiated.rtx_payload_type) {
    const RtpCodec& rtx = *offered.find_codec(*negotiated.rtx_payload_type);
    section.formats.push_back(std::to_string(rtx.payload_type));
    section.codecs.push_back(RtpCodec{rtx.payload_type, rtx.name, rtx.clock_rate, 0, rtx.fmtp, {}});
  }

  if (negotiated.local_ssrc) {
    section.msids.push_back(Msid{options_.stream_id, negotiated.local_track_id});
    std::vector<uint32_t> ssrcs = {*negotiated.local_ssrc};
    if (negotiated.local_rtx_ssrc) {
      ssrcs.push_back(*negotiated.local_rtx_ssrc);
      section.ssrc_groups.push_back(SsrcGroup{"FID", ssrcs});
    }
    for (uint32_t ssrc : ssrcs) section.ssrcs.push_back(SsrcAttribute{ssrc, "cname", options_.cname});
  }
  return section;
}

// JSEP 5.3.1: a rejected m-line keeps its kind, protocol, formats and mid,
// with port 0. The ICE/DTLS attributes and rtcp-mux are repeated because
// aiortc 1.4 refuses an answer with any m-line lacking them.
MediaDescription AnswerBuilder::rejected_section(const MediaDescription& offered, const NegotiatedMedia& negotiated) {
  MediaDescription section;
  section.kind = offered.kind;
  section.media = offered.media;
  section.port = 0;
  section.protocol = offered.protocol;
  section.formats = offered.formats;
  section.connection = ConnectionData{};
  section.ice_ufrag = options_.ice_ufrag;
  section.ice_pwd = options_.ice_pwd;
  section.fingerprints = {options_.fingerprint};
  section.setup = local_setup();
  if (!negotiated.mid.empty()) section.mid = negotiated.mid;
  if (offered.is_rtp()) {
    section.direction = MediaDirection::kInactive;
    section.rtcp_mux = offered.rtcp_mux;
  }
  return section;
}

SessionDescription AnswerBuilder::write_description() {
  SessionDescription description;
  description.origin.session_id = std::to_string(options_.session_id);
  description.origin.session_version = 2;
  description.origin.address = "127.0.0.1";
  BundleGroup bundle{"BUNDLE", {}};
  for (const NegotiatedMedia& media : answer_.media) {
    if (media.accepted) bundle.mids.push_back(media.mid);
  }
  description.groups.push_back(std::move(bundle));
  description.extmap_allow_mixed = offer_.extmap_allow_mixed;
  description.msid_semantic = "WMS " + options_.stream_id;
  for (const NegotiatedMedia& media : answer_.media) {
    const MediaDescription& offered = offer_.media[media.index];
    description.media.push_back(media.accepted ? accepted_section(offered, media, media.index == *tag_index_)
                                               : rejected_section(offered, media));
  }
  return description;
}

}  // namespace

Result<Answer> build_answer(const SessionDescription& offer, const AnswerOptions& options) {
  return AnswerBuilder(offer, options).build();
}

}  // namespace partyline::rtp
