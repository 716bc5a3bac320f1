#include "signaling/admin/admin_http_server.hpp"

#include <arpa/inet.h>
#include <gnutls/crypto.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <set>

#include "core/runtime/log.hpp"

namespace partyline::signaling::admin {

namespace {

constexpr unsigned kIdleTimeoutSeconds = 30;
constexpr unsigned kMaxConnections = 64;
// How long stop() waits for replies still being computed (the loops are
// still running then, so a reply normally takes microseconds).
constexpr auto kStopWait = std::chrono::seconds(5);

struct ResponseDeleter {
  void operator()(MHD_Response* response) const { MHD_destroy_response(response); }
};
using ResponsePtr = std::unique_ptr<MHD_Response, ResponseDeleter>;

MHD_Result queue_response(MHD_Connection* connection, const AdminResponse& answer) {
  ResponsePtr response(MHD_create_response_from_buffer(answer.body.size(), const_cast<char*>(answer.body.data()),
                                                       MHD_RESPMEM_MUST_COPY));
  if (!response) return MHD_NO;
  MHD_add_response_header(response.get(), MHD_HTTP_HEADER_CONTENT_TYPE, answer.content_type.c_str());
  MHD_add_response_header(response.get(), MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  if (!answer.allow.empty()) MHD_add_response_header(response.get(), MHD_HTTP_HEADER_ALLOW, answer.allow.c_str());
  if (answer.status == MHD_HTTP_UNAUTHORIZED) {
    MHD_add_response_header(response.get(), MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"partyline-admin\"");
  }
  return MHD_queue_response(connection, answer.status, response.get());
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

// The token of "Authorization: Bearer <token>" (RFC 6750), or nothing.
std::optional<std::string_view> bearer_token(MHD_Connection* connection) {
  const char* header = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
  if (header == nullptr) return std::nullopt;
  std::string_view value(header);
  if (!starts_with_ignoring_case(value, "Bearer ")) return std::nullopt;
  value.remove_prefix(7);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  return value;
}

std::optional<sockaddr_storage> parse_bind_address(const std::string& text, uint16_t port, bool& ipv6) {
  sockaddr_storage address{};
  ipv6 = text.find(':') != std::string::npos;
  if (ipv6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&address);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    if (inet_pton(AF_INET6, text.c_str(), &in6->sin6_addr) != 1) return std::nullopt;
  } else {
    auto* in4 = reinterpret_cast<sockaddr_in*>(&address);
    in4->sin_family = AF_INET;
    in4->sin_port = htons(port);
    if (inet_pton(AF_INET, text.c_str(), &in4->sin_addr) != 1) return std::nullopt;
  }
  return address;
}

}  // namespace

bool token_matches(std::string_view presented, std::string_view expected) {
  // Comparing digests of equal size with no early exit: the time depends
  // on neither the token's contents nor its length.
  std::array<unsigned char, 32> a{}, b{};
  gnutls_hash_fast(GNUTLS_DIG_SHA256, presented.data(), presented.size(), a.data());
  gnutls_hash_fast(GNUTLS_DIG_SHA256, expected.data(), expected.size(), b.data());
  volatile unsigned char difference = 0;
  for (size_t i = 0; i < a.size(); ++i) difference = difference | (a[i] ^ b[i]);
  return difference == 0 && !expected.empty();
}

// One request, from MHD's first call to its completion.
struct AdminHttpServer::Connection {
  std::string body;
  bool body_too_large = false;
  bool dispatched = false;                // suspended and handed to a handler
  MHD_Connection* connection = nullptr;
  std::optional<AdminResponse> response;  // the handler's reply (under Pending::mutex)
};

// Requests handed to handlers and not answered yet.
struct AdminHttpServer::Pending {
  std::mutex mutex;
  std::condition_variable drained;
  bool accepting = false;
  std::set<Connection*> waiting;
};

AdminHttpServer::AdminHttpServer(AdminHttpOptions options, const AdminRouter& router)
    : options_(std::move(options)),
      router_(router),
      pending_(std::make_shared<Pending>()),
      header_deadline_(options_.header_timeout, HttpListener::kAdmin) {}

AdminHttpServer::~AdminHttpServer() { stop(); }

Status AdminHttpServer::start() {
  if (daemon_) return make_error(error_code::kConflict, "admin listener already started");
  bool ipv6 = false;
  auto address = parse_bind_address(options_.bind_address, options_.port, ipv6);
  if (!address) {
    return make_error(error_code::kBadRequest, "admin bind address '" + options_.bind_address + "' is not an IP address");
  }
  auto tls = tls_daemon_options(options_.tls);
  if (!tls) return make_error(tls.error().code, "admin listener: " + tls.error().message);
  {
    std::lock_guard lock(log_mutex_);
    last_mhd_message_.clear();
  }
  const unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_ALLOW_SUSPEND_RESUME |
                         MHD_USE_ERROR_LOG | (ipv6 ? MHD_USE_IPv6 : 0) | tls->flags;
  {
    std::lock_guard lock(pending_->mutex);
    pending_->accepting = true;
  }
  header_deadline_.start();
  // The logger first: MHD warns through its own logger about options before it.
  daemon_.reset(MHD_start_daemon(flags, options_.port, nullptr, nullptr, &AdminHttpServer::on_request, this,
                                 MHD_OPTION_EXTERNAL_LOGGER, &AdminHttpServer::log_from_mhd, this,
                                 MHD_OPTION_ARRAY, tls->items.data(),
                                 MHD_OPTION_NOTIFY_COMPLETED, &AdminHttpServer::on_completed, this,
                                 MHD_OPTION_NOTIFY_CONNECTION, &HeaderDeadline::on_connection, &header_deadline_,
                                 MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&*address),
                                 MHD_OPTION_CONNECTION_LIMIT, kMaxConnections,
                                 MHD_OPTION_CONNECTION_TIMEOUT, kIdleTimeoutSeconds, MHD_OPTION_END));
  if (!daemon_) {
    header_deadline_.stop();
    {
      std::lock_guard lock(pending_->mutex);
      pending_->accepting = false;
    }
    std::lock_guard lock(log_mutex_);
    const std::string reason = last_mhd_message_.empty() ? "libmicrohttpd could not start" : last_mhd_message_;
    return make_error(error_code::kInternal, "admin listener: cannot listen on " + options_.bind_address + ":" +
                                                 std::to_string(options_.port) + ": " + reason);
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_.get(), MHD_DAEMON_INFO_BIND_PORT);
  bound_port_ = info != nullptr ? info->port : options_.port;
  return {};
}

void AdminHttpServer::stop() {
  if (!daemon_) return;
  {
    std::unique_lock lock(pending_->mutex);
    pending_->accepting = false;
    pending_->drained.wait_for(lock, kStopWait, [this] { return pending_->waiting.empty(); });
    // MHD must not be stopped with suspended connections: whatever is still
    // unanswered is answered now, and its late reply dropped.
    for (Connection* state : pending_->waiting) {
      PL_LOG(kWarn, "admin") << "a request was still unanswered at shutdown";
      state->response = error_response(MHD_HTTP_SERVICE_UNAVAILABLE, "server shutting down");
      MHD_resume_connection(state->connection);
    }
    pending_->waiting.clear();
  }
  daemon_.reset();
  header_deadline_.stop();
  bound_port_ = 0;
}

MHD_Result AdminHttpServer::on_request(void* self, MHD_Connection* connection, const char* url, const char* method,
                                       const char*, const char* upload_data, size_t* upload_data_size,
                                       void** request_context) {
  auto* server = static_cast<AdminHttpServer*>(self);
  auto* state = static_cast<Connection*>(*request_context);
  if (state == nullptr) {
    server->header_deadline_.headers_received(connection);
    *request_context = new Connection();  // freed in on_completed
    return MHD_YES;
  }
  if (*upload_data_size > 0) {
    if (!state->body_too_large) {
      if (state->body.size() + *upload_data_size > server->options_.max_body_bytes) {
        state->body_too_large = true;
        state->body.clear();
      } else {
        state->body.append(upload_data, *upload_data_size);
      }
    }
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (state->dispatched) {  // resumed: the handler has replied
    std::optional<AdminResponse> response;
    {
      std::lock_guard lock(server->pending_->mutex);
      response = std::move(state->response);
    }
    if (!response) response = error_response(MHD_HTTP_INTERNAL_SERVER_ERROR, "no reply");
    PL_LOG(kDebug, "admin") << method << " " << url << " -> " << response->status;
    return queue_response(connection, *response);
  }
  return server->dispatch(connection, *state, url, method);
}

MHD_Result AdminHttpServer::dispatch(MHD_Connection* connection, Connection& state, const char* url,
                                     const char* method) {
  auto answer_now = [&](AdminResponse response) {
    PL_LOG(kDebug, "admin") << method << " " << url << " -> " << response.status;
    return queue_response(connection, response);
  };
  RouteMatch match = router_.match(method, url);
  // Before anything else: without the token, not even which paths exist is
  // told. Only a route that carries no data (the dashboard's files) is
  // served without it.
  const bool open_route = match.route != nullptr && match.route->without_token;
  if (!options_.token.empty() && !open_route) {
    auto presented = bearer_token(connection);
    if (!presented || !token_matches(*presented, options_.token)) {
      PL_LOG(kInfo, "admin") << method << " " << url << ": refused, "
                             << (presented ? "wrong token" : "no 'Authorization: Bearer' token");
      return answer_now(error_response(MHD_HTTP_UNAUTHORIZED, presented ? "wrong admin token"
                                                                       : "an 'Authorization: Bearer' token is required"));
    }
  }
  if (state.body_too_large) {
    return answer_now(error_response(MHD_HTTP_CONTENT_TOO_LARGE,
                                     "body over " + std::to_string(options_.max_body_bytes) + " bytes"));
  }
  if (match.route == nullptr) {
    if (!match.path_known) return answer_now(error_response(MHD_HTTP_NOT_FOUND, std::string("no such path: ") + url));
    AdminResponse response = error_response(MHD_HTTP_METHOD_NOT_ALLOWED,
                                            std::string(method) + " is not allowed here; allowed: " + match.allowed_methods);
    response.allow = match.allowed_methods;
    return answer_now(std::move(response));
  }
  AdminRequest request{method, url, std::move(match.params), nullptr};
  if (match.route->takes_json_body) {
    auto body = core::parse_json_object(state.body);
    if (!body) return answer_now(error_response(MHD_HTTP_BAD_REQUEST, "body: " + body.error().message));
    request.body = std::move(body.value());
  }
  {
    std::lock_guard lock(pending_->mutex);
    if (!pending_->accepting) return answer_now(error_response(MHD_HTTP_SERVICE_UNAVAILABLE, "server shutting down"));
    state.dispatched = true;
    state.connection = connection;
    pending_->waiting.insert(&state);
    // Suspended before the handler runs, so a reply from another thread can
    // never come before the suspension it resumes.
    MHD_suspend_connection(connection);
  }
  match.route->handler(std::move(request), [pending = pending_, state = &state](AdminResponse response) {
    deliver(pending, state, std::move(response));
  });
  return MHD_YES;
}

void AdminHttpServer::deliver(const std::shared_ptr<Pending>& pending, Connection* state, AdminResponse response) {
  std::lock_guard lock(pending->mutex);
  auto found = pending->waiting.find(state);
  if (found == pending->waiting.end()) return;  // answered with 503 at shutdown
  state->response = std::move(response);
  pending->waiting.erase(found);
  MHD_resume_connection(state->connection);
  pending->drained.notify_all();
}

void AdminHttpServer::on_completed(void* self, MHD_Connection* connection, void** request_context,
                                   MHD_RequestTerminationCode) {
  static_cast<AdminHttpServer*>(self)->header_deadline_.request_completed(connection);
  delete static_cast<Connection*>(*request_context);
  *request_context = nullptr;
}

void AdminHttpServer::log_from_mhd(void* self, const char* format, va_list args) {
  char buffer[512];
  std::vsnprintf(buffer, sizeof(buffer), format, args);
  std::string message(buffer);
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) message.pop_back();
  PL_LOG(kInfo, "admin") << "libmicrohttpd: " << message;
  auto* server = static_cast<AdminHttpServer*>(self);
  std::lock_guard lock(server->log_mutex_);
  server->last_mhd_message_ = std::move(message);
}

}  // namespace partyline::signaling::admin
