// The admin listener: a libmicrohttpd daemon of its own, apart from the
// signaling port (so a firewall rule or a loopback bind keeps operators'
// powers away from clients). It checks `Authorization: Bearer <token>` in
// constant time, reads a bounded body, dispatches through the AdminRouter
// and answers with JSON.
//
// Threads: MHD's polling thread runs every callback here. A handler's answer
// usually comes from the signaling loop (that is where the state lives), so
// every routed request's connection is suspended and resumed when its reply
// arrives; nothing blocks MHD's thread meanwhile.
#pragma once

#include <microhttpd.h>

#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "rtp/result.hpp"
#include "signaling/admin/admin_router.hpp"
#include "signaling/header_deadline.hpp"
#include "signaling/tls_files.hpp"

namespace partyline::signaling::admin {

struct AdminHttpOptions {
  std::string bind_address = "127.0.0.1";  // IPv4 or IPv6 literal
  uint16_t port = 7088;                    // 0: any free port (see port())
  std::string token;                       // empty: no Authorization required (loopback only, config checks)
  size_t max_body_bytes = 65536;           // larger bodies get 413
  TlsCredentials tls;                      // set: HTTPS only (tls_files.hpp)
  std::chrono::milliseconds header_timeout{10000};  // request headers (header_deadline.hpp)
};

// True when `presented` equals `expected`, in time that depends on neither
// (both are hashed first, so not even their lengths leak).
bool token_matches(std::string_view presented, std::string_view expected);

class AdminHttpServer {
 public:
  // `router` must outlive the server.
  AdminHttpServer(AdminHttpOptions options, const AdminRouter& router);
  ~AdminHttpServer();  // stop()
  AdminHttpServer(const AdminHttpServer&) = delete;
  AdminHttpServer& operator=(const AdminHttpServer&) = delete;

  // Errors name the address and MHD's reason ("Address already in use"), or
  // say that this libmicrohttpd has no TLS (501) when TLS is asked for.
  Status start();
  // New requests get 503; waits (a few seconds at most) for the replies of
  // requests in flight, answers any still missing with 503, then stops MHD.
  // The handlers' loops must still run while this waits.
  void stop();
  uint16_t port() const { return bound_port_; }

 private:
  struct DaemonDeleter {
    void operator()(MHD_Daemon* daemon) const { MHD_stop_daemon(daemon); }
  };
  struct Connection;
  struct Pending;

  static MHD_Result on_request(void* self, MHD_Connection* connection, const char* url, const char* method,
                               const char* version, const char* upload_data, size_t* upload_data_size,
                               void** request_context);
  static void on_completed(void* self, MHD_Connection* connection, void** request_context,
                           MHD_RequestTerminationCode code);
  static void log_from_mhd(void* self, const char* format, va_list args);

  MHD_Result dispatch(MHD_Connection* connection, Connection& state, const char* url, const char* method);
  // Sets the reply of a suspended connection and resumes it.
  static void deliver(const std::shared_ptr<Pending>& pending, Connection* state, AdminResponse response);

  AdminHttpOptions options_;
  const AdminRouter& router_;
  // Shared with the reply functions handed to handlers: a late reply after
  // stop() finds its connection gone and is dropped.
  std::shared_ptr<Pending> pending_;
  HeaderDeadline header_deadline_;  // outlives daemon_ (declared before it)
  std::unique_ptr<MHD_Daemon, DaemonDeleter> daemon_;
  uint16_t bound_port_ = 0;
  std::mutex log_mutex_;
  std::string last_mhd_message_;
};

}  // namespace partyline::signaling::admin
