#include "signaling/client_session.hpp"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <stdexcept>

#include "core/runtime/log.hpp"
#include "signaling/request_counts.hpp"

namespace partyline::signaling {

std::string random_uuid_v4() {
  std::array<unsigned char, 16> bytes{};
  if (gnutls_rnd(GNUTLS_RND_RANDOM, bytes.data(), bytes.size()) != 0) {
    throw std::runtime_error("gnutls_rnd failed: no randomness for a session id");
  }
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  char text[37];
  std::snprintf(text, sizeof(text),
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", bytes[0], bytes[1],
                bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9], bytes[10], bytes[11],
                bytes[12], bytes[13], bytes[14], bytes[15]);
  return text;
}

std::string random_token() {
  std::array<unsigned char, 18> bytes{};
  if (gnutls_rnd(GNUTLS_RND_KEY, bytes.data(), bytes.size()) != 0) {
    throw std::runtime_error("gnutls_rnd failed: no randomness for a token");
  }
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string token;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const uint32_t group = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) token.push_back(kAlphabet[(group >> shift) & 63]);
  }
  return token;
}

ClientSession::ClientSession(GMainContext* context, std::unique_ptr<WebSocketConnection> connection,
                             std::unique_ptr<WireFormat> wire, QueryParameters query, std::string remote_address,
                             Identity identity, const ClientSessionOptions& options, RequestHandler& handler,
                             ClosedCallback on_closed)
    : context_(context),
      connection_(std::move(connection)),
      wire_(std::move(wire)),
      id_(random_uuid_v4()),
      query_(std::move(query)),
      remote_address_(std::move(remote_address)),
      identity_(std::move(identity)),
      options_(options),
      rate_limiter_(options.rate_limit),
      keepalive_limiter_(options.keepalive_limit),
      byte_limiter_(options.byte_limit),
      handler_(handler),
      on_closed_(std::move(on_closed)) {
  if (options_.resume_grace.count() > 0 && wire_->resumable()) resume_token_ = random_token();
  identified_ = !wire_->identifies_in_band();
}

ClientSession::~ClientSession() {
  keepalive_timer_.cancel();
  own_requests_timer_.cancel();
  grace_timer_.cancel();
  connection_.reset();
}

void ClientSession::identify(Identity identity) {
  if (identified_ || closed_) return;
  identity_ = std::move(identity);
  identified_ = true;
  PL_LOG(kInfo, log_context()) << "logged in as " << identity_.name;
  handler_.on_session_open(shared_from_this());
  schedule_own_requests();
}

void ClientSession::open() {
  PL_LOG(kInfo, log_context()) << "WebSocket open from " << remote_address_;
  start_connection(false);
}

void ClientSession::resume(std::unique_ptr<WebSocketConnection> connection, QueryParameters query,
                           std::string remote_address) {
  if (closed_) return;
  // The old connection's callbacks speak for a connection no longer ours.
  ++connection_generation_;
  if (!connection_->is_finished()) {
    // The client moved on before the server noticed the old connection die.
    connection_->close_now(close_code::kReplaced, "resumed on a newer connection");
  }
  grace_timer_.cancel();
  detached_ = false;
  connection_ = std::move(connection);
  query_ = std::move(query);
  remote_address_ = std::move(remote_address);
  PL_LOG(kInfo, log_context()) << "resumed from " << remote_address_;
  start_connection(true);
}

void ClientSession::start_connection(bool resumed) {
  // Queued before the connection starts reading, so the handshake state goes
  // out first even when a request arrived together with the upgrade.
  HandshakeState state{id_,
                       options_.keepalive_interval.count(),
                       g_get_real_time() / 1000,
                       options_.server_name,
                       options_.server_version,
                       identity_.user,
                       identity_.name,
                       identity_.anonymous,
                       resume_token_,
                       options_.resume_grace.count(),
                       resumed};
  wire_->start(state, *connection_);
  last_keepalive_us_ = g_get_monotonic_time();
  opened_us_ = last_keepalive_us_;
  // A repeating check instead of a timer re-armed per keepalive; it fires
  // 8 times per allowed gap, so 4002 comes at most 1/8 late, and at least
  // every 5 s for the wire format's own pings (WireFormat::tick).
  auto period = std::clamp((2 * options_.keepalive_interval) / 8, std::chrono::milliseconds(10),
                           std::chrono::milliseconds(5000));
  keepalive_timer_.start(context_, period, [this] { return check_keepalive(); });

  auto self = shared_from_this();
  if (resumed) {
    handler_.on_session_resumed(self);
  } else if (identified_) {
    handler_.on_session_open(self);
  }
  schedule_own_requests();  // those start() queued (a format that joins its room)
  // The connection's callbacks hold a weak reference: they may fire while the
  // owner is already dropping the session.
  std::weak_ptr<ClientSession> weak = self;
  const uint64_t generation = connection_generation_;
  connection_->start({
      [weak, generation](std::string text) {
        auto session = weak.lock();
        if (session && session->connection_generation_ == generation) session->on_text(std::move(text));
      },
      [weak, generation](uint16_t code) {
        if (auto session = weak.lock()) session->on_connection_closed(generation, code);
      },
  });
}

