#include "ice/peer_transport.hpp"

#include "ice/ice_agent.hpp"

#include "rtp/packet/packet_demux.hpp"

namespace partyline::ice {
namespace {

// A flight is a few datagrams; retransmissions while ICE is still checking
// add copies of the same flight, of which only the newest matter.
constexpr size_t kMaxPendingDtls = 32;

}  // namespace

std::string_view to_string(TransportState state) {
  switch (state) {
    case TransportState::kNew: return "new";
    case TransportState::kChecking: return "checking";
    case TransportState::kConnected: return "connected";
    case TransportState::kSecure: return "secure";
    case TransportState::kFailed: return "failed";
    case TransportState::kClosed: return "closed";
  }
  return "unknown";
}

void PeerTransport::SourceDeleter::operator()(GSource* source) const {
  g_source_destroy(source);
  g_source_unref(source);
}

PeerTransport::PeerTransport(ConstructionTag, GMainContext* context,
                             std::shared_ptr<const Certificate> certificate, Callbacks callbacks,
                             DtlsTransport::Options dtls_options)
    : context_(context),
      certificate_(std::move(certificate)),
      callbacks_(std::move(callbacks)),
      dtls_options_(std::move(dtls_options)) {}

PeerTransport::~PeerTransport() {
  // Tear down without reporting: the owner is going away.
  dtls_timer_.reset();
  setup_timer_.reset();
  release_agent_.reset();
  if (dtls_) dtls_->close();
  dtls_.reset();
  ice_.reset();
}

Result<std::unique_ptr<PeerTransport>> PeerTransport::create(
    GMainContext* context, const IceConfig& config, std::shared_ptr<const Certificate> certificate,
    Callbacks callbacks, DtlsTransport::Options dtls_options) {
  auto make_agent = [context, &config](IceLink::Callbacks link_callbacks) -> Result<std::unique_ptr<IceLink>> {
    auto agent = IceAgent::create(context, config, std::move(link_callbacks));
    if (!agent.ok()) return agent.error();
    return std::unique_ptr<IceLink>(std::move(agent).value());
  };
  return create_with_link(context, config.setup_timeout_ms, make_agent, std::move(certificate),
                          std::move(callbacks), std::move(dtls_options));
}

Result<std::unique_ptr<PeerTransport>> PeerTransport::create_with_link(
    GMainContext* context, uint32_t setup_timeout_ms, const LinkFactory& make_link,
    std::shared_ptr<const Certificate> certificate, Callbacks callbacks,
    DtlsTransport::Options dtls_options) {
  if (!certificate) return make_error(error_code::kInternal, "PeerTransport needs a certificate");
  auto transport = std::make_unique<PeerTransport>(ConstructionTag{}, context,
                                                   std::move(certificate), std::move(callbacks),
                                                   std::move(dtls_options));
  PeerTransport* self = transport.get();
  IceLink::Callbacks ice_callbacks;
  ice_callbacks.on_local_candidate = [self](std::string candidate) {
    if (self->callbacks_.on_local_candidate) self->callbacks_.on_local_candidate(std::move(candidate));
  };
  ice_callbacks.on_gathering_done = [self] {
    if (self->callbacks_.on_gathering_done) self->callbacks_.on_gathering_done();
  };
  ice_callbacks.on_state = [self](IceState state) { self->on_ice_state(state); };
  ice_callbacks.on_selected_pair = [self](const std::string& local, const std::string& remote) {
    self->selected_local_ = local;
    self->selected_remote_ = remote;
    self->on_ice_path_ready();
  };
  ice_callbacks.on_receive = [self](std::span<uint8_t> datagram) { self->on_datagram(datagram); };
  auto link = make_link(std::move(ice_callbacks));
  if (!link.ok()) return link.error();
  transport->ice_ = std::move(link).value();
  transport->setup_timeout_ms_ = setup_timeout_ms;
  return transport;
}

Status PeerTransport::set_remote(const RemoteParameters& remote) {
  if (state_ == TransportState::kFailed || state_ == TransportState::kClosed) {
    return make_error(error_code::kConflict, "transport is " + std::string(to_string(state_)));
  }
  if (remote_set_) return make_error(error_code::kConflict, "remote parameters already set");
  DtlsTransport::Callbacks dtls_callbacks;
  dtls_callbacks.send = [this](std::span<const uint8_t> datagram) { send_dtls(datagram); };
  dtls_callbacks.on_connected = [this](const SrtpKeyMaterial& keys) { on_dtls_connected(keys); };
  dtls_callbacks.on_failed = [this](const Error& error) {
    fail(error.code, "DTLS: " + error.message);
  };
  // The peer hung up. The agent is left for the destructor: this runs inside
  // libnice's receive callback, where removing its stream is unsafe.
  dtls_callbacks.on_closed = [this] { on_remote_closed(); };
  auto dtls = DtlsTransport::create(remote.local_role, certificate_, remote.fingerprint_algorithm,
                                    remote.fingerprint, std::move(dtls_callbacks), dtls_options_);
  if (!dtls.ok()) return dtls.error();
  if (Status status = ice_->set_remote_credentials(remote.ice_ufrag, remote.ice_pwd); !status.ok()) {
    return status;
  }
  dtls_ = std::move(dtls).value();
  remote_set_ = true;
  if (setup_timeout_ms_ > 0) {
    GSource* source = g_timeout_source_new(setup_timeout_ms_);
    g_source_set_callback(source, &PeerTransport::on_setup_timeout, this, nullptr);
    g_source_attach(source, context_);
    setup_timer_.reset(source);
  }
  set_state(TransportState::kChecking);
  // The pair may already be up (checks answered before the offer was applied).
  if (ice_->has_selected_pair()) on_ice_path_ready();
  return {};
}

Result<CandidateOutcome> PeerTransport::add_remote_candidate(std::string_view candidate) {
  if (state_ == TransportState::kClosed) return make_error(error_code::kConflict, "transport is closed");
  return ice_->add_remote_candidate(candidate);
}

void PeerTransport::end_of_remote_candidates() {
  if (state_ != TransportState::kClosed) ice_->end_of_remote_candidates();
}

Status PeerTransport::start_gathering() {
  if (state_ == TransportState::kClosed) return make_error(error_code::kConflict, "transport is closed");
  return ice_->start_gathering();
}

void PeerTransport::on_ice_state(IceState state) {
  if (state_ == TransportState::kFailed || state_ == TransportState::kClosed) return;
  switch (state) {
    case IceState::kConnected:
    case IceState::kReady:
      if (ice_->has_selected_pair()) on_ice_path_ready();
      break;
    case IceState::kFailed:
      fail(kIceErrorCode, state_ == TransportState::kSecure || state_ == TransportState::kConnected
                              ? "ICE: connection lost (consent expired)"
                              : "ICE: connectivity checks failed");
      break;
    default:
      break;
  }
}

// ICE has a pair: flush what DTLS said meanwhile, and start the handshake
// when we are its client.
void PeerTransport::on_ice_path_ready() {
  if (!remote_set_ || state_ == TransportState::kFailed || state_ == TransportState::kClosed) return;
  std::deque<std::vector<uint8_t>> pending = std::move(pending_dtls_);
  pending_dtls_.clear();
  for (const auto& datagram : pending) send_counts_.count(ice_->send(datagram));
  if (state_ == TransportState::kNew || state_ == TransportState::kChecking) {
    set_state(TransportState::kConnected);
  }
  if (dtls_ && dtls_->role() == DtlsRole::kClient && dtls_->state() == DtlsTransport::State::kNew) {
    dtls_->start();
    arm_dtls_timer();
  }
}

void PeerTransport::send_dtls(std::span<const uint8_t> datagram) {
  if (ice_->has_selected_pair()) {
    // A lost datagram is recovered by DTLS retransmission.
    send_counts_.count(ice_->send(datagram));
    return;
  }
  if (pending_dtls_.size() >= kMaxPendingDtls) pending_dtls_.pop_front();
  pending_dtls_.emplace_back(datagram.begin(), datagram.end());
}

void PeerTransport::on_datagram(std::span<uint8_t> datagram) {
  if (state_ == TransportState::kFailed || state_ == TransportState::kClosed) return;
  switch (rtp::classify_packet(datagram)) {
    case rtp::PacketKind::kDtls:
      if (!dtls_) {
        count(ReceiveDrop::kDtlsBeforeOffer);  // the peer will retransmit
        return;
      }
      dtls_->receive(datagram);
      arm_dtls_timer();
      return;
    case rtp::PacketKind::kRtp:
      on_media(datagram, false);
      return;
    case rtp::PacketKind::kRtcp:
      on_media(datagram, true);
      return;
    default:
      count(ReceiveDrop::kUnknownKind);
      return;
  }
}

void PeerTransport::on_media(std::span<uint8_t> packet, bool rtcp) {
  if (!srtp_inbound_) {
    count(ReceiveDrop::kMediaBeforeKeys);
    return;
  }
  rtp::SrtpResult opened =
      rtcp ? srtp_inbound_->unprotect_rtcp(packet) : srtp_inbound_->unprotect_rtp(packet);
  if (!opened.ok()) {
    count(ReceiveDrop::kUnprotectFailed);
    ++totals_.srtp_unprotect_failures;
    return;
  }
  ++media_packets_received_;
  media_bytes_received_ += packet.size();
  ++totals_.packets_received;
  totals_.bytes_received += packet.size();
  auto& deliver = rtcp ? callbacks_.on_rtcp : callbacks_.on_rtp;
  if (deliver) deliver(packet.first(opened.length));
}

void PeerTransport::on_dtls_connected(const SrtpKeyMaterial& keys) {
  auto inbound = rtp::SrtpSession::create(keys.profile, rtp::SrtpDirection::kInbound, keys.inbound);
  auto outbound =
      rtp::SrtpSession::create(keys.profile, rtp::SrtpDirection::kOutbound, keys.outbound);
  if (!inbound.ok() || !outbound.ok()) {
    fail(error_code::kInternal,
         "SRTP: " + (inbound.ok() ? outbound.error().message : inbound.error().message));
    return;
  }
  srtp_inbound_.emplace(std::move(inbound).value());
  srtp_outbound_.emplace(std::move(outbound).value());
  srtp_profile_ = keys.profile;
  set_state(TransportState::kSecure);
}

void PeerTransport::arm_dtls_timer() {
  dtls_timer_.reset();
  if (!dtls_) return;
  std::optional<std::chrono::milliseconds> timeout = dtls_->next_timeout();
  if (!timeout) return;
  GSource* source = g_timeout_source_new(static_cast<guint>(timeout->count()));
  g_source_set_callback(source, &PeerTransport::on_dtls_timer, this, nullptr);
  g_source_attach(source, context_);
  dtls_timer_.reset(source);
}

gboolean PeerTransport::on_dtls_timer(gpointer self) {
  auto* transport = static_cast<PeerTransport*>(self);
  transport->dtls_timer_.reset();  // this source is done; arm_dtls_timer makes the next
  if (transport->dtls_ && transport->state_ != TransportState::kFailed &&
      transport->state_ != TransportState::kClosed) {
    transport->dtls_->handle_timeout();
    transport->arm_dtls_timer();
  }
  return G_SOURCE_REMOVE;
}

gboolean PeerTransport::on_setup_timeout(gpointer self) {
  auto* transport = static_cast<PeerTransport*>(self);
  transport->setup_timer_.reset();
  const TransportState state = transport->state_;
  if (state == TransportState::kChecking || state == TransportState::kConnected) {
    ++transport->totals_.setup_timeouts;
    // Counted by the layer that was unfinished (fail), and as a timeout.
    transport->fail(state == TransportState::kChecking ? kIceErrorCode : kDtlsErrorCode,
                    "connection set-up timed out: not secure " +
                                       std::to_string(transport->setup_timeout_ms_) + " ms after the offer (" +
                                       (state == TransportState::kChecking ? "ICE checks unfinished"
                                                                          : "DTLS handshake unfinished") +
                                       ")");
  }
  return G_SOURCE_REMOVE;
}

SendResult PeerTransport::send_protected(std::span<uint8_t> buffer, size_t length, bool rtcp) {
  SendResult result = SendResult::kNotSecure;
  size_t sent_length = 0;
  if (state_ == TransportState::kSecure && srtp_outbound_) {
    rtp::SrtpResult sealed = rtcp ? srtp_outbound_->protect_rtcp(buffer, length)
                                  : srtp_outbound_->protect_rtp(buffer, length);
    result = sealed.ok() ? ice_->send(buffer.first(sealed.length)) : SendResult::kProtectFailed;
    sent_length = sealed.length;
  }
  send_counts_.count(result);
  if (result != SendResult::kSent) {
    ++totals_.send_failures;
    return result;
  }
  ++media_packets_sent_;
  media_bytes_sent_ += sent_length;
  ++totals_.packets_sent;
  totals_.bytes_sent += sent_length;
  return result;
}

TransportSnapshot PeerTransport::snapshot() const {
  TransportSnapshot snapshot;
  snapshot.state = state_;
  snapshot.selected_local = selected_local_;
  snapshot.selected_remote = selected_remote_;
  snapshot.dtls_state = dtls_ ? std::string(to_string(dtls_->state())) : "new";
  if (dtls_) {
    snapshot.dtls_role = dtls_->role() == DtlsRole::kClient ? "client" : "server";
    snapshot.dtls_cipher = dtls_->session_description();
  }
  if (srtp_profile_) snapshot.srtp_profile = std::string(rtp::to_string(*srtp_profile_));
  snapshot.media_packets_received = media_packets_received_;
  snapshot.media_bytes_received = media_bytes_received_;
  snapshot.media_packets_sent = media_packets_sent_;
  snapshot.media_bytes_sent = media_bytes_sent_;
  return snapshot;
}

uint64_t PeerTransport::dropped_packets() const {
  uint64_t total = 0;
  for (uint64_t count : receive_drops_) total += count;
  return total;
}

void PeerTransport::fail(int code, std::string message) {
  if (state_ == TransportState::kFailed || state_ == TransportState::kClosed) return;
  dtls_timer_.reset();
  pending_dtls_.clear();
  if (code == kDtlsErrorCode) ++totals_.dtls_failures;
  if (code == kIceErrorCode) ++totals_.ice_failures;
  Error error = make_error(code, std::move(message));
  // A failed transport never sends or receives again: its agent's socket
  // and stream go now, not when the owner closes it (a session whose
  // PeerConnection failed may stay connected for long). From an idle
  // source: fail() may run inside libnice's callbacks, where removing its
  // stream is unsafe.
  GSource* source = g_idle_source_new();
  g_source_set_callback(source, &PeerTransport::on_release_agent, this, nullptr);
  g_source_attach(source, context_);
  release_agent_.reset(source);
  set_state(TransportState::kFailed, &error);
}

gboolean PeerTransport::on_release_agent(gpointer self) {
  auto* transport = static_cast<PeerTransport*>(self);
  transport->release_agent_.reset();  // this source is done
  if (transport->ice_ && transport->state_ == TransportState::kFailed) transport->ice_->close();
  return G_SOURCE_REMOVE;
}

void PeerTransport::close() {
  if (state_ == TransportState::kClosed) {
    ice_->close();  // after on_remote_closed, the agent may still run
    return;
  }
  dtls_timer_.reset();
  if (dtls_) dtls_->close();  // close_notify goes out while the agent still runs
  pending_dtls_.clear();
  ice_->close();
  srtp_inbound_.reset();
  srtp_outbound_.reset();
  set_state(TransportState::kClosed);
}

void PeerTransport::on_remote_closed() {
  dtls_timer_.reset();
  pending_dtls_.clear();
  srtp_inbound_.reset();
  srtp_outbound_.reset();
  set_state(TransportState::kClosed);
}

void PeerTransport::set_state(TransportState state, const Error* error) {
  if (state == state_) return;
  state_ = state;
  if (state == TransportState::kSecure || state == TransportState::kFailed || state == TransportState::kClosed) {
    setup_timer_.reset();
  }
  if (callbacks_.on_state) callbacks_.on_state(state, error);
}

}  // namespace partyline::ice
