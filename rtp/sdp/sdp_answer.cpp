#include "rtp/sdp/sdp_answer.hpp"

#include <algorithm>
#include <set>

#include "rtp/sdp/sdp_common.hpp"
#include "rtp/sdp/sdp_media_answer.hpp"

namespace partyline::rtp {
namespace {

using media_answer::describe;
using sdp_common::sends;

class AnswerBuilder {
 public:
  AnswerBuilder(const SessionDescription& offer, const AnswerOptions& options)
      : offer_(offer), options_(options), ambiguous_extension_ids_(media_answer::ambiguous_extension_ids(offer)) {}

  Result<Answer> build();

 private:
  void evaluate(size_t index);
  Status check_bundle();
  Status check_transport();
  Status assign_local_ssrcs();
  Result<uint32_t> draw_ssrc();
  Status parse_local_candidates();
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
  answer_.media.push_back(media_answer::negotiate(offer_, index, ambiguous_extension_ids_, options_.send_media,
                                                    nullptr, options_.video_codecs));
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
  sdp_common::inherit_bundle_transport(answer_.media, remote);
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
  description.ice_lite = options_.ice_lite;
  description.msid_semantic = "WMS " + options_.stream_id;
  const media_answer::LocalTransport transport{options_.ice_ufrag,       options_.ice_pwd,
                                               options_.fingerprint,     local_setup(),
                                               local_candidates_,        options_.candidates_complete,
                                               options_.video_start_bitrate_kbps};
  for (const NegotiatedMedia& media : answer_.media) {
    const MediaDescription& offered = offer_.media[media.index];
    if (!media.accepted) {
      description.media.push_back(media_answer::rejected_section(offered, media.mid, transport));
      continue;
    }
    std::optional<media_answer::LocalSender> sender;
    if (media.local_ssrc) {
      sender = media_answer::LocalSender{options_.stream_id, media.local_track_id, options_.cname, *media.local_ssrc,
                                         media.local_rtx_ssrc};
    }
    description.media.push_back(
        media_answer::accepted_section(offered, media, transport, media.index == *tag_index_, sender));
  }
  return description;
}

}  // namespace

Result<Answer> build_answer(const SessionDescription& offer, const AnswerOptions& options) {
  return AnswerBuilder(offer, options).build();
}

}  // namespace partyline::rtp