std::optional<std::string_view> ClientSession::query_parameter(std::string_view name) const {
  auto found = query_.find(name);
  if (found == query_.end()) return std::nullopt;
  return std::string_view(found->second);
}

bool ClientSession::is_open() const { return !closed_ && !detached_ && connection_->is_open(); }

std::string ClientSession::log_context() const { return "session=" + id_.substr(0, 8) + " user=" + identity_.user; }

void ClientSession::respond_success(const std::string& transaction, const std::string& request_name,
                                    core::JsonPtr extra_fields) {
  const bool own = own_transactions_.erase(transaction) > 0;
  if (!take_pending(transaction, "success")) return;
  thread_request_counts().count(request_name, 200);
  if (own) {
    wire_->own_response(transaction, request_name, extra_fields.get(), nullptr, *connection_);
  } else {
    wire_->success(transaction, request_name, extra_fields.get(), *connection_);
  }
  schedule_own_requests();
}

void ClientSession::respond_error(const std::string& transaction, const std::string& request_name,
                                  const Error& error) {
  const bool own = own_transactions_.erase(transaction) > 0;
  if (!take_pending(transaction, "error")) return;
  thread_request_counts().count(request_name, error.code);
  PL_LOG(kDebug, log_context()) << "request '" << request_name << "' failed: " << error.code << " "
                                << error.message;
  if (own) {
    wire_->own_response(transaction, request_name, nullptr, &error, *connection_);
  } else {
    wire_->error(transaction, request_name, error, *connection_);
  }
  schedule_own_requests();
}

void ClientSession::send_event(core::JsonPtr event) {
  if (!is_open()) return;
  wire_->event(event.get(), *connection_);
  schedule_own_requests();
}

void ClientSession::send_event_text(std::string_view text) {
  if (!is_open()) return;
  wire_->event_text(text, *connection_);
  schedule_own_requests();
}

void ClientSession::schedule_own_requests() {
  if ((!wire_->has_own_requests() && !wire_->wants_close()) || own_requests_timer_.active()) return;
  own_requests_timer_.start(context_, std::chrono::milliseconds(0), [this] {
    run_own_requests();
    return false;
  });
}

// Not limited like the client's requests: each follows from something the
// client or the server did, which was limited (or is the server's own).
void ClientSession::run_own_requests() {
  auto self = shared_from_this();
  if (auto ending = wire_->take_close()) {
    close(ending->code, ending->message);
    return;
  }
  // Their synchronous responses may queue more (this runs inside the
  // timer's callback, so it cannot re-arm itself): a few rounds at most.
  constexpr int kMaxRounds = 8;
  for (int round = 0; round < kMaxRounds && wire_->has_own_requests(); ++round) {
    for (Request& request : wire_->take_own_requests()) {
      if (closed_ || ending_ || detached_) return;
      if (!pending_.emplace(request.transaction, request.name).second) continue;
      own_transactions_.insert(request.transaction);
      handler_.on_request(self, std::move(request));
    }
  }
}

void ClientSession::close(int code, std::string reason) {
  if (closed_ || ending_) return;
  ending_ = true;
  PL_LOG(kInfo, log_context()) << "closing (" << code << " " << reason << ")";
  if (detached_) {
    // No connection to close: over on the next iteration, not inside the
    // caller (a handler may be iterating over its sessions).
    grace_timer_.start(context_, std::chrono::milliseconds(0), [this, code] {
      finish(static_cast<uint16_t>(code));
      return false;
    });
    return;
  }
  if (connection_->is_open()) wire_->closing(static_cast<uint16_t>(code), reason, *connection_);
  connection_->close(static_cast<uint16_t>(code), reason);
}

void ClientSession::close_now(int code, std::string reason) {
  if (closed_) return;
  ending_ = true;
  if (detached_) {
    finish(static_cast<uint16_t>(code));
    return;
  }
  if (connection_->is_open()) wire_->closing(static_cast<uint16_t>(code), reason, *connection_);
  connection_->close_now(static_cast<uint16_t>(code), reason);
}

