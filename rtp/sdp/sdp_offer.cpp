// build_update_offer(), plan_slots() and start_session(). The answer check,
// apply_update_answer(), is in sdp_update_answer.cpp.
#include "rtp/sdp/sdp_offer.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <utility>

#include "rtp/sdp/sdp_common.hpp"
#include "rtp/sdp/sdp_server_media.hpp"

namespace partyline::rtp {
namespace {

using sdp_common::remote_ssrcs;

// SDP tokens (RFC 8866): no spaces or control characters, so an id cannot
// break the a=msid / a=ssrc line it is written into.
bool is_sdp_token(std::string_view text) {
  if (text.empty() || text.size() > 256) return false;
  return std::all_of(text.begin(), text.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

std::string describe_stream(size_t index, const OutgoingStream& stream) {
  return "outgoing stream " + std::to_string(index) + " (\"" + stream.stream_id + "\" \"" + stream.track_id + "\")";
}

Status validate_streams(const std::vector<OutgoingStream>& streams) {
  std::set<std::pair<std::string, std::string>> names;
  std::set<uint32_t> ssrcs;
  for (size_t i = 0; i < streams.size(); ++i) {
    const OutgoingStream& stream = streams[i];
    auto fail = [&](const std::string& reason) {
      return make_error(error_code::kInternal, describe_stream(i, stream) + ": " + reason);
    };
    if (stream.kind != MediaKind::kAudio && stream.kind != MediaKind::kVideo) return fail("kind must be audio or video");
    if (!is_sdp_token(stream.stream_id) || !is_sdp_token(stream.track_id)) {
      return fail("stream and track ids must be non-empty SDP tokens (no spaces)");
    }
    if (!is_sdp_token(stream.cname)) return fail("cname must be a non-empty SDP token");
    if (stream.ssrc == 0 || stream.rtx_ssrc == 0u) return fail("SSRC 0 is not allowed");
    if (!names.emplace(stream.stream_id, stream.track_id).second) return fail("listed twice");
    if (!ssrcs.insert(stream.ssrc).second || (stream.rtx_ssrc && !ssrcs.insert(*stream.rtx_ssrc).second)) {
      return fail("SSRC already used by another outgoing stream");
    }
  }
  return {};
}

// A mid for an appended m-line: one more than the largest numeric mid, as
// browsers number theirs.
std::string next_mid(const std::vector<MediaSlot>& slots) {
  uint64_t next = 0;
  std::set<std::string> used;
  for (const MediaSlot& slot : slots) {
    used.insert(slot.mid);
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(slot.mid.data(), slot.mid.data() + slot.mid.size(), value);
    if (ec == std::errc() && end == slot.mid.data() + slot.mid.size() && value < UINT32_MAX) {
      next = std::max(next, value + 1);
    }
  }
  while (used.count(std::to_string(next)) > 0) ++next;
  return std::to_string(next);
}

// What an answer that sends on the participant's own m-line (a paired
// session's, AnswerOptions::send_media) declared there: the stream the
// server sends on that slot.
std::optional<OutgoingStream> answered_sender(const NegotiatedMedia& media, const MediaDescription& section) {
  if (!media.accepted || !media.local_ssrc || !sdp_common::sends(media.direction) || section.msids.empty()) {
    return std::nullopt;
  }
  OutgoingStream stream;
  stream.kind = media.kind;
  stream.stream_id = section.msids.front().stream_id;
  stream.track_id = media.local_track_id;
  stream.ssrc = *media.local_ssrc;
  stream.rtx_ssrc = media.local_rtx_ssrc;
  stream.cname = section.ssrc_cname(*media.local_ssrc).value_or("");
  return stream;
}

bool same_stream(const OutgoingStream& a, const OutgoingStream& b) {
  return a.kind == b.kind && a.stream_id == b.stream_id && a.track_id == b.track_id;
}

}  // namespace

Result<NegotiatedSession> start_session(const SessionDescription& offer, const Answer& answer) {
  if (answer.media.size() != offer.media.size() || answer.description.media.size() != offer.media.size()) {
    return make_error(error_code::kInternal, "start_session: the answer has " + std::to_string(answer.media.size()) +
                                                 " m-lines, the offer " + std::to_string(offer.media.size()));
  }
  NegotiatedSession session;
  session.local = answer.description;
  session.remote = offer;
  sdp_common::remember_codecs(session.numbered_codecs, offer);
  session.media = answer.media;
  session.dtls_role = answer.dtls_role;
  session.bundle_mid = answer.bundle_mid;
  session.remote_transport = answer.remote_transport;
  for (const NegotiatedMedia& media : answer.media) {
    session.slots.push_back(MediaSlot{media.mid, media.kind, MediaOrigin::kParticipant, !media.accepted,
                                      answered_sender(media, answer.description.media[media.index])});
  }
  return session;
}

Result<std::vector<MediaSlot>> plan_slots(const std::vector<MediaSlot>& current,
                                          const std::vector<OutgoingStream>& streams) {
  if (Status status = validate_streams(streams); !status) return status.error();
  std::vector<MediaSlot> next = current;
  std::vector<bool> placed(streams.size(), false);
  // Only a slot that was already inactive may take a new stream: reusing
  // one in the same offer that drops its stream would swap publishers under
  // a live receiver, and the client would get no track event for the change.
  std::vector<bool> reusable(current.size(), false);
  for (size_t i = 0; i < next.size(); ++i) {
    MediaSlot& slot = next[i];
    if (slot.origin != MediaOrigin::kServer || slot.rejected) {
      slot.stream.reset();
      continue;
    }
    reusable[i] = !slot.stream.has_value();
    std::optional<OutgoingStream> kept;
    for (size_t s = 0; s < streams.size() && slot.stream; ++s) {
      if (!placed[s] && same_stream(*slot.stream, streams[s])) {
        placed[s] = true;
        kept = streams[s];  // the SSRCs may have changed
        break;
      }
    }
    slot.stream = std::move(kept);
  }
  for (size_t s = 0; s < streams.size(); ++s) {
    if (placed[s]) continue;
    bool reused = false;
    for (size_t i = 0; i < current.size() && !reused; ++i) {
      if (reusable[i] && !next[i].stream && next[i].kind == streams[s].kind) {
        next[i].stream = streams[s];
        reused = true;
      }
    }
    if (!reused) next.push_back(MediaSlot{next_mid(next), streams[s].kind, MediaOrigin::kServer, false, streams[s]});
  }
  return next;
}

namespace {

class OfferWriter {
 public:
  OfferWriter(const NegotiatedSession& session, std::vector<MediaSlot> slots)
      : session_(session), slots_(std::move(slots)) {}

  Result<UpdateOffer> write();

 private:
  Status find_tag();
  Status check_ssrc_conflicts() const;
  Result<MediaDescription> new_section(const MediaSlot& slot);
  std::vector<std::pair<uint16_t, std::string>> known_extmaps() const;
  void apply_transport(MediaDescription& section, bool tag) const;
  static void apply_stream(MediaDescription& section, const std::optional<OutgoingStream>& stream);
  Status apply_codec(MediaDescription& section, const std::optional<OutgoingStream>& stream);
  // The payload type the session numbers `wanted` with (the participant's
  // offers, our descriptions, this offer's earlier m-lines), else a free one.
  std::optional<uint8_t> payload_type_for(const StreamCodec& wanted);
  std::optional<uint8_t> rtx_payload_type_for(uint8_t primary);
  std::optional<uint8_t> free_payload_type();
  void write_session_level(SessionDescription& description) const;
  std::set<uint8_t> used_payload_types() const;

  const NegotiatedSession& session_;
  std::vector<MediaSlot> slots_;
  const MediaDescription* tag_ = nullptr;  // our BUNDLE tag in session_.local
  std::set<uint8_t> used_;              // payload types taken in the session or by this offer
  std::vector<RtpCodec> numbered_;      // codecs this offer gave a payload type
  std::map<MediaKind, std::vector<RtpCodec>> default_codecs_;  // new_section's, without a template
};

Result<UpdateOffer> OfferWriter::write() {
  if (session_.local.media.size() != session_.slots.size() || slots_.size() < session_.slots.size()) {
    return make_error(error_code::kInternal, "negotiated session: local description and slots disagree");
  }
  if (Status status = find_tag(); !status) return status.error();
  if (Status status = check_ssrc_conflicts(); !status) return status.error();
  used_ = used_payload_types();
  UpdateOffer offer;
  SessionDescription& description = offer.description;
  for (size_t i = 0; i < slots_.size(); ++i) {
    const MediaSlot& slot = slots_[i];
    if (i >= session_.local.media.size()) {
      auto section = new_section(slot);
      if (!section) return section.error();
      description.media.push_back(std::move(section.value()));
      continue;
    }
    MediaDescription section = session_.local.media[i];
    if (slot.rejected) {
      // JSEP 5.2.2: a rejected m-line stays rejected (port 0, out of BUNDLE),
      // whether we or the participant rejected it.
      section.port = 0;
      section.bundle_only = false;
      section.setup = DtlsSetup::kActpass;
      section.candidates.clear();
      section.end_of_candidates = false;
      if (section.is_rtp()) apply_stream(section, std::nullopt);
      description.media.push_back(std::move(section));
      continue;
    }
    apply_transport(section, section.mid == tag_->mid);
    if (slot.origin == MediaOrigin::kServer) {
      apply_stream(section, slot.stream);
      if (Status status = apply_codec(section, slot.stream); !status) return status.error();
    }
    description.media.push_back(std::move(section));
  }
  write_session_level(description);
  offer.sdp = to_string(description);
  offer.slots = std::move(slots_);
  return offer;
}

Status OfferWriter::find_tag() {
  for (const MediaDescription& section : session_.local.media) {
    if (section.mid == session_.bundle_mid && section.port != 0) {
      tag_ = &section;
      return {};
    }
  }
  return make_error(error_code::kInternal,
                    "negotiated session: no usable m-line with the BUNDLE tag mid \"" + session_.bundle_mid + "\"");
}

// Forwarding keeps the publisher's SSRCs; one the participant itself sends
// with would make its own RTCP and ours ambiguous, so the SFU must rewrite it.
Status OfferWriter::check_ssrc_conflicts() const {
  std::set<uint32_t> remote;
  for (const MediaDescription& section : session_.remote.media) {
    for (const RemoteSsrc& ssrc : remote_ssrcs(section)) {
      remote.insert(ssrc.ssrc);
      if (ssrc.rtx_ssrc) remote.insert(*ssrc.rtx_ssrc);
    }
  }
  for (const MediaSlot& slot : slots_) {
    if (!slot.stream) continue;
    for (std::optional<uint32_t> ssrc : {std::optional<uint32_t>(slot.stream->ssrc), slot.stream->rtx_ssrc}) {
      if (ssrc && remote.count(*ssrc) > 0) {
        return make_error(error_code::kConflict, "outgoing stream \"" + slot.stream->stream_id + "\" \"" +
                                                     slot.stream->track_id + "\": SSRC " + std::to_string(*ssrc) +
                                                     " is one the participant sends with; rewrite it");
      }
    }
  }
  return {};
}

// A new m-line copies the codecs and extensions of the session's first live
// m-line of its kind (the numbering the participant chose), else defaults.
Result<MediaDescription> OfferWriter::new_section(const MediaSlot& slot) {
  MediaDescription section;
  section.kind = slot.kind;
  section.media = std::string(to_string(slot.kind));
  section.protocol = tag_->protocol;
  section.mid = slot.mid;
  section.rtcp_rsize = true;
  auto templ = std::find_if(session_.local.media.begin(), session_.local.media.end(), [&](const MediaDescription& m) {
    return m.kind == slot.kind && m.port != 0 && m.is_rtp() && !m.codecs.empty();
  });
  if (templ != session_.local.media.end()) {
    section.formats = templ->formats;
    section.codecs = templ->codecs;
    section.rtcp_feedback_all = templ->rtcp_feedback_all;
    section.rtcp_rsize = templ->rtcp_rsize;
    for (const Extmap& extmap : templ->extmaps) {
      section.extmaps.push_back(Extmap{extmap.id, std::nullopt, extmap.uri, extmap.attributes});
    }
  } else {
    // One numbering per kind for every such m-line of this offer, taken
    // from used_: a later m-line must not give these numbers another codec
    // (apply_codec's free payload types).
    auto defaults = default_codecs_.find(slot.kind);
    if (defaults != default_codecs_.end()) {
      section.codecs = defaults->second;
      for (const RtpCodec& codec : section.codecs) section.formats.push_back(std::to_string(codec.payload_type));
    } else {
      if (Status status = server_media::add_default_codecs(section, used_); !status) return status.error();
      default_codecs_[slot.kind] = section.codecs;
      numbered_.insert(numbered_.end(), section.codecs.begin(), section.codecs.end());
    }
    auto known = known_extmaps();
    server_media::add_default_extmaps(section, known);
  }
  apply_transport(section, false);
  apply_stream(section, slot.stream);
  if (Status status = apply_codec(section, slot.stream); !status) return status.error();
  return section;
}

// A stream goes out in its publisher's codec (a line may mix VP8 and H.264
// publishers): its m-line offers that codec, with RTX when the m-line has
// RTX, and nothing else, so the answer takes it or rejects the m-line.
Status OfferWriter::apply_codec(MediaDescription& section, const std::optional<OutgoingStream>& stream) {
  if (!stream || !stream->codec) return {};
  const StreamCodec& wanted = *stream->codec;
  auto is_repair = [](const RtpCodec& codec) {
    return sdp_common::iequals(codec.name, "rtx") || sdp_common::iequals(codec.name, "red") ||
           sdp_common::iequals(codec.name, "ulpfec");
  };
  const bool with_rtx = std::any_of(section.codecs.begin(), section.codecs.end(), [](const RtpCodec& codec) {
    return sdp_common::iequals(codec.name, "rtx");
  });
  auto primary = std::find_if(section.codecs.begin(), section.codecs.end(),
                              [&](const RtpCodec& codec) { return !is_repair(codec); });
  const std::vector<std::string> feedback =
      primary != section.codecs.end() ? primary->rtcp_feedback : std::vector<std::string>{};
  auto match = std::find_if(section.codecs.begin(), section.codecs.end(),
                            [&](const RtpCodec& codec) { return server_media::carries(wanted, codec); });
  std::vector<RtpCodec> codecs;
  if (match != section.codecs.end()) {
    codecs.push_back(*match);
  } else {
    auto payload_type = payload_type_for(wanted);
    if (!payload_type) return make_error(error_code::kInternal, "no free payload type for " + wanted.name);
    codecs.push_back(RtpCodec{*payload_type, wanted.name, wanted.clock_rate, 0, server_media::offered_fmtp(wanted.fmtp),
                              feedback});
  }
  if (with_rtx) {
    const uint8_t primary_type = codecs.front().payload_type;
    auto rtx = rtx_payload_type_for(primary_type);
    if (!rtx) return make_error(error_code::kInternal, "no free payload type for RTX of " + wanted.name);
    codecs.push_back(RtpCodec{*rtx, "rtx", wanted.clock_rate, 0, "apt=" + std::to_string(primary_type), {}});
  }
  section.codecs = std::move(codecs);
  section.formats.clear();
  for (const RtpCodec& codec : section.codecs) section.formats.push_back(std::to_string(codec.payload_type));
  return {};
}

std::optional<uint8_t> OfferWriter::payload_type_for(const StreamCodec& wanted) {
  for (const RtpCodec& codec : numbered_) {
    if (server_media::carries(wanted, codec)) return codec.payload_type;
  }
  for (const RtpCodec& codec : session_.numbered_codecs) {
    if (server_media::carries(wanted, codec)) {
      numbered_.push_back(codec);
      return codec.payload_type;
    }
  }
  auto free = free_payload_type();
  if (free) numbered_.push_back(RtpCodec{*free, wanted.name, wanted.clock_rate, 0, wanted.fmtp, {}});
  return free;
}

std::optional<uint8_t> OfferWriter::rtx_payload_type_for(uint8_t primary) {
  const std::string apt = std::to_string(primary);
  auto is_rtx_of = [&](const RtpCodec& codec) {
    return sdp_common::iequals(codec.name, "rtx") && sdp_common::fmtp_parameter(codec.fmtp, "apt") == apt;
  };
  for (const RtpCodec& codec : numbered_) {
    if (is_rtx_of(codec)) return codec.payload_type;
  }
  for (const RtpCodec& codec : session_.numbered_codecs) {
    if (is_rtx_of(codec)) {
      numbered_.push_back(codec);
      return codec.payload_type;
    }
  }
  auto free = free_payload_type();
  if (free) numbered_.push_back(RtpCodec{*free, "rtx", 90000, 0, "apt=" + apt, {}});
  return free;
}

// The dynamic range first, then the range browsers also use (35-63).
std::optional<uint8_t> OfferWriter::free_payload_type() {
  for (uint8_t type = 96; type <= 127; ++type) {
    if (used_.insert(type).second) return type;
  }
  for (uint8_t type = 35; type <= 63; ++type) {
    if (used_.insert(type).second) return type;
  }
  return std::nullopt;
}

std::set<uint8_t> OfferWriter::used_payload_types() const {
  std::set<uint8_t> used;
  for (const SessionDescription* description : {&session_.local, &session_.remote}) {
    for (const MediaDescription& section : description->media) {
      for (const RtpCodec& codec : section.codecs) used.insert(codec.payload_type);
    }
  }
  for (const RtpCodec& codec : session_.numbered_codecs) used.insert(codec.payload_type);
  return used;
}

std::vector<std::pair<uint16_t, std::string>> OfferWriter::known_extmaps() const {
  std::vector<std::pair<uint16_t, std::string>> known;
  for (const SessionDescription* description : {&session_.local, &session_.remote}) {
    for (const MediaDescription& media : description->media) {
      for (const Extmap& extmap : media.extmaps) known.emplace_back(extmap.id, extmap.uri);
    }
  }
  return known;
}

// Every bundled m-line carries the BUNDLE address and our ICE/DTLS
// attributes; no a=bundle-only with port 0, which aiortc 1.4 would read as a
// rejection. Candidates go with the tag only, as in our answer.
void OfferWriter::apply_transport(MediaDescription& section, bool tag) const {
  section.port = tag_->port;
  section.connection = tag_->connection;
  section.bundle_only = false;
  section.rtcp_mux = true;
  section.ice_ufrag = tag_->ice_ufrag;
  section.ice_pwd = tag_->ice_pwd;
  section.ice_options = tag_->ice_options;
  section.fingerprints = tag_->fingerprints;
  // RFC 8842 section 5.5 allows actpass in a subsequent offer; the answerer
  // keeps its role (Chromium and aiortc do), which apply_update_answer checks.
  section.setup = DtlsSetup::kActpass;
  section.candidates = tag ? tag_->candidates : std::vector<IceCandidate>{};
  section.end_of_candidates = tag && tag_->end_of_candidates;
}

void OfferWriter::apply_stream(MediaDescription& section, const std::optional<OutgoingStream>& stream) {
  section.direction = stream ? MediaDirection::kSendOnly : MediaDirection::kInactive;
  server_media::write_sender(section, stream);
}

void OfferWriter::write_session_level(SessionDescription& description) const {
  std::vector<MediaDescription> media = std::move(description.media);
  description = session_.local;
  description.media = std::move(media);
  description.origin.session_version = session_.local.origin.session_version + 1;
  description.setup.reset();  // per m-line
  BundleGroup bundle{"BUNDLE", {*tag_->mid}};
  std::vector<std::string> stream_ids;
  for (const MediaDescription& section : description.media) {
    if (section.port != 0 && section.mid && *section.mid != *tag_->mid) bundle.mids.push_back(*section.mid);
    for (const Msid& msid : section.msids) {
      if (std::find(stream_ids.begin(), stream_ids.end(), msid.stream_id) == stream_ids.end()) {
        stream_ids.push_back(msid.stream_id);
      }
    }
  }
  std::erase_if(description.groups, [](const BundleGroup& group) { return group.semantics == "BUNDLE"; });
  description.groups.insert(description.groups.begin(), std::move(bundle));
  description.msid_semantic = "WMS";
  for (const std::string& id : stream_ids) *description.msid_semantic += ' ' + id;
}

}  // namespace

Result<UpdateOffer> build_update_offer(const NegotiatedSession& session, const std::vector<OutgoingStream>& streams) {
  auto slots = plan_slots(session.slots, streams);
  if (!slots) return slots.error();
  return OfferWriter(session, std::move(slots.value())).write();
}

}  // namespace partyline::rtp
