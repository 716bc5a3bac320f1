// apply_update_answer() and apply_first_answer(): check the participant's
// answer to a server offer (RFC 3264 section 6, JSEP RFC 8829 section 5.3.2)
// and derive the next NegotiatedSession. The offer side is in sdp_offer.cpp
// and sdp_first_offer.cpp.
#include <algorithm>
#include <charconv>

#include "rtp/sdp/sdp_common.hpp"
#include "rtp/sdp/sdp_first_offer.hpp"
#include "rtp/sdp/sdp_offer.hpp"

namespace partyline::rtp {
namespace {

using sdp_common::iequals;
using sdp_common::receives;
using sdp_common::remote_ssrcs;
using sdp_common::resolve_transport;
using sdp_common::sends;

std::string describe(size_t index, const MediaDescription& section) {
  return sdp_common::describe_section("answer", index, section);
}

// RFC 3264 section 6.1: what an answer may say to each offered direction.
bool direction_allowed(MediaDirection offered, MediaDirection answered) {
  switch (offered) {
    case MediaDirection::kSendRecv: return true;
    case MediaDirection::kSendOnly:
      return answered == MediaDirection::kRecvOnly || answered == MediaDirection::kInactive;
    case MediaDirection::kRecvOnly:
      return answered == MediaDirection::kSendOnly || answered == MediaDirection::kInactive;
    case MediaDirection::kInactive: return answered == MediaDirection::kInactive;
  }
  return false;
}

// Our direction once both sides have spoken.
MediaDirection negotiated_direction(MediaDirection offered, MediaDirection answered) {
  bool send = sends(offered) && receives(answered);
  bool receive = receives(offered) && sends(answered);
  if (send && receive) return MediaDirection::kSendRecv;
  if (send) return MediaDirection::kSendOnly;
  if (receive) return MediaDirection::kRecvOnly;
  return MediaDirection::kInactive;
}

std::optional<uint8_t> payload_type_of(std::string_view format) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(format.data(), format.data() + format.size(), value);
  if (ec != std::errc() || end != format.data() + format.size() || value > 127) return std::nullopt;
  return static_cast<uint8_t>(value);
}

bool is_mid_in(const BundleGroup* group, const std::optional<std::string>& mid) {
  return group != nullptr && mid && std::find(group->mids.begin(), group->mids.end(), *mid) != group->mids.end();
}

// `session` is the state the offer updates; null for the session's first
// offer (build_first_offer), whose answer sets the transport and DTLS role.
class UpdateAnswerChecker {
 public:
  UpdateAnswerChecker(const NegotiatedSession* session, const UpdateOffer& offer, const SessionDescription& answer)
      : session_(session), offer_(offer), answer_(answer), bundle_(answer.find_group("BUNDLE")) {}

  Result<NegotiatedSession> check();

 private:
  Result<NegotiatedMedia> check_media(size_t index);
  Status check_codecs(size_t index, NegotiatedMedia& media) const;
  Status check_extmaps(size_t index, NegotiatedMedia& media) const;
  Status check_transport(NegotiatedSession& next) const;
  Status check_first_transport(NegotiatedSession& next, const NegotiatedMedia& tag) const;

