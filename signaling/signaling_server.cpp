#include "signaling/signaling_server.hpp"

#include <vector>

#include "core/runtime/log.hpp"
#include "signaling/adapters/chat_realtime.hpp"
#include "signaling/adapters/lines_protocol.hpp"
#include "signaling/adapters/peers_relay.hpp"
#include "signaling/adapters/signalr_hub.hpp"
#include "signaling/adapters/verto_channel.hpp"

namespace partyline::signaling {

namespace {

std::atomic<uint64_t> resumed_total{0};
std::atomic<uint64_t> resumes_refused_total{0};
std::atomic<uint64_t> resumes_expired_total{0};

// The SignalR convention (docs/compat.md, "Seed 000"): the token comes as
// `access_token` (browsers cannot set headers on a WebSocket) or as a bearer
// token; either is read as the native `token`.
QueryParameters signalr_auth_query(const QueryParameters& query, const std::string& bearer_token) {
  QueryParameters auth = query;
  auth.erase("token");
  if (auto token = query.find("access_token"); token != query.end()) {
    auth["token"] = token->second;
  } else if (!bearer_token.empty()) {
    auth["token"] = bearer_token;
  }
  return auth;
}

// Seed 001's JWT (docs/compat.md, "Seed 001"): a bearer token, else the
// AuthToken cookie, else ?tk=; never a name (the seed has no guests).
QueryParameters chat_auth_query(const QueryParameters& query, const QueryParameters& cookies,
                                const std::string& bearer_token) {
  QueryParameters auth;
  if (!bearer_token.empty()) {
    auth["token"] = bearer_token;
  } else if (auto cookie = cookies.find("AuthToken"); cookie != cookies.end()) {
    auth["token"] = cookie->second;
  } else if (auto tk = query.find("tk"); tk != query.end()) {
    auth["token"] = tk->second;
  }
  return auth;
}

// Seed 002's clients bring no credentials: a guest of a name of its own
// (the peer id is the session id), unless it brings a ?token=.
QueryParameters peers_auth_query(const QueryParameters& query) {
  QueryParameters auth;
  if (auto token = query.find("token"); token != query.end()) {
    auth["token"] = token->second;
  } else {
    auth["name"] = "peer-" + random_token().substr(0, 12);
  }
  return auth;
}

int64_t wall_clock_ms() { return g_get_real_time() / 1000; }

HttpServerOptions http_options(const SignalingOptions& options) {
  HttpServerOptions http;
  if (!options.signalr_hub_path.empty()) http.websocket_paths.push_back(options.signalr_hub_path);
  if (!options.lines_path.empty()) http.websocket_paths.push_back(options.lines_path);
  if (!options.peers_path.empty()) http.websocket_paths.push_back(options.peers_path);
  if (!options.verto_path.empty()) http.websocket_paths.push_back(options.verto_path);
  http.bind_address = options.bind_address;
  http.port = options.port;
  http.web_root = options.web_root;
  http.tls = options.tls;
  http.max_connections = options.max_connections;
  http.max_connections_per_address = options.max_connections_per_address;
  // The WebSocket sessions' share is kept for them: plain connections (page
  // loads, upgrades in progress, idle ones) may take only the rest.
  http.max_plain_connections =
      options.max_connections > options.max_sessions ? options.max_connections - options.max_sessions : 0;
  http.header_timeout = std::chrono::milliseconds(options.header_timeout_ms);
  return http;
}

}  // namespace

ResumeTotals resume_totals() {
  return {resumed_total.load(std::memory_order_relaxed), resumes_refused_total.load(std::memory_order_relaxed),
          resumes_expired_total.load(std::memory_order_relaxed)};
}

SignalingServer::SignalingServer(const SignalingOptions& options, core::EventLoop& loop, RequestHandler& handler)
    : options_(options),
      loop_(loop),
      handler_(handler),
      connects_by_user_(options.user_connect_limit),
      connects_by_address_(options.address_connect_limit),
      requests_by_user_(options.user_request_limit),
      requests_by_address_(options.address_request_limit),
      http_(
          [this, &options] {
            HttpServerOptions http = http_options(options);
            if (!options.signalr_hub_path.empty()) {
              http.post_routes.push_back({options.signalr_hub_path + "/negotiate",
                                          [this](const HttpRequest& request) { return negotiate_signalr(request); }});
            }
            for (const std::string& prefix : options.chat_realtime_paths) {
              http.websocket_prefixes.push_back(
                  {prefix, [this, prefix](const HttpRequest& request, AdmissionDecision decide) {
                     admit_chat(prefix, request, std::move(decide));
                   }});
            }
            return http;
          }(),
          [this](WebSocketUpgrade upgrade) { on_upgrade(std::move(upgrade)); }) {
  websocket_options_.max_message_bytes = options.max_message_bytes;
  websocket_options_.max_queued_bytes = options.max_queued_bytes;
  websocket_options_.max_queued_messages = options.max_queued_messages;
  websocket_options_.ping_interval = std::chrono::milliseconds(options.ping_interval_ms);
  websocket_options_.idle_timeout = std::chrono::milliseconds(options.idle_timeout_ms);
  websocket_options_.close_timeout = std::chrono::milliseconds(options.close_timeout_ms);
  session_options_.keepalive_interval = std::chrono::milliseconds(options.keepalive_interval_ms);
  session_options_.max_pending_transactions = options.max_pending_transactions;
  session_options_.rate_limit = options.rate_limit;
  session_options_.keepalive_limit = options.keepalive_limit;
  session_options_.byte_limit = options.byte_limit;
  session_options_.resume_grace = std::chrono::milliseconds(options.resume_grace_ms);
  session_options_.user_requests = &requests_by_user_;
  session_options_.address_requests = &requests_by_address_;
  session_options_.login = [this](ClientSession& session, const InBandLogin& attempt) { return login(session, attempt); };
  session_options_.login_timeout = std::chrono::milliseconds(options.idle_timeout_ms);
}

SignalingServer::~SignalingServer() {
  stop();
  alive_.reset();
}

Status SignalingServer::start() {
  {
    std::lock_guard lock(upgrades_mutex_);
    accepting_ = true;
  }
  Status started = http_.start();
  if (!started) {
    std::lock_guard lock(upgrades_mutex_);
    accepting_ = false;
  }
  return started;
}

void SignalingServer::stop() {
  {
    std::lock_guard lock(upgrades_mutex_);
    if (!accepting_) return;
    accepting_ = false;
    // Released here: MHD_upgrade_action may be called from any thread, and it
    // must happen before MHD stops.
    pending_upgrades_.clear();
  }
  if (loop_.on_loop_thread()) {
    close_everything();
  } else {
    // Also runs every adopt() posted before, which now find nothing to adopt.
    loop_.run_sync([this] { close_everything(); });
  }
  http_.stop();
}

void SignalingServer::close_everything() {
  std::vector<std::shared_ptr<ClientSession>> sessions;
  for (auto& [id, session] : sessions_) sessions.push_back(session);
  for (auto& session : sessions) session->close_now(close_code::kGoingAway, "server shutting down");
  std::vector<std::shared_ptr<WebSocketConnection>> refused;
  for (auto& [raw, connection] : refused_) refused.push_back(connection);
  // Each already sent its own close frame; this only releases the socket.
  for (auto& connection : refused) connection->close_now(close_code::kGoingAway, "server shutting down");
}

void SignalingServer::on_upgrade(WebSocketUpgrade upgrade) {
  std::lock_guard lock(upgrades_mutex_);
  if (!accepting_) return;  // `upgrade` releases the socket as it goes out of scope
  uint64_t id = next_upgrade_id_++;
  pending_upgrades_.emplace(id, std::move(upgrade));
  std::weak_ptr<int> alive = alive_;
  loop_.post([this, alive, id] {
    if (alive.lock()) adopt(id);
  });
}

HttpReply SignalingServer::negotiate_signalr(const HttpRequest& request) {
  // Refused here as ASP.NET Core refuses an unauthorized negotiate (401),
  // so the client's start() fails with the reason instead of a closed socket.
  auto identity = authenticate(signalr_auth_query(request.query, request.bearer_token), options_.auth,
                               g_get_real_time() / G_USEC_PER_SEC);
  if (!identity) {
    core::JsonPtr body = core::adopt_json(json_pack("{s:s}", "error", identity.error().message.c_str()));
    return {401, "application/json", core::dump_json(body.get())};
  }
  auto version = request.query.find("negotiateVersion");
  if (version != request.query.end() && version->second != "0" && version->second != "1") {
    // Later versions (stateful reconnect) are answered as version 1, which
    // the client then speaks.
    PL_LOG(kDebug, "server") << "SignalR negotiateVersion " << version->second << " answered as 1";
  }
  // Nothing is kept: the WebSocket's ?id= is not needed to find anything
  // (a client that skips negotiation connects as well).
  return {200, "application/json", signalr::negotiate_response(random_uuid_v4(), random_token())};
}

void SignalingServer::admit_chat(const std::string& prefix, const HttpRequest& request, AdmissionDecision decide) {
  const std::string chat_id = request.path.substr(prefix.size());
  if (chat_id.empty()) return decide(HttpReply{404, "text/plain", "no chat id"});
  AuthOptions auth = options_.auth;
  auth.allow_anonymous = false;
  auto identity = authenticate(chat_auth_query(request.query, request.cookies, request.bearer_token), auth,
                               g_get_real_time() / G_USEC_PER_SEC);
  if (!identity) {
    PL_LOG(kInfo, "server") << "refusing chat " << chat_id << " to " << request.remote_address << ": "
                            << identity.error().message;
    return decide(HttpReply{401, "text/plain", "Unauthorized: " + identity.error().message});
  }
  // Membership lives on the loop, with the lines.
  std::weak_ptr<int> alive = alive_;
  loop_.post([this, alive, chat_id, user = identity->user, decide = std::move(decide)] {
    if (!alive.lock()) return;  // the HTTP server refused it as it stopped
    if (admission_ == nullptr) return decide(HttpReply{503, "text/plain", "chat rooms are not served"});
    if (auto admitted = admission_->may_join(chat_id, user); !admitted) {
      PL_LOG(kInfo, "server") << "refusing chat " << chat_id << " to user " << user << ": not a member";
      return decide(HttpReply{403, "text/plain", "Forbidden: not a member of the chat"});
    }
    decide(std::nullopt);
  });
}

Status SignalingServer::login(ClientSession& session, const InBandLogin& attempt) {
  Identity identity;
  identity.name = attempt.display_name;
  identity.user = verto_user_id(attempt.login);
  identity.anonymous = true;  // shown as a guest: nothing proves the name, a password admitted it
  if (admission_ == nullptr) return make_error(error_code::kUnavailable, "logins are not served");
  // The password, every time: the login's user may be a member already
  // (it logged in before), which says nothing about who logs in now.
  if (auto admitted = admission_->token_admits(attempt.line_id, attempt.token); !admitted) {
    PL_LOG(kInfo, session.log_context()) << "login as " << attempt.login << " refused: " << admitted.error().message;
    return admitted;
  }
  if (!connects_by_user_.allow(identity.user, g_get_monotonic_time())) {
    return make_error(error_code::kRateLimited, "rate limited: this client logs in too often");
  }
  // The older connection of the same credentials goes (verto's rule), as
  // at connect for formats whose clients keep one connection.
  if (!make_room_for(identity, {}, session.wire_format())) {
    return make_error(error_code::kConflict, "already connected");
  }
  session.identify(std::move(identity));
  return {};
}

Result<Identity> SignalingServer::identity_of(const WebSocketUpgrade& upgrade) const {
  const int64_t now = g_get_real_time() / G_USEC_PER_SEC;
  if (!options_.verto_path.empty() && upgrade.route == options_.verto_path) {
    // Nobody yet: the client logs in with a message (the session is not
    // shown to the handlers before).
    return Identity{};
  }
  if (!options_.signalr_hub_path.empty() && upgrade.route == options_.signalr_hub_path) {
    return authenticate(signalr_auth_query(upgrade.query, upgrade.bearer_token), options_.auth, now);
  }
  if (!options_.peers_path.empty() && upgrade.route == options_.peers_path) {
    return authenticate(peers_auth_query(upgrade.query), options_.auth, now);
  }
  if (upgrade.route != upgrade.path) {  // a chat room (admitted with the same token)
    AuthOptions auth = options_.auth;
    auth.allow_anonymous = false;
    return authenticate(chat_auth_query(upgrade.query, upgrade.cookies, upgrade.bearer_token), auth, now);
  }
  return authenticate(upgrade.query, options_.auth, now);
}

std::unique_ptr<WireFormat> SignalingServer::wire_format_for(const WebSocketUpgrade& upgrade,
                                                             const Identity& identity) const {
  const std::string& route = upgrade.route;
  if (!options_.signalr_hub_path.empty() && route == options_.signalr_hub_path) {
    return std::make_unique<SignalrHubFormat>(identity, std::chrono::milliseconds(options_.ping_interval_ms));
  }
  if (!options_.lines_path.empty() && route == options_.lines_path) return std::make_unique<LinesProtocolFormat>(identity);
  if (!options_.peers_path.empty() && route == options_.peers_path) {
    return std::make_unique<PeersRelayFormat>(options_.peers_room);
  }
  if (!options_.verto_path.empty() && route == options_.verto_path) return std::make_unique<VertoChannelFormat>();
  if (route != upgrade.path) {
    return std::make_unique<ChatRealtimeFormat>(upgrade.path.substr(route.size()), options_.max_signal_bytes,
                                                wall_clock_ms);
  }
  return std::make_unique<NativeWireFormat>();
}

void SignalingServer::adopt(uint64_t upgrade_id) {
  WebSocketUpgrade upgrade;
  {
    std::lock_guard lock(upgrades_mutex_);
    auto found = pending_upgrades_.find(upgrade_id);
    if (found == pending_upgrades_.end()) return;  // stopped meanwhile
    upgrade = std::move(found->second);
    pending_upgrades_.erase(found);
  }
  auto connection = std::make_unique<WebSocketConnection>(loop_.context(), std::move(upgrade.socket),
                                                          std::move(upgrade.already_received), websocket_options_);
  // Before anything else: a refused client gets no handshake state, no
  // session and no place among max_sessions.
  const int64_t now_us = g_get_monotonic_time();
  if (!connects_by_address_.allow(upgrade.remote_address, now_us)) {
    PL_LOG(kInfo, "server") << "refusing a WebSocket from " << upgrade.remote_address
                            << ": too many connections per second from this address";
    refuse(std::move(connection), close_code::kConnectsLimited,
           "rate limited: more than " + std::to_string(options_.address_connect_limit.requests_per_second) +
               " connections per second from this address");
    return;
  }
  auto identity = identity_of(upgrade);
  if (!identity) {
    PL_LOG(kInfo, "server") << "refusing a WebSocket from " << upgrade.remote_address << ": "
                            << identity.error().message;
    refuse(std::move(connection), close_code::kUnauthorized, identity.error().message);
    return;
  }
  // A client that logs in later (seed 004) is nobody yet: its user's
  // budget and one-connection rule apply at its login.
  const bool nobody_yet = identity->user.empty();
  if (!nobody_yet && !connects_by_user_.allow(identity->user, now_us)) {
    PL_LOG(kInfo, "server") << "refusing a WebSocket from " << upgrade.remote_address << ": user " << identity->user
                            << " connects too often";
    refuse(std::move(connection), close_code::kConnectsLimited,
           "rate limited: more than " + std::to_string(options_.user_connect_limit.requests_per_second) +
               " connections per second from this user");
    return;
  }
  auto wire = wire_format_for(upgrade, *identity);
  if (auto token = upgrade.query.find("resume"); token != upgrade.query.end() && wire->resumable()) {
    resume(std::move(connection), upgrade, *identity, token->second);
    return;
  }
  if (!nobody_yet && !make_room_for(*identity, upgrade.query, *wire)) {
    PL_LOG(kInfo, "server") << "refusing a WebSocket from " << upgrade.remote_address << ": user "
                            << identity->user << " is already connected (force=false)";
    refuse(std::move(connection), close_code::kAlreadyConnected, "already connected");
    return;
  }
  if (sessions_.size() >= options_.max_sessions) {
    PL_LOG(kWarn, "server") << "refusing a WebSocket from " << upgrade.remote_address << ": "
                            << options_.max_sessions << " sessions open";
    refuse(std::move(connection), close_code::kAtCapacity, "server at capacity");
    return;
  }
  std::weak_ptr<int> alive = alive_;
  auto session = std::make_shared<ClientSession>(
      loop_.context(), std::move(connection), std::move(wire), std::move(upgrade.query), std::move(upgrade.remote_address),
      std::move(*identity), session_options_, handler_, [this, alive](const std::shared_ptr<ClientSession>& closed) {
        if (alive.lock()) on_session_closed(closed);
      });
  sessions_.emplace(session->id(), session);
  if (!session->resume_token().empty()) session_by_resume_token_.emplace(session->resume_token(), session->id());
  session_count_ = sessions_.size();
  session->open();
}

void SignalingServer::resume(std::unique_ptr<WebSocketConnection> connection, WebSocketUpgrade& upgrade,
                             const Identity& identity, const std::string& token) {
  std::shared_ptr<ClientSession> session;
  if (auto id = session_by_resume_token_.find(token); id != session_by_resume_token_.end()) {
    session = sessions_.at(id->second);
  }
  // The token is the session's secret, and only its own user may present
  // it: a token leaked to someone else resumes nothing; nor does a session
  // being closed for good (kicked: its closing handshake still runs). The
  // same answer for all, so the refusal tells nothing about other users'
  // sessions.
  if (!session || session->identity().user != identity.user || !session->resumable()) {
    PL_LOG(kInfo, "server") << "refusing a resume from " << upgrade.remote_address << " (user " << identity.user
                            << "): unknown or expired resume token";
    resumes_refused_total.fetch_add(1, std::memory_order_relaxed);
    refuse(std::move(connection), close_code::kResumeRefused, "cannot resume: unknown or expired resume token");
    return;
  }
  resumed_total.fetch_add(1, std::memory_order_relaxed);
  session->resume(std::move(connection), std::move(upgrade.query), std::move(upgrade.remote_address));
}

bool SignalingServer::make_room_for(const Identity& identity, const QueryParameters& query, const WireFormat& wire) {
  // A format whose clients expect one connection per user (seed 003) has
  // the rule among its own sessions whatever the configuration says.
  const bool per_format = wire.one_connection_per_user();
  if (!options_.one_session_per_user && !per_format) return true;
  std::vector<std::shared_ptr<ClientSession>> older;
  for (const auto& [id, session] : sessions_) {
    if (session->identity().user != identity.user) continue;
    if (per_format && !options_.one_session_per_user && !session->wire_format().one_connection_per_user()) continue;
    older.push_back(session);
  }
  if (older.empty()) return true;
  auto force = query.find("force");
  if (force != query.end() && force->second == "false") return false;
  for (const auto& session : older) {
    PL_LOG(kInfo, session->log_context()) << "replaced by a newer session of the same user";
    // At once, not after the closing handshake: the older session is out of
    // its line before the newer one opens.
    session->close_now(close_code::kReplaced, "replaced by a newer session");
  }
  return true;
}

void SignalingServer::refuse(std::unique_ptr<WebSocketConnection> connection, uint16_t code,
                             const std::string& reason) {
  std::shared_ptr<WebSocketConnection> shared(std::move(connection));
  WebSocketConnection* raw = shared.get();
  refused_.emplace(raw, shared);
  std::weak_ptr<int> alive = alive_;
  raw->start({nullptr, [this, alive, raw](uint16_t) {
                if (!alive.lock()) return;
                auto found = refused_.find(raw);
                if (found == refused_.end()) return;
                // Destroyed later: this runs inside the connection's own callback.
                loop_.post([keep = std::move(found->second)] {});
                refused_.erase(found);
              }});
  raw->close(code, reason);
}

void SignalingServer::on_session_closed(const std::shared_ptr<ClientSession>& session) {
  auto found = sessions_.find(session->id());
  if (found == sessions_.end()) return;
  auto owned = std::move(found->second);
  sessions_.erase(found);
  session_by_resume_token_.erase(owned->resume_token());
  if (owned->resume_expired()) resumes_expired_total.fetch_add(1, std::memory_order_relaxed);
  session_count_ = sessions_.size();
  if (owned->identified()) handler_.on_session_closed(owned);
  // Destroyed later: this runs inside the session's connection callback.
  loop_.post([keep = std::move(owned)] {});
}

}  // namespace partyline::signaling
