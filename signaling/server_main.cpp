#include "signaling/server_main.hpp"

#include <chrono>

#include "core/event_loop.hpp"
#include "core/log.hpp"
#include "core/media_settings.hpp"
#include "core/worker_pool.hpp"
#include "ice/certificate.hpp"
#include "signaling/call_handler.hpp"
#include "signaling/signaling_server.hpp"

namespace partyline::signaling {

namespace {

Result<std::shared_ptr<const ice::Certificate>> load_certificate(const core::Config& config) {
  if (config.dtls.certificate_file.empty()) return ice::Certificate::generate();
  return ice::Certificate::load_pem_files(config.dtls.certificate_file, config.dtls.private_key_file);
}

SignalingOptions signaling_options(const core::Config& config) {
  SignalingOptions options;
  options.bind_address = config.http.bind_address;
  options.port = config.http.port;
  options.web_root = config.http.web_root;
  options.max_message_bytes = config.signaling.max_message_bytes;
  options.ping_interval_ms = config.signaling.ping_interval_ms;
  options.idle_timeout_ms = config.signaling.idle_timeout_ms;
  options.keepalive_interval_ms = config.signaling.keepalive_interval_ms;
  options.max_sessions = config.limits.max_sessions;
  return options;
}

std::string public_url(const core::Config& config, uint16_t port) {
  const bool any_address = config.http.bind_address == "0.0.0.0" || config.http.bind_address == "::";
  const std::string host = any_address ? "127.0.0.1" : config.http.bind_address;
  return "http://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/";
}

}  // namespace

int run_server(const core::Config& config, const sigset_t& shutdown_signals) {
  auto certificate = load_certificate(config);
  if (!certificate) {
    PL_LOG(kError, "server") << "DTLS certificate: " << certificate.error().message;
    return 1;
  }
  PL_LOG(kInfo, "server") << "DTLS certificate sha-256 " << certificate.value()->fingerprint();

  auto settings = core::make_peer_connection_settings(config, certificate.value());
  if (!settings) {
    PL_LOG(kError, "server") << settings.error().message;
    return 1;
  }

  core::WorkerPool workers(config.workers);
  workers.start();
  core::EventLoop signaling_loop("signaling");
  signaling_loop.start();

  CallHandler handler(signaling_loop, workers, std::move(settings.value()));
  SignalingServer server(signaling_options(config), signaling_loop, handler);
  if (auto status = server.start(); !status) {
    PL_LOG(kError, "server") << status.error().message;
    return 1;
  }
  PL_LOG(kInfo, "server") << "partyline " << PARTYLINE_VERSION << " with " << workers.size() << " media workers";
  PL_LOG(kInfo, "server") << "partyline listening on " << public_url(config, server.port());

  int signal_number = 0;
  sigwait(&shutdown_signals, &signal_number);
  const auto shutdown_started = std::chrono::steady_clock::now();
  PL_LOG(kInfo, "server") << "signal " << signal_number << ": shutting down";

  // Order: stop taking requests and close every WebSocket (which closes each
  // session's PeerConnection), then let the workers finish their queues
  // (DTLS close_notify goes out there) and stop.
  server.stop();
  signaling_loop.run_sync([&handler] { handler.close_all(); });
  signaling_loop.stop();
  workers.stop();
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - shutdown_started);
  PL_LOG(kInfo, "server") << "stopped in " << elapsed.count() << " ms";
  return 0;
}

}  // namespace partyline::signaling
