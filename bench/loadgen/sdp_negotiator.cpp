#include "bench/loadgen/sdp_negotiator.hpp"

#include <glib.h>

#include <algorithm>

namespace partyline::loadgen {

namespace {

using rtp::MediaDescription;
using rtp::MediaDirection;
using rtp::MediaKind;

constexpr uint8_t kOpusPayloadType = 111;
constexpr uint8_t kVp8PayloadType = 96;
constexpr uint8_t kRtxPayloadType = 97;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && g_ascii_strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<AnnouncedStream> announced_stream(const MediaDescription& section) {
  if (section.port == 0 || section.effective_direction() != MediaDirection::kSendOnly) return std::nullopt;
  if (section.kind != MediaKind::kAudio && section.kind != MediaKind::kVideo) return std::nullopt;
  AnnouncedStream stream;
  stream.mid = section.mid.value_or("");
  stream.kind = section.kind;
  if (!section.msids.empty()) stream.stream_id = section.msids.front().stream_id;
  for (const rtp::SsrcGroup& group : section.ssrc_groups) {
    if (group.semantics == "FID" && group.ssrcs.size() >= 2) {
      stream.ssrc = group.ssrcs[0];
      stream.rtx_ssrc = group.ssrcs[1];
    }
  }
  if (stream.ssrc == 0 && !section.ssrcs.empty()) stream.ssrc = section.ssrcs.front().ssrc;
  if (stream.stream_id.empty()) {  // an a=ssrc:N msid:STREAM TRACK line instead
    for (const rtp::SsrcAttribute& attribute : section.ssrcs) {
      if (attribute.attribute == "msid" && attribute.value) {
        stream.stream_id = attribute.value->substr(0, attribute.value->find(' '));
      }
    }
  }
  // The stream id may be missing: a dialect may know the owner by mid instead.
  if (stream.ssrc == 0) return std::nullopt;
  return stream;
}

// The transport of the first m-line that is not rejected: ICE credentials,
// fingerprint, a=setup, and every candidate in the description.
Result<RemoteTransportInfo> remote_transport(const rtp::SessionDescription& description, const char* what) {
  auto tag = std::find_if(description.media.begin(), description.media.end(),
                          [](const MediaDescription& section) { return section.port != 0; });
  if (tag == description.media.end()) {
    return make_error(error_code::kUnsupported, std::string("the server's ") + what + " rejects every m-line");
  }
  RemoteTransportInfo info;
  info.ice_ufrag = tag->ice_ufrag.value_or(description.ice_ufrag.value_or(""));
  info.ice_pwd = tag->ice_pwd.value_or(description.ice_pwd.value_or(""));
  const auto& fingerprints = tag->fingerprints.empty() ? description.fingerprints : tag->fingerprints;
  if (info.ice_ufrag.empty() || info.ice_pwd.empty() || fingerprints.empty()) {
    return make_error(error_code::kBadRequest,
                      std::string("the server's ") + what + " has no ICE credentials or no fingerprint");
  }
  const std::optional<rtp::DtlsSetup> setup = tag->setup ? tag->setup : description.setup;
  if (!setup) return make_error(error_code::kBadRequest, std::string("the server's ") + what + " has no a=setup");
  info.setup = *setup;
  info.fingerprint_algorithm = fingerprints.front().algorithm;
  info.fingerprint = fingerprints.front().value;
  for (const MediaDescription& section : description.media) {
    for (const rtp::IceCandidate& candidate : section.candidates) {
      // A bundled offer may repeat its candidates on every m-line (Janus does).
      std::string line = rtp::to_string(candidate);
      if (std::find(info.candidates.begin(), info.candidates.end(), line) == info.candidates.end()) {
        info.candidates.push_back(std::move(line));
      }
    }
    info.end_of_candidates = info.end_of_candidates || section.end_of_candidates;
  }
  return info;
}

}  // namespace

SdpNegotiator::SdpNegotiator(OfferSettings settings, LocalTransport transport)
    : settings_(std::move(settings)), transport_(std::move(transport)) {}

void SdpNegotiator::set_transport(MediaDescription& section, rtp::DtlsSetup setup) const {
  section.ice_ufrag = transport_.ice_ufrag;
  section.ice_pwd = transport_.ice_pwd;
  section.ice_options = {"trickle"};
  section.fingerprints = {rtp::Fingerprint{transport_.fingerprint_algorithm, transport_.fingerprint}};
  section.setup = setup;
  section.rtcp_mux = true;
}

MediaDescription SdpNegotiator::local_section(MediaKind kind, const std::string& mid) const {
  MediaDescription section;
  section.kind = kind;
  section.media = std::string(rtp::to_string(kind));
  section.connection = rtp::ConnectionData{};
  section.mid = mid;
  section.rtcp_rsize = true;
  section.direction = settings_.publish ? MediaDirection::kSendOnly : MediaDirection::kRecvOnly;
  set_transport(section, rtp::DtlsSetup::kActpass);
  const std::string& cname = settings_.stream_id;
  if (kind == MediaKind::kAudio) {
    section.formats = {std::to_string(kOpusPayloadType)};
    section.codecs.push_back(rtp::RtpCodec{kOpusPayloadType, "opus", 48000, 2, "minptime=10;useinbandfec=1", {}});
    if (settings_.publish) {
      section.msids.push_back(rtp::Msid{settings_.stream_id, "audio-" + settings_.stream_id});
      section.ssrcs.push_back(rtp::SsrcAttribute{settings_.audio_ssrc, "cname", cname});
    }
    return section;
  }
  section.formats = {std::to_string(kVp8PayloadType), std::to_string(kRtxPayloadType)};
  section.codecs.push_back(rtp::RtpCodec{kVp8PayloadType, "VP8", 90000, 0, std::nullopt, {"nack", "nack pli", "ccm fir"}});
  section.codecs.push_back(rtp::RtpCodec{kRtxPayloadType, "rtx", 90000, 0, "apt=" + std::to_string(kVp8PayloadType), {}});
  if (settings_.publish) {
    section.msids.push_back(rtp::Msid{settings_.stream_id, "video-" + settings_.stream_id});
    section.ssrc_groups.push_back(rtp::SsrcGroup{"FID", {settings_.video_ssrc, settings_.video_rtx_ssrc}});
    section.ssrcs.push_back(rtp::SsrcAttribute{settings_.video_ssrc, "cname", cname});
    section.ssrcs.push_back(rtp::SsrcAttribute{settings_.video_rtx_ssrc, "cname", cname});
  }
  return section;
}

std::string SdpNegotiator::create_offer(const std::vector<std::string>& candidates, bool complete) {
  offer_ = rtp::SessionDescription{};
  offer_.origin.session_id = std::to_string(settings_.session_id);
  offer_.origin.session_version = version_;
  offer_.msid_semantic = settings_.publish ? "WMS " + settings_.stream_id : "WMS";
  rtp::BundleGroup bundle{"BUNDLE", {}};
  if (settings_.audio) offer_.media.push_back(local_section(MediaKind::kAudio, std::to_string(offer_.media.size())));
  if (settings_.video) offer_.media.push_back(local_section(MediaKind::kVideo, std::to_string(offer_.media.size())));
  for (const MediaDescription& section : offer_.media) bundle.mids.push_back(*section.mid);
  offer_.groups.push_back(std::move(bundle));
  if (!offer_.media.empty()) {
    for (const std::string& line : candidates) {
      if (auto candidate = rtp::parse_ice_candidate(line)) offer_.media.front().candidates.push_back(*candidate);
    }
    offer_.media.front().end_of_candidates = complete;
  }
  return rtp::to_string(offer_);
}

Result<RemoteTransportInfo> SdpNegotiator::accept_answer(std::string_view answer_sdp) {
  auto answer = rtp::parse_sdp(answer_sdp);
  if (!answer) return make_error(answer.error().code, "the server's answer: " + answer.error().message);
  auto info = remote_transport(*answer, "answer");
  if (!info) return info.error();
  if (info->setup != rtp::DtlsSetup::kPassive && info->setup != rtp::DtlsSetup::kActive) {
    return make_error(error_code::kBadRequest, "the server's answer must say a=setup:active or a=setup:passive");
  }
  info->we_are_dtls_client = info->setup == rtp::DtlsSetup::kPassive;
  we_are_dtls_client_ = info->we_are_dtls_client;
  return info;
}

Result<ServerOfferAnswer> SdpNegotiator::answer_offer(std::string_view offer_sdp,
                                                       const std::vector<std::string>& candidates, bool complete) {
  auto offer = rtp::parse_sdp(offer_sdp);
  if (!offer) return make_error(offer.error().code, "the server's offer: " + offer.error().message);
  auto remote = remote_transport(*offer, "offer");
  if (!remote) return remote.error();
  ServerOfferAnswer result;
  if (offer_.media.empty()) {  // the server offered first: we pick the DTLS role
    we_are_dtls_client_ = remote->setup != rtp::DtlsSetup::kActive;
    if (!offer_.msid_semantic) offer_.msid_semantic = "WMS";
  }
  remote->we_are_dtls_client = we_are_dtls_client_;
  result.remote = std::move(*remote);
  rtp::SessionDescription answer;
  answer.origin.session_id = std::to_string(settings_.session_id);
  answer.origin.session_version = ++version_;
  answer.msid_semantic = offer_.msid_semantic;
  rtp::BundleGroup bundle{"BUNDLE", {}};
  const rtp::DtlsSetup our_setup = we_are_dtls_client_ ? rtp::DtlsSetup::kActive : rtp::DtlsSetup::kPassive;
  for (const MediaDescription& offered : offer->media) {
    MediaDescription section;
    section.kind = offered.kind;
    section.media = offered.media;
    section.protocol = offered.protocol;
    section.formats = offered.formats;
    section.connection = rtp::ConnectionData{};
    section.mid = offered.mid;
    section.codecs = offered.codecs;
    section.rtcp_feedback_all = offered.rtcp_feedback_all;
    for (rtp::Extmap extmap : offered.extmaps) {
      extmap.direction.reset();
      section.extmaps.push_back(std::move(extmap));
    }
    for (const rtp::RtpCodec& codec : offered.codecs) {
      if (iequals(codec.name, "rtx") && codec.payload_type < 128) result.rtx_payload_types.set(codec.payload_type);
    }
    if (offered.port == 0) {  // rejected earlier: stays rejected, outside the BUNDLE
      section.port = 0;
      section.direction = MediaDirection::kInactive;
      answer.media.push_back(std::move(section));
      continue;
    }
    set_transport(section, our_setup);
    section.rtcp_rsize = offered.rtcp_rsize;
    section.direction = rtp::reverse(offered.effective_direction());
    auto own = std::find_if(offer_.media.begin(), offer_.media.end(),
                            [&](const MediaDescription& ours) { return ours.mid == offered.mid; });
    if (own != offer_.media.end() && settings_.publish) {
      section.msids = own->msids;
      section.ssrcs = own->ssrcs;
      section.ssrc_groups = own->ssrc_groups;
    }
    if (section.mid) bundle.mids.push_back(*section.mid);
    if (bundle.mids.size() == 1) {  // our candidates go on the first bundled m-line
      for (const std::string& line : candidates) {
        if (auto candidate = rtp::parse_ice_candidate(line)) section.candidates.push_back(*candidate);
      }
      section.end_of_candidates = complete;
    }
    if (auto stream = announced_stream(offered)) result.streams.push_back(std::move(*stream));
    answer.media.push_back(std::move(section));
  }
  answer.groups.push_back(std::move(bundle));
  result.answer_sdp = rtp::to_string(answer);
  return result;
}

}  // namespace partyline::loadgen
