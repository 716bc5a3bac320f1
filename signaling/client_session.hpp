// One client session, already authenticated: sends the handshake state,
// answers keepalives, closes the socket (4002) when they stop, and passes
// requests to the RequestHandler, making sure each transaction is answered
// once and that the session stays within its request rate (429).
//
// A session outlives a lost connection: when its WebSocket ends without a
// goodbye (no close frame from the client, no decision of the server's to
// end it), the session is detached for `resume_grace` and comes back on the
// client's next connection that presents its resume token
// (SignalingServer::adopt, docs/protocol.md "Resuming a session"); after
// the grace it closes as any session does.
// Everything here runs on the signaling loop thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "core/runtime/event_loop.hpp"
#include "core/runtime/json.hpp"
#include "rtp/result.hpp"
#include "signaling/auth.hpp"
#include "signaling/http_server.hpp"
#include "signaling/protocol.hpp"
#include "signaling/rate_limiter.hpp"
#include "signaling/websocket_connection.hpp"
#include "signaling/wire_format.hpp"

namespace partyline::signaling {

class ClientSession;

// Implemented by the application (the lead's code). Called on the signaling
// loop thread.
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // After the handshake state was sent. The handler may close() the session here.
  virtual void on_session_open(const std::shared_ptr<ClientSession>& session) = 0;
  // Must lead to exactly one respond_* for request.transaction, possibly
  // later (keep a std::weak_ptr<ClientSession>). Unknown names: answer 404.
  virtual void on_request(const std::shared_ptr<ClientSession>& session, Request request) = 0;
  // The session is over (its socket gone and not resumed in time, or closed
  // for good); responses and events sent from now on are dropped.
  virtual void on_session_closed(const std::shared_ptr<ClientSession>& session) = 0;
  // Its connection was lost; the session waits for a resume. Events sent
  // meanwhile are dropped (what the client missed, on_session_resumed
  // sends as the current state).
  virtual void on_session_detached(const std::shared_ptr<ClientSession>& session) = 0;
  // A new connection took the detached session over, after its handshake
  // state (saying "resumed") was queued.
  virtual void on_session_resumed(const std::shared_ptr<ClientSession>& session) = 0;
};

struct ClientSessionOptions {
  std::chrono::milliseconds keepalive_interval{30000};  // 4002 after twice this without a keepalive
  size_t max_pending_transactions = 64;                 // more requests awaiting a response: 429
  RateLimit rate_limit;                                 // requests beyond it: 429; keepalives are not counted here
  RateLimit keepalive_limit{10, 20};                    // keepalives beyond it: 429 (a bucket of their own)
  RateLimit byte_limit{262144, 1048576};                // request bytes (keepalives not counted); beyond: 429
  std::chrono::milliseconds resume_grace{20000};        // a lost connection's session waits this long; 0: no resume
  // Request budgets shared by every session of a user and of a remote
  // address (null: none); owned by the SignalingServer, which outlives its
  // sessions. Counted like rate_limit, after it.
  KeyedRateLimiter* user_requests = nullptr;
  KeyedRateLimiter* address_requests = nullptr;
  // Checks an in-band login (WireFormat::identifies_in_band) and, when it
  // is accepted, identifies the session (ClientSession::identify). Set by
  // the SignalingServer; empty: every such login is refused.
  std::function<Status(ClientSession& session, const InBandLogin& login)> login;
  // Such a session not logged in this long after it opened is closed (4001):
  // it holds a place of max_sessions without being anyone.
  std::chrono::milliseconds login_timeout{45000};
  std::string server_name = "partyline";
  std::string server_version = PARTYLINE_VERSION;
};

class ClientSession : public std::enable_shared_from_this<ClientSession> {
 public:
  // Called once, when the session is over (its socket released and no
  // resume pending), so the owner can forget it.
  using ClosedCallback = std::function<void(const std::shared_ptr<ClientSession>&)>;

  // Made by SignalingServer, which then calls open(). `wire` is the format
  // the connection's path chose (native, or a seed adapter's).
  ClientSession(GMainContext* context, std::unique_ptr<WebSocketConnection> connection,
                std::unique_ptr<WireFormat> wire, QueryParameters query, std::string remote_address,
                Identity identity, const ClientSessionOptions& options, RequestHandler& handler,
                ClosedCallback on_closed);
  ~ClientSession();
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  // Starts the connection, sends the handshake state, starts the keepalive watch.
  void open();
  // A new connection for this session (its resume token checked by the
  // caller): a detached session is attached to it; one whose old connection
  // still looks open has that closed first (4005, the client moved on). The
  // handshake state says "resumed", then the handler's on_session_resumed.
  void resume(std::unique_ptr<WebSocketConnection> connection, QueryParameters query, std::string remote_address);

