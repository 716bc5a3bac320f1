// answer_reoffer(): the checks of a participant's re-offer against the
// session, then one answer section per m-line. The per-m-line choice for the
// participant's own m-lines is the first answer's (sdp_media_answer.hpp).
#include "rtp/sdp/sdp_reoffer.hpp"

#include <algorithm>
#include <set>

#include "rtp/sdp/sdp_common.hpp"
#include "rtp/sdp/sdp_media_answer.hpp"

namespace partyline::rtp {
namespace {

using sdp_common::iequals;
using sdp_common::is_offered;
using sdp_common::receives;
using sdp_common::remote_ssrcs;
using sdp_common::resolve_transport;

std::string describe(size_t index, const MediaDescription& section) {
  return sdp_common::describe_section("offer", index, section);
}

// RFC 8843: a port-0 m-line with a=bundle-only is bundled, not rejected.
bool is_live(const MediaDescription& section) { return section.port != 0 || section.bundle_only; }

// Whether `section` still lists `codec` under its payload type, meaning the
// same codec (a static type without a=rtpmap keeps its meaning).
bool still_offers(const MediaDescription& section, const NegotiatedCodec& codec) {
  if (!is_offered(section, codec.payload_type)) return false;
  const RtpCodec* offered = section.find_codec(codec.payload_type);
  return offered == nullptr || offered->name.empty() ||
         (iequals(offered->name, codec.name) && offered->clock_rate == codec.clock_rate);
}

class ReofferAnswerer {
 public:
  ReofferAnswerer(const NegotiatedSession& session, const SessionDescription& offer, const ReofferOptions& options)
      : session_(session), offer_(offer), options_(options),
        ambiguous_ids_(media_answer::ambiguous_extension_ids(offer)) {}

  Result<ReofferAnswer> answer();

 private:
  Status check_mlines() const;
  Status check_transport() const;
  Status load_local_transport();
  Result<NegotiatedMedia> answer_server(size_t index, MediaSlot& slot) const;
  Status check_bundle();
  SessionDescription write_description() const;

