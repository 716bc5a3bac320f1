#include "signaling/websocket_connection.hpp"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "core/runtime/log.hpp"

namespace partyline::signaling {

namespace {

constexpr std::string_view kWebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr size_t kSha1Bytes = 20;
constexpr size_t kWebSocketKeyBytes = 16;

struct GnutlsDatumDeleter {
  void operator()(unsigned char* data) const { gnutls_free(data); }
};
using GnutlsBytes = std::unique_ptr<unsigned char, GnutlsDatumDeleter>;

// A GSource watching one fd whose dispatch forwards to its connection.
struct IoSource {
  GSource base;
  WebSocketConnection* owner;
};

}  // namespace

Result<std::string> websocket_accept_for_key(std::string_view key) {
  gnutls_datum_t encoded{reinterpret_cast<unsigned char*>(const_cast<char*>(key.data())),
                         static_cast<unsigned>(key.size())};
  gnutls_datum_t decoded{};
  if (key.empty() || gnutls_base64_decode2(&encoded, &decoded) != GNUTLS_E_SUCCESS) {
    return make_error(error_code::kBadRequest, "header 'Sec-WebSocket-Key' is not base64");
  }
  GnutlsBytes decoded_owner(decoded.data);
  if (decoded.size != kWebSocketKeyBytes) {
    return make_error(error_code::kBadRequest, "header 'Sec-WebSocket-Key' must encode 16 bytes");
  }

  std::string keyed = std::string(key) + std::string(kWebSocketGuid);
  unsigned char digest[kSha1Bytes];
  if (gnutls_hash_fast(GNUTLS_DIG_SHA1, keyed.data(), keyed.size(), digest) != 0) {
    return make_error(error_code::kInternal, "SHA-1 unavailable");
  }
  gnutls_datum_t raw{digest, kSha1Bytes};
  gnutls_datum_t accept{};
  if (gnutls_base64_encode2(&raw, &accept) != GNUTLS_E_SUCCESS) {
    return make_error(error_code::kInternal, "base64 encoding failed");
  }
  GnutlsBytes accept_owner(accept.data);
  return std::string(reinterpret_cast<const char*>(accept.data), accept.size);
}

WslayContextPtr make_server_wslay_context(const wslay_event_callbacks& callbacks, void* user_data,
                                          const WebSocketOptions& options) {
  wslay_event_context_ptr raw = nullptr;
  if (wslay_event_context_server_init(&raw, &callbacks, user_data) != 0) throw std::bad_alloc();
  WslayContextPtr context(raw);
  wslay_event_config_set_max_recv_msg_length(context.get(), options.max_message_bytes);
  return context;
}

UpgradedSocket::UpgradedSocket(UpgradedSocket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), release_(std::move(other.release_)) {}

UpgradedSocket& UpgradedSocket::operator=(UpgradedSocket&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = std::exchange(other.fd_, -1);
    release_ = std::move(other.release_);
  }
  return *this;
}

void UpgradedSocket::reset() {
  if (fd_ < 0) return;
  fd_ = -1;
  auto release = std::move(release_);
  release_ = nullptr;
  if (release) release();
}

void WebSocketConnection::SourceDeleter::operator()(GSource* source) const {
  g_source_destroy(source);
  g_source_unref(source);
}

WebSocketConnection::WebSocketConnection(GMainContext* context, UpgradedSocket socket, std::string already_received,
                                         const WebSocketOptions& options)
    : context_(context), socket_(std::move(socket)), pending_input_(std::move(already_received)), options_(options) {
  wslay_event_callbacks callbacks{};
  callbacks.recv_callback = &WebSocketConnection::recv_callback;
  callbacks.send_callback = &WebSocketConnection::send_callback;
  callbacks.on_msg_recv_callback = &WebSocketConnection::on_msg_recv_callback;
  wslay_ = make_server_wslay_context(callbacks, this, options_);
}

WebSocketConnection::~WebSocketConnection() {
  // Timers and the source go first so nothing fires into a half-destroyed object.
  ping_timer_.cancel();
  idle_timer_.cancel();
  close_timer_.cancel();
  source_.reset();
}

