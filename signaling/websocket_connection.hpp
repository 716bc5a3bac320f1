// One server-side WebSocket (RFC 6455) on a socket the HTTP server handed
// over after the 101 upgrade. Framing is wslay's; this class drives it from
// a GMainContext (the signaling loop): read readiness always, write readiness
// only while wslay has something queued. Everything runs on that context's
// thread.
#pragma once

#include <glib.h>
#include <wslay/wslay.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <string_view>

#include "core/runtime/event_loop.hpp"
#include "rtp/result.hpp"
#include "signaling/wire_format.hpp"

namespace partyline::signaling {

// The Sec-WebSocket-Accept value for a Sec-WebSocket-Key: base64(SHA-1(key +
// RFC 6455 GUID)). Errors (400) when the key is not base64 of 16 bytes.
Result<std::string> websocket_accept_for_key(std::string_view key);

// A connected non-blocking socket whose owner must be told, exactly once,
// when we are done with it (MHD requires MHD_upgrade_action(CLOSE) instead of
// close()). Move-only; `release` runs from the destructor or reset().
class UpgradedSocket {
 public:
  UpgradedSocket() = default;
  UpgradedSocket(int fd, std::function<void()> release) : fd_(fd), release_(std::move(release)) {}
  ~UpgradedSocket() { reset(); }
  UpgradedSocket(UpgradedSocket&& other) noexcept;
  UpgradedSocket& operator=(UpgradedSocket&& other) noexcept;
  UpgradedSocket(const UpgradedSocket&) = delete;
  UpgradedSocket& operator=(const UpgradedSocket&) = delete;

  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset();

 private:
  int fd_ = -1;
  std::function<void()> release_;
};

struct WebSocketOptions {
  size_t max_message_bytes = 65536;  // larger messages close with 1009
  // What a peer that does not read may make the server hold for it: beyond
  // either bound the connection is closed with 4007 (a slow reader).
  size_t max_queued_bytes = 1048576;
  size_t max_queued_messages = 1024;
  std::chrono::milliseconds ping_interval{15000};
  std::chrono::milliseconds idle_timeout{45000};  // nothing received (not even a pong): close 1001
  std::chrono::milliseconds close_timeout{2000};  // wait this long for the peer's close frame
};

// Connections closed with 4007 since start (all threads), for /metrics.
uint64_t slow_reader_closes();

// Close codes of docs/protocol.md.
namespace close_code {
inline constexpr uint16_t kNormal = 1000;
inline constexpr uint16_t kGoingAway = 1001;  // idle timeout or server shutdown
inline constexpr uint16_t kProtocolError = 1002;  // a seed adapter's framing broken (docs/compat.md)
inline constexpr uint16_t kUnsupportedData = 1003;
inline constexpr uint16_t kAbnormal = 1006;  // never sent: the socket ended without a close frame
inline constexpr uint16_t kMessageTooBig = 1009;
inline constexpr uint16_t kKeepaliveMissed = 4002;
inline constexpr uint16_t kAtCapacity = 4003;
inline constexpr uint16_t kKicked = 4004;  // an operator kicked the session (admin API)
inline constexpr uint16_t kReplaced = 4005;  // one session per user: the same user connected again
inline constexpr uint16_t kAlreadyConnected = 4006;  // one session per user, and ?force=false
inline constexpr uint16_t kTooSlow = 4007;  // the peer did not read what the server sent it (WebSocketOptions)
inline constexpr uint16_t kResumeRefused = 4008;  // ?resume= with an unknown or expired token, or another user's
inline constexpr uint16_t kConnectsLimited = 4009;  // more connections per second from the user or address than allowed
}  // namespace close_code

struct WslayContextDeleter {
  void operator()(wslay_event_context* context) const { wslay_event_context_free(context); }
};
using WslayContextPtr = std::unique_ptr<wslay_event_context, WslayContextDeleter>;

// The server's wslay context: server side (client frames must be masked),
// messages over options.max_message_bytes closed with 1009. The one place
// this is configured, for WebSocketConnection and the websocket_frames fuzz
// target. Throws std::bad_alloc when wslay cannot allocate.
WslayContextPtr make_server_wslay_context(const wslay_event_callbacks& callbacks, void* user_data,
                                          const WebSocketOptions& options);

class WebSocketConnection final : public TextSink {
 public:
  struct Handlers {
    std::function<void(std::string text)> on_text;
    // Called once when the socket has been released, with the close code sent
    // (or received, or kAbnormal). It must not destroy the connection
    // synchronously: defer that (e.g. EventLoop::post).
    std::function<void(uint16_t code)> on_closed;
  };

