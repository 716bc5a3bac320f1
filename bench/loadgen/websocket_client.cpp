#include "bench/loadgen/websocket_client.hpp"

#include <arpa/inet.h>
#include <glib-unix.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <wslay/wslay.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>

namespace partyline::loadgen {

namespace {

constexpr size_t kMaxResponseHead = 16 * 1024;
constexpr std::string_view kAcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(g_ascii_tolower(c));
  return out;
}

// The value of header `name` (lower case) in an HTTP response head, trimmed.
std::optional<std::string> header_value(std::string_view head, std::string_view name) {
  size_t start = head.find("\r\n");
  while (start != std::string_view::npos && start + 2 < head.size()) {
    const size_t line_start = start + 2;
    const size_t line_end = head.find("\r\n", line_start);
    const std::string_view line = head.substr(line_start, line_end - line_start);
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos && lowercase(line.substr(0, colon)) == name) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
      return std::string(value);
    }
    start = line_end;
  }
  return std::nullopt;
}

std::string base64(const uint8_t* data, size_t length) {
  gchar* encoded = g_base64_encode(data, length);
  std::string out(encoded);
  g_free(encoded);
  return out;
}

std::string accept_for(const std::string& key) {
  const std::string input = key + std::string(kAcceptGuid);
  GChecksum* checksum = g_checksum_new(G_CHECKSUM_SHA1);
  g_checksum_update(checksum, reinterpret_cast<const guchar*>(input.data()), static_cast<gssize>(input.size()));
  uint8_t digest[20];
  gsize length = sizeof digest;
  g_checksum_get_digest(checksum, digest, &length);
  g_checksum_free(checksum);
  return base64(digest, length);
}

}  // namespace

Result<WebSocketUrl> parse_websocket_url(std::string_view url) {
  constexpr std::string_view kScheme = "ws://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return make_error(error_code::kBadRequest, "--url must start with ws:// (wss is not supported): " + std::string(url));
  }
  std::string_view rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  WebSocketUrl parsed;
  parsed.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  const size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos) {
    const std::string_view port = authority.substr(colon + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return make_error(error_code::kBadRequest, "bad port in --url: " + std::string(url));
    }
    parsed.port = static_cast<uint16_t>(value);
    authority = authority.substr(0, colon);
  }
  parsed.host = authority == "localhost" ? "127.0.0.1" : std::string(authority);
  in_addr address{};
  if (inet_pton(AF_INET, parsed.host.c_str(), &address) != 1) {
    return make_error(error_code::kBadRequest, "--url host must be an IPv4 address or localhost: " + std::string(url));
  }
  return parsed;
}

void WebSocketClient::SourceDeleter::operator()(GSource* source) const {
  g_source_destroy(source);
  g_source_unref(source);
}

Result<std::unique_ptr<WebSocketClient>> WebSocketClient::connect(GMainContext* context, const WebSocketUrl& url,
                                                                  std::string subprotocol, Callbacks callbacks) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(url.port);
  if (inet_pton(AF_INET, url.host.c_str(), &address.sin_addr) != 1) {
    return make_error(error_code::kBadRequest, "not an IPv4 address: " + url.host);
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(error_code::kInternal, std::string("socket: ") + std::strerror(errno));
  const int one = 1;
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 && errno != EINPROGRESS) {
    const int error = errno;
    ::close(fd);
    return make_error(error_code::kUnavailable, "TCP connect to " + url.host + ":" + std::to_string(url.port) +
                                                    ": " + std::strerror(error));
  }
  auto client = std::make_unique<WebSocketClient>(ConstructionTag{}, context, fd, std::move(callbacks));
  uint8_t nonce[16];
  for (uint8_t& byte : nonce) byte = static_cast<uint8_t>(g_random_int_range(0, 256));
  const std::string key = base64(nonce, sizeof nonce);
  client->expected_accept_ = accept_for(key);
  client->request_ = "GET " + url.path + " HTTP/1.1\r\nHost: " + url.host + ":" + std::to_string(url.port) +
                     "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
                     "\r\nSec-WebSocket-Version: 13\r\n" +
                     (subprotocol.empty() ? std::string() : "Sec-WebSocket-Protocol: " + subprotocol + "\r\n") +
                     "\r\n";
  client->watch(G_IO_OUT);
  return client;
}

