// Test-only clients for the signaling server over plain loopback sockets: a
// raw HTTP/1.1 request, a minimal WebSocket client (handshake written by
// hand, framing by wslay's client API), and JWTs made by libjwt. Not for
// production use.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <jwt.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <wslay/wslay.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/runtime/json.hpp"

namespace partyline::signaling::testing {

using Clock = std::chrono::steady_clock;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// A JWT with `claims_json` (an object) signed by libjwt with `alg` and `key`;
// empty when libjwt refuses.
inline std::string make_token(const std::string& claims_json, jwt_alg_t alg, const std::string& key) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return "";
  std::unique_ptr<jwt_t, void (*)(jwt_t*)> jwt(raw, jwt_free);
  if (jwt_add_grants_json(jwt.get(), claims_json.c_str()) != 0) return "";
  if (jwt_set_alg(jwt.get(), alg, reinterpret_cast<const unsigned char*>(key.data()), static_cast<int>(key.size())) !=
      0) {
    return "";
  }
  std::unique_ptr<char, void (*)(void*)> encoded(jwt_encode_str(jwt.get()), std::free);
  return encoded ? std::string(encoded.get()) : "";
}

inline int connect_loopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Waits for `fd` to be readable until `deadline`; false on timeout.
inline bool wait_readable(int fd, Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left < 0) left = 0;
  pollfd entry{fd, POLLIN, 0};
  return ::poll(&entry, 1, static_cast<int>(left)) > 0;
}

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
};

// Fills `response` from the status line and headers of `raw` (which holds
// at least the head, ending at `header_end`); false when it is no HTTP/1.1 response.
inline bool parse_http_head(const std::string& raw, size_t header_end, HttpResponse& response) {
  if (raw.rfind("HTTP/1.1 ", 0) != 0) return false;
  response.status = std::stoi(raw.substr(9, 3));
  size_t line_start = raw.find("\r\n") + 2;
  while (line_start < header_end) {
    size_t line_end = raw.find("\r\n", line_start);
    std::string line = raw.substr(line_start, line_end - line_start);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t value_start = line.find_first_not_of(' ', colon + 1);
      response.headers[name] = value_start == std::string::npos ? "" : line.substr(value_start);
    }
    line_start = line_end + 2;
  }
  return true;
}

// Sends `request` verbatim and reads the response until the server closes.
inline HttpResponse http_exchange(uint16_t port, const std::string& request) {
  HttpResponse response;
  Fd fd(connect_loopback(port));
  if (fd.get() < 0 || !send_all(fd.get(), request)) return response;
  std::string raw;
  auto deadline = Clock::now() + std::chrono::seconds(5);
  char buffer[4096];
  while (wait_readable(fd.get(), deadline)) {
    ssize_t n = ::recv(fd.get(), buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    raw.append(buffer, static_cast<size_t>(n));
  }
  size_t header_end = raw.find("\r\n\r\n");
  if (header_end == std::string::npos || !parse_http_head(raw, header_end, response)) return HttpResponse{};
  response.body = raw.substr(header_end + 4);
  return response;
}

// Reads one response from a connection that may stay open: the head, then
// Content-Length bytes of body (none for a HEAD request). `pending` keeps
// what was read past it. Status 0 when no whole response came in time.
inline HttpResponse read_http_response(int fd, std::string& pending, bool head_request = false,
                                       std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  HttpResponse response;
  auto deadline = Clock::now() + timeout;
  char buffer[4096];
  auto fill = [&] {
    if (!wait_readable(fd, deadline)) return false;
    ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) return false;
    pending.append(buffer, static_cast<size_t>(n));
    return true;
  };
  size_t header_end;
  while ((header_end = pending.find("\r\n\r\n")) == std::string::npos) {
    if (!fill()) return response;
  }
  if (!parse_http_head(pending, header_end, response)) return HttpResponse{};
  auto declared = response.headers.find("content-length");
  size_t length = head_request || declared == response.headers.end() ? 0 : std::stoul(declared->second);
  while (pending.size() < header_end + 4 + length) {
    if (!fill()) return HttpResponse{};
  }
  response.body = pending.substr(header_end + 4, length);
  pending.erase(0, header_end + 4 + length);
  return response;
}

