#include "signaling/http_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstring>

#include "core/runtime/log.hpp"

namespace partyline::signaling {

namespace {

constexpr unsigned kHttpIdleTimeoutSeconds = 30;

struct ResponseDeleter {
  void operator()(MHD_Response* response) const { MHD_destroy_response(response); }
};
using ResponsePtr = std::unique_ptr<MHD_Response, ResponseDeleter>;

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// True when the comma-separated header value lists `token` (case-insensitive),
// as in "Connection: keep-alive, Upgrade".
bool header_has_token(const char* value, std::string_view token) {
  if (value == nullptr) return false;
  std::string_view rest(value);
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    size_t first = item.find_first_not_of(" \t");
    size_t last = item.find_last_not_of(" \t");
    if (first != std::string_view::npos && equals_ignoring_case(item.substr(first, last - first + 1), token)) {
      return true;
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

MHD_Result queue(MHD_Connection* connection, unsigned status, ResponsePtr response) {
  if (!response) return MHD_NO;
  return MHD_queue_response(connection, status, response.get());
}

MHD_Result serve_text(MHD_Connection* connection, unsigned status, std::string_view text) {
  std::string body = std::string(text) + "\n";
  ResponsePtr response(MHD_create_response_from_buffer(body.size(), body.data(), MHD_RESPMEM_MUST_COPY));
  if (!response) return MHD_NO;
  MHD_add_response_header(response.get(), MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
  MHD_add_response_header(response.get(), MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
  if (status == MHD_HTTP_METHOD_NOT_ALLOWED) MHD_add_response_header(response.get(), MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
  return queue(connection, status, std::move(response));
}

// The token of "Authorization: Bearer <token>" (RFC 6750), else empty.
std::string bearer_token_of(MHD_Connection* connection) {
  const char* value = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
  if (value == nullptr) return {};
  std::string_view text(value);
  constexpr std::string_view kScheme = "Bearer ";
  if (text.size() <= kScheme.size() || !equals_ignoring_case(text.substr(0, kScheme.size()), kScheme)) return {};
  text.remove_prefix(kScheme.size());
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  return std::string(text);
}

MHD_Result collect_query_parameter(void* map, MHD_ValueKind, const char* key, const char* value) {
  static_cast<QueryParameters*>(map)->insert_or_assign(key, value != nullptr ? value : "");
  return MHD_YES;
}

QueryParameters values_of(MHD_Connection* connection, MHD_ValueKind kind) {
  QueryParameters values;
  MHD_get_connection_values(connection, kind, &collect_query_parameter, &values);
  return values;
}

std::string remote_address_of(MHD_Connection* connection) {
  const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (info == nullptr || info->client_addr == nullptr) return "unknown";
  char host[NI_MAXHOST];
  socklen_t length = info->client_addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (getnameinfo(info->client_addr, length, host, sizeof(host), nullptr, 0, NI_NUMERICHOST) != 0) return "unknown";
  return host;
}

}  // namespace

HttpServer::HttpServer(HttpServerOptions options, UpgradeHandler on_upgrade)
    : options_(std::move(options)),
      on_upgrade_(std::move(on_upgrade)),
      header_deadline_(options_.header_timeout, HttpListener::kSignaling, options_.max_plain_connections) {}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::start() {
  if (daemon_) return make_error(error_code::kConflict, "HTTP server already started");
  if (!options_.web_root.empty()) {
    auto files = StaticFiles::open(options_.web_root);
    if (!files) return files.error();
    files_.emplace(std::move(*files));
  }

  sockaddr_storage address{};
  bool ipv6 = options_.bind_address.find(':') != std::string::npos;
  if (ipv6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&address);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(options_.port);
    if (inet_pton(AF_INET6, options_.bind_address.c_str(), &in6->sin6_addr) != 1) {
      return make_error(error_code::kBadRequest, "bind address '" + options_.bind_address + "' is not an IP address");
    }
  } else {
    auto* in4 = reinterpret_cast<sockaddr_in*>(&address);
    in4->sin_family = AF_INET;
    in4->sin_port = htons(options_.port);
    if (inet_pton(AF_INET, options_.bind_address.c_str(), &in4->sin_addr) != 1) {
      return make_error(error_code::kBadRequest, "bind address '" + options_.bind_address + "' is not an IP address");
    }
  }

  auto tls = tls_daemon_options(options_.tls);
  if (!tls) return tls.error();
  // With TLS, MHD hands an upgraded connection over as one end of a
  // non-blocking socketpair and relays it through GnuTLS on its own thread
  // (epoll included), so the WebSocket code reads and writes plain bytes.
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG |
                   MHD_ALLOW_SUSPEND_RESUME | (ipv6 ? MHD_USE_IPv6 : 0) | tls->flags;
  {
    std::lock_guard lock(log_mutex_);
    last_mhd_message_.clear();
  }
  header_deadline_.start();
  daemon_.reset(MHD_start_daemon(flags, options_.port, nullptr, nullptr, &HttpServer::on_request, this,
                                 MHD_OPTION_EXTERNAL_LOGGER, &HttpServer::log_from_mhd, this,
                                 MHD_OPTION_ARRAY, tls->items.data(),
                                 MHD_OPTION_NOTIFY_CONNECTION, &HeaderDeadline::on_connection, &header_deadline_,
                                 MHD_OPTION_NOTIFY_COMPLETED, &HttpServer::on_completed, this,
                                 MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&address),
                                 MHD_OPTION_UNESCAPE_CALLBACK, &HttpServer::unescape, this,
                                 MHD_OPTION_CONNECTION_TIMEOUT, kHttpIdleTimeoutSeconds,
                                 MHD_OPTION_CONNECTION_LIMIT, options_.max_connections,
                                 MHD_OPTION_PER_IP_CONNECTION_LIMIT, options_.max_connections_per_address,
                                 MHD_OPTION_END));
  if (!daemon_) {
    header_deadline_.stop();
    std::lock_guard lock(log_mutex_);
    std::string reason = last_mhd_message_.empty() ? "libmicrohttpd could not start" : last_mhd_message_;
    return make_error(error_code::kInternal, "cannot listen on " + options_.bind_address + ":" +
                                                 std::to_string(options_.port) + ": " + reason);
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_.get(), MHD_DAEMON_INFO_BIND_PORT);
  bound_port_ = info != nullptr ? info->port : options_.port;
  PL_LOG(kInfo, "server") << (options_.tls.enabled() ? "HTTPS" : "HTTP") << " listening on " << options_.bind_address
                           << ":" << bound_port_;
  return {};
}

void HttpServer::stop() {
  if (!daemon_) return;
  {
    // Requests still waiting for their admission are refused: MHD must not
    // stop with suspended connections.
    std::lock_guard resuming(resume_mutex_);
    std::vector<MHD_Connection*> suspended;
    {
      std::lock_guard lock(upgrades_mutex_);
      for (auto& [id, request] : undecided_) {
        request->decided = true;
        request->refusal = HttpReply{503, "text/plain", "server shutting down"};
        if (request->suspended) suspended.push_back(request->connection);
      }
      undecided_.clear();
    }
    for (MHD_Connection* connection : suspended) MHD_resume_connection(connection);
  }
  daemon_.reset();
  {
    std::lock_guard lock(upgrades_mutex_);
    upgrades_.clear();
  }
  header_deadline_.stop();
  bound_port_ = 0;
}

MHD_Result HttpServer::on_request(void* self, MHD_Connection* connection, const char* url, const char* method,
                                  const char*, const char*, size_t* upload_data_size, void** request_context) {
  auto* server = static_cast<HttpServer*>(self);
  std::string_view path(url != nullptr ? url : "");
  bool get = std::strcmp(method, MHD_HTTP_METHOD_GET) == 0;
  bool head = std::strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
  if (*request_context == nullptr) {
    server->header_deadline_.headers_received(connection);
    // libmicrohttpd 0.9.75 ends the connection after a response queued in
    // this first call (made as soon as the headers are in): it takes it for
    // an answer given before the request's body, which it then does not
    // read. That is what we want for the requests answered here: a refused
    // method (its body is never read) and the WebSocket path (upgraded, or
    // a 400 for a bad upgrade). Files are served on the next call, and the
    // connection is kept alive for HTTP/1.1 clients.
    // Routes take no body: their answer comes before it, as above.
    for (const HttpRoute& route : server->options_.post_routes) {
      if (path != route.path) continue;
      if (std::strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
        return serve_text(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
      }
      return server->serve_route(connection, route);
    }
    if (!get && !head) return serve_text(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
    for (const std::string& websocket_path : server->options_.websocket_paths) {
      if (path != websocket_path) continue;
      if (!get) return serve_text(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
      return server->start_upgrade(connection, websocket_path, path, nullptr, request_context);
    }
    for (const WebSocketPrefix& prefix : server->options_.websocket_prefixes) {
      if (!path.starts_with(prefix.prefix)) continue;
      if (!get) return serve_text(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
      return server->start_upgrade(connection, prefix.prefix, path, &prefix, request_context);
    }
    *request_context = server;  // a marker: the next call answers
    return MHD_YES;
  }
  if (*request_context != server) {
    // A WebSocket request called again: its admission was decided while
    // it was suspended.
    auto* request = static_cast<UpgradeRequest*>(*request_context);
    std::optional<HttpReply> refusal;
    {
      std::lock_guard lock(server->upgrades_mutex_);
      refusal = std::move(request->refusal);
      request->refusal.reset();
    }
    if (refusal) return serve_text(connection, refusal->status, refusal->body);
    return server->serve_upgrade(connection);
  }
  if (*upload_data_size > 0) {  // a body sent with a GET means nothing here
    *upload_data_size = 0;
    return MHD_YES;
  }
  return server->serve_file(connection, url);
}

MHD_Result HttpServer::serve_file(MHD_Connection* connection, const char* url) {
  if (!files_) return serve_text(connection, MHD_HTTP_NOT_FOUND, "not found");
  // web/admin/ is the admin listener's dashboard (docs/admin-api.md): only
  // that listener serves it.
  if (std::string_view(url).starts_with("/admin/") || std::string_view(url) == "/admin") {
    return serve_text(connection, MHD_HTTP_NOT_FOUND, "not found");
  }
  auto resolved = files_->resolve(url);
  if (!resolved) {
    PL_LOG(kDebug, "server") << "HTTP 404: " << resolved.error().message;
    return serve_text(connection, MHD_HTTP_NOT_FOUND, "not found");
  }
  // O_NOFOLLOW: the path is canonical, so a symlink here means it was swapped in
  // after resolving.
  int fd = ::open(resolved->c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  struct stat info {};
  if (fd < 0 || ::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    if (fd >= 0) ::close(fd);
    return serve_text(connection, MHD_HTTP_NOT_FOUND, "not found");
  }
  // MHD owns `fd` once the response exists.
  ResponsePtr response(MHD_create_response_from_fd(static_cast<uint64_t>(info.st_size), fd));
  if (!response) {
    ::close(fd);
    return MHD_NO;
  }
  std::string type(content_type_for(*resolved));
  MHD_add_response_header(response.get(), MHD_HTTP_HEADER_CONTENT_TYPE, type.c_str());
  MHD_add_response_header(response.get(), MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
  return queue(connection, MHD_HTTP_OK, std::move(response));
}

MHD_Result HttpServer::serve_route(MHD_Connection* connection, const HttpRoute& route) {
  HttpRequest request;
  request.path = route.path;
  MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, &collect_query_parameter, &request.query);
  request.bearer_token = bearer_token_of(connection);
  request.remote_address = remote_address_of(connection);
  HttpReply reply = route.answer(request);
  ResponsePtr response(
      MHD_create_response_from_buffer(reply.body.size(), reply.body.data(), MHD_RESPMEM_MUST_COPY));
  if (!response) return MHD_NO;
  MHD_add_response_header(response.get(), MHD_HTTP_HEADER_CONTENT_TYPE, reply.content_type.c_str());
  MHD_add_response_header(response.get(), MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
  return queue(connection, reply.status, std::move(response));
}

MHD_Result HttpServer::start_upgrade(MHD_Connection* connection, const std::string& route, std::string_view path,
                                     const WebSocketPrefix* prefix, void** request_context) {
  auto owned = std::make_unique<UpgradeRequest>();
  UpgradeRequest* request = owned.get();
  request->connection = connection;
  request->route = &route;
  request->path = std::string(path);
  {
    std::lock_guard lock(upgrades_mutex_);
    request->id = next_upgrade_id_++;
    if (prefix != nullptr) undecided_.emplace(request->id, request);
    upgrades_.emplace(request, std::move(owned));
  }
  *request_context = request;  // on_upgraded and on_completed find it there
  if (prefix == nullptr) return serve_upgrade(connection);

  HttpRequest asked;
  asked.path = request->path;
  asked.query = values_of(connection, MHD_GET_ARGUMENT_KIND);
  asked.bearer_token = bearer_token_of(connection);
  asked.cookies = values_of(connection, MHD_COOKIE_KIND);
  asked.remote_address = remote_address_of(connection);
  const uint64_t id = request->id;
  prefix->admit(asked, [this, id](std::optional<HttpReply> refusal) { decide(id, std::move(refusal)); });
  std::optional<HttpReply> refusal;
  {
    std::lock_guard lock(upgrades_mutex_);
    if (!request->decided) {
      // Under the lock, so that decide() resumes only a suspended connection.
      request->suspended = true;
      MHD_suspend_connection(connection);
      return MHD_YES;
    }
    refusal = std::move(request->refusal);
    request->refusal.reset();
  }
  if (refusal) return serve_text(connection, refusal->status, refusal->body);
  return serve_upgrade(connection);
}

void HttpServer::decide(uint64_t id, std::optional<HttpReply> refusal) {
  std::lock_guard resuming(resume_mutex_);
  MHD_Connection* suspended = nullptr;
  {
    std::lock_guard lock(upgrades_mutex_);
    auto found = undecided_.find(id);
    if (found == undecided_.end()) return;  // refused by stop() meanwhile
    UpgradeRequest* request = found->second;
    undecided_.erase(found);
    request->decided = true;
    request->refusal = std::move(refusal);
    if (request->suspended) suspended = request->connection;
  }
  // A suspended connection stays until it is resumed (stop() waits for this).
  if (suspended != nullptr) MHD_resume_connection(suspended);
}

std::unique_ptr<HttpServer::UpgradeRequest> HttpServer::forget_upgrade(const void* request,
                                                                       const MHD_Connection* connection) {
  std::lock_guard lock(upgrades_mutex_);
  auto found = upgrades_.find(static_cast<const UpgradeRequest*>(request));
  // The address may belong to a newer request by now; its connection then differs.
  if (found == upgrades_.end() || found->second->connection != connection) return nullptr;
  std::unique_ptr<UpgradeRequest> owned = std::move(found->second);
  upgrades_.erase(found);
  return owned;
}

MHD_Result HttpServer::serve_upgrade(MHD_Connection* connection) {
  auto header = [connection](const char* name) { return MHD_lookup_connection_value(connection, MHD_HEADER_KIND, name); };
  if (!header_has_token(header(MHD_HTTP_HEADER_UPGRADE), "websocket")) {
    return serve_text(connection, MHD_HTTP_BAD_REQUEST, "header 'Upgrade' must be 'websocket'");
  }
  if (!header_has_token(header(MHD_HTTP_HEADER_CONNECTION), "upgrade")) {
    return serve_text(connection, MHD_HTTP_BAD_REQUEST, "header 'Connection' must include 'Upgrade'");
  }
  const char* version = header("Sec-WebSocket-Version");
  if (version == nullptr || std::strcmp(version, "13") != 0) {
    return serve_text(connection, MHD_HTTP_BAD_REQUEST, "header 'Sec-WebSocket-Version' must be 13");
  }
  const char* key = header("Sec-WebSocket-Key");
  auto accept = websocket_accept_for_key(key != nullptr ? key : "");
  if (!accept) return serve_text(connection, MHD_HTTP_BAD_REQUEST, accept.error().message);

  ResponsePtr response(MHD_create_response_for_upgrade(&HttpServer::on_upgraded, this));
  if (!response) return MHD_NO;
  MHD_add_response_header(response.get(), MHD_HTTP_HEADER_UPGRADE, "websocket");
  MHD_add_response_header(response.get(), "Sec-WebSocket-Accept", accept->c_str());
  return queue(connection, MHD_HTTP_SWITCHING_PROTOCOLS, std::move(response));
}

void HttpServer::on_upgraded(void* self, MHD_Connection* connection, void* request_context, const char* extra_in,
                             size_t extra_in_size,
                             MHD_socket sock, MHD_UpgradeResponseHandle* handle) {
  auto* server = static_cast<HttpServer*>(self);
  WebSocketUpgrade upgrade;
  // With TLS, `sock` is our end of MHD's socketpair, and libmicrohttpd
  // 0.9.75 ends its relay to the client only once the client's side has
  // ended too: after a release alone, the TCP connection stays open for as
  // long as the client waits for the server to close it. Shutting down the
  // reading side of the TCP socket ends the relay's inbound half; what we
  // sent is still relayed, then MHD closes the connection. The descriptor
  // is still MHD's then: it closes it only after MHD_UPGRADE_ACTION_CLOSE.
  int tls_tcp_socket = -1;
  if (server->options_.tls.enabled()) {
    const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (info != nullptr) tls_tcp_socket = info->connect_fd;
  }
  // MHD_upgrade_action is thread-safe (it resumes the connection through
  // MHD's inter-thread channel), so the socket may be released anywhere.
  upgrade.socket = UpgradedSocket(sock, [handle, tls_tcp_socket] {
    if (tls_tcp_socket >= 0) ::shutdown(tls_tcp_socket, SHUT_RD);
    MHD_upgrade_action(handle, MHD_UPGRADE_ACTION_CLOSE);
  });
  upgrade.already_received.assign(extra_in != nullptr ? extra_in : "", extra_in_size);
  // Done with it here: MHD may or may not call on_completed for an
  // upgraded connection, which then finds nothing.
  std::unique_ptr<UpgradeRequest> request = server->forget_upgrade(request_context, connection);
  if (request) {
    upgrade.route = *request->route;
    upgrade.path = std::move(request->path);
  }
  upgrade.query = values_of(connection, MHD_GET_ARGUMENT_KIND);
  upgrade.bearer_token = bearer_token_of(connection);
  upgrade.cookies = values_of(connection, MHD_COOKIE_KIND);
  upgrade.remote_address = remote_address_of(connection);
  PL_LOG(kDebug, "server") << "WebSocket upgrade from " << upgrade.remote_address << ", "
                           << extra_in_size << " bytes already received";
  server->header_deadline_.upgraded(connection);
  server->on_upgrade_(std::move(upgrade));
}

void HttpServer::on_completed(void* self, MHD_Connection* connection, void** request_context,
                              MHD_RequestTerminationCode) {
  auto* server = static_cast<HttpServer*>(self);
  server->header_deadline_.request_completed(connection);
  if (*request_context != nullptr && *request_context != server) server->forget_upgrade(*request_context, connection);
}

size_t HttpServer::unescape(void*, MHD_Connection*, char* text) {
  size_t length = MHD_http_unescape(text);
  // A decoded NUL would silently cut the C string MHD hands on ("/x%00.png"
  // would serve "/x"); empty the whole value instead, which never resolves.
  if (std::memchr(text, '\0', length) != nullptr) {
    text[0] = '\0';
    return 0;
  }
  return length;
}

void HttpServer::log_from_mhd(void* self, const char* format, va_list args) {
  char buffer[512];
  std::vsnprintf(buffer, sizeof(buffer), format, args);
  std::string message(buffer);
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) message.pop_back();
  PL_LOG(kInfo, "server") << "libmicrohttpd: " << message;
  auto* server = static_cast<HttpServer*>(self);
  std::lock_guard lock(server->log_mutex_);
  server->last_mhd_message_ = std::move(message);
}

}  // namespace partyline::signaling
