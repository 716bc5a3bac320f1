#include "ice/ice_agent.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#include <nice/interfaces.h>

namespace partyline::ice {
namespace {

constexpr guint kComponent = 1;  // BUNDLE + rtcp-mux: one component carries everything
constexpr size_t kMaxDatagram = 65536;

struct GFreeDeleter {
  void operator()(void* pointer) const { g_free(pointer); }
};
using OwnedGChars = std::unique_ptr<gchar, GFreeDeleter>;

// "host:port" or "[v6]:port".
Result<std::pair<std::string, uint16_t>> split_host_port(const std::string& text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) {
    return make_error(error_code::kBadRequest, "'" + text + "' is not host:port");
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned port = 0;
  const char* port_begin = text.data() + colon + 1;
  const char* port_end = text.data() + text.size();
  auto [end, error] = std::from_chars(port_begin, port_end, port);
  if (error != std::errc() || end != port_end || port == 0 || port > 65535) {
    return make_error(error_code::kBadRequest, "'" + text + "' has no valid port");
  }
  return std::make_pair(std::move(host), static_cast<uint16_t>(port));
}

// libnice writes candidate lines as "a=candidate:..."; signalling wants "candidate:...".
std::string without_attribute_prefix(const gchar* line) {
  if (line == nullptr) return {};
  std::string_view text(line);
  if (text.substr(0, 2) == "a=") text.remove_prefix(2);
  return std::string(text);
}

bool is_ip_literal(const std::string& host) {
  NiceAddress address;
  nice_address_init(&address);
  return nice_address_set_from_string(&address, host.c_str()) != FALSE;
}

}  // namespace

std::string_view to_string(IceState state) {
  switch (state) {
    case IceState::kNew: return "new";
    case IceState::kGathering: return "gathering";
    case IceState::kConnecting: return "connecting";
    case IceState::kConnected: return "connected";
    case IceState::kReady: return "ready";
    case IceState::kFailed: return "failed";
  }
  return "unknown";
}

IceAgent::IceAgent(ConstructionTag, GMainContext* context, IceConfig config,
                   CandidateFilter filter, Callbacks callbacks)
    : context_(context),
      config_(std::move(config)),
      filter_(std::move(filter)),
      callbacks_(std::move(callbacks)),
      receive_buffer_(kMaxDatagram) {}

IceAgent::~IceAgent() { close(); }

Result<std::unique_ptr<IceAgent>> IceAgent::create(GMainContext* context, const IceConfig& config,
                                                   Callbacks callbacks) {
  auto filter = CandidateFilter::create(config.allowed_remote_networks);
  if (!filter.ok()) return filter.error();
  auto agent = std::make_unique<IceAgent>(ConstructionTag{}, context, config,
                                          std::move(filter).value(), std::move(callbacks));
  if (Status status = agent->configure(); !status.ok()) return status.error();
  return agent;
}

Status IceAgent::configure() {
  // Regular nomination: browsers (the controlling side) nominate regularly,
  // and a controlling partyline agent in tests then behaves the same way.
  const auto options = static_cast<NiceAgentOption>(NICE_AGENT_OPTION_ICE_TRICKLE |
                                                    NICE_AGENT_OPTION_CONSENT_FRESHNESS |
                                                    NICE_AGENT_OPTION_REGULAR_NOMINATION);
  agent_.reset(nice_agent_new_full(context_, NICE_COMPATIBILITY_RFC5245, options));
  if (!agent_) return make_error(error_code::kInternal, "nice_agent_new_full failed");
  NiceAgent* agent = agent_.get();
  // upnp would multicast SSDP discovery; TCP candidates are not served.
  g_object_set(agent, "upnp", FALSE, "controlling-mode", config_.controlling ? TRUE : FALSE,
               "ice-tcp", FALSE, "ice-udp", TRUE, nullptr);
  if (!config_.stun_server.empty()) {
    auto server = split_host_port(config_.stun_server);
    if (!server.ok()) return make_error(error_code::kBadRequest, "ice.stun_server: " + server.error().message);
    if (!is_ip_literal(server->first)) {
      return make_error(error_code::kBadRequest,
                        "ice.stun_server: '" + server->first + "' must be an IP address");
    }
    g_object_set(agent, "stun-server", server->first.c_str(), "stun-server-port",
                 static_cast<guint>(server->second), nullptr);
  }
  stream_id_ = nice_agent_add_stream(agent, 1);
  if (stream_id_ == 0) return make_error(error_code::kInternal, "nice_agent_add_stream failed");
  if (config_.port_min != 0 || config_.port_max != 0) {
    nice_agent_set_port_range(agent, stream_id_, kComponent, config_.port_min, config_.port_max);
  }
  if (Status status = add_relays(); !status.ok()) return status;
  if (Status status = add_local_addresses(); !status.ok()) return status;

  g_signal_connect(agent, "candidate-gathering-done",
                   G_CALLBACK(&IceAgent::on_candidate_gathering_done), this);
  g_signal_connect(agent, "new-candidate-full", G_CALLBACK(&IceAgent::on_new_candidate), this);
  g_signal_connect(agent, "component-state-changed",
                   G_CALLBACK(&IceAgent::on_component_state_changed), this);
  g_signal_connect(agent, "new-selected-pair-full", G_CALLBACK(&IceAgent::on_new_selected_pair),
                   this);
  nice_agent_attach_recv(agent, stream_id_, kComponent, context_, &IceAgent::on_receive, this);

  gchar* ufrag = nullptr;
  gchar* pwd = nullptr;
  if (!nice_agent_get_local_credentials(agent, stream_id_, &ufrag, &pwd)) {
    return make_error(error_code::kInternal, "nice_agent_get_local_credentials failed");
  }
  local_ufrag_ = ufrag;
  local_pwd_ = pwd;
  g_free(ufrag);
  g_free(pwd);
  return {};
}

Status IceAgent::add_relays() {
  for (const TurnServer& turn : config_.turn_servers) {
    if (!is_ip_literal(turn.host)) {
      return make_error(error_code::kBadRequest,
                        "ice.turn_servers: '" + turn.host + "' must be an IP address");
    }
    if (!nice_agent_set_relay_info(agent_.get(), stream_id_, kComponent, turn.host.c_str(),
                                   turn.port, turn.username.c_str(), turn.password.c_str(),
                                   turn.udp ? NICE_RELAY_TYPE_TURN_UDP : NICE_RELAY_TYPE_TURN_TCP)) {
      return make_error(error_code::kBadRequest,
                        "ice.turn_servers: libnice refused " + turn.host + ":" +
                            std::to_string(turn.port));
    }
  }
  return {};
}

Status IceAgent::add_local_addresses() {
  std::vector<std::string> addresses = config_.local_addresses;
  if (addresses.empty() && config_.allow_loopback) {
    // Naming any address turns libnice's own discovery off, so list the
    // interfaces it would have used and add loopback to them.
    GList* found = nice_interfaces_get_local_ips(FALSE);
    for (GList* item = found; item != nullptr; item = item->next) {
      addresses.emplace_back(static_cast<const char*>(item->data));
    }
    g_list_free_full(found, g_free);
    addresses.emplace_back("127.0.0.1");
  }
  for (const std::string& text : addresses) {
    NiceAddress address;
    nice_address_init(&address);
    if (!nice_address_set_from_string(&address, text.c_str())) {
      return make_error(error_code::kBadRequest,
                        "ice.local_addresses: '" + text + "' is not an IP address");
    }
    if (!nice_agent_add_local_address(agent_.get(), &address)) {
      return make_error(error_code::kInternal, "nice_agent_add_local_address(" + text + ") failed");
    }
  }
  return {};
}

Status IceAgent::start_gathering() {
  if (closed_) return make_error(error_code::kConflict, "ICE agent is closed");
  if (gathering_started_) return {};
  gathering_started_ = true;
  if (!nice_agent_gather_candidates(agent_.get(), stream_id_)) {
    return make_error(error_code::kInternal,
                      "ICE gathering failed to start (no usable local address?)");
  }
  return {};
}

Status IceAgent::set_remote_credentials(const std::string& ufrag, const std::string& pwd) {
  if (closed_) return make_error(error_code::kConflict, "ICE agent is closed");
  if (ufrag.empty() || pwd.empty()) {
    return make_error(error_code::kBadRequest, "a=ice-ufrag and a=ice-pwd are required");
  }
  if (!nice_agent_set_remote_credentials(agent_.get(), stream_id_, ufrag.c_str(), pwd.c_str())) {
    return make_error(error_code::kBadRequest, "libnice refused the remote ICE credentials");
  }
  remote_credentials_set_ = true;
  std::vector<CandidateHandle> early = std::move(early_candidates_);
  early_candidates_.clear();
  for (CandidateHandle& candidate : early) apply_remote_candidate(candidate.get());
  return {};
}

Result<CandidateOutcome> IceAgent::add_remote_candidate(std::string_view candidate) {
  if (closed_) return make_error(error_code::kConflict, "ICE agent is closed");
  std::string_view body = candidate;
  if (body.substr(0, 2) == "a=") body.remove_prefix(2);
  if (body.substr(0, 10) == "candidate:") body.remove_prefix(10);
  while (!body.empty() && (body.back() == '\r' || body.back() == '\n' || body.back() == ' ')) {
    body.remove_suffix(1);
  }
  const std::string line = "a=candidate:" + std::string(body);
  CandidateHandle parsed(nice_agent_parse_remote_candidate_sdp(agent_.get(), stream_id_, line.c_str()));
  if (!parsed) {
    // libnice cannot resolve mDNS names; browsers hide their host addresses
    // behind them but also offer srflx/prflx paths, so skipping is safe.
    if (line.find(".local ") != std::string::npos) {
      return CandidateOutcome{false, false, "mDNS (.local) candidates are not supported"};
    }
    return make_error(error_code::kBadRequest, "malformed ICE candidate '" + std::string(candidate) + "'");
  }
  if (auto reason = filter_.rejection_reason(*parsed)) {
    return CandidateOutcome{false, false, std::move(*reason)};
  }
  if (!remote_credentials_set_) {
    early_candidates_.push_back(std::move(parsed));
    return CandidateOutcome{true, true, {}};
  }
  apply_remote_candidate(parsed.get());
  return CandidateOutcome{true, false, {}};
}

void IceAgent::apply_remote_candidate(NiceCandidate* candidate) {
  GSList list{candidate, nullptr};
  nice_agent_set_remote_candidates(agent_.get(), stream_id_, kComponent, &list);
}

void IceAgent::end_of_remote_candidates() {
  if (closed_) return;
  nice_agent_peer_candidate_gathering_done(agent_.get(), stream_id_);
}

SendResult IceAgent::send(std::span<const uint8_t> datagram) {
  if (!has_selected_pair_ || closed_) return SendResult::kNoPath;
  if (direct_path_) return direct_path_->send(datagram) ? SendResult::kSent : SendResult::kSocketRefused;
  return nice_agent_send(agent_.get(), stream_id_, kComponent, static_cast<guint>(datagram.size()),
                         reinterpret_cast<const gchar*>(datagram.data())) >= 0
             ? SendResult::kSent
             : SendResult::kSocketRefused;
}

void IceAgent::close() {
  if (closed_ || !agent_) return;
  closed_ = true;
  direct_path_.reset();
  NiceAgent* agent = agent_.get();
  g_signal_handlers_disconnect_by_data(agent, this);
  if (stream_id_ != 0) {  // 0 when configure() failed before adding it
    nice_agent_attach_recv(agent, stream_id_, kComponent, context_, nullptr, nullptr);
    nice_agent_remove_stream(agent, stream_id_);
  }
  // Releases TURN allocations in the background; the task keeps its own reference.
  nice_agent_close_async(agent, nullptr, nullptr);
  early_candidates_.clear();
}

void IceAgent::emit_local_candidate(NiceCandidate* candidate) {
  // Peer-reflexive candidates are learned from checks, never signalled.
  if (candidate->type == NICE_CANDIDATE_TYPE_PEER_REFLEXIVE ||
      candidate->transport != NICE_CANDIDATE_TRANSPORT_UDP || !callbacks_.on_local_candidate) {
    return;
  }
  CandidateHandle advertised(nice_candidate_copy(candidate));
  if (candidate->type == NICE_CANDIDATE_TYPE_HOST && !config_.public_ip.empty()) {
    NiceAddress public_address;
    nice_address_init(&public_address);
    if (nice_address_set_from_string(&public_address, config_.public_ip.c_str()) &&
        public_address.s.addr.sa_family == candidate->addr.s.addr.sa_family) {
      nice_address_set_port(&public_address, nice_address_get_port(&candidate->addr));
      advertised->addr = public_address;
      // Otherwise libnice adds "raddr <private address>" to a host candidate.
      advertised->base_addr = public_address;
    }
  }
  OwnedGChars sdp(nice_agent_generate_local_candidate_sdp(agent_.get(), advertised.get()));
  if (!sdp) return;
  callbacks_.on_local_candidate(without_attribute_prefix(sdp.get()));
}

void IceAgent::on_new_candidate(NiceAgent*, NiceCandidate* candidate, gpointer self) {
  static_cast<IceAgent*>(self)->emit_local_candidate(candidate);
}

void IceAgent::on_candidate_gathering_done(NiceAgent*, guint, gpointer self) {
  auto* agent = static_cast<IceAgent*>(self);
  if (agent->callbacks_.on_gathering_done) agent->callbacks_.on_gathering_done();
}

void IceAgent::on_component_state_changed(NiceAgent*, guint, guint, guint state, gpointer self) {
  auto* agent = static_cast<IceAgent*>(self);
  IceState mapped;
  switch (static_cast<NiceComponentState>(state)) {
    case NICE_COMPONENT_STATE_GATHERING: mapped = IceState::kGathering; break;
    case NICE_COMPONENT_STATE_CONNECTING: mapped = IceState::kConnecting; break;
    case NICE_COMPONENT_STATE_CONNECTED: mapped = IceState::kConnected; break;
    case NICE_COMPONENT_STATE_READY: mapped = IceState::kReady; break;
    // Consent freshness loss (RFC 7675) also lands here.
    case NICE_COMPONENT_STATE_FAILED: mapped = IceState::kFailed; break;
    default: return;  // DISCONNECTED is only the initial state
  }
  if (mapped == agent->state_) return;
  agent->state_ = mapped;
  // Consent expired or checks failed: libnice stops sending, so must we.
  if (mapped == IceState::kFailed) agent->direct_path_.reset();
  if (agent->callbacks_.on_state) agent->callbacks_.on_state(mapped);
}

void IceAgent::on_new_selected_pair(NiceAgent* nice, guint, guint, NiceCandidate* local,
                                    NiceCandidate* remote, gpointer self) {
  auto* agent = static_cast<IceAgent*>(self);
  agent->has_selected_pair_ = true;
  agent->direct_path_ = DirectUdpPath::for_selected_pair(nice, agent->stream_id_, kComponent, *remote);
  if (!agent->callbacks_.on_selected_pair) return;
  OwnedGChars local_sdp(nice_agent_generate_local_candidate_sdp(nice, local));
  OwnedGChars remote_sdp(nice_agent_generate_local_candidate_sdp(nice, remote));
  agent->callbacks_.on_selected_pair(without_attribute_prefix(local_sdp.get()),
                                     without_attribute_prefix(remote_sdp.get()));
}

void IceAgent::on_receive(NiceAgent*, guint, guint, guint length, gchar* data, gpointer self) {
  auto* agent = static_cast<IceAgent*>(self);
  if (!agent->callbacks_.on_receive || length == 0 || length > agent->receive_buffer_.size()) return;
  // A private copy: consumers decrypt in place, and libnice's buffer is not ours.
  std::memcpy(agent->receive_buffer_.data(), data, length);
  agent->callbacks_.on_receive(std::span(agent->receive_buffer_.data(), length));
}

}  // namespace partyline::ice