WebSocketClient::WebSocketClient(ConstructionTag, GMainContext* context, int fd, Callbacks callbacks)
    : context_(context), fd_(fd), callbacks_(std::move(callbacks)) {}

WebSocketClient::~WebSocketClient() {
  source_.reset();
  if (wslay_ != nullptr) wslay_event_context_free(wslay_);
  if (fd_ >= 0) ::close(fd_);
}

void WebSocketClient::watch(GIOCondition condition) {
  if (source_ && condition == watched_) return;
  source_.reset();
  watched_ = condition;
  if (condition == 0) return;
  GSource* source = g_unix_fd_source_new(fd_, condition);
  g_source_set_callback(source, reinterpret_cast<GSourceFunc>(reinterpret_cast<void (*)()>(&on_fd_ready)), this,
                        nullptr);
  g_source_attach(source, context_);
  source_.reset(source);
}

gboolean WebSocketClient::on_fd_ready(gint, GIOCondition condition, gpointer self) {
  static_cast<WebSocketClient*>(self)->handle(condition);
  return G_SOURCE_CONTINUE;
}

void WebSocketClient::handle(GIOCondition condition) {
  switch (state_) {
    case State::kConnecting: return finish_connect();
    case State::kUpgrading:
      if (!request_.empty()) return write_pending();
      if (condition & (G_IO_IN | G_IO_HUP | G_IO_ERR)) read_upgrade_response();
      return;
    case State::kOpen:
    case State::kClosing: return pump();
    case State::kClosed: return watch(GIOCondition(0));
  }
}

void WebSocketClient::finish_connect() {
  int error = 0;
  socklen_t length = sizeof error;
  if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
  if (error != 0) return finish(0, std::string("TCP connect: ") + std::strerror(error));
  state_ = State::kUpgrading;
  write_pending();
}

void WebSocketClient::write_pending() {
  while (!request_.empty()) {
    const ssize_t written = ::send(fd_, request_.data(), request_.size(), MSG_NOSIGNAL);
    if (written < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return watch(G_IO_OUT);
      if (errno == EINTR) continue;
      return finish(0, std::string("sending the upgrade request: ") + std::strerror(errno));
    }
    request_.erase(0, static_cast<size_t>(written));
  }
  watch(G_IO_IN);
}

void WebSocketClient::read_upgrade_response() {
  char buffer[4096];
  for (;;) {
    const ssize_t got = ::recv(fd_, buffer, sizeof buffer, 0);
    if (got == 0) return finish(0, "the server closed the connection during the WebSocket upgrade");
    if (got < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      return finish(0, std::string("reading the upgrade response: ") + std::strerror(errno));
    }
    response_.append(buffer, static_cast<size_t>(got));
    const size_t end = response_.find("\r\n\r\n");
    if (end != std::string::npos) {
      const std::string head = response_.substr(0, end + 2);
      if (Status status = check_upgrade_response(head); !status) return finish(0, status.error().message);
      std::string leftover = response_.substr(end + 4);
      response_.clear();
      return start_framing(std::move(leftover));
    }
    if (response_.size() > kMaxResponseHead) return finish(0, "the upgrade response head is too long");
  }
}

Status WebSocketClient::check_upgrade_response(std::string_view head) const {
  const std::string_view status_line = head.substr(0, head.find("\r\n"));
  if (status_line.substr(0, 9) != "HTTP/1.1 " || status_line.substr(9, 3) != "101") {
    return make_error(error_code::kUnavailable, "WebSocket upgrade refused: " + std::string(status_line));
  }
  auto accept = header_value(head, "sec-websocket-accept");
  if (!accept || *accept != expected_accept_) {
    return make_error(error_code::kBadRequest, "WebSocket upgrade: wrong or missing Sec-WebSocket-Accept");
  }
  return {};
}

void WebSocketClient::start_framing(std::string leftover) {
  wslay_event_callbacks callbacks{};
  callbacks.recv_callback = &wslay_recv;
  callbacks.send_callback = &wslay_send;
  callbacks.genmask_callback = &wslay_genmask;
  callbacks.on_msg_recv_callback = &wslay_on_message;
  if (wslay_event_context_client_init(&wslay_, &callbacks, this) != 0) {
    return finish(0, "wslay: out of memory");
  }
  leftover_ = std::move(leftover);
  state_ = State::kOpen;
  in_callback_ = true;
  if (callbacks_.on_open) callbacks_.on_open();
  in_callback_ = false;
  pump();
}

