// A minimal WebSocket client (RFC 6455) for the load generator: a
// non-blocking TCP connection driven by a GMainContext, the HTTP upgrade
// written and checked here, framing and masking by wslay. Text messages
// only; pings are answered by wslay.
//
// Every callback runs on the context's thread; create, use and destroy the
// client there. A callback may not destroy the client (post it instead).
#pragma once

#include <glib.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "rtp/result.hpp"

struct wslay_event_context;
struct wslay_event_on_msg_recv_arg;

namespace partyline::loadgen {

// ws://HOST:PORT/PATH, HOST an IPv4 address or "localhost".
struct WebSocketUrl {
  std::string host;
  uint16_t port = 80;
  std::string path = "/";  // with the query, if any
};
Result<WebSocketUrl> parse_websocket_url(std::string_view url);

class WebSocketClient {
 public:
  struct Callbacks {
    std::function<void()> on_open;                      // upgrade done: messages may be sent
    std::function<void(std::string_view text)> on_text;
    // The connection is over: the server's close code (0 when it closed
    // without one, or the TCP connection failed) and a reason.
    std::function<void(uint16_t code, std::string reason)> on_closed;
  };

  // Starts connecting; failures after this call arrive through on_closed.
  // `subprotocol`, when not empty, goes in Sec-WebSocket-Protocol.
  static Result<std::unique_ptr<WebSocketClient>> connect(GMainContext* context, const WebSocketUrl& url,
                                                          std::string subprotocol, Callbacks callbacks);
  ~WebSocketClient();
  WebSocketClient(const WebSocketClient&) = delete;
  WebSocketClient& operator=(const WebSocketClient&) = delete;

  // Queues a text message (after on_open); false once the connection is closing.
  bool send_text(std::string_view text);
  // Sends a close frame; on_closed follows when the server answers or the
  // connection drops. No more messages are delivered after close().
  void close(uint16_t code = 1000);
  bool open() const { return state_ == State::kOpen; }

 private:
  enum class State { kConnecting, kUpgrading, kOpen, kClosing, kClosed };
  struct SourceDeleter {
    void operator()(GSource* source) const;
  };
  struct ConstructionTag {};

 public:
  WebSocketClient(ConstructionTag, GMainContext* context, int fd, Callbacks callbacks);

 private:
  static gboolean on_fd_ready(gint fd, GIOCondition condition, gpointer self);
  void watch(GIOCondition condition);
  void handle(GIOCondition condition);
  void finish_connect();
  void write_pending();
  void read_upgrade_response();
  Status check_upgrade_response(std::string_view head) const;
  void start_framing(std::string leftover);
  void pump();  // wslay_event_recv/send and the watch that fits
  void finish(uint16_t code, std::string reason);

  // wslay callbacks (user_data is this).
  static ssize_t wslay_recv(wslay_event_context* ctx, uint8_t* buffer, size_t length, int flags, void* self);
  static ssize_t wslay_send(wslay_event_context* ctx, const uint8_t* data, size_t length, int flags, void* self);
  static int wslay_genmask(wslay_event_context* ctx, uint8_t* buffer, size_t length, void* self);
  static void wslay_on_message(wslay_event_context* ctx, const wslay_event_on_msg_recv_arg* arg, void* self);

  GMainContext* context_;
  int fd_;
  Callbacks callbacks_;
  State state_ = State::kConnecting;
  std::unique_ptr<GSource, SourceDeleter> source_;
  GIOCondition watched_ = GIOCondition(0);
  std::string request_;        // the upgrade request, until written
  std::string response_;       // the upgrade response, until complete
  std::string expected_accept_;
  std::string leftover_;       // bytes after the response head, read before the socket
  std::string close_reason_;   // from the server's close frame
  wslay_event_context* wslay_ = nullptr;
  bool in_callback_ = false;
};

}  // namespace partyline::loadgen