void WebSocketConnection::start(Handlers handlers) {
  handlers_ = std::move(handlers);
  last_activity_us_ = g_get_monotonic_time();
  // Responses and events are small and answer something at once: with
  // Nagle's algorithm a frame written while the previous one is unacknowledged
  // waits for the peer's delayed ACK (about 40 ms on Linux). Fails harmlessly
  // on a socket that is not TCP (the TLS proxy's socketpair).
  const int no_delay = 1;
  (void)setsockopt(socket_.fd(), IPPROTO_TCP, TCP_NODELAY, &no_delay, sizeof no_delay);

  static GSourceFuncs io_source_funcs{nullptr, nullptr, &WebSocketConnection::dispatch_io, nullptr, nullptr, nullptr};
  GSource* source = g_source_new(&io_source_funcs, sizeof(IoSource));
  reinterpret_cast<IoSource*>(source)->owner = this;
  fd_tag_ = g_source_add_unix_fd(source, socket_.fd(), G_IO_IN);
  source_.reset(source);
  g_source_attach(source, context_);

  ping_timer_.start(context_, options_.ping_interval, [this] {
    static const wslay_event_msg ping{WSLAY_PING, nullptr, 0};
    if (!closing_) wslay_event_queue_msg(wslay_.get(), &ping);
    update_io();
    return true;
  });
  // Checked periodically rather than re-armed per message: a repeating timer
  // costs nothing per message, at the price of closing up to 1/8 late.
  auto idle_check = std::max(options_.idle_timeout / 8, std::chrono::milliseconds(10));
  idle_timer_.start(context_, idle_check, [this] { return check_idle(); });

  // Bytes that arrived with the upgrade request are parsed right away.
  if (pending_offset_ < pending_input_.size()) on_io(G_IO_IN);
  update_io();
}

void WebSocketConnection::send_text(std::string_view text) {
  if (!is_open()) return;
  const size_t queued_bytes = wslay_event_get_queued_msg_length(wslay_.get());
  const size_t queued_messages = wslay_event_get_queued_msg_count(wslay_.get());
  if (queued_bytes + text.size() > options_.max_queued_bytes || queued_messages + 1 > options_.max_queued_messages) {
    drop_slow_reader(queued_bytes, queued_messages);
    return;
  }
  wslay_event_msg message{WSLAY_TEXT_FRAME, reinterpret_cast<const uint8_t*>(text.data()), text.size()};
  if (wslay_event_queue_msg(wslay_.get(), &message) != 0) {
    PL_LOG(kWarn, "server") << "websocket: could not queue a " << text.size() << " byte message";
  }
  update_io();
}

namespace {
std::atomic<uint64_t> g_slow_reader_closes{0};
}  // namespace

uint64_t slow_reader_closes() { return g_slow_reader_closes.load(std::memory_order_relaxed); }

void WebSocketConnection::drop_slow_reader(size_t queued_bytes, size_t queued_messages) {
  closing_ = true;  // nothing more is queued or sent as a message
  forced_code_ = close_code::kTooSlow;
  g_slow_reader_closes.fetch_add(1, std::memory_order_relaxed);
  PL_LOG(kInfo, "server") << "websocket: closing a slow reader with " << close_code::kTooSlow << ": " << queued_bytes
                          << " bytes in " << queued_messages << " messages unsent";
  static constexpr std::string_view kReason = "too slow: the server's queue for this connection is full";
  wslay_event_queue_close(wslay_.get(), close_code::kTooSlow, reinterpret_cast<const uint8_t*>(kReason.data()),
                          kReason.size());
  close_timer_.start(context_, std::chrono::milliseconds(0), [this] {
    if (socket_.valid()) (void)wslay_event_send(wslay_.get());  // best effort: its buffer is full
    finish();
    return false;
  });
}

void WebSocketConnection::close(uint16_t code, std::string_view reason) {
  if (finished_ || closing_) return;
  closing_ = true;
  // What was queued before the close goes out first, as far as the socket
  // takes it now: wslay sends control frames ahead of queued messages and
  // never sends a message once its close frame is out (a kicked client's
  // `hangup` event, sent just before its 4004, would be lost).
  if (!in_io_ && socket_.valid()) (void)wslay_event_send(wslay_.get());
  // Control frames carry at most 125 bytes: 2 for the code, the rest reason.
  reason = reason.substr(0, 123);
  wslay_event_queue_close(wslay_.get(), code, reinterpret_cast<const uint8_t*>(reason.data()), reason.size());
  close_timer_.start(context_, options_.close_timeout, [this] {
    finish();
    return false;
  });
  update_io();
}

