// The signaling front door: HTTP static files and the /ws WebSocket
// (HttpServer), authentication at connect (auth.hpp), one ClientSession per
// accepted WebSocket, all sessions living on the signaling EventLoop.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/runtime/event_loop.hpp"
#include "rtp/result.hpp"
#include "signaling/auth.hpp"
#include "signaling/client_session.hpp"
#include "signaling/http_server.hpp"
#include "signaling/line_admission.hpp"
#include "signaling/rate_limiter.hpp"
#include "signaling/websocket_connection.hpp"

namespace partyline::signaling {

struct SignalingOptions {
  std::string bind_address = "0.0.0.0";
  uint16_t port = 8088;  // 0: any free port, see SignalingServer::port()
  std::filesystem::path web_root;
  size_t max_message_bytes = 65536;
  size_t max_queued_bytes = 1048576;    // unsent outbound bytes per session; beyond: closed with 4007
  size_t max_queued_messages = 1024;    // unsent outbound messages per session; beyond: closed with 4007
  uint32_t ping_interval_ms = 15000;
  uint32_t idle_timeout_ms = 45000;
  uint32_t keepalive_interval_ms = 30000;
  size_t max_sessions = 1000;           // one more WebSocket is closed with 4003
  unsigned max_connections = 10000;     // TCP connections of the listener (HttpServerOptions)
  unsigned max_connections_per_address = 256;
  uint32_t header_timeout_ms = 10000;   // HTTP request headers (HttpServerOptions::header_timeout)
  uint32_t close_timeout_ms = 2000;     // wait for the peer's close frame
  size_t max_pending_transactions = 64; // per session; more get 429
  AuthOptions auth;                     // refused at connect: closed with 4001
  // auth.sessions_per_user "one": a user's new connection replaces its
  // older session (4005), or is refused with 4006 under ?force=false.
  bool one_session_per_user = false;
  RateLimit rate_limit;                 // per session; more get 429 (keepalives not counted)
  RateLimit keepalive_limit{10, 20};    // keepalives per session; more get 429
  RateLimit byte_limit{262144, 1048576};  // request bytes per session; more get 429
  // A session whose connection was lost waits this long for the client to
  // come back with ?resume=<its token>; 0: no resume (ClientSession).
  uint32_t resume_grace_ms = 20000;
  // Budgets shared by every connection of one user and of one remote
  // address (requests_per_second 0: none), so that reconnecting refills
  // nothing: WebSocket connects beyond them are closed with 4009 before any
  // handshake state, requests get 429 (ClientSession).
  RateLimit user_connect_limit{5, 10};
  RateLimit address_connect_limit{200, 400};
  RateLimit user_request_limit{100, 200};
  RateLimit address_request_limit{2000, 4000};
  TlsCredentials tls;                   // set: HTTPS and WSS only
  // Seed adapters (docs/compat.md), each on a path of its own; empty: off.
  // Seed 000's SignalR hub: `POST <path>/negotiate` and the WebSocket at <path>.
  std::string signalr_hub_path = "/hubs/webrtc";
  // Seed 003's lines protocol: the WebSocket at <path> (?token=&force=).
  std::string lines_path = "/signaling/v1";
  // Seed 001's chat rooms: the WebSocket at <prefix><chatId>, a JWT from
  // "Authorization: Bearer", the AuthToken cookie or ?tk=, refused before
  // the upgrade with 401 / 403 (needs use_admission()).
  std::vector<std::string> chat_realtime_paths;
  // Seed 002's connected-peers relay at <path>, everyone in the room
  // `peers_room`; a client without ?token= is a guest named "peer-<random>".
  std::string peers_path;
  std::string peers_room = "peers";
  // Seed 004's verto channel client at <path>: identity by its in-band
  // `login` (a channel's password), one connection per client and channel.
  std::string verto_path;
  size_t max_signal_bytes = 16384;  // limits.max_signal_bytes, for the adapters' relays
};

// Resumes since start, every server of the process (all threads), for /metrics.
struct ResumeTotals {
  uint64_t resumed = 0;  // a lost connection's session taken over by a new one
  uint64_t refused = 0;  // ?resume= refused with 4008
  uint64_t expired = 0;  // sessions closed because no resume came within the grace
};
ResumeTotals resume_totals();

class SignalingServer {
 public:
  // `loop` and `handler` must outlive the server; `loop` must be running
  // whenever start() or stop() is called.
  SignalingServer(const SignalingOptions& options, core::EventLoop& loop, RequestHandler& handler);
  ~SignalingServer();  // stop()
  SignalingServer(const SignalingServer&) = delete;
  SignalingServer& operator=(const SignalingServer&) = delete;