bool ClientSession::take_pending(const std::string& transaction, const char* what) {
  auto found = pending_.find(transaction);
  if (found == pending_.end()) {
    PL_LOG(kDebug, log_context()) << "dropped " << what << " response: transaction '" << transaction
                                  << "' is not awaiting one";
    return false;
  }
  pending_.erase(found);
  return is_open();
}

void ClientSession::on_text(std::string text) {
  DecodedText decoded = wire_->decode(text, *connection_);
  if (decoded.login) {
    Status result = make_error(error_code::kConflict, "logged in already");
    const int64_t now_us = g_get_monotonic_time();
    // A login guesses a password: it costs a request of the session's and
    // of its address's budgets, like any request.
    if (!rate_limiter_.allow(now_us) ||
        (options_.address_requests && !options_.address_requests->allow(remote_address_, now_us))) {
      result = make_error(error_code::kRateLimited, "rate limited: too many logins");
    } else if (!identified_) {
      result = options_.login ? options_.login(*this, *decoded.login)
                              : make_error(error_code::kUnavailable, "no login on this server");
    }
    if (!closed_ && connection_->is_open()) wire_->login_result(result, *connection_);
  }
  schedule_own_requests();
  if (decoded.alive) last_keepalive_us_ = g_get_monotonic_time();
  // The whole text costs the byte budget once, with its first message.
  size_t bytes = text.size();
  for (ClientMessage& message : decoded.messages) {
    // A request may have closed the session (a handler's decision).
    if (closed_ || ending_ || !connection_->is_open()) return;
    on_message(std::move(message), bytes);
    bytes = 0;
  }
  if (closed_ || ending_) return;
  if (decoded.fatal) {
    PL_LOG(kInfo, log_context()) << "closing (" << decoded.fatal->code << " " << decoded.fatal->message << ")";
    close(decoded.fatal->code, decoded.fatal->message);
  } else if (decoded.goodbye) {
    close(close_code::kNormal, "goodbye");
  }
}

void ClientSession::on_message(ClientMessage message, size_t bytes) {
  // Keepalives have a bucket of their own: a burst of requests must not
  // starve them into a 4002, and a flood of them must not cost the others
  // (one client sent 23,000 a second when they were not limited at all).
  if (auto* keepalive = std::get_if<KeepaliveMessage>(&message)) {
    const int64_t now_us = g_get_monotonic_time();
    if (!keepalive_limiter_.allow(now_us)) {
      refuse(keepalive->transaction, std::nullopt,
             make_error(error_code::kRateLimited, "rate limited: more than " +
                                                      std::to_string(options_.keepalive_limit.requests_per_second) +
                                                      " keepalives per second"));
      return;
    }
    last_keepalive_us_ = now_us;
    wire_->keepalive_ack(keepalive->transaction, *connection_);
  } else if (auto* request = std::get_if<Request>(&message)) {
    if (!within_rate_limit(request->transaction, request->name, bytes)) return;
    on_request(std::move(*request));
  } else {
    const auto& refused = std::get<MessageError>(message);
    if (!within_rate_limit(refused.transaction, refused.request, bytes)) return;
    PL_LOG(kDebug, log_context()) << "refused a message: " << refused.error.message;
    refuse(refused.transaction, refused.request, refused.error);
  }
}

void ClientSession::on_request(Request request) {
  if (pending_.count(request.transaction) != 0) {
    Error busy = make_error(error_code::kConflict, "transaction '" + request.transaction + "' is still awaiting its response");
    refuse(request.transaction, request.name, busy);
    return;
  }
  if (pending_.size() >= options_.max_pending_transactions) {
    Error limited = make_error(error_code::kRateLimited, "more than " + std::to_string(options_.max_pending_transactions) +
                                                             " requests awaiting a response");
    refuse(request.transaction, request.name, limited);
    return;
  }
  pending_.emplace(request.transaction, request.name);
  if (!identified_) {
    // Nobody yet (a format that identifies in-band): the handlers do not
    // know the session. A ping (the format's own, or a login's) is answered
    // here; anything else waits for the login.
    if (request.name == "ping") return respond_success(request.transaction, request.name, nullptr);
    return respond_error(request.transaction, request.name, make_error(error_code::kForbidden, "log in first"));
  }
  // The handler may close or answer synchronously; keep this alive meanwhile.
  auto self = shared_from_this();
  handler_.on_request(self, std::move(request));
}

