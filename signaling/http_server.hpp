// The HTTP side of signaling on libmicrohttpd: serves the web client's
// static files, answers the caller's bodiless POST routes (a SignalR
// negotiate) and upgrades `GET` on the WebSocket paths, handing the socket
// over to the caller. MHD runs its own polling thread; every
// callback here runs on it.
#pragma once

#include <microhttpd.h>

#include <chrono>
#include <cstdarg>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "rtp/result.hpp"
#include "signaling/header_deadline.hpp"
#include "signaling/static_files.hpp"
#include "signaling/tls_files.hpp"
#include "signaling/websocket_connection.hpp"

namespace partyline::signaling {

using QueryParameters = std::map<std::string, std::string, std::less<>>;

// A request a route answers: what it said, its body never read.
struct HttpRequest {
  std::string path;
  QueryParameters query;  // percent-decoded once
  std::string bearer_token;  // "Authorization: Bearer <token>", else empty
  QueryParameters cookies;   // the Cookie header's, as libmicrohttpd parses them
  std::string remote_address;
};

struct HttpReply {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// Upgrades a waiting WebSocket request (nullopt) or refuses it with a reply.
using AdmissionDecision = std::function<void(std::optional<HttpReply> refusal)>;

// `GET <prefix><rest>` with an upgrade becomes a WebSocket once `admit`
// decided so: for endpoints that refuse outsiders with an HTTP status
// (seed 001's 401 and 403) rather than with a close code. `admit` runs on
// MHD's thread and must not block: it calls `decide` exactly once, at once
// or later from any thread (the request waits, suspended), and never after
// the HttpServer stopped. The refusal comes before the upgrade's own header
// checks (a request without an upgrade that is admitted gets 400).
struct WebSocketPrefix {
  std::string prefix;  // starts and ends with '/'
  std::function<void(const HttpRequest& request, AdmissionDecision decide)> admit;
};

// `POST <path>`; runs on MHD's thread and must not block.
struct HttpRoute {
  std::string path;
  std::function<HttpReply(const HttpRequest& request)> answer;
};

struct HttpServerOptions {
  std::string bind_address = "0.0.0.0";  // IPv4 or IPv6 literal
  uint16_t port = 8088;                   // 0: any free port (see HttpServer::port())
  std::filesystem::path web_root;         // empty: no static files (every GET is 404)
  // `GET` here with an upgrade becomes a WebSocket (WebSocketUpgrade::path
  // says which); the native protocol's, then the seed adapters'.
  std::vector<std::string> websocket_paths{"/ws"};
  std::vector<WebSocketPrefix> websocket_prefixes;
  std::vector<HttpRoute> post_routes;
  TlsCredentials tls;                     // set: HTTPS and WSS only (tls_files.hpp)
  // Connections held at once (upgraded WebSockets included) and per remote
  // address (0: none). libmicrohttpd's own default is about 1,000 in all,
  // which idle connections from one address could fill.
  unsigned max_connections = 10000;
  unsigned max_connections_per_address = 256;
  // Of max_connections, how many may be plain HTTP (not upgraded to
  // WebSockets): at this many, a new connection closes the longest idle or
  // header-awaiting one (HeaderDeadline). 0: no such cap.
  unsigned max_plain_connections = 0;
  // A request's headers must be complete this long after the connection
  // opened, or after the next request's first byte (header_deadline.hpp).
  std::chrono::milliseconds header_timeout{10000};
};

// A successful upgrade: the socket (released through MHD when destroyed),
// the bytes MHD read past the request, and what the request said.
struct WebSocketUpgrade {
  UpgradedSocket socket;
  std::string already_received;
  std::string route;  // one of HttpServerOptions::websocket_paths, or a websocket_prefixes' prefix
  std::string path;   // what was asked for: the route itself, or the prefix and the rest
  QueryParameters query;  // percent-decoded once
  std::string bearer_token;  // "Authorization: Bearer <token>", else empty
  QueryParameters cookies;
  std::string remote_address;
};

class HttpServer {
 public:
  // Runs on MHD's thread; it must not block.
  using UpgradeHandler = std::function<void(WebSocketUpgrade upgrade)>;

  HttpServer(HttpServerOptions options, UpgradeHandler on_upgrade);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Errors: a bad bind address or web root (400/404), TLS asked of a
  // libmicrohttpd without it (501), or MHD could not listen (500, with MHD's
  // reason, e.g. "Address already in use").
  Status start();
  // Every UpgradedSocket handed out must have been released before: MHD
  // closes and frees the ones still open, leaving their handles dangling.
  void stop();
  // The bound port (the actual one when 0 was asked for); 0 when stopped.
  uint16_t port() const { return bound_port_; }

 private:
  struct DaemonDeleter {
    void operator()(MHD_Daemon* daemon) const { MHD_stop_daemon(daemon); }
  };

  static MHD_Result on_request(void* self, MHD_Connection* connection, const char* url, const char* method,
                               const char* version, const char* upload_data, size_t* upload_data_size,
                               void** request_context);
  static void on_upgraded(void* self, MHD_Connection* connection, void* request_context, const char* extra_in,
                          size_t extra_in_size, MHD_socket sock, MHD_UpgradeResponseHandle* handle);
  static void on_completed(void* self, MHD_Connection* connection, void** request_context,
                           MHD_RequestTerminationCode code);
  static size_t unescape(void* self, MHD_Connection* connection, char* text);
  static void log_from_mhd(void* self, const char* format, va_list args);

  // A WebSocket request from its headers to its upgrade (or refusal): what
  // on_upgraded must know, and an admission's state. Owned by upgrades_,
  // pointed to by MHD's request context.
  struct UpgradeRequest {
    uint64_t id = 0;
    MHD_Connection* connection = nullptr;
    const std::string* route = nullptr;  // in options_, which outlive the daemon
    std::string path;
    bool decided = false;
    std::optional<HttpReply> refusal;
    bool suspended = false;  // waits for the decision
    bool resumed = false;    // MHD_resume_connection called (or about to be)
  };

  MHD_Result serve_file(MHD_Connection* connection, const char* url);
  MHD_Result start_upgrade(MHD_Connection* connection, const std::string& route, std::string_view path,
                           const WebSocketPrefix* prefix, void** request_context);
  MHD_Result serve_upgrade(MHD_Connection* connection);
  void decide(uint64_t id, std::optional<HttpReply> refusal);  // any thread
  // Takes the request out of upgrades_ if it is still there (and still this connection's).
  std::unique_ptr<UpgradeRequest> forget_upgrade(const void* request, const MHD_Connection* connection);
  MHD_Result serve_route(MHD_Connection* connection, const HttpRoute& route);

  HttpServerOptions options_;
  UpgradeHandler on_upgrade_;
  std::optional<StaticFiles> files_;
  HeaderDeadline header_deadline_;  // outlives daemon_ (declared before it)
  // Held across a decision's MHD_resume_connection, and by stop() while it
  // resumes the requests still waiting, so no resume outlives the daemon.
  // MHD's thread never takes it. Before upgrades_mutex_.
  std::mutex resume_mutex_;
  std::mutex upgrades_mutex_;
  std::map<const UpgradeRequest*, std::unique_ptr<UpgradeRequest>> upgrades_;
  std::map<uint64_t, UpgradeRequest*> undecided_;  // admissions awaiting decide()
  uint64_t next_upgrade_id_ = 1;
  std::unique_ptr<MHD_Daemon, DaemonDeleter> daemon_;
  uint16_t bound_port_ = 0;
  std::mutex log_mutex_;
  std::string last_mhd_message_;
};

}  // namespace partyline::signaling
