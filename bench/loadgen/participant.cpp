#include "bench/loadgen/participant.hpp"

#include <algorithm>
#include <limits>

#include "core/runtime/json.hpp"
#include "rtp/rtcp/rtcp_feedback.hpp"
#include "rtp/rtcp/rtcp_packet.hpp"
#include "rtp/packet/rtp_packet.hpp"

namespace partyline::loadgen {

namespace {

uint32_t random_ssrc() { return g_random_int() | 1u; }

// Publishers start their media clocks at different offsets within a frame
// interval, as independent senders would, instead of all on one tick.
uint64_t send_phase_ns(size_t publisher_index) { return (publisher_index * 7'000'000u) % 33'000'000u; }

}  // namespace

Participant::Participant(RunContext& run, size_t index, bool publisher)
    : run_(run), index_(index), is_publisher_(publisher), receptions_(run.publisher_count()) {
  dialect_ = make_dialect(run_.options.target, *this);
  if (is_publisher_) {
    PublisherSettings settings;
    settings.index = static_cast<uint16_t>(index_);
    settings.audio = run_.options.audio;
    settings.video_kbps = run_.options.video_kbps;
    settings.audio_ssrc = random_ssrc();
    settings.video_ssrc = random_ssrc();
    settings.video_rtx_ssrc = random_ssrc();
    publisher_ = std::make_unique<SyntheticPublisher>(settings);
  }
}

Participant::~Participant() {
  cleanup_.cancel();
  dialect_.reset();
  for (Connection& connection : legs_) connection.transport.reset();
  websocket_.reset();
}

void Participant::start() {
  WebSocketUrl url = run_.url;
  url.path = dialect_->websocket_path(run_.url.path);
  WebSocketClient::Callbacks callbacks;
  callbacks.on_open = [this] {
    reached(Step::kHandshake);
    dialect_->on_open();
  };
  callbacks.on_text = [this](std::string_view text) {
    if (dialect_->ignorable(text)) return;
    auto message = core::parse_json_object(text);
    if (!message) return fail(step(), "unreadable message from the server: " + message.error().message);
    dialect_->on_message(message->get());
  };
  callbacks.on_closed = [this](uint16_t code, std::string reason) { on_websocket_closed(code, reason); };
  auto websocket = WebSocketClient::connect(run_.context, url, dialect_->websocket_subprotocol(), std::move(callbacks));
  if (!websocket) return fail(Step::kConnect, websocket.error().message);
  websocket_ = std::move(websocket.value());
}

bool Participant::sending() const { return publisher_ && leg(Leg::kMain).secure && !failed() && !closing_; }

void Participant::poll_media(uint64_t now_ns) {
  if (sending()) publisher_->poll(now_ns, run_.window, *this);
}

uint64_t Participant::next_media_due_ns() const {
  return sending() ? publisher_->next_due_ns() : std::numeric_limits<uint64_t>::max();
}

void Participant::close() {
  if (closing_) return;
  closing_ = true;
  cleanup_.cancel();
  if (dialect_) dialect_->leave();
  if (websocket_) websocket_->close(1000);
  for (Connection& connection : legs_) {
    if (connection.transport) connection.transport->close();
  }
}

uint64_t Participant::transport_drops() const {
  uint64_t drops = 0;
  for (const Connection& connection : legs_) drops += connection.transport ? connection.transport->dropped_packets() : 0;
  return drops;
}

Step Participant::step() const {
  if (failure_step_) return *failure_step_;
  if (ready_) return Step::kMedia;
  bool any = false;
  for (const Connection& connection : legs_) {
    if (!connection.transport) continue;
    any = true;
    if (!connection.remote_set) return std::max(step_, Step::kAnswer);
    if (!connection.secure) return Step::kSecure;
  }
  return any ? Step::kStreams : step_;
}

void Participant::send_message(const json_t* message) {
  if (websocket_ && websocket_->open()) (void)websocket_->send_text(core::dump_json(message));
}

void Participant::reached(Step step) { step_ = std::max(step_, step); }

void Participant::fail(Step step, std::string reason) {
  if (failed() || closing_) return;
  failure_step_ = ready_ ? Step::kMedia : step;
  failure_reason_ = std::move(reason);
  if (creates_room()) run_.room.fail();
  // Not closed here: this may run inside a transport or WebSocket callback,
  // which must not tear its caller down.
  cleanup_.start(run_.context, std::chrono::milliseconds(0), [this] {
    for (Connection& connection : legs_) {
      if (connection.transport) connection.transport->close();
    }
    if (websocket_) websocket_->close(1000);
    return false;
  });
  run_.observer->on_failed(*this);
}

void Participant::set_session(std::string session_id) {
  session_id_ = std::move(session_id);
  if (is_publisher_ && index_ < run_.publisher_sessions.size()) run_.publisher_sessions[index_] = session_id_;
}

void Participant::prepare(Leg which, std::function<void()> ready) {
  Connection& connection = leg(which);
  if (connection.transport) return fail(step(), "prepare: the PeerConnection exists already");
  ice::PeerTransport::Callbacks callbacks;
  callbacks.on_local_candidate = [this, which](std::string candidate) {
    on_local_candidate(which, std::move(candidate));
  };
  callbacks.on_gathering_done = [this, which] { on_gathering_done(which); };
  callbacks.on_state = [this, which](ice::TransportState state, const Error* error) {
    on_transport_state(which, state, error);
  };
  callbacks.on_rtp = [this](std::span<uint8_t> packet) { on_rtp(packet); };
  // Only the publishing leg hears the server's keyframe requests and NACKs.
  if (which == Leg::kMain) callbacks.on_rtcp = [this](std::span<uint8_t> compound) { on_rtcp(compound); };
  ice::IceConfig config = run_.ice_config;
  config.controlling = which == Leg::kMain;  // the offerer controls, as a browser does
  auto transport = ice::PeerTransport::create(run_.context, config, run_.certificate, std::move(callbacks));
  if (!transport) return fail(step(), "creating the PeerConnection: " + transport.error().message);
  connection.transport = std::move(transport.value());
  if (run_.options.trickle) return ready();
  connection.on_gathered = std::move(ready);
  start_gathering(which);
}

void Participant::on_local_candidate(Leg which, std::string candidate) {
  if (run_.options.trickle) return dialect_->on_local_candidate(which, candidate);
  leg(which).local_candidates.push_back(std::move(candidate));
}

void Participant::on_gathering_done(Leg which) {
  if (run_.options.trickle) return dialect_->on_end_of_local_candidates(which);
  if (auto ready = std::move(leg(which).on_gathered)) ready();
}

SdpNegotiator& Participant::negotiator(Leg which) {
  Connection& connection = leg(which);
  if (connection.sdp) return *connection.sdp;
  OfferSettings settings;
  settings.publish = is_publisher_ && which == Leg::kMain;
  settings.audio = run_.options.audio;
  settings.video = run_.options.video_kbps > 0;
  if (settings.publish) {
    settings.audio_ssrc = publisher_->settings().audio_ssrc;
    settings.video_ssrc = publisher_->settings().video_ssrc;
    settings.video_rtx_ssrc = publisher_->settings().video_rtx_ssrc;
  }
  settings.stream_id = "loadgen-" + std::to_string(index_);
  settings.session_id = (uint64_t{g_random_int()} << 30) ^ g_random_int();
  const ice::PeerTransport& transport = *connection.transport;
  LocalTransport local{transport.local_ufrag(), transport.local_pwd(),
                       std::string(ice::PeerTransport::local_fingerprint_algorithm()), transport.local_fingerprint()};
  return connection.sdp.emplace(std::move(settings), std::move(local));
}

Result<std::string> Participant::create_offer() {
  Connection& connection = leg(Leg::kMain);
  if (!connection.transport) return make_error(error_code::kConflict, "create_offer before prepare");
  return negotiator(Leg::kMain).create_offer(connection.local_candidates, !run_.options.trickle);
}

void Participant::start_gathering(Leg which) {
  Connection& connection = leg(which);
  if (!connection.transport || connection.gathering) return;
  connection.gathering = true;
  if (Status status = connection.transport->start_gathering(); !status) {
    fail(step(), "ICE gathering: " + status.error().message);
  }
}

Status Participant::apply_answer(std::string_view sdp) {
  Connection& connection = leg(Leg::kMain);
  if (!connection.transport || !connection.sdp) return make_error(error_code::kConflict, "an answer without an offer");
  auto info = connection.sdp->accept_answer(sdp);
  if (!info) return info.error();
  ice::RemoteParameters remote{info->ice_ufrag, info->ice_pwd, info->fingerprint_algorithm, info->fingerprint,
                               info->we_are_dtls_client ? ice::DtlsRole::kClient : ice::DtlsRole::kServer};
  if (Status status = connection.transport->set_remote(remote); !status) return status;
  for (const std::string& candidate : info->candidates) add_remote_candidate(Leg::kMain, candidate);
  if (info->end_of_candidates) end_of_remote_candidates(Leg::kMain);
  connection.remote_set = true;
  reached(Step::kSecure);
  return {};
}

Result<std::string> Participant::answer_offer(Leg which, std::string_view sdp, const StreamOwners& owners) {
  Connection& connection = leg(which);
  if (!connection.transport) return make_error(error_code::kConflict, "a server offer before prepare");
  if (which == Leg::kMain && !connection.sdp) {
    return make_error(error_code::kConflict, "a server offer before our own offer");
  }
  auto answer = negotiator(which).answer_offer(sdp, connection.local_candidates, !run_.options.trickle);
  if (!answer) return answer.error();
  if (which == Leg::kReceive && !connection.remote_set) {  // the server offered first
    const RemoteTransportInfo& info = answer->remote;
    ice::RemoteParameters remote{info.ice_ufrag, info.ice_pwd, info.fingerprint_algorithm, info.fingerprint,
                                 info.we_are_dtls_client ? ice::DtlsRole::kClient : ice::DtlsRole::kServer};
    if (Status status = connection.transport->set_remote(remote); !status) return status.error();
    for (const std::string& candidate : info.candidates) add_remote_candidate(which, candidate);
    if (info.end_of_candidates) end_of_remote_candidates(which);
    connection.remote_set = true;
    reached(Step::kSecure);
  }
  learn_streams(*answer, owners);
  connection.offer_pending = true;
  return std::move(answer->answer_sdp);
}

// Every server offer lists all the streams it sends: what it no longer
// lists is withdrawn. One leg receives, so its offer is the whole picture.
void Participant::learn_streams(const ServerOfferAnswer& answer, const StreamOwners& owners) {
  std::vector<std::array<bool, kStreamKinds>> announced(receptions_.size(), {false, false});
  for (const AnnouncedStream& stream : answer.streams) {
    const auto owner = owners.find(stream.mid);
    const auto publisher = run_.publisher_of(owner != owners.end() ? owner->second : stream.stream_id);
    if (!publisher) continue;  // not one of this run's publishers
    const size_t kind = stream.kind == rtp::MediaKind::kVideo ? 1 : 0;
    receptions_[*publisher][kind].announce(stream.ssrc, stream.rtx_ssrc);
    announced[*publisher][kind] = true;
  }
  for (size_t publisher = 0; publisher < receptions_.size(); ++publisher) {
    for (size_t kind = 0; kind < kStreamKinds; ++kind) {
      if (!announced[publisher][kind]) receptions_[publisher][kind].withdraw();
    }
  }
  rtx_payload_types_ = answer.rtx_payload_types;
}

void Participant::offer_answered(Leg which) {
  leg(which).offer_pending = false;
  check_ready();
}

void Participant::add_remote_candidate(Leg which, std::string_view candidate) {
  if (Connection& connection = leg(which); connection.transport) {
    (void)connection.transport->add_remote_candidate(candidate);
  }
}

void Participant::end_of_remote_candidates(Leg which) {
  if (Connection& connection = leg(which); connection.transport) connection.transport->end_of_remote_candidates();
}

bool Participant::streams_complete() const {
  for (size_t publisher = 0; publisher < receptions_.size(); ++publisher) {
    if ((is_publisher_ && publisher == index_) || run_.publisher_failed[publisher]) continue;
    if (run_.options.audio && !receptions_[publisher][0].announced()) return false;
    if (run_.options.video_kbps > 0 && !receptions_[publisher][1].announced()) return false;
  }
  return true;
}

// Every PeerConnection the dialect opened is negotiated and secure, and a
// publisher's publishing one exists.
bool Participant::legs_ready() const {
  if (is_publisher_ && !leg(Leg::kMain).transport) return false;
  bool any = false;
  for (const Connection& connection : legs_) {
    if (!connection.transport) continue;
    any = true;
    if (!connection.remote_set || !connection.secure || connection.offer_pending) return false;
  }
  return any;
}

void Participant::check_ready() {
  if (ready_ || failed() || closing_) return;
  if (!legs_ready() || !streams_complete()) return;
  ready_ = true;
  run_.observer->on_ready(*this);
}

void Participant::on_transport_state(Leg which, ice::TransportState state, const Error* error) {
  if (closing_) return;
  const char* name = which == Leg::kMain ? "" : " (receiving PeerConnection)";
  switch (state) {
    case ice::TransportState::kSecure:
      leg(which).secure = true;
      if (publisher_ && which == Leg::kMain) publisher_->start(monotonic_ns(), send_phase_ns(index_));
      check_ready();
      return;
    case ice::TransportState::kFailed:
      return fail(Step::kSecure, (error != nullptr ? error->message : "the transport failed") + name);
    case ice::TransportState::kClosed:
      return fail(Step::kSecure, std::string("the server closed the DTLS association") + name);
    default: return;
  }
}

void Participant::on_websocket_closed(uint16_t code, const std::string& reason) {
  if (closing_) return;
  std::string text = code != 0 ? "the server closed the WebSocket with code " + std::to_string(code) : "WebSocket";
  if (!reason.empty()) text += ": " + reason;
  fail(step(), text);
}

bool Participant::send_rtp(std::span<uint8_t> buffer, size_t length) {
  const auto& transport = leg(Leg::kMain).transport;
  return transport && transport->send_rtp(buffer, length) == ice::SendResult::kSent;
}

void Participant::on_rtp(std::span<uint8_t> packet) {
  auto parsed = rtp::parse_rtp_packet(packet);
  if (!parsed) {
    ++unrecognized_packets_;
    return;
  }
  std::span<const uint8_t> payload = parsed->payload;
  const bool retransmission = rtx_payload_types_.test(parsed->payload_type);
  if (retransmission) payload = payload.size() >= 2 ? payload.subspan(2) : std::span<const uint8_t>();
  const auto trailer = read_trailer(payload);
  if (!trailer || trailer->publisher >= receptions_.size()) {
    ++unrecognized_packets_;
    return;
  }
  ++received_packets_;
  const auto kind = static_cast<size_t>(trailer->kind);
  receptions_[trailer->publisher][kind].on_packet(*trailer, parsed->ssrc, retransmission, monotonic_ns(), run_.window,
                                                  run_.delays[kind]);
}

// Publishers answer the server's keyframe requests and NACKs; receivers
// ignore its reports.
void Participant::on_rtcp(std::span<uint8_t> compound) {
  if (!publisher_) return;
  rtp::RtcpCompoundReader reader(compound);
  rtp::RtcpPacketView packet;
  while (reader.next(packet)) {
    if (packet.packet_type == rtp::rtcp_type::kPayloadFeedback &&
        (packet.count == rtp::feedback_format::kPli || packet.count == rtp::feedback_format::kFir)) {
      publisher_->request_keyframe();
    } else if (packet.packet_type == rtp::rtcp_type::kTransportFeedback &&
               packet.count == rtp::feedback_format::kNack) {
      auto nack = rtp::parse_nack(packet);
      if (!nack || nack->media_ssrc != publisher_->settings().video_ssrc) continue;
      std::array<uint16_t, 256> lost{};
      const size_t count = nack->expand(lost);
      publisher_->on_nack(std::span(lost.data(), count), *this);
    }
  }
}

}  // namespace partyline::loadgen