bool ClientSession::within_rate_limit(const std::optional<std::string>& transaction,
                                      const std::optional<std::string>& request, size_t bytes) {
  const int64_t now_us = g_get_monotonic_time();
  // Counted in requests and in bytes: a large message relayed to a whole
  // line costs its sender its size, not one request. Then the user's and
  // the address's budgets, which its other sessions (and its reconnections)
  // share.
  std::string exceeded;
  if (!rate_limiter_.allow(now_us)) {
    exceeded = std::to_string(options_.rate_limit.requests_per_second) + " requests per second";
  } else if (!byte_limiter_.allow(now_us, bytes)) {
    exceeded = std::to_string(options_.byte_limit.requests_per_second) + " bytes per second";
  } else if (options_.user_requests && !options_.user_requests->allow(identity_.user, now_us)) {
    exceeded = std::to_string(options_.user_requests->limit().requests_per_second) + " requests per second from this user";
  } else if (options_.address_requests && !options_.address_requests->allow(remote_address_, now_us)) {
    exceeded =
        std::to_string(options_.address_requests->limit().requests_per_second) + " requests per second from this address";
  } else {
    return true;
  }
  Error limited = make_error(error_code::kRateLimited, "rate limited: more than " + exceeded);
  PL_LOG(kDebug, log_context()) << "refused a message: " << limited.message;
  refuse(transaction, request, limited);
  return false;
}

void ClientSession::refuse(const std::optional<std::string>& transaction, const std::optional<std::string>& request,
                           const Error& error) {
  thread_request_counts().count(request ? std::string_view(*request) : std::string_view("other"), error.code);
  wire_->error(transaction, request, error, *connection_);
}

bool ClientSession::check_keepalive() {
  if (!is_open()) return false;
  wire_->tick(g_get_monotonic_time(), *connection_);
  if (!identified_ && g_get_monotonic_time() - opened_us_ >
                          std::chrono::duration_cast<std::chrono::microseconds>(options_.login_timeout).count()) {
    close(close_code::kUnauthorized, "no login within " + std::to_string(options_.login_timeout.count()) + " ms");
    return false;
  }
  // Clients that send no keepalives of their own are watched by the
  // WebSocket's pings alone (signaling.idle_timeout_ms).
  if (!wire_->client_keepalives()) return true;
  auto allowed = std::chrono::duration_cast<std::chrono::microseconds>(2 * options_.keepalive_interval).count();
  if (g_get_monotonic_time() - last_keepalive_us_ < allowed) return true;
  // The connection goes, the session may be resumed (the client's network
  // may have stalled, as on a mobile handover): not close(), which ends it.
  PL_LOG(kInfo, log_context()) << "closing the connection (4002 keepalive missed)";
  connection_->close(close_code::kKeepaliveMissed, "keepalive missed");
  return false;
}

void ClientSession::on_connection_closed(uint64_t generation, uint16_t code) {
  if (closed_ || generation != connection_generation_) return;
  // A client that sent a close frame said goodbye; a session the server
  // ended was ended on purpose, and one that broke the protocol (1003,
  // 1009) or did not read what it was sent (4007: resuming would let it
  // pile up the same again) is not resumed either. What is left is a lost
  // connection: no close frame (1006) or silence (4002, 1001 idle).
  const bool lost_code = code == close_code::kAbnormal || code == close_code::kKeepaliveMissed ||
                         code == close_code::kGoingAway;
  const bool lost = lost_code && !ending_ && !connection_->closed_by_peer();
  if (lost && !resume_token_.empty()) {
    detach(code);
  } else {
    finish(code);
  }
}

void ClientSession::detach(uint16_t code) {
  detached_ = true;
  keepalive_timer_.cancel();
  // Their responses cannot reach the client: it learns the outcome from the
  // state sent on resume.
  pending_.clear();
  own_transactions_.clear();
  PL_LOG(kInfo, log_context()) << "WebSocket lost (" << code << "); resumable for " << options_.resume_grace.count()
                               << " ms";
  grace_timer_.start(context_, options_.resume_grace, [this, code] {
    PL_LOG(kInfo, log_context()) << "not resumed within " << options_.resume_grace.count() << " ms";
    resume_expired_ = true;
    finish(code);
    return false;
  });
  auto self = shared_from_this();
  handler_.on_session_detached(self);
}

void ClientSession::finish(uint16_t code) {
  if (closed_) return;
  closed_ = true;
  detached_ = false;
  keepalive_timer_.cancel();
  grace_timer_.cancel();
  own_requests_timer_.cancel();
  pending_.clear();
  own_transactions_.clear();
  PL_LOG(kInfo, log_context()) << "WebSocket closed (" << code << ")";
  auto self = shared_from_this();
  if (on_closed_) on_closed_(self);
}

}  // namespace partyline::signaling