  const NegotiatedSession& session_;
  const SessionDescription& offer_;
  const ReofferOptions& options_;
  std::set<uint16_t> ambiguous_ids_;
  media_answer::LocalTransport local_;
  std::vector<MediaSlot> slots_;  // the next session's, one per offered m-line
  std::vector<NegotiatedMedia> media_;
  std::vector<std::string> bundle_mids_;  // ours: the tag first
};

Result<ReofferAnswer> ReofferAnswerer::answer() {
  if (session_.slots.size() != session_.media.size() || session_.slots.size() != session_.local.media.size()) {
    return make_error(error_code::kInternal, "negotiated session: slots, media and local description disagree");
  }
  if (Status status = check_mlines(); !status) return status.error();
  if (Status status = check_transport(); !status) return status.error();
  if (Status status = load_local_transport(); !status) return status.error();
  for (size_t i = 0; i < offer_.media.size(); ++i) {
    const MediaDescription& offered = offer_.media[i];
    const bool existing = i < session_.slots.size();
    MediaSlot slot = existing ? session_.slots[i]
                              : MediaSlot{offered.mid.value_or(""), offered.kind, MediaOrigin::kParticipant, false,
                                          std::nullopt};
    NegotiatedMedia media;
    if (slot.rejected) {
      // JSEP 5.2.2: a rejected m-line stays rejected; a live port on it is
      // ignored, nothing is sent or demultiplexed there.
      media.index = i;
      media.mid = slot.mid;
      media.kind = slot.kind;
      media.rejection_reason = "rejected in an earlier round";
    } else if (slot.origin == MediaOrigin::kServer && is_live(offered)) {
      auto server = answer_server(i, slot);
      if (!server) return server.error();
      media = std::move(server.value());
    } else {
      // The participant's own m-line (or a stopped server one, which
      // negotiate() rejects for its port 0): answered as the first time,
      // keeping the codec that flows.
      const NegotiatedCodec* keep = existing && session_.media[i].codec ? &*session_.media[i].codec : nullptr;
      media = media_answer::negotiate(offer_, i, ambiguous_ids_, /*send_media=*/false, keep, options_.video_codecs);
    }
    if (!media.accepted) {
      slot.rejected = true;
      slot.stream.reset();
    }
    slots_.push_back(std::move(slot));
    media_.push_back(std::move(media));
  }
  if (Status status = check_bundle(); !status) return status.error();

  ReofferAnswer answer;
  answer.description = write_description();
  answer.sdp = to_string(answer.description);
  NegotiatedSession& next = answer.session;
  next.local = answer.description;
  next.remote = offer_;
  next.numbered_codecs = session_.numbered_codecs;
  sdp_common::remember_codecs(next.numbered_codecs, offer_);
  next.slots = std::move(slots_);
  next.media = std::move(media_);
  next.dtls_role = session_.dtls_role;
  next.bundle_mid = bundle_mids_.front();
  const auto tag = std::find_if(offer_.media.begin(), offer_.media.end(),
                                [&](const MediaDescription& section) { return section.mid == next.bundle_mid; });
  next.remote_transport = resolve_transport(offer_, *tag);
  // The participant's role in the running association, whatever it offered.
  next.remote_transport.setup = session_.dtls_role == DtlsRole::kServer ? DtlsSetup::kActive : DtlsSetup::kPassive;
  for (NegotiatedMedia& media : next.media) {
    if (media.remote.ice_ufrag.empty() || media.remote.ice_pwd.empty()) {
      media.remote.ice_ufrag = next.remote_transport.ice_ufrag;
      media.remote.ice_pwd = next.remote_transport.ice_pwd;
    }
    if (media.remote.fingerprint.value.empty()) media.remote.fingerprint = next.remote_transport.fingerprint;
  }
  return answer;
}

// The session's m-lines, in order, with their kinds and mids; then only
// appended ones, each with a mid of its own.
Status ReofferAnswerer::check_mlines() const {
  const std::vector<MediaSlot>& slots = session_.slots;
  if (offer_.media.size() < slots.size()) {
    return make_error(error_code::kBadRequest,
                      "the offer has " + std::to_string(offer_.media.size()) + " m-lines, the session " +
                          std::to_string(slots.size()) + ": m-lines may be added, never removed (m-line " +
                          std::to_string(offer_.media.size()) + ", mid \"" + slots[offer_.media.size()].mid +
                          "\", is missing)");
  }
  std::set<std::string> mids;
  for (size_t i = 0; i < offer_.media.size(); ++i) {
    const MediaDescription& offered = offer_.media[i];
    const std::string mid = offered.mid.value_or("");
    if (!mid.empty() && !mids.insert(mid).second) {
      return make_error(error_code::kBadRequest, describe(i, offered) + ": mid \"" + mid + "\" is used twice");
    }
    if (i >= slots.size()) continue;
    if (offered.kind != slots[i].kind || offered.media != session_.local.media[i].media) {
      return make_error(error_code::kBadRequest, describe(i, offered) + ": the session has m=" +
                                                     session_.local.media[i].media +
                                                     " here (m-lines keep their order and kind)");
    }
    if (mid != slots[i].mid) {
      return make_error(error_code::kBadRequest, describe(i, offered) + ": the session has mid \"" + slots[i].mid +
                                                     "\" here (m-lines keep their order and mids)");
    }
  }
  return {};
}

// One ICE/DTLS association for the session: every live m-line must carry
// the participant's credentials and certificate of the last round, and an
// a=setup that leaves the DTLS roles as they are.
Status ReofferAnswerer::check_transport() const {
  const RemoteTransport& before = session_.remote_transport;
  const DtlsSetup theirs = session_.dtls_role == DtlsRole::kServer ? DtlsSetup::kActive : DtlsSetup::kPassive;
  for (size_t i = 0; i < offer_.media.size(); ++i) {
    const MediaDescription& offered = offer_.media[i];
    if (!is_live(offered) || (i < session_.slots.size() && session_.slots[i].rejected)) continue;
    const RemoteTransport now = resolve_transport(offer_, offered);
    if (now.ice_ufrag.empty() || now.ice_pwd.empty()) {
      return make_error(error_code::kBadRequest, describe(i, offered) + " has no a=ice-ufrag/a=ice-pwd");
    }
    if (now.ice_ufrag != before.ice_ufrag || now.ice_pwd != before.ice_pwd) {
      return make_error(error_code::kNotImplemented,
                        describe(i, offered) + ": new ICE credentials ask for an ICE restart; "
                                               "ICE restart is not supported");
    }
    if (now.fingerprint != before.fingerprint) {
      return make_error(error_code::kBadRequest,
                        describe(i, offered) + ": the DTLS fingerprint changed; partyline does not restart DTLS");
    }
    if (now.setup != DtlsSetup::kActpass && now.setup != theirs) {
      return make_error(error_code::kBadRequest, describe(i, offered) + ": a=setup:" +
                                                     std::string(to_string(now.setup)) +
                                                     " would change the DTLS roles of the running association; "
                                                     "expected a=setup:actpass or a=setup:" +
                                                     std::string(to_string(theirs)));
    }
  }
  return {};
}

// Ours stay as the last round fixed them: credentials and certificate from
// our last description's BUNDLE tag, the role for the session's lifetime.
Status ReofferAnswerer::load_local_transport() {
  const auto tag = std::find_if(session_.local.media.begin(), session_.local.media.end(), [&](const MediaDescription& m) {
    return m.mid == session_.bundle_mid && m.port != 0;
  });
  if (tag == session_.local.media.end() || !tag->ice_ufrag || !tag->ice_pwd || tag->fingerprints.empty()) {
    return make_error(error_code::kInternal, "negotiated session: no BUNDLE tag with our ICE credentials and "
                                             "fingerprint (mid \"" + session_.bundle_mid + "\")");
  }
  local_.ice_ufrag = *tag->ice_ufrag;
  local_.ice_pwd = *tag->ice_pwd;
  local_.fingerprint = tag->fingerprints.front();
  local_.setup = session_.dtls_role == DtlsRole::kClient ? DtlsSetup::kActive : DtlsSetup::kPassive;
  local_.candidates_complete = options_.candidates_complete;
  local_.video_start_bitrate_kbps = options_.video_start_bitrate_kbps;
  for (const std::string& text : options_.candidates) {
    auto candidate = parse_ice_candidate(text);
    if (!candidate) return make_error(error_code::kInternal, "local " + candidate.error().message);
    local_.candidates.push_back(std::move(candidate.value()));
  }
  return {};
}

// A server m-line: what the server sends stays as negotiated (codec,
// extension ids, SSRCs), so the legs on it need no change. Only the
// direction follows the offer, and never includes receiving.
Result<NegotiatedMedia> ReofferAnswerer::answer_server(size_t index, MediaSlot& slot) const {
  const MediaDescription& offered = offer_.media[index];
  NegotiatedMedia media = session_.media[index];
  if (!media.accepted || !media.codec) {
    return make_error(error_code::kInternal, "negotiated session: server m-line " + std::to_string(index) +
                                                 " is live but has no codec");
  }
  if (!still_offers(offered, *media.codec)) {
    return make_error(error_code::kBadRequest, describe(index, offered) + ": payload type " +
                                                   std::to_string(media.codec->payload_type) + " (" +
                                                   media.codec->name + "), which the server sends here, is not "
                                                   "offered any more");
  }
  if (media.rtx_payload_type) {
    const RtpCodec* rtx = is_offered(offered, *media.rtx_payload_type) ? offered.find_codec(*media.rtx_payload_type)
                                                                       : nullptr;
    if (rtx == nullptr || !iequals(rtx->name, "rtx")) media.rtx_payload_type.reset();  // NACKs answered without RTX
  }
  std::erase_if(media.extmaps, [&](const Extmap& ours) {
    return std::none_of(offered.extmaps.begin(), offered.extmaps.end(),
                        [&](const Extmap& theirs) { return theirs.id == ours.id && theirs.uri == ours.uri; });
  });
  media.index = index;
  media.remote = resolve_transport(offer_, offered);
  media.remote_ssrcs = remote_ssrcs(offered);
  media.remote_rids.clear();
  for (const Rid& rid : offered.rids) {
    if (rid.send) media.remote_rids.push_back(rid.id);
  }
  const bool send = slot.stream && receives(offered.effective_direction());
  media.direction = send ? MediaDirection::kSendOnly : MediaDirection::kInactive;
  media.local_ssrc.reset();
  media.local_rtx_ssrc.reset();
  media.local_track_id.clear();
  if (send) {
    media.local_ssrc = slot.stream->ssrc;
    if (media.rtx_payload_type) media.local_rtx_ssrc = slot.stream->rtx_ssrc;
    media.local_track_id = slot.stream->track_id;
  }
  return media;
}

// Every m-line we accept is in the offer's BUNDLE group, with rtcp-mux. Our
// tag is the first accepted mid of that group (the offerer's tag, unless it
// just stopped that m-line: JSEP 5.2.2 then moves the tag, not the transport).
Status ReofferAnswerer::check_bundle() {
  const BundleGroup* bundle = nullptr;
  for (const BundleGroup& group : offer_.groups) {
    if (group.semantics != "BUNDLE") continue;
    const bool holds_accepted = std::any_of(media_.begin(), media_.end(), [&](const NegotiatedMedia& media) {
      return media.accepted && std::find(group.mids.begin(), group.mids.end(), media.mid) != group.mids.end();
    });
    if (holds_accepted) {
      bundle = &group;
      break;
    }
  }
  for (const NegotiatedMedia& media : media_) {
    if (!media.accepted) continue;
    const std::string where = media_answer::describe(media);
    if (bundle == nullptr || media.mid.empty() ||
        std::find(bundle->mids.begin(), bundle->mids.end(), media.mid) == bundle->mids.end()) {
      return make_error(error_code::kUnsupported, where + " is not in the offer's a=group:BUNDLE; partyline requires "
                                                          "BUNDLE");
    }
    if (!offer_.media[media.index].rtcp_mux) {
      return make_error(error_code::kUnsupported, where + " has no a=rtcp-mux; partyline requires rtcp-mux");
    }
  }
  if (bundle != nullptr) {
    for (const std::string& mid : bundle->mids) {
      const bool accepted = std::any_of(media_.begin(), media_.end(), [&](const NegotiatedMedia& media) {
        return media.accepted && media.mid == mid;
      });
      if (accepted && std::find(bundle_mids_.begin(), bundle_mids_.end(), mid) == bundle_mids_.end()) {
        bundle_mids_.push_back(mid);
      }
    }
  }
  if (bundle_mids_.empty()) {
    return make_error(error_code::kUnsupported, "the offer leaves no m-line partyline can accept to carry the "
                                                "transport");
  }
  return {};
}

SessionDescription ReofferAnswerer::write_description() const {
  SessionDescription description;
  description.origin = session_.local.origin;
  description.origin.session_version = session_.local.origin.session_version + 1;
  description.groups.push_back(BundleGroup{"BUNDLE", bundle_mids_});
  description.extmap_allow_mixed = offer_.extmap_allow_mixed;
  description.ice_lite = session_.local.ice_lite;  // the agent this side is does not change
  description.msid_semantic = "WMS";
  std::vector<std::string> stream_ids;
  for (size_t i = 0; i < media_.size(); ++i) {
    const NegotiatedMedia& media = media_[i];
    const MediaDescription& offered = offer_.media[i];
    if (!media.accepted) {
      description.media.push_back(media_answer::rejected_section(offered, media.mid, local_));
      continue;
    }
    std::optional<media_answer::LocalSender> sender;
    const std::optional<OutgoingStream>& stream = slots_[i].stream;
    if (media.local_ssrc && stream) {
      sender = media_answer::LocalSender{stream->stream_id, stream->track_id, stream->cname, *media.local_ssrc,
                                         media.local_rtx_ssrc};
      if (std::find(stream_ids.begin(), stream_ids.end(), stream->stream_id) == stream_ids.end()) {
        stream_ids.push_back(stream->stream_id);
        *description.msid_semantic += ' ' + stream->stream_id;
      }
    }
    description.media.push_back(
        media_answer::accepted_section(offered, media, local_, media.mid == bundle_mids_.front(), sender));
  }
  return description;
}

}  // namespace

Result<ReofferAnswer> answer_reoffer(const NegotiatedSession& session, const SessionDescription& offer,
                                     const ReofferOptions& options) {
  return ReofferAnswerer(session, offer, options).answer();
}

}  // namespace partyline::rtp
