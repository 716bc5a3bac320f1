// A deadline on HTTP request headers for a libmicrohttpd daemon, shared by
// the signaling and the admin listeners.
//
// libmicrohttpd 0.9.75 has only an inactivity timeout
// (MHD_OPTION_CONNECTION_TIMEOUT): every byte received restarts it, so a
// client trickling one header byte a second holds its connection (and one
// of the per-address slots) forever. Here each request's headers must be
// complete within `timeout` of
//   - the connection's accept, for its first request (a TLS handshake
//     counts), and
//   - the first byte of the next request, on a kept-alive connection
//     (seen within a tick, from the kernel's count of bytes received on the
//     socket, TCP_INFO: MHD tells nothing before the headers are complete).
// An idle kept-alive connection (no byte since its last response) stays
// governed by the daemon's idle timeout. A connection past its deadline is
// shut down (shutdown(2) on its socket, so MHD sees the end of the stream on
// its own thread and closes and frees it as usual) and counted.
//
// Wiring (every hook runs on MHD's thread):
//   MHD_OPTION_NOTIFY_CONNECTION, &HeaderDeadline::on_connection, &deadline
//   headers_received(): in the access handler's first call of a request
//   request_completed(): in MHD_OPTION_NOTIFY_COMPLETED
//   upgraded(): when the connection is handed over (WebSocket)
// A thread of its own checks the deadlines every tick (timeout / 10, between
// 10 and 250 ms), so a connection is closed within timeout + tick.
//
// It also keeps a share of the listener for WebSockets: with `max_plain`
// set, a new connection that finds that many plain HTTP connections (not
// upgraded, not already being closed) makes room by closing one: the one
// idle the longest on keep-alive, else the one awaiting its headers the
// longest (a client that sends its request at once is never the oldest for
// long, a squatter always is). Only when every plain connection is in the
// middle of a request is none closed. Counted apart from the timeouts.
#pragma once

#include <microhttpd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace partyline::signaling {

enum class HttpListener { kSignaling, kAdmin };

// Connections each listener's HeaderDeadline closed since start (all
// instances), for /metrics.
uint64_t header_timeouts(HttpListener listener);
// Plain connections closed to make room for a newer one (max_plain), since start.
uint64_t connections_evicted(HttpListener listener);

class HeaderDeadline {
 public:
  using Clock = std::chrono::steady_clock;

  // `max_plain` 0: no cap on plain connections (MHD's own limit only).
  HeaderDeadline(std::chrono::milliseconds timeout, HttpListener listener, size_t max_plain = 0);
  ~HeaderDeadline();  // stop()
  HeaderDeadline(const HeaderDeadline&) = delete;
  HeaderDeadline& operator=(const HeaderDeadline&) = delete;

  // The checking thread; start() before the daemon, stop() after it.
  void start();
  void stop();

  // MHD_NotifyConnectionCallback: `self` is the HeaderDeadline.
  static void on_connection(void* self, MHD_Connection* connection, void** socket_context,
                            MHD_ConnectionNotificationCode code);
  void headers_received(MHD_Connection* connection);
  void request_completed(MHD_Connection* connection);
  void upgraded(MHD_Connection* connection);

  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  // kClosing: shut down by us, until MHD reports it closed.
  enum class Phase { kAwaitingHeaders, kInRequest, kIdle, kClosing };
  struct Entry {
    int fd = -1;
    Phase phase = Phase::kAwaitingHeaders;
    Clock::time_point deadline;     // kAwaitingHeaders
    Clock::time_point idle_since;   // kIdle
    uint64_t bytes_at_idle = 0;     // kIdle: what the socket had received when the last response ended
  };

  void run();
  void check(Clock::time_point now);
  // Under mutex_: shuts `entry`'s socket down (MHD then closes it).
  void close_entry(Entry& entry);
  // Under mutex_: at max_plain, closes the oldest idle or header-awaiting one.
  void make_room();

  const std::chrono::milliseconds timeout_;
  const std::chrono::milliseconds tick_;
  const HttpListener listener_;
  const size_t max_plain_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  // Under mutex_. A connection is removed on MHD_CONNECTION_NOTIFY_CLOSED,
  // before MHD closes its socket, so the checker never shuts down a
  // descriptor that was reused.
  std::unordered_map<MHD_Connection*, Entry> entries_;
  size_t closing_ = 0;  // entries in kClosing
  std::thread thread_;
};

}  // namespace partyline::signaling
