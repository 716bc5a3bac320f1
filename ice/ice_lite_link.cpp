#include "ice/ice_lite_link.hpp"

#include <gnutls/crypto.h>

#include <string_view>

#include "rtp/packet/packet_demux.hpp"
#include "rtp/sdp/ice_candidate.hpp"

namespace partyline::ice {
namespace {

// RFC 8445 section 5.1.2.1 with type preference 126 (host), local
// preference 65535, component 1.
constexpr uint32_t kHostPriority = (126u << 24) | (65535u << 8) | (256u - 1);

// ice-char (RFC 8839): ALPHA / DIGIT / "+" / "/"; at least 4 characters for
// a fragment, 22 for a password (128 bits of randomness at 6 bits each).
Result<std::string> random_ice_chars(size_t count) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes(count, '\0');
  if (int rc = gnutls_rnd(GNUTLS_RND_RANDOM, bytes.data(), bytes.size()); rc < 0) {
    return make_error(error_code::kInternal, std::string("gnutls_rnd: ") + gnutls_strerror(rc));
  }
  for (char& c : bytes) c = kAlphabet[static_cast<unsigned char>(c) % kAlphabet.size()];
  return bytes;
}

int64_t now_us() { return g_get_monotonic_time(); }

}  // namespace

void IceLiteLink::SourceDeleter::operator()(GSource* source) const {
  g_source_destroy(source);
  g_source_unref(source);
}

Result<std::unique_ptr<IceLiteLink>> IceLiteLink::create(GMainContext* context, SharedUdpPort& port,
                                                         Options options, Callbacks callbacks) {
  if (options.advertised_addresses.empty()) {
    return make_error(error_code::kInternal, "ICE-lite needs an address to advertise");
  }
  auto filter = CandidateFilter::create(options.allowed_remote_networks);
  if (!filter.ok()) return filter.error();
  auto ufrag = random_ice_chars(8);
  auto pwd = random_ice_chars(24);
  if (!ufrag.ok()) return ufrag.error();
  if (!pwd.ok()) return pwd.error();
  return std::make_unique<IceLiteLink>(ConstructionTag{}, context, port, std::move(options), std::move(callbacks),
                                       std::move(filter).value(), std::move(ufrag).value(), std::move(pwd).value());
}

IceLiteLink::IceLiteLink(ConstructionTag, GMainContext* context, SharedUdpPort& port, Options options,
                         Callbacks callbacks, CandidateFilter filter, std::string local_ufrag, std::string local_pwd)
    : context_(context),
      port_(port),
      options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      filter_(std::move(filter)),
      local_ufrag_(std::move(local_ufrag)),
      local_pwd_(std::move(local_pwd)),
      responder_(local_ufrag_, local_pwd_, options_.consent_timeout_us) {
  // Checks may come as soon as the participant has the description.
  port_.attach(local_ufrag_, this);
}

IceLiteLink::~IceLiteLink() { close(); }

void IceLiteLink::close() {
  if (closed_) return;
  closed_ = true;
  has_path_ = false;
  gather_source_.reset();
  consent_timer_.reset();
  port_.detach(this);
}

std::string IceLiteLink::local_candidate(size_t index) const {
  rtp::IceCandidate candidate;
  candidate.foundation = std::to_string(index + 1);
  candidate.component = 1;
  candidate.transport = "udp";
  candidate.priority = kHostPriority - static_cast<uint32_t>(index);
  candidate.address = options_.advertised_addresses[index];
  candidate.port = port_.port();
  candidate.type = rtp::IceCandidateType::kHost;
  return rtp::to_string(candidate);
}

Status IceLiteLink::start_gathering() {
  if (closed_) return make_error(error_code::kConflict, "ICE link is closed");
  if (gathering_started_) return {};
  gathering_started_ = true;
  if (state_ == IceState::kNew) set_state(IceState::kGathering);
  // Announced from the loop, as libnice does, never from inside the call.
  GSource* source = g_idle_source_new();
  g_source_set_callback(source, &IceLiteLink::on_gather, this, nullptr);
  g_source_attach(source, context_);
  gather_source_.reset(source);
  return {};
}

gboolean IceLiteLink::on_gather(gpointer self_pointer) {
  auto* self = static_cast<IceLiteLink*>(self_pointer);
  self->gather_source_.reset();  // destroys this source after the callback returns
  for (size_t i = 0; i < self->options_.advertised_addresses.size(); ++i) {
    if (self->closed_) return G_SOURCE_REMOVE;
    if (self->callbacks_.on_local_candidate) self->callbacks_.on_local_candidate(self->local_candidate(i));
  }
  if (!self->closed_ && self->callbacks_.on_gathering_done) self->callbacks_.on_gathering_done();
  if (!self->closed_ && self->state_ == IceState::kGathering) self->set_state(IceState::kConnecting);
  return G_SOURCE_REMOVE;
}

Status IceLiteLink::set_remote_credentials(const std::string& ufrag, const std::string&) {
  if (closed_) return make_error(error_code::kConflict, "ICE link is closed");
  // The password would sign this side's checks; an ICE-lite agent sends none.
  responder_.set_remote_ufrag(ufrag);
  if (state_ == IceState::kNew || state_ == IceState::kGathering) set_state(IceState::kConnecting);
  return {};
}