  // `already_received` holds bytes the HTTP server read past the upgrade
  // request; they are parsed before anything read from the socket.
  WebSocketConnection(GMainContext* context, UpgradedSocket socket, std::string already_received,
                      const WebSocketOptions& options);
  ~WebSocketConnection();
  WebSocketConnection(const WebSocketConnection&) = delete;
  WebSocketConnection& operator=(const WebSocketConnection&) = delete;

  void start(Handlers handlers);
  // Queued; dropped once closing has started.
  void send_text(std::string_view text) override;
  // Starts the closing handshake; the socket is released when the peer
  // answers or after close_timeout.
  void close(uint16_t code, std::string_view reason);
  // For shutdown: sends the close frame if the socket takes it right now and
  // releases the socket immediately; on_closed runs before it returns.
  void close_now(uint16_t code, std::string_view reason);

  bool is_open() const { return !closing_ && !finished_; }
  bool is_finished() const { return finished_; }
  // The peer started the closing handshake (it said goodbye), as opposed to
  // the server closing, or the socket ending without a close frame.
  bool closed_by_peer() const { return closed_by_peer_; }

 private:
  struct SourceDeleter {
    void operator()(GSource* source) const;
  };

  static gboolean dispatch_io(GSource* source, GSourceFunc, gpointer);
  static ssize_t recv_callback(wslay_event_context_ptr, uint8_t* buf, size_t len, int, void* self);
  static ssize_t send_callback(wslay_event_context_ptr, const uint8_t* data, size_t len, int, void* self);
  static void on_msg_recv_callback(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg, void* self);

  bool on_io(GIOCondition ready);  // false once finished
  ssize_t receive(uint8_t* buf, size_t len);
  ssize_t transmit(const uint8_t* data, size_t len, bool more);
  void on_message(const wslay_event_on_msg_recv_arg& arg);
  void update_io();
  void start_draining();
  bool drain_input();  // false once the peer has closed or failed
  bool check_idle();
  void finish();
  uint16_t final_code() const;
  // The queue is over its bounds: close with 4007 at once (the peer reads
  // nothing, so no closing handshake), from the loop rather than inside the
  // caller, which may be iterating over sessions.
  void drop_slow_reader(size_t queued_bytes, size_t queued_messages);

  GMainContext* context_;
  UpgradedSocket socket_;
  std::string pending_input_;
  size_t pending_offset_ = 0;
  WebSocketOptions options_;
  Handlers handlers_;
  WslayContextPtr wslay_;
  std::unique_ptr<GSource, SourceDeleter> source_;
  gpointer fd_tag_ = nullptr;
  core::Timer ping_timer_;
  core::Timer idle_timer_;
  core::Timer close_timer_;
  int64_t last_activity_us_ = 0;  // g_get_monotonic_time()
  bool closing_ = false;
  bool finished_ = false;
  bool closed_by_peer_ = false;
  std::optional<uint16_t> forced_code_;  // closed without a handshake: the code reported
  // After our close frame: the write side is shut and unread input is
  // discarded until the peer closes, so the close frame is not lost to a
  // TCP reset (closing a socket with unread data resets the connection).
  bool draining_ = false;
  bool in_io_ = false;  // inside on_io: update_io waits for its end
};

}  // namespace partyline::signaling