  const std::string& id() const { return id_; }
  const QueryParameters& query() const { return query_; }
  std::optional<std::string_view> query_parameter(std::string_view name) const;
  const std::string& remote_address() const { return remote_address_; }
  // Who the server authenticated: at connect, or for a format that
  // identifies in-band, at its login (checked by the server: a credential,
  // never a claim of a message).
  const Identity& identity() const { return identity_; }
  // Whether the request handlers know the session: always, but for a
  // format that identifies in-band, only once its login was accepted.
  bool identified() const { return identified_; }
  // The login was accepted: the session takes `identity` and opens to the
  // handlers (on_session_open). Once.
  void identify(Identity identity);
  const WireFormat& wire_format() const { return *wire_; }
  bool is_open() const;
  // Its connection was lost and it waits for a resume.
  bool is_detached() const { return detached_; }
  // A new connection may take it over: not closed, and not being closed
  // for good (kicked, replaced: a resume must not undo that).
  // Its wire format must be resumable too (resume_token() is empty otherwise).
  bool resumable() const { return !closed_ && !ending_ && !resume_token_.empty(); }
  // It closed because no resume came within the grace.
  bool resume_expired() const { return resume_expired_; }
  // The secret a reconnecting client presents (?resume=); empty when
  // sessions are not resumable (resume_grace 0, or a wire format without
  // resuming).
  const std::string& resume_token() const { return resume_token_; }
  // "session=<first 8 characters of the id> user=<user id>", for PL_LOG.
  std::string log_context() const;

  // Each drops (with a debug log) a response for a transaction that is not
  // awaiting one; everything is dropped once the session is closing.
  void respond_success(const std::string& transaction, const std::string& request_name, core::JsonPtr extra_fields);
  void respond_error(const std::string& transaction, const std::string& request_name, const Error& error);
  // `event` must be an object with a string "event" field and no "transaction".
  void send_event(core::JsonPtr event);
  // An event already formatted (format_event's text): one event sent to
  // many sessions is serialized once.
  void send_event_text(std::string_view text);
  // Ends the session for good (no resume): starts the WebSocket closing
  // handshake with `code` (see close_code); a detached session closes on the
  // loop's next iteration.
  void close(int code, std::string reason);
  // Ends the session for good at once (server shutdown, replaced); the
  // closed callback runs before it returns.
  void close_now(int code, std::string reason);

 private:
  void on_text(std::string text);
  // One message of a received text; `bytes` is what it costs the byte budget.
  void on_message(ClientMessage message, size_t bytes);
  void on_request(Request request);
  bool within_rate_limit(const std::optional<std::string>& transaction, const std::optional<std::string>& request,
                         size_t bytes);
  // An error response the session itself sends (malformed, busy, limited),
  // counted like a handler's.
  void refuse(const std::optional<std::string>& transaction, const std::optional<std::string>& request,
              const Error& error);
  bool take_pending(const std::string& transaction, const char* what);
  // The wire format's own requests (WireFormat::take_own_requests), run
  // from the loop after whatever queued them.
  void schedule_own_requests();
  void run_own_requests();
  // Sends the handshake state, starts the keepalive watch and the connection.
  void start_connection(bool resumed);
  bool check_keepalive();
  void on_connection_closed(uint64_t generation, uint16_t code);
  void detach(uint16_t code);
  void finish(uint16_t code);

  GMainContext* context_;
  std::unique_ptr<WebSocketConnection> connection_;
  std::unique_ptr<WireFormat> wire_;
  std::string id_;
  QueryParameters query_;
  std::string remote_address_;
  Identity identity_;
  ClientSessionOptions options_;
  RateLimiter rate_limiter_;
  RateLimiter keepalive_limiter_;
  RateLimiter byte_limiter_;
  RequestHandler& handler_;
  ClosedCallback on_closed_;
  // transaction -> request name, for requests not yet answered.
  std::unordered_map<std::string, std::string> pending_;
  std::unordered_set<std::string> own_transactions_;  // pending_ entries the format made
  core::Timer own_requests_timer_;
  core::Timer keepalive_timer_;
  int64_t last_keepalive_us_ = 0;  // g_get_monotonic_time()
  int64_t opened_us_ = 0;          // likewise, for login_timeout
  std::string resume_token_;
  // Which connection the callbacks speak for: a replaced one's are ignored.
  uint64_t connection_generation_ = 0;
  core::Timer grace_timer_;  // while detached: the end of the resume grace
  bool detached_ = false;
  bool ending_ = false;  // closed for good by a decision: no resume
  bool resume_expired_ = false;
  bool closed_ = false;
  bool identified_ = true;
};

// A random (version 4) UUID from GnuTLS's generator, lowercase.
std::string random_uuid_v4();
// A secret that travels in URLs (a line token, a resume token): 144 random
// bits from GnuTLS's key generator, base64url (24 characters).
std::string random_token();

}  // namespace partyline::signaling