Result<CandidateOutcome> IceLiteLink::add_remote_candidate(std::string_view candidate) {
  auto parsed = rtp::parse_ice_candidate(candidate);
  if (!parsed.ok()) return parsed.error();
  if (!parsed->is_udp()) return CandidateOutcome{false, false, "TCP candidates are not supported (UDP only)"};
  if (remote_candidates_.size() >= kMaxRemoteCandidates) {
    return CandidateOutcome{false, false, "more than " + std::to_string(kMaxRemoteCandidates) + " candidates"};
  }
  // Kept to name the pair; the participant's checks show where it is.
  remote_candidates_.push_back(std::move(parsed).value());
  // Trickled candidates often arrive after the check that selected their
  // address (signaling is slower than the checks): name the pair again.
  if (has_path_ && callbacks_.on_selected_pair) {
    const std::string remote = remote_candidate(*path_);
    if (remote != selected_remote_) {
      selected_remote_ = remote;
      callbacks_.on_selected_pair(local_candidate(0), remote);
    }
  }
  return CandidateOutcome{true, false, {}};
}

std::string IceLiteLink::remote_candidate(const rtp::TransportAddress& address) const {
  const std::string ip = ip_string(address);
  for (const rtp::IceCandidate& candidate : remote_candidates_) {
    if (candidate.port != address.port || candidate.address != ip) continue;
    // As libnice writes a pair's candidates in the default mode: without
    // the related address, the browser's generation, ufrag and network
    // extensions.
    rtp::IceCandidate named = candidate;
    named.related_address.reset();
    named.related_port.reset();
    named.generation.reset();
    named.extensions.clear();
    return rtp::to_string(named);
  }
  rtp::IceCandidate reflexive;
  reflexive.foundation = "prflx";
  reflexive.transport = "udp";
  reflexive.address = ip;
  reflexive.port = address.port;
  reflexive.type = rtp::IceCandidateType::kPeerReflexive;
  return rtp::to_string(reflexive);
}

SendResult IceLiteLink::send(std::span<const uint8_t> datagram) {
  if (!has_path_ || closed_) return SendResult::kNoPath;
  return port_.send_to(*path_, datagram);
}

void IceLiteLink::on_port_datagram(std::span<uint8_t> datagram, const rtp::TransportAddress& from) {
  if (closed_ || state_ == IceState::kFailed) return;
  if (rtp::classify_packet(datagram) == rtp::PacketKind::kStun) {
    on_check(datagram, from);
    return;
  }
  if (!responder_.is_checked(from)) {
    ++counters_.from_unchecked;
    return;
  }
  if (callbacks_.on_receive) callbacks_.on_receive(datagram);
}

void IceLiteLink::on_check(std::span<const uint8_t> datagram, const rtp::TransportAddress& from) {
  const auto message = rtp::parse_stun_message(datagram);
  if (!message.ok()) {
    ++counters_.stun_malformed;
    return;
  }
  if (!responder_.is_checked(from) && !filter_.allows(from)) {
    ++counters_.outside_networks;
    return;
  }
  const auto reply = responder_.on_message(*message, from, now_us(), response_);
  if (reply.response_size > 0) port_.send_to(from, std::span<const uint8_t>(response_.data(), reply.response_size));
  if (reply.verdict != rtp::IceLiteResponder::Verdict::kAnswered) return;
  port_.route(from, this);
  if (reply.selected_changed) on_selected(*responder_.selected());
  arm_consent_timer();
}

void IceLiteLink::on_selected(const rtp::TransportAddress& address) {
  path_ = address;
  has_path_ = true;
  selected_remote_ = remote_candidate(address);
  if (callbacks_.on_selected_pair) callbacks_.on_selected_pair(local_candidate(0), selected_remote_);
  if (!closed_) set_state(IceState::kReady);
}

void IceLiteLink::set_state(IceState state) {
  if (state == state_) return;
  state_ = state;
  if (callbacks_.on_state) callbacks_.on_state(state);
}

void IceLiteLink::arm_consent_timer() {
  const auto deadline = responder_.consent_deadline_us();
  if (!deadline || closed_) return;
  const int64_t wait_ms = std::max<int64_t>(0, (*deadline - now_us() + 999) / 1000);
  consent_timer_.reset();
  GSource* source = g_timeout_source_new(static_cast<guint>(wait_ms));
  g_source_set_callback(source, &IceLiteLink::on_consent_timer, this, nullptr);
  g_source_attach(source, context_);
  consent_timer_.reset(source);
}

gboolean IceLiteLink::on_consent_timer(gpointer self_pointer) {
  auto* self = static_cast<IceLiteLink*>(self_pointer);
  if (!self->responder_.consent_expired(now_us())) {
    self->arm_consent_timer();  // a check came meanwhile (the timer is re-armed on each; this is a fallback)
    return G_SOURCE_REMOVE;
  }
  self->has_path_ = false;
  self->consent_timer_.reset();  // destroying the dispatching source is allowed; GLib keeps it alive until we return
  self->set_state(IceState::kFailed);
  return G_SOURCE_REMOVE;
}

}  // namespace partyline::ice