void WebSocketConnection::close_now(uint16_t code, std::string_view reason) {
  if (finished_) return;
  if (!closing_) {
    closing_ = true;
    // As in close(): what was queued goes first, as far as the socket takes
    // it now (a replaced verto client's `verto.punt`).
    if (!in_io_ && socket_.valid()) (void)wslay_event_send(wslay_.get());
    reason = reason.substr(0, 123);
    wslay_event_queue_close(wslay_.get(), code, reinterpret_cast<const uint8_t*>(reason.data()), reason.size());
  }
  wslay_event_send(wslay_.get());  // best effort; the socket is non-blocking
  finish();
}

gboolean WebSocketConnection::dispatch_io(GSource* source, GSourceFunc, gpointer) {
  auto* io = reinterpret_cast<IoSource*>(source);
  GIOCondition ready = g_source_query_unix_fd(source, io->owner->fd_tag_);
  return io->owner->on_io(ready) ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

bool WebSocketConnection::on_io(GIOCondition ready) {
  if (finished_) return false;
  if (draining_) {
    if (drain_input()) return true;
    finish();
    return false;
  }
  // Handlers run inside wslay_event_recv; what they queue is sent below, and
  // finishing waits until wslay has returned (it may still call receive()).
  in_io_ = true;
  bool failed = false;
  if ((ready & (G_IO_IN | G_IO_HUP | G_IO_ERR)) != 0 && wslay_event_want_read(wslay_.get())) {
    failed = wslay_event_recv(wslay_.get()) != 0;
  }
  if (!failed && ((ready & G_IO_OUT) != 0 || wslay_event_want_write(wslay_.get()))) {
    failed = wslay_event_send(wslay_.get()) != 0;
  }
  in_io_ = false;
  if (failed) {
    finish();
    return false;
  }
  update_io();
  return !finished_;
}

ssize_t WebSocketConnection::recv_callback(wslay_event_context_ptr, uint8_t* buf, size_t len, int, void* self) {
  return static_cast<WebSocketConnection*>(self)->receive(buf, len);
}

ssize_t WebSocketConnection::send_callback(wslay_event_context_ptr, const uint8_t* data, size_t len, int flags,
                                           void* self) {
  return static_cast<WebSocketConnection*>(self)->transmit(data, len, (flags & WSLAY_MSG_MORE) != 0);
}

void WebSocketConnection::on_msg_recv_callback(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg,
                                               void* self) {
  static_cast<WebSocketConnection*>(self)->on_message(*arg);
}

ssize_t WebSocketConnection::receive(uint8_t* buf, size_t len) {
  if (!socket_.valid()) {  // released by a handler (close_now) while wslay was reading
    wslay_event_set_error(wslay_.get(), WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
  }
  if (pending_offset_ < pending_input_.size()) {
    size_t n = std::min(len, pending_input_.size() - pending_offset_);
    std::memcpy(buf, pending_input_.data() + pending_offset_, n);
    pending_offset_ += n;
    if (pending_offset_ == pending_input_.size()) {
      std::string().swap(pending_input_);
      pending_offset_ = 0;
    }
    last_activity_us_ = g_get_monotonic_time();
    return static_cast<ssize_t>(n);
  }
  ssize_t n;
  do {
    n = ::recv(socket_.fd(), buf, len, 0);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    last_activity_us_ = g_get_monotonic_time();
    return n;
  }
  bool would_block = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  wslay_event_set_error(wslay_.get(), would_block ? WSLAY_ERR_WOULDBLOCK : WSLAY_ERR_CALLBACK_FAILURE);
  return -1;
}

ssize_t WebSocketConnection::transmit(const uint8_t* data, size_t len, bool more) {
  if (!socket_.valid()) {
    wslay_event_set_error(wslay_.get(), WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
  }
  // wslay hands over a frame's header and its payload in two calls; MSG_MORE
  // on the header lets the kernel put both in one segment.
  const int flags = MSG_NOSIGNAL | (more ? MSG_MORE : 0);
  ssize_t n;
  do {
    n = ::send(socket_.fd(), data, len, flags);
  } while (n < 0 && errno == EINTR);
  if (n >= 0) return n;
  bool would_block = errno == EAGAIN || errno == EWOULDBLOCK;
  wslay_event_set_error(wslay_.get(), would_block ? WSLAY_ERR_WOULDBLOCK : WSLAY_ERR_CALLBACK_FAILURE);
  return -1;
}

void WebSocketConnection::on_message(const wslay_event_on_msg_recv_arg& arg) {
  switch (arg.opcode) {
    case WSLAY_TEXT_FRAME:
      if (is_open() && handlers_.on_text) {
        handlers_.on_text(std::string(reinterpret_cast<const char*>(arg.msg), arg.msg_length));
      }
      break;
    case WSLAY_BINARY_FRAME:
      close(close_code::kUnsupportedData, "binary messages are not accepted");
      break;
    case WSLAY_CONNECTION_CLOSE:
      // wslay queues the answering close frame itself; the socket is released
      // once it is sent (update_io sees nothing left to read or write).
      if (!closing_) closed_by_peer_ = true;
      closing_ = true;
      break;
    default:  // ping (wslay answers it) and pong: only count as activity
      break;
  }
}

void WebSocketConnection::update_io() {
  if (finished_ || !source_ || in_io_) return;
  wslay_event_context* ws = wslay_.get();
  bool want_read = wslay_event_want_read(ws) != 0;
  bool want_write = wslay_event_want_write(ws) != 0;
  if (!want_read && !want_write) {
    start_draining();
    return;
  }
  // wslay itself starts closing on an oversized (1009) or invalid message;
  // bound the wait for the peer's answer in that case too.
  if ((wslay_event_get_close_sent(ws) || !want_read) && !close_timer_.active()) {
    closing_ = true;
    close_timer_.start(context_, options_.close_timeout, [this] {
      finish();
      return false;
    });
  }
  int events = (want_read ? G_IO_IN : 0) | (want_write ? G_IO_OUT : 0);
  g_source_modify_unix_fd(source_.get(), fd_tag_, static_cast<GIOCondition>(events));
}

bool WebSocketConnection::check_idle() {
  if (finished_ || closing_) return false;
  int64_t idle_us = g_get_monotonic_time() - last_activity_us_;
  if (idle_us < std::chrono::duration_cast<std::chrono::microseconds>(options_.idle_timeout).count()) return true;
  close(close_code::kGoingAway, "idle timeout");
  return false;
}

void WebSocketConnection::start_draining() {
  if (draining_) return;
  if (!socket_.valid() || ::shutdown(socket_.fd(), SHUT_WR) != 0) {
    finish();
    return;
  }
  draining_ = true;
  closing_ = true;
  if (!close_timer_.active()) {
    close_timer_.start(context_, options_.close_timeout, [this] {
      finish();
      return false;
    });
  }
  g_source_modify_unix_fd(source_.get(), fd_tag_, G_IO_IN);
}

bool WebSocketConnection::drain_input() {
  uint8_t discard[16384];
  for (;;) {
    ssize_t n = ::recv(socket_.fd(), discard, sizeof discard, 0);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);  // 0: the peer closed
  }
}

uint16_t WebSocketConnection::final_code() const {
  if (forced_code_) return *forced_code_;
  if (wslay_event_get_close_sent(wslay_.get())) return wslay_event_get_status_code_sent(wslay_.get());
  if (wslay_event_get_close_received(wslay_.get())) return wslay_event_get_status_code_received(wslay_.get());
  return close_code::kAbnormal;
}

void WebSocketConnection::finish() {
  if (finished_) return;
  finished_ = true;
  closing_ = true;
  ping_timer_.cancel();
  idle_timer_.cancel();
  close_timer_.cancel();
  source_.reset();
  socket_.reset();
  uint16_t code = final_code();
  if (handlers_.on_closed) handlers_.on_closed(code);
}

}  // namespace partyline::signaling