// True when the server ends the connection (EOF or reset) before `timeout`;
// whatever arrives first is read and dropped.
inline bool wait_for_close(int fd, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  auto deadline = Clock::now() + timeout;
  char buffer[4096];
  while (wait_readable(fd, deadline)) {
    ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return true;
  }
  return false;
}

inline HttpResponse http_get(uint16_t port, const std::string& target, const std::string& method = "GET") {
  return http_exchange(port, method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
}

class WebSocketClient {
 public:
  struct Message {
    uint8_t opcode = 0;
    std::string text;
    uint16_t close_code = 0;
  };

  WebSocketClient() = default;
  ~WebSocketClient() {
    if (ws_ != nullptr) wslay_event_context_free(ws_);
  }
  WebSocketClient(const WebSocketClient&) = delete;
  WebSocketClient& operator=(const WebSocketClient&) = delete;

  // A masked text frame, built by wslay's frame API, to send before the
  // upgrade response arrives.
  static std::string masked_text_frame(const std::string& text) {
    std::string out;
    wslay_frame_callbacks callbacks{};
    callbacks.send_callback = [](const uint8_t* data, size_t len, int, void* sink) -> ssize_t {
      static_cast<std::string*>(sink)->append(reinterpret_cast<const char*>(data), len);
      return static_cast<ssize_t>(len);
    };
    callbacks.genmask_callback = [](uint8_t* buf, size_t len, void*) -> int {
      return gnutls_rnd(GNUTLS_RND_NONCE, buf, len) == 0 ? 0 : -1;
    };
    wslay_frame_context_ptr frames = nullptr;
    wslay_frame_context_init(&frames, &callbacks, &out);
    wslay_frame_iocb iocb{};
    iocb.fin = 1;
    iocb.opcode = WSLAY_TEXT_FRAME;
    iocb.mask = 1;
    iocb.payload_length = text.size();
    iocb.data = reinterpret_cast<const uint8_t*>(text.data());
    iocb.data_length = text.size();
    wslay_frame_send(frames, &iocb);
    wslay_frame_context_free(frames);
    return out;
  }

  // Connects and upgrades; `pipelined` is written right after the request, in
  // the same send. The error says what went wrong.
  std::optional<std::string> connect(uint16_t port, const std::string& target = "/ws",
                                     const std::string& pipelined = "") {
    fd_ = std::make_unique<Fd>(connect_loopback(port));
    if (fd_->get() < 0) return "connect failed";
    std::string request = "GET " + target +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n" +
                          pipelined;
    if (!send_all(fd_->get(), request)) return "send failed";
    // Byte by byte, so no WebSocket frame after the headers is consumed here.
    std::string head;
    auto deadline = Clock::now() + std::chrono::seconds(5);
    while (head.size() < 4 || head.compare(head.size() - 4, 4, "\r\n\r\n") != 0) {
      char c;
      if (!wait_readable(fd_->get(), deadline) || ::recv(fd_->get(), &c, 1, 0) != 1) return "no upgrade response";
      head.push_back(c);
    }
    if (head.rfind("HTTP/1.1 101", 0) != 0) return "not upgraded: " + head;
    if (head.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") == std::string::npos) {
      return "wrong accept: " + head;
    }
    ::fcntl(fd_->get(), F_SETFL, ::fcntl(fd_->get(), F_GETFL) | O_NONBLOCK);
    wslay_event_callbacks callbacks{};
    callbacks.recv_callback = [](wslay_event_context_ptr ctx, uint8_t* buf, size_t len, int, void* self) -> ssize_t {
      ssize_t n = ::recv(static_cast<WebSocketClient*>(self)->fd_->get(), buf, len, 0);
      if (n > 0) return n;
      wslay_event_set_error(ctx, n < 0 && errno == EAGAIN ? WSLAY_ERR_WOULDBLOCK : WSLAY_ERR_CALLBACK_FAILURE);
      return -1;
    };
    callbacks.send_callback = [](wslay_event_context_ptr ctx, const uint8_t* data, size_t len, int,
                                 void* self) -> ssize_t {
      ssize_t n = ::send(static_cast<WebSocketClient*>(self)->fd_->get(), data, len, MSG_NOSIGNAL);
      if (n >= 0) return n;
      wslay_event_set_error(ctx, errno == EAGAIN ? WSLAY_ERR_WOULDBLOCK : WSLAY_ERR_CALLBACK_FAILURE);
      return -1;
    };
    callbacks.genmask_callback = [](wslay_event_context_ptr, uint8_t* buf, size_t len, void*) -> int {
      return gnutls_rnd(GNUTLS_RND_NONCE, buf, len) == 0 ? 0 : -1;
    };
    callbacks.on_msg_recv_callback = [](wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg,
                                        void* self) {
      if (arg->opcode == WSLAY_PING || arg->opcode == WSLAY_PONG) return;
      Message message{arg->opcode, std::string(reinterpret_cast<const char*>(arg->msg), arg->msg_length),
                      arg->status_code};
      static_cast<WebSocketClient*>(self)->received_.push_back(std::move(message));
    };
    wslay_event_context_client_init(&ws_, &callbacks, this);
    return std::nullopt;
  }

  void send(uint8_t opcode, const std::string& payload) {
    wslay_event_msg message{opcode, reinterpret_cast<const uint8_t*>(payload.data()), payload.size()};
    wslay_event_queue_msg(ws_, &message);
    wslay_event_send(ws_);
  }
  void send_text(const std::string& text) { send(WSLAY_TEXT_FRAME, text); }

  // Writes everything queued (e.g. many send_text calls the socket could not
  // take at once) before `timeout`; false when that did not happen. Incoming
  // messages are kept for next().
  bool flush(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto deadline = Clock::now() + timeout;
    while (wslay_event_want_write(ws_) && !ended_) {
      if (wslay_event_send(ws_) != 0) ended_ = true;
      if (!wslay_event_want_write(ws_) || ended_) break;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd entry{fd_->get(), POLLOUT | POLLIN, 0};
      if (::poll(&entry, 1, static_cast<int>(left)) <= 0) return false;
      // Reading keeps the server from stalling on its own full send buffer.
      if ((entry.revents & POLLIN) != 0 && wslay_event_recv(ws_) != 0) ended_ = true;
    }
    return !ended_;
  }

  // From now on the client answers nothing: no pong, no close reply.
  void stop_writing() { wslay_event_shutdown_write(ws_); }

  // Closes the TCP connection without a close frame, as a lost network
  // path or a killed client does (the server sees 1006).
  void drop() {
    fd_.reset();
    ended_ = true;
  }

  // The next text or close message, or nullopt when none came in time or the
  // socket ended.
  std::optional<Message> next(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto deadline = Clock::now() + timeout;
    while (received_.empty() && !ended_) {
      if (wslay_event_want_write(ws_) && wslay_event_send(ws_) != 0) ended_ = true;
      // After a close frame wslay reads nothing more, and a socket at its end
      // stays readable: waiting on would spin past the deadline forever.
      if (!wslay_event_want_read(ws_)) ended_ = true;
      if (ended_ || Clock::now() >= deadline || !wait_readable(fd_->get(), deadline)) break;
      if (wslay_event_recv(ws_) != 0) ended_ = true;
      if (wslay_event_want_write(ws_)) wslay_event_send(ws_);
    }
    if (received_.empty()) return std::nullopt;
    Message message = std::move(received_.front());
    received_.pop_front();
    return message;
  }

  core::JsonPtr next_json(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto message = next(timeout);
    if (!message || message->opcode != WSLAY_TEXT_FRAME) return nullptr;
    auto parsed = core::parse_json_object(message->text);
    return parsed.ok() ? std::move(*parsed) : nullptr;
  }

  // True when the server closes the TCP connection before the deadline.
  bool wait_for_eof(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto deadline = Clock::now() + timeout;
    char buffer[256];
    while (wait_readable(fd_->get(), deadline)) {
      ssize_t n = ::recv(fd_->get(), buffer, sizeof(buffer), 0);
      if (n == 0) return true;
      if (n < 0 && errno != EAGAIN) return true;
    }
    return false;
  }

 private:
  std::unique_ptr<Fd> fd_;
  wslay_event_context_ptr ws_ = nullptr;
  std::deque<Message> received_;
  bool ended_ = false;
};

}  // namespace partyline::signaling::testing
