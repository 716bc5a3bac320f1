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

class HeaderDeadline {
 public:
  using Clock = std::chrono::steady_clock;

  HeaderDeadline(std::chrono::milliseconds timeout, HttpListener listener);
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
  enum class Phase { kAwaitingHeaders, kInRequest, kIdle };
  struct Entry {
    int fd = -1;
    Phase phase = Phase::kAwaitingHeaders;
    Clock::time_point deadline;     // kAwaitingHeaders
    uint64_t bytes_at_idle = 0;     // kIdle: what the socket had received when the last response ended
  };

  void run();
  void check(Clock::time_point now);

  const std::chrono::milliseconds timeout_;
  const std::chrono::milliseconds tick_;
  const HttpListener listener_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  // Under mutex_. A connection is removed on MHD_CONNECTION_NOTIFY_CLOSED,
  // before MHD closes its socket, so the checker never shuts down a
  // descriptor that was reused.
  std::unordered_map<MHD_Connection*, Entry> entries_;
  std::thread thread_;
};

}  // namespace partyline::signaling