  const NegotiatedSession* session_;
  const UpdateOffer& offer_;
  const SessionDescription& answer_;
  const BundleGroup* bundle_;
};

Result<NegotiatedSession> UpdateAnswerChecker::check() {
  const std::vector<MediaDescription>& offered = offer_.description.media;
  if (offer_.slots.size() != offered.size()) {
    return make_error(error_code::kInternal, "update offer: slots and m-lines disagree");
  }
  if (answer_.media.size() != offered.size()) {
    return make_error(error_code::kBadRequest, "the answer has " + std::to_string(answer_.media.size()) +
                                                   " m-lines; the offer has " + std::to_string(offered.size()));
  }
  NegotiatedSession next;
  next.local = offer_.description;
  next.remote = answer_;
  next.slots = offer_.slots;
  if (session_ != nullptr) next.numbered_codecs = session_->numbered_codecs;
  sdp_common::remember_codecs(next.numbered_codecs, answer_);
  if (session_ != nullptr) next.dtls_role = session_->dtls_role;
  const BundleGroup* our_bundle = offer_.description.find_group("BUNDLE");
  next.bundle_mid = our_bundle != nullptr && !our_bundle->mids.empty() ? our_bundle->mids.front() : std::string();
  for (size_t i = 0; i < offered.size(); ++i) {
    auto media = check_media(i);
    if (!media) return media.error();
    if (!media->accepted) {
      next.slots[i].rejected = true;
      next.slots[i].stream.reset();
    } else if (session_ == nullptr && !sends(media->direction)) {
      next.slots[i].stream.reset();  // the participant receives nothing here
    }
    next.media.push_back(std::move(media.value()));
  }
  if (Status status = check_transport(next); !status) return status.error();
  return next;
}

Result<NegotiatedMedia> UpdateAnswerChecker::check_media(size_t index) {
  const MediaDescription& ours = offer_.description.media[index];
  const MediaDescription& theirs = answer_.media[index];
  auto fail = [&](int code, const std::string& reason) { return make_error(code, describe(index, theirs) + ": " + reason); };
  if (theirs.media != ours.media) return fail(error_code::kBadRequest, "the offer has m=" + ours.media + " here");
  if (theirs.mid != ours.mid) {
    return fail(error_code::kBadRequest, "the offer has mid \"" + ours.mid.value_or("") + "\" here");
  }
  NegotiatedMedia media;
  media.index = index;
  media.mid = ours.mid.value_or("");
  media.kind = ours.kind;
  // RFC 8843: a port-0 m-line in the BUNDLE group is bundled, not rejected.
  bool offered_rejected = ours.port == 0;
  bool answer_rejected = theirs.port == 0 && !is_mid_in(bundle_, theirs.mid);
  if (offered_rejected) {
    // RFC 3264 section 6 wants port 0 back. aiortc 1.4 answers a rejected
    // data channel m-line with a live port and bundles it again; refusing
    // that would end renegotiation with every aiortc client, and ignoring it
    // is safe: nothing is sent or demultiplexed on a rejected m-line.
    media.rejection_reason = answer_rejected ? "rejected in an earlier round"
                                             : "rejected in an earlier round (the answer's live port is ignored)";
    return media;
  }
  if (answer_rejected) {
    media.rejection_reason = "rejected by the answer (port 0)";
    return media;
  }
  if (!is_mid_in(bundle_, theirs.mid)) {
    return fail(error_code::kUnsupported, "not in the answer's a=group:BUNDLE; partyline requires BUNDLE");
  }
  if (!theirs.rtcp_mux) return fail(error_code::kUnsupported, "no a=rtcp-mux; partyline requires rtcp-mux");
  if (!direction_allowed(ours.effective_direction(), theirs.effective_direction())) {
    return fail(error_code::kBadRequest, "a=" + std::string(to_string(theirs.effective_direction())) +
                                             " does not answer a=" +
                                             std::string(to_string(ours.effective_direction())));
  }
  media.accepted = true;
  media.direction = negotiated_direction(ours.effective_direction(), theirs.effective_direction());
  if (Status status = check_codecs(index, media); !status) return status.error();
  if (Status status = check_extmaps(index, media); !status) return status.error();
  media.remote_ssrcs = remote_ssrcs(theirs);
  for (const Rid& rid : theirs.rids) {
    if (rid.send) media.remote_rids.push_back(rid.id);
  }
  media.remote = resolve_transport(answer_, theirs);
  std::vector<RemoteSsrc> local = remote_ssrcs(ours);  // what our section declares
  if (!local.empty() && sends(media.direction)) {
    media.local_ssrc = local.front().ssrc;
    media.local_rtx_ssrc = local.front().rtx_ssrc;
    if (!ours.msids.empty()) media.local_track_id = ours.msids.front().track_id.value_or("");
  }
  return media;
}

// The answer may only keep offered payload types (RFC 3264 section 6.1),
// with the offered meaning; the first primary one it lists is what flows.
Status UpdateAnswerChecker::check_codecs(size_t index, NegotiatedMedia& media) const {
  const MediaDescription& ours = offer_.description.media[index];
  const MediaDescription& theirs = answer_.media[index];
  auto fail = [&](const std::string& reason) {
    return make_error(error_code::kBadRequest, describe(index, theirs) + ": " + reason);
  };
  std::vector<const RtpCodec*> answered;  // our codec for each answered type
  for (const std::string& format : theirs.formats) {
    auto pt = payload_type_of(format);
    const RtpCodec* offered = pt && sdp_common::is_offered(ours, *pt) ? ours.find_codec(*pt) : nullptr;
    if (offered == nullptr) return fail("payload type " + format + " was not offered");
    const RtpCodec* declared = theirs.find_codec(*pt);
    if (declared != nullptr && !declared->name.empty() &&
        (!iequals(declared->name, offered->name) || declared->clock_rate != offered->clock_rate)) {
      return fail("payload type " + format + " is " + declared->name + "/" + std::to_string(declared->clock_rate) +
                  ", offered as " + offered->name + "/" + std::to_string(offered->clock_rate));
    }
    answered.push_back(offered);
  }
  auto primary = std::find_if(answered.begin(), answered.end(), [](const RtpCodec* codec) {
    return !iequals(codec->name, "rtx") && !iequals(codec->name, "red") && !iequals(codec->name, "ulpfec");
  });
  if (primary == answered.end()) return fail("accepts no media codec");
  const RtpCodec& chosen = **primary;
  const RtpCodec* declared = theirs.find_codec(chosen.payload_type);
  NegotiatedCodec codec{chosen.payload_type, chosen.name, chosen.clock_rate, chosen.channels, chosen.fmtp, {}};
  if (declared != nullptr && declared->fmtp) codec.fmtp = declared->fmtp;
  std::vector<std::string> feedback = declared != nullptr ? declared->rtcp_feedback : std::vector<std::string>{};
  feedback.insert(feedback.end(), theirs.rtcp_feedback_all.begin(), theirs.rtcp_feedback_all.end());
  for (const std::string& item : feedback) {  // only what we offered
    bool offered = std::find(chosen.rtcp_feedback.begin(), chosen.rtcp_feedback.end(), item) !=
                       chosen.rtcp_feedback.end() ||
                   std::find(ours.rtcp_feedback_all.begin(), ours.rtcp_feedback_all.end(), item) !=
                       ours.rtcp_feedback_all.end();
    if (offered && std::find(codec.rtcp_feedback.begin(), codec.rtcp_feedback.end(), item) == codec.rtcp_feedback.end()) {
      codec.rtcp_feedback.push_back(item);
    }
  }
  media.codec = std::move(codec);
  for (const RtpCodec* rtx : answered) {
    if (iequals(rtx->name, "rtx") &&
        sdp_common::fmtp_parameter(rtx->fmtp, "apt") == std::to_string(chosen.payload_type)) {
      media.rtx_payload_type = rtx->payload_type;
      break;
    }
  }
  return {};
}

// JSEP 5.3.1: the answer reuses the offered extension ids.
Status UpdateAnswerChecker::check_extmaps(size_t index, NegotiatedMedia& media) const {
  const MediaDescription& ours = offer_.description.media[index];
  const MediaDescription& theirs = answer_.media[index];
  for (const Extmap& extmap : theirs.extmaps) {
    bool offered = std::any_of(ours.extmaps.begin(), ours.extmaps.end(), [&](const Extmap& mine) {
      return mine.id == extmap.id && mine.uri == extmap.uri;
    });
    if (!offered) {
      return make_error(error_code::kBadRequest, describe(index, theirs) + ": a=extmap:" + std::to_string(extmap.id) +
                                                     " " + extmap.uri + " was not offered with that id");
    }
    media.extmaps.push_back(extmap);
  }
  return {};
}

// One transport for the session: the participant may not restart ICE or
// change its certificate in an answer to us (we restarted nothing), and must
// keep its DTLS role, since the association is up.
Status UpdateAnswerChecker::check_transport(NegotiatedSession& next) const {
  auto tag = std::find_if(next.media.begin(), next.media.end(),
                          [&](const NegotiatedMedia& media) { return media.mid == next.bundle_mid; });
  if (tag == next.media.end() || !tag->accepted) {
    return make_error(error_code::kUnsupported,
                      "the answer rejects the BUNDLE tag (mid \"" + next.bundle_mid + "\"), so the transport is gone");
  }
  if (session_ == nullptr) return check_first_transport(next, *tag);
  const MediaDescription& section = answer_.media[tag->index];
  std::string where = describe(tag->index, section);
  const RemoteTransport& before = session_->remote_transport;
  const RemoteTransport& now = tag->remote;
  if (now.ice_ufrag != before.ice_ufrag || now.ice_pwd != before.ice_pwd) {
    return make_error(error_code::kBadRequest, where + ": ICE credentials changed although the offer kept ours "
                                                       "(an answerer may not restart ICE alone)");
  }
  if (now.fingerprint != before.fingerprint) {
    return make_error(error_code::kBadRequest, where + ": the DTLS fingerprint changed; partyline does not restart DTLS");
  }
  std::optional<DtlsSetup> setup = section.setup ? section.setup : answer_.setup;
  DtlsSetup expected = session_->dtls_role == DtlsRole::kServer ? DtlsSetup::kActive : DtlsSetup::kPassive;
  if (setup != expected) {
    return make_error(error_code::kBadRequest,
                      where + ": a=setup:" + (setup ? std::string(to_string(*setup)) : std::string("(none)")) +
                          " would change the DTLS roles of the running association; expected a=setup:" +
                          std::string(to_string(expected)));
  }
  sdp_common::inherit_bundle_transport(next.media, now);
  next.remote_transport = now;
  next.remote_transport.setup = expected;
  return {};
}

// The first answer fixes the transport: its credentials and fingerprint,
// and our DTLS role from its a=setup (we offered actpass).
Status UpdateAnswerChecker::check_first_transport(NegotiatedSession& next, const NegotiatedMedia& tag) const {
  const MediaDescription& section = answer_.media[tag.index];
  std::string where = describe(tag.index, section);
  const RemoteTransport& remote = tag.remote;
  if (remote.ice_ufrag.empty() || remote.ice_pwd.empty()) {
    return make_error(error_code::kBadRequest, where + " has no a=ice-ufrag/a=ice-pwd (media or session level)");
  }
  if (remote.fingerprint.value.empty()) {
    return make_error(error_code::kBadRequest, where + " has no a=fingerprint (media or session level)");
  }
  std::optional<DtlsSetup> setup = section.setup ? section.setup : answer_.setup;
  if (setup == DtlsSetup::kActive) {
    next.dtls_role = DtlsRole::kServer;
  } else if (setup == DtlsSetup::kPassive) {
    next.dtls_role = DtlsRole::kClient;
  } else {
    return make_error(error_code::kBadRequest,
                      where + ": a=setup:" + (setup ? std::string(to_string(*setup)) : std::string("(none)")) +
                          " does not answer a=setup:actpass; expected active or passive");
  }
  sdp_common::inherit_bundle_transport(next.media, remote);
  next.remote_transport = remote;
  next.remote_transport.setup = *setup;
  return {};
}

}  // namespace

Result<NegotiatedSession> apply_update_answer(const NegotiatedSession& session, const UpdateOffer& offer,
                                              const SessionDescription& answer) {
  return UpdateAnswerChecker(&session, offer, answer).check();
}

Result<NegotiatedSession> apply_first_answer(const UpdateOffer& offer, const SessionDescription& answer) {
  return UpdateAnswerChecker(nullptr, offer, answer).check();
}

}  // namespace partyline::rtp