  // Errors name the cause, e.g. "cannot listen on 0.0.0.0:8088: ... Address already in use".
  Status start();
  // Closes every WebSocket with 1001 (on_session_closed runs for each), then
  // stops HTTP. Callable from any thread, including the loop's. Idempotent.
  void stop();

  // Who may join which line, for the endpoints that refuse outsiders at the
  // upgrade (seed 001): set before start(); it must outlive the server and
  // is asked on the loop. Without it, those upgrades are refused (503).
  void use_admission(const LineAdmission* admission) { admission_ = admission; }

  // Open sessions (detached ones awaiting a resume included); callable from any thread.
  size_t session_count() const { return session_count_.load(); }

  // The bound port (the actual one when 0 was configured); 0 when stopped.
  uint16_t port() const { return http_.port(); }

 private:
  void on_upgrade(WebSocketUpgrade upgrade);  // MHD thread
  HttpReply negotiate_signalr(const HttpRequest& request);  // MHD thread
  // Seed 001: 401 without a valid JWT, 403 (from the loop) for a non-member.
  void admit_chat(const std::string& prefix, const HttpRequest& request, AdmissionDecision decide);  // MHD thread
  // An in-band login (seed 004): the line's token must admit the guest it
  // names; the user's older sessions of the same format are replaced.
  Status login(ClientSession& session, const InBandLogin& login);
  // Who the upgrade's client is, by its endpoint's rules.
  Result<Identity> identity_of(const WebSocketUpgrade& upgrade) const;
  // The wire format the upgrade's route chose.
  std::unique_ptr<WireFormat> wire_format_for(const WebSocketUpgrade& upgrade, const Identity& identity) const;
  void adopt(uint64_t upgrade_id);            // loop thread
  // Closes a connection that never becomes a session (no handshake state).
  void refuse(std::unique_ptr<WebSocketConnection> connection, uint16_t code, const std::string& reason);
  void on_session_closed(const std::shared_ptr<ClientSession>& session);
  // ?resume=<token>: the connection takes over the session of that token,
  // or is refused with 4008 (unknown or expired token, another user's).
  void resume(std::unique_ptr<WebSocketConnection> connection, WebSocketUpgrade& upgrade, const Identity& identity,
              const std::string& token);
  // One session per user: false when the new connection must be refused
  // (force=false); otherwise the user's older sessions are closed (4005).
  bool make_room_for(const Identity& identity, const QueryParameters& query, const WireFormat& wire);
  void close_everything();

  SignalingOptions options_;
  core::EventLoop& loop_;
  RequestHandler& handler_;
  const LineAdmission* admission_ = nullptr;
  WebSocketOptions websocket_options_;
  ClientSessionOptions session_options_;
  // Loop thread only, like the sessions that use the request budgets.
  KeyedRateLimiter connects_by_user_;
  KeyedRateLimiter connects_by_address_;
  KeyedRateLimiter requests_by_user_;
  KeyedRateLimiter requests_by_address_;
  HttpServer http_;
  // Lets tasks posted to the loop notice that the server is gone.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);

  // Shared between MHD's thread and the loop: upgrades not yet adopted.
  std::mutex upgrades_mutex_;
  bool accepting_ = false;
  uint64_t next_upgrade_id_ = 0;
  std::map<uint64_t, WebSocketUpgrade> pending_upgrades_;

  // Loop thread only.
  std::map<std::string, std::shared_ptr<ClientSession>> sessions_;
  std::unordered_map<std::string, std::string> session_by_resume_token_;
  std::map<WebSocketConnection*, std::shared_ptr<WebSocketConnection>> refused_;
  std::atomic<size_t> session_count_{0};
};

}  // namespace partyline::signaling