bool WebSocketClient::send_text(std::string_view text) {
  if (state_ != State::kOpen) return false;
  wslay_event_msg message{WSLAY_TEXT_FRAME, reinterpret_cast<const uint8_t*>(text.data()), text.size()};
  if (wslay_event_queue_msg(wslay_, &message) != 0) return false;
  if (!in_callback_) pump();
  return true;
}

void WebSocketClient::close(uint16_t code) {
  if (state_ != State::kOpen) return;
  state_ = State::kClosing;
  (void)wslay_event_queue_close(wslay_, code, nullptr, 0);
  if (!in_callback_) pump();
}

void WebSocketClient::pump() {
  if (state_ != State::kOpen && state_ != State::kClosing) return;
  in_callback_ = true;
  const bool read_failed = wslay_event_want_read(wslay_) && wslay_event_recv(wslay_) != 0;
  in_callback_ = false;
  if (state_ == State::kClosed) return;
  const bool write_failed = !read_failed && wslay_event_want_write(wslay_) && wslay_event_send(wslay_) != 0;
  if (read_failed || write_failed || (!wslay_event_want_read(wslay_) && !wslay_event_want_write(wslay_))) {
    const uint16_t code = wslay_event_get_close_received(wslay_) ? wslay_event_get_status_code_received(wslay_) : 0;
    return finish(code, code != 0 ? close_reason_ : "the connection was lost without a close frame");
  }
  GIOCondition condition = G_IO_IN;
  if (wslay_event_want_write(wslay_)) condition = GIOCondition(condition | G_IO_OUT);
  watch(condition);
}

void WebSocketClient::finish(uint16_t code, std::string reason) {
  if (state_ == State::kClosed) return;
  const bool was_closing = state_ == State::kClosing;
  state_ = State::kClosed;
  watch(GIOCondition(0));
  if (callbacks_.on_closed) {
    callbacks_.on_closed(code, was_closing && reason.empty() ? "closed by us" : std::move(reason));
  }
}

ssize_t WebSocketClient::wslay_recv(wslay_event_context* ctx, uint8_t* buffer, size_t length, int, void* self) {
  auto* client = static_cast<WebSocketClient*>(self);
  if (!client->leftover_.empty()) {
    const size_t count = std::min(length, client->leftover_.size());
    std::memcpy(buffer, client->leftover_.data(), count);
    client->leftover_.erase(0, count);
    return static_cast<ssize_t>(count);
  }
  for (;;) {
    const ssize_t got = ::recv(client->fd_, buffer, length, 0);
    if (got > 0) return got;
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    } else {
      wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);  // EOF or a socket error
    }
    return -1;
  }
}

ssize_t WebSocketClient::wslay_send(wslay_event_context* ctx, const uint8_t* data, size_t length, int, void* self) {
  auto* client = static_cast<WebSocketClient*>(self);
  for (;;) {
    const ssize_t sent = ::send(client->fd_, data, length, MSG_NOSIGNAL);
    if (sent >= 0) return sent;
    if (errno == EINTR) continue;
    wslay_event_set_error(ctx, errno == EAGAIN || errno == EWOULDBLOCK ? WSLAY_ERR_WOULDBLOCK : WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
  }
}

int WebSocketClient::wslay_genmask(wslay_event_context*, uint8_t* buffer, size_t length, void*) {
  for (size_t i = 0; i < length; ++i) buffer[i] = static_cast<uint8_t>(g_random_int_range(0, 256));
  return 0;
}

void WebSocketClient::wslay_on_message(wslay_event_context*, const wslay_event_on_msg_recv_arg* arg, void* self) {
  auto* client = static_cast<WebSocketClient*>(self);
  if (arg->opcode == WSLAY_TEXT_FRAME && client->state_ == State::kOpen && client->callbacks_.on_text) {
    client->callbacks_.on_text(std::string_view(reinterpret_cast<const char*>(arg->msg), arg->msg_length));
  } else if (arg->opcode == WSLAY_CONNECTION_CLOSE && arg->msg_length > 2) {
    client->close_reason_.assign(reinterpret_cast<const char*>(arg->msg) + 2, arg->msg_length - 2);
  }
}

}  // namespace partyline::loadgen
