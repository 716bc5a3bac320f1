#include "core/session/peer_connection.hpp"

#include "ice/ice_lite_link.hpp"

#include <algorithm>
#include <utility>

#include "core/media/answered_streams.hpp"
#include "core/runtime/log.hpp"
#include "rtp/sdp/sdp.hpp"
#include "rtp/sdp/sdp_reoffer.hpp"

namespace partyline::core {

namespace {

// Candidates kept for operators per side: a peer trickling thousands must
// not grow the PeerConnection without bound.
constexpr size_t kMaxCandidatesKept = 64;

ice::DtlsRole to_ice_role(rtp::DtlsRole role) {
  return role == rtp::DtlsRole::kClient ? ice::DtlsRole::kClient : ice::DtlsRole::kServer;
}

Negotiation summarize(const std::vector<rtp::NegotiatedMedia>& negotiated) {
  Negotiation negotiation;
  for (const auto& media : negotiated) {
    // Our direction recvonly or sendrecv: the participant sends this m-line.
    const bool received = media.accepted && (media.direction == rtp::MediaDirection::kRecvOnly ||
                                             media.direction == rtp::MediaDirection::kSendRecv);
    if (received && media.kind == rtp::MediaKind::kAudio) negotiation.publishes_audio = true;
    if (received && media.kind == rtp::MediaKind::kVideo) negotiation.publishes_video = true;
  }
  return negotiation;
}

}  // namespace

PeerConnection::PeerConnection(GMainContext* context, const PeerConnectionSettings& settings,
                               std::string log_context, Events events, WorkerRouter* router,
                               ice::SharedUdpPort* shared_port)
    : context_(context),
      settings_(settings),
      log_context_(std::move(log_context)),
      events_(std::move(events)),
      ssrc_random_(std::random_device{}()),
      router_(router),
      shared_port_(shared_port) {}

PeerConnection::~PeerConnection() { close(); }

Status PeerConnection::create_transport() {
  ice::PeerTransport::Callbacks callbacks;
  callbacks.on_local_candidate = [this](std::string candidate) { on_local_candidate(std::move(candidate)); };
  callbacks.on_gathering_done = [this] { on_gathering_done(); };
  callbacks.on_state = [this](ice::TransportState state, const Error* error) { on_state(state, error); };
  callbacks.on_rtp = [this](std::span<uint8_t> packet) { on_rtp(packet); };
  callbacks.on_rtcp = [this](std::span<uint8_t> compound) { on_rtcp(compound); };
  auto transport = shared_port_ == nullptr
                       ? ice::PeerTransport::create(context_, settings_.ice, settings_.certificate, std::move(callbacks))
                       : ice::PeerTransport::create_with_link(context_, settings_.ice.setup_timeout_ms,
                                                              [this](ice::IceLink::Callbacks link_callbacks) {
                                                                return make_ice_lite_link(std::move(link_callbacks));
                                                              },
                                                              settings_.certificate, std::move(callbacks));
  if (!transport) return transport.error();
  transport_ = std::move(transport.value());
  return {};
}

Result<std::unique_ptr<ice::IceLink>> PeerConnection::make_ice_lite_link(ice::IceLink::Callbacks callbacks) {
  ice::IceLiteLink::Options options;
  // Behind a 1:1 NAT the public address is the one participants reach.
  options.advertised_addresses =
      settings_.ice.public_ip.empty() ? settings_.ice.local_addresses : std::vector<std::string>{settings_.ice.public_ip};
  options.consent_timeout_us = kSinglePortConsentTimeoutUs;
  options.allowed_remote_networks = settings_.ice.allowed_remote_networks;
  auto link = ice::IceLiteLink::create(context_, *shared_port_, std::move(options), std::move(callbacks));
  if (!link) return link.error();
  return std::unique_ptr<ice::IceLink>(std::move(link).value());
}

void PeerConnection::negotiate(std::string_view offer_sdp, MediaRole role, AnswerCallback on_answer,
                               MediaHandlerFactory factory) {
  if (role == MediaRole::kPlugin && !factory) {
    on_answer(make_error(error_code::kInternal, "plugin media without a handler factory"));
    return;
  }
  if (transport_) {
    on_answer(make_error(error_code::kConflict, "this PeerConnection was already negotiated"));
    return;
  }
  auto offer = rtp::parse_sdp(offer_sdp);
  if (!offer) {
    on_answer(make_error(offer.error().code, "SDP offer: " + offer.error().message));
    return;
  }
  if (auto status = create_transport(); !status) {
    on_answer(status.error());
    return;
  }
  rtp::AnswerOptions options;
  options.ice_ufrag = transport_->local_ufrag();
  options.ice_pwd = transport_->local_pwd();
  options.fingerprint = {std::string(ice::Certificate::fingerprint_algorithm()), settings_.certificate->fingerprint()};
  options.cname = "partyline";
  options.stream_id = role == MediaRole::kPlugin ? "partyline-plugin" : "partyline";
  options.generate_ssrc = [this] { return static_cast<uint32_t>(ssrc_random_()); };
  // Until the SFU router sends the line's streams, a line participant only
  // publishes: the answer receives what it offers to send. A paired one's
  // answer mirrors the offer: its m-lines carry the line's streams too.
  options.send_media = role != MediaRole::kLineParticipant;
  if (role == MediaRole::kPairedLineParticipant) options.stream_id = "partyline-peer";
  options.session_id = ssrc_random_();
  options.video_start_bitrate_kbps = settings_.video_start_bitrate_kbps;
  options.video_codecs = settings_.video_codecs;
  options.ice_lite = shared_port_ != nullptr;
  auto answer = rtp::build_answer(*offer, options);
  if (!answer) {
    on_answer(make_error(answer.error().code, "SDP offer: " + answer.error().message));
    return;
  }
  answer_ = std::move(answer.value());
  const rtp::RemoteTransport& remote = answer_->remote_transport;
  if (auto status = transport_->set_remote({remote.ice_ufrag, remote.ice_pwd, remote.fingerprint.algorithm,
                                            remote.fingerprint.value, to_ice_role(answer_->dtls_role)});
      !status) {
    on_answer(status.error());
    return;
  }
  for (const auto& candidate : remote.candidates) (void)add_remote_candidate(rtp::to_string(candidate));
  if (remote.end_of_candidates) end_of_remote_candidates();
  if (role == MediaRole::kPlugin) {
    media_ = factory(answered_streams(*answer_), static_cast<MediaTransport&>(*this));
  }
  if (role != MediaRole::kPlugin && router_ != nullptr) {
    auto session = rtp::start_session(*offer, *answer_);
    if (!session) {
      on_answer(session.error());
      return;
    }
    session_ = std::move(session.value());
    paired_ = role == MediaRole::kPairedLineParticipant;
    start_line_media();
  } else {
    start_media_timer();
  }

  pending_answer_ = std::move(on_answer);
  if (auto status = transport_->start_gathering(); !status) {
    auto callback = std::move(pending_answer_);
    callback(status.error());
    return;
  }
  if (pending_answer_) {
    gathering_timer_.start(context_, settings_.gathering_wait, [this] {
      send_answer();
      return false;
    });
  }
}

void PeerConnection::start_line_media() {
  auto line_media = std::make_unique<LineMedia>(*router_, static_cast<MediaTransport&>(*this),
                                                static_cast<uint32_t>(ssrc_random_()),
                                                NtpClock{g_get_real_time() - g_get_monotonic_time()});
  published_ = line_media->publish(*session_, next_stream_key);
  if (events_.on_audio_level) line_media->on_audio_level(events_.on_audio_level);
  line_media->set_video_from(video_from_);
  line_media_ = line_media.get();
  media_ = std::move(line_media);
  start_media_timer();
}

void PeerConnection::offer_first(std::vector<rtp::MediaKind> kinds, OfferCallback on_offer) {
  if (transport_) {
    on_offer(make_error(error_code::kConflict, "this PeerConnection was already negotiated"));
    return;
  }
  if (router_ == nullptr) {
    on_offer(make_error(error_code::kInternal, "no forwarding router for a line participant"));
    return;
  }
  // JSEP: the offerer's agent is the controlling one.
  settings_.ice.controlling = true;
  if (auto status = create_transport(); !status) {
    on_offer(status.error());
    return;
  }
  paired_ = true;
  first_offer_kinds_ = std::move(kinds);
  pending_first_offer_ = std::move(on_offer);
  if (auto status = transport_->start_gathering(); !status) {
    auto callback = std::move(pending_first_offer_);
    pending_first_offer_ = nullptr;
    callback(status.error());
    return;
  }
  if (pending_first_offer_) {
    gathering_timer_.start(context_, settings_.gathering_wait, [this] {
      send_first_offer();
      return false;
    });
  }
}

// Like the answer, the offer carries the candidates gathered so far.
void PeerConnection::send_first_offer() {
  if (!pending_first_offer_) return;
  gathering_timer_.cancel();
  auto callback = std::move(pending_first_offer_);
  pending_first_offer_ = nullptr;
  rtp::FirstOfferOptions options;
  options.ice_ufrag = transport_->local_ufrag();
  options.ice_pwd = transport_->local_pwd();
  options.fingerprint = {std::string(ice::Certificate::fingerprint_algorithm()), settings_.certificate->fingerprint()};
  options.cname = "partyline";
  options.stream_id = "partyline-peer";
  options.kinds = first_offer_kinds_;
  options.generate_ssrc = [this] { return static_cast<uint32_t>(ssrc_random_()); };
  options.candidates = local_candidates_;
  options.candidates_complete = gathering_done_;
  options.session_id = ssrc_random_();
  options.ice_lite = shared_port_ != nullptr;
  auto offer = rtp::build_first_offer(options);
  if (!offer) {
    callback(offer.error());
    return;
  }
  PL_LOG(kDebug, log_context_) << "first offer ready with " << local_candidates_.size() << " candidates"
                               << (gathering_done_ ? " (complete)" : " (more will be trickled)");
  std::string sdp = offer->sdp;
  first_offer_ = std::move(offer.value());
  callback(std::move(sdp));
}

Result<Negotiation> PeerConnection::accept_first_answer(std::string_view answer_sdp) {
  if (!first_offer_ || session_) return make_error(error_code::kConflict, "no server offer awaits an answer");
  auto answer = rtp::parse_sdp(answer_sdp);
  if (!answer) return make_error(answer.error().code, "SDP answer: " + answer.error().message);
  auto session = rtp::apply_first_answer(*first_offer_, *answer);
  if (!session) return make_error(session.error().code, "SDP answer: " + session.error().message);
  const rtp::RemoteTransport& remote = session->remote_transport;
  if (auto status = transport_->set_remote({remote.ice_ufrag, remote.ice_pwd, remote.fingerprint.algorithm,
                                            remote.fingerprint.value, to_ice_role(session->dtls_role)});
      !status) {
    return status.error();
  }
  session_ = std::move(session.value());
  first_offer_.reset();
  for (const auto& candidate : session_->remote_transport.candidates) (void)add_remote_candidate(rtp::to_string(candidate));
  for (const std::string& candidate : std::exchange(early_remote_candidates_, {})) (void)add_remote_candidate(candidate);
  if (session_->remote_transport.end_of_candidates || early_end_of_candidates_) end_of_remote_candidates();
  start_line_media();
  Negotiation negotiation = summarize(session_->media);
  negotiation.published = published_;
  return negotiation;
}

void PeerConnection::pair_streams(std::vector<LegRequest> streams) {
  if (!paired_ || !session_ || !line_media_) return;
  // Each reserved sender keeps the stream it carries while that is offered,
  // so a change elsewhere in the line never restarts what the participant sees.
  std::vector<LegRequest> paired;
  std::vector<bool> taken(streams.size(), false);
  std::vector<std::optional<size_t>> choice(session_->slots.size());
  for (size_t i = 0; i < session_->slots.size(); ++i) {
    const rtp::MediaSlot& slot = session_->slots[i];
    if (!slot.stream || slot.rejected) continue;
    for (const LegRequest& current : current_streams_) {
      if (current.stream_id != slot.stream->stream_id || current.track_id != slot.stream->track_id) continue;
      for (size_t s = 0; s < streams.size(); ++s) {
        if (!taken[s] && streams[s].key == current.key) {
          choice[i] = s;
          taken[s] = true;
        }
      }
    }
  }
  for (size_t i = 0; i < session_->slots.size(); ++i) {
    const rtp::MediaSlot& slot = session_->slots[i];
    if (!slot.stream || slot.rejected || choice[i]) continue;
    for (size_t s = 0; s < streams.size() && !choice[i]; ++s) {
      if (!taken[s] && streams[s].source_format.kind == slot.kind) {
        choice[i] = s;
        taken[s] = true;
      }
    }
  }
  for (size_t i = 0; i < session_->slots.size(); ++i) {
    if (!choice[i]) continue;
    // The leg goes out under the name the SDP declared for the slot.
    LegRequest request = streams[*choice[i]];
    request.stream_id = session_->slots[i].stream->stream_id;
    request.track_id = session_->slots[i].stream->track_id;
    paired.push_back(std::move(request));
  }
  current_streams_ = std::move(paired);
  const size_t failed = line_media_->set_legs(*session_, current_streams_).size();
  PL_LOG(kDebug, log_context_) << "paired: receives " << line_media_->leg_count() << " of " << streams.size()
                               << " streams on its own m-lines"
                               << (failed > 0 ? " (" + std::to_string(failed) + " with another codec left out)" : "");
}

// Every PeerConnection of a worker ticks on the same 100 ms grid, so their
// ticks share one wake-up; a handler's deadline is met at the first tick at
// or after it. A handler that never needs a timer (a plugin's) gets none.
void PeerConnection::start_media_timer() {
  if (!media_ || media_->on_timer(g_get_monotonic_time()) == MediaHandler::kNoDeadline) return;
  media_timer_.start_aligned(context_, std::chrono::milliseconds(100), [this] {
    (void)media_->on_timer(g_get_monotonic_time());
    return true;
  });
}

// The answer carries every candidate gathered so far on the BUNDLE m-line;
// later ones are trickled.
void PeerConnection::send_answer() {
  if (!pending_answer_ || !answer_) return;
  gathering_timer_.cancel();
  rtp::SessionDescription description = answer_->description;
  for (auto& media : description.media) {
    if (media.mid != answer_->bundle_mid) continue;
    for (const auto& text : local_candidates_) {
      if (auto candidate = rtp::parse_ice_candidate(text)) media.candidates.push_back(std::move(candidate.value()));
    }
    media.end_of_candidates = gathering_done_;
  }
  auto callback = std::move(pending_answer_);
  pending_answer_ = nullptr;
  PL_LOG(kDebug, log_context_) << "answer ready with " << local_candidates_.size() << " candidates"
                               << (gathering_done_ ? " (complete)" : " (more will be trickled)");
  Negotiation negotiation = summarize(answer_->media);
  negotiation.answer_sdp = rtp::to_string(description);
  negotiation.published = published_;
  callback(std::move(negotiation));
}

Result<bool> PeerConnection::add_remote_candidate(std::string_view candidate) {
  if (!transport_) return make_error(error_code::kNotFound, "no PeerConnection to add the candidate to");
  if (first_offer_ || pending_first_offer_) {
    // The answer brings the credentials these are checked with: kept until then.
    auto parsed = rtp::parse_ice_candidate(candidate);
    if (!parsed) return parsed.error();
    if (early_remote_candidates_.size() >= kMaxCandidatesKept) {
      return make_error(error_code::kTooLarge, "too many candidates before the answer");
    }
    early_remote_candidates_.emplace_back(candidate);
    return true;
  }
  // Checked by our own parser first: libnice reads numbers with atoi, so a
  // port of 65536 or -1 became another port instead of an error.
  auto parsed = rtp::parse_ice_candidate(candidate);
  if (!parsed) return parsed.error();
  auto outcome = transport_->add_remote_candidate(rtp::to_string(*parsed));
  if (!outcome) return outcome.error();
  if (!outcome->accepted) {
    PL_LOG(kDebug, log_context_) << "ignored remote candidate (" << outcome->reason << "): " << candidate;
  } else if (accepted_remote_candidates_.size() < kMaxCandidatesKept) {
    accepted_remote_candidates_.emplace_back(candidate);
  }
  return outcome->accepted;
}

void PeerConnection::end_of_remote_candidates() {
  if (first_offer_ || pending_first_offer_) {
    early_end_of_candidates_ = true;
    return;
  }
  if (transport_) transport_->end_of_remote_candidates();
}

void PeerConnection::close() {
  gathering_timer_.cancel();
  if (media_timer_.active() && line_media_) {
    const LineMediaStats& stats = line_media_->stats();
    PL_LOG(kInfo, log_context_) << "media: received " << stats.received_packets << " packets (dropped "
                                << stats.unknown_ssrc_drops << " of unknown SSRC, " << stats.malformed_drops
                                << " malformed), sent " << stats.keyframe_requests_sent << " keyframe requests, "
                                << stats.nacks_sent << " NACKs upstream, " << stats.reports_sent << " reports; "
                                << line_media_->leg_count() << " legs";
    for (const LegReport& leg : line_media_->leg_reports()) {
      PL_LOG(kDebug, log_context_) << "leg ssrc " << leg.ssrc << ": subscriber reports " << leg.cumulative_lost
                                   << " lost, jitter " << leg.jitter << ", round trip "
                                   << (leg.round_trip_us ? std::to_string(*leg.round_trip_us) + " us" : "unknown");
    }
  }
  media_timer_.cancel();
  if (transport_) {
    log_transport_counts();
    transport_->close();
  }
}

// Every datagram the transport dropped, by reason, once: the edges of the
// media path count, this reports.
void PeerConnection::log_transport_counts() const {
  using Drop = ice::PeerTransport::ReceiveDrop;
  const ice::SendCounters& sends = transport_->send_counts();
  if (transport_->dropped_packets() == 0 && sends.failures() == 0) return;
  PL_LOG(kInfo, log_context_) << "transport: dropped received datagrams: "
                              << transport_->receive_drops(Drop::kDtlsBeforeOffer) << " DTLS before the offer, "
                              << transport_->receive_drops(Drop::kUnknownKind) << " of unknown kind, "
                              << transport_->receive_drops(Drop::kMediaBeforeKeys) << " media before keys, "
                              << transport_->receive_drops(Drop::kUnprotectFailed)
                              << " failing SRTP; unsent: " << sends[ice::SendResult::kNoPath] << " no path, "
                              << sends[ice::SendResult::kNotSecure] << " not secure, "
                              << sends[ice::SendResult::kProtectFailed] << " protection failed, "
                              << sends[ice::SendResult::kSocketRefused] << " refused by the socket";
}

PeerConnectionStats PeerConnection::stats() const {
  PeerConnectionStats stats;
  if (transport_) {
    stats.transport = transport_->snapshot();
    for (size_t i = 0; i < stats.receive_drops.size(); ++i) {
      stats.receive_drops[i] = transport_->receive_drops(static_cast<ice::PeerTransport::ReceiveDrop>(i));
    }
    stats.sends = transport_->send_counts();
  }
  stats.local_candidates = gathered_candidates_;
  stats.remote_candidates = accepted_remote_candidates_;
  if (line_media_ != nullptr) {
    stats.line = line_media_->stats();
    stats.published = line_media_->published_stats();
    stats.legs = line_media_->leg_stats();
  }
  return stats;
}

void PeerConnection::set_forwarding(rtp::MediaKind kind, bool forwarding) {
  if (line_media_ != nullptr) line_media_->set_forwarding(kind, forwarding);
}

void PeerConnection::set_max_height(const std::string& stream_id, const std::string& track_id,
                                    std::optional<uint32_t> max_height) {
  if (line_media_ != nullptr) line_media_->set_max_height(stream_id, track_id, max_height);
}

void PeerConnection::set_video_from(std::optional<std::vector<std::string>> publishers) {
  video_from_ = std::move(publishers);
  if (line_media_ != nullptr) line_media_->set_video_from(video_from_);
}

void PeerConnection::on_local_candidate(std::string candidate) {
  if (gathered_candidates_.size() < kMaxCandidatesKept) gathered_candidates_.push_back(candidate);
  if (awaiting_local_description()) {
    local_candidates_.push_back(std::move(candidate));
  } else if (events_.on_local_candidate) {
    events_.on_local_candidate(std::move(candidate));
  }
}

void PeerConnection::on_gathering_done() {
  gathering_done_ = true;
  if (pending_answer_) {
    send_answer();
  } else if (pending_first_offer_) {
    send_first_offer();
  } else if (events_.on_end_of_candidates) {
    events_.on_end_of_candidates();
  }
}

void PeerConnection::on_state(ice::TransportState state, const Error* error) {
  if (error != nullptr) {
    PL_LOG(kWarn, log_context_) << "transport " << ice::to_string(state) << ": " << error->message;
  } else {
    PL_LOG(kInfo, log_context_) << "transport " << ice::to_string(state);
  }
  if (state == ice::TransportState::kSecure && media_) media_->on_transport_secure(g_get_monotonic_time());
  if (events_.on_state) events_.on_state(state, error);
}

ice::SendResult PeerConnection::send_rtp(std::span<uint8_t> buffer, size_t length) {
  return transport_ ? transport_->send_rtp(buffer, length) : ice::SendResult::kNoPath;
}

ice::SendResult PeerConnection::send_rtcp(std::span<uint8_t> buffer, size_t length) {
  return transport_ ? transport_->send_rtcp(buffer, length) : ice::SendResult::kNoPath;
}

Result<std::string> PeerConnection::offer_streams(std::vector<LegRequest> streams) {
  if (!session_ || !line_media_) return make_error(error_code::kConflict, "no negotiated line session to update");
  if (paired_) return make_error(error_code::kConflict, "a paired session gets no server offers");
  std::vector<rtp::OutgoingStream> outgoing;
  for (const LegRequest& request : streams) {
    const std::string name = request.stream_id + " " + request.track_id;
    auto known = std::find_if(outgoing_.begin(), outgoing_.end(), [&](const auto& entry) { return entry.first == name; });
    if (known == outgoing_.end()) {
      rtp::OutgoingStream stream;
      stream.kind = request.source_format.kind;
      stream.stream_id = request.stream_id;
      stream.track_id = request.track_id;
      stream.cname = request.cname;
      stream.ssrc = static_cast<uint32_t>(ssrc_random_()) | 1u;
      stream.rtx_ssrc = static_cast<uint32_t>(ssrc_random_()) | 1u;
      outgoing_.emplace_back(name, std::move(stream));
      known = std::prev(outgoing_.end());
    }
    // Video goes out in its publisher's codec (docs/protocol.md, "Codec per stream").
    const rtp::StreamFormat& source = request.source_format;
    known->second.codec = source.kind == rtp::MediaKind::kVideo
                              ? std::optional(rtp::StreamCodec{source.codec_name, source.clock_rate, source.fmtp})
                              : std::nullopt;
    outgoing.push_back(known->second);
  }
  // A stream no longer carried is forgotten: should it come back (its
  // publisher rejoins on the same session), it gets new SSRCs like any new
  // stream (its m-line may be reused, its SSRC is not): Chromium plays an
  // SSRC that comes back with restarted numbering as silence.
  std::erase_if(outgoing_, [&](const auto& entry) {
    return std::none_of(streams.begin(), streams.end(), [&](const LegRequest& request) {
      return entry.first == request.stream_id + " " + request.track_id;
    });
  });
  auto offer = rtp::build_update_offer(*session_, outgoing);
  if (!offer) return offer.error();
  std::string sdp = offer->sdp;
  pending_offer_ = std::move(offer.value());
  pending_streams_ = std::move(streams);
  return sdp;
}

Result<std::vector<UnreceivedStream>> PeerConnection::apply_answer(std::string_view answer_sdp) {
  if (!session_ || !pending_offer_ || !line_media_) {
    return make_error(error_code::kConflict, "no server offer awaits an answer");
  }
  auto answer = rtp::parse_sdp(answer_sdp);
  if (!answer) return make_error(answer.error().code, "SDP answer: " + answer.error().message);
  auto next = rtp::apply_update_answer(*session_, *pending_offer_, *answer);
  if (!next) return make_error(next.error().code, "SDP answer: " + next.error().message);
  // The streams whose new m-line the answer rejected: a browser rejects an
  // m-line whose codec it cannot receive.
  std::vector<UnreceivedStream> unreceived;
  for (size_t i = 0; i < pending_offer_->slots.size() && i < next->slots.size(); ++i) {
    const std::optional<rtp::OutgoingStream>& offered = pending_offer_->slots[i].stream;
    const bool was_rejected = i < session_->slots.size() && session_->slots[i].rejected;
    if (!offered || was_rejected || !next->slots[i].rejected) continue;
    unreceived.push_back(UnreceivedStream{offered->stream_id, offered->track_id, offered->kind,
                                          offered->codec ? offered->codec->name : std::string(),
                                          "the answer rejected the m-line offering it (port 0): "
                                          "no codec in common, or the client refused it"});
  }
  session_ = std::move(next.value());
  pending_offer_.reset();
  current_streams_ = std::move(pending_streams_);
  pending_streams_.clear();
  std::vector<UnreceivedStream> failed = line_media_->set_legs(*session_, current_streams_);
  PL_LOG(kDebug, log_context_) << "renegotiated: receives " << line_media_->leg_count() << " streams"
                               << (failed.empty() ? "" : " (" + std::to_string(failed.size()) + " with another codec left out)")
                               << (unreceived.empty() ? "" : " (" + std::to_string(unreceived.size()) + " rejected)");
  unreceived.insert(unreceived.end(), failed.begin(), failed.end());
  return unreceived;
}

Result<Negotiation> PeerConnection::answer_offer(std::string_view offer_sdp) {
  if (!session_ || !line_media_) return make_error(error_code::kConflict, "no negotiated line session to update");
  // Its m-lines carry the line's streams, which a re-offer's answer would drop.
  if (paired_) return make_error(error_code::kNotImplemented, "a paired session does not renegotiate");
  if (pending_answer_) return make_error(error_code::kConflict, "the first offer is still being answered");
  if (pending_offer_) return make_error(error_code::kConflict, "a server offer awaits this session's answer");
  auto offer = rtp::parse_sdp(offer_sdp);
  if (!offer) return make_error(offer.error().code, "SDP offer: " + offer.error().message);
  rtp::ReofferOptions options;
  options.candidates = gathered_candidates_;
  options.candidates_complete = gathering_done_;
  options.video_start_bitrate_kbps = settings_.video_start_bitrate_kbps;
  options.video_codecs = settings_.video_codecs;
  auto answer = rtp::answer_reoffer(*session_, *offer, options);
  if (!answer) return make_error(answer.error().code, "SDP offer: " + answer.error().message);
  // Same ICE credentials and certificate (answer_reoffer refuses others), so
  // the transport goes on as it is; the offer's candidates were trickled or
  // came with the first offer.
  session_ = std::move(answer->session);
  const std::vector<PublishedStream> before = std::move(published_);
  published_ = line_media_->republish(*session_, next_stream_key);
  const size_t failed = line_media_->set_legs(*session_, current_streams_).size();
  log_republished(before, failed);
  Negotiation negotiation = summarize(session_->media);
  negotiation.answer_sdp = std::move(answer->sdp);
  negotiation.published = published_;
  return negotiation;
}

// One line: what the participant's re-offer changed in what it publishes.
void PeerConnection::log_republished(const std::vector<PublishedStream>& before, size_t failed_legs) const {
  auto has_key = [](const std::vector<PublishedStream>& streams, StreamKey key) {
    return std::any_of(streams.begin(), streams.end(), [&](const PublishedStream& s) { return s.key == key; });
  };
  auto name = [](const PublishedStream& stream) {
    return std::string(rtp::to_string(stream.format.kind)) + " mid " + stream.mid;
  };
  std::string added, removed;
  for (const PublishedStream& stream : published_) {
    if (!has_key(before, stream.key)) added += (added.empty() ? "" : ", ") + name(stream);
  }
  for (const PublishedStream& stream : before) {
    if (!has_key(published_, stream.key)) removed += (removed.empty() ? "" : ", ") + name(stream);
  }
  PL_LOG(kDebug, log_context_) << "client re-offer answered: publishes " << published_.size() << " streams"
                               << (added.empty() ? "" : "; new: " + added)
                               << (removed.empty() ? "" : "; stopped: " + removed)
                               << (added.empty() && removed.empty() ? " (unchanged)" : "") << "; receives "
                               << line_media_->leg_count() << " streams"
                               << (failed_legs > 0 ? " (" + std::to_string(failed_legs) + " left out)" : "");
}

void PeerConnection::on_rtp(std::span<uint8_t> packet) {
  if (media_) media_->on_rtp(packet, g_get_monotonic_time());
}

void PeerConnection::on_rtcp(std::span<uint8_t> compound) {
  if (media_) media_->on_rtcp(compound, g_get_monotonic_time());
}

}  // namespace partyline::core
