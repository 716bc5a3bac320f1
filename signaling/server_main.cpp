#include "signaling/server_main.hpp"

#include <chrono>

#include "core/runtime/event_loop.hpp"
#include "core/runtime/log.hpp"
#include "core/runtime/shared_ports.hpp"
#include "core/lines/memory_line_store.hpp"
#include "core/media/media_plane.hpp"
#include "core/media/media_settings.hpp"
#include "core/runtime/worker_pool.hpp"
#include "ice/certificate.hpp"
#include "rtp/srtp/srtp_fast_crypto.hpp"
#include "core/plugins/plugin_host.hpp"
#include "signaling/admin/admin_api.hpp"
#include "signaling/admin/admin_http_server.hpp"
#include "signaling/admin/webhooks.hpp"
#include "signaling/call_handler.hpp"
#include "signaling/plugin_requests.hpp"
#include "signaling/request_router.hpp"
#include "signaling/signaling_server.hpp"
#include "signaling/tls_files.hpp"

namespace partyline::signaling {

namespace {

Result<std::shared_ptr<const ice::Certificate>> load_certificate(const core::Config& config) {
  if (config.dtls.certificate_file.empty()) return ice::Certificate::generate();
  return ice::Certificate::load_pem_files(config.dtls.certificate_file, config.dtls.private_key_file);
}

SignalingOptions signaling_options(const core::Config& config, TlsCredentials tls) {
  SignalingOptions options;
  options.bind_address = config.http.bind_address;
  options.port = config.http.port;
  options.web_root = config.http.web_root;
  options.max_message_bytes = config.signaling.max_message_bytes;
  options.max_queued_bytes = config.signaling.max_queued_bytes;
  options.max_queued_messages = config.signaling.max_queued_messages;
  options.ping_interval_ms = config.signaling.ping_interval_ms;
  options.idle_timeout_ms = config.signaling.idle_timeout_ms;
  options.keepalive_interval_ms = config.signaling.keepalive_interval_ms;
  options.signalr_hub_path = config.signaling.signalr_hub_path;
  options.lines_path = config.signaling.lines_path;
  options.chat_realtime_paths = config.signaling.chat_realtime_paths;
  options.peers_path = config.signaling.peers_path;
  options.peers_room = config.signaling.peers_room;
  options.verto_path = config.signaling.verto_path;
  options.max_signal_bytes = config.limits.max_signal_bytes;
  options.resume_grace_ms = config.signaling.resume_grace_ms;
  options.max_sessions = config.limits.max_sessions;
  options.max_connections = config.http.max_connections;
  options.max_connections_per_address = config.http.max_connections_per_address;
  options.header_timeout_ms = config.http.header_timeout_ms;
  options.auth.jwt_secret = config.auth.jwt_secret;
  options.auth.jwt_issuer = config.auth.jwt_issuer;
  options.auth.allow_anonymous = config.auth.allow_anonymous;
  options.one_session_per_user = config.auth.sessions_per_user == "one";
  options.rate_limit.requests_per_second = config.limits.requests_per_second;
  options.rate_limit.burst = config.limits.request_burst;
  options.keepalive_limit.requests_per_second = config.limits.keepalives_per_second;
  options.keepalive_limit.burst = 2 * config.limits.keepalives_per_second;
  const auto shared = [](unsigned per_second) { return RateLimit{per_second, 2 * per_second}; };
  options.user_connect_limit = shared(config.limits.user_connects_per_second);
  options.address_connect_limit = shared(config.limits.address_connects_per_second);
  options.user_request_limit = shared(config.limits.user_requests_per_second);
  options.address_request_limit = shared(config.limits.address_requests_per_second);
  options.byte_limit.requests_per_second = config.limits.request_bytes_per_second;
  options.byte_limit.burst = config.limits.request_burst_bytes;
  options.tls = std::move(tls);
  return options;
}

// lines.rooms, and seed 002's room when the configuration does not declare
// it (an open room: its clients have no membership of their own).
std::vector<core::RoomSpec> room_specs(const core::Config& config) {
  std::vector<core::RoomSpec> rooms;
  bool peers_room_declared = false;
  for (const core::RoomConfig& room : config.lines.rooms) {
    rooms.push_back({room.id, room.members, room.token, room.open});
    peers_room_declared = peers_room_declared || room.id == config.signaling.peers_room;
  }
  if (!config.signaling.peers_path.empty() && !peers_room_declared) {
    rooms.push_back({config.signaling.peers_room, {}, {}, true});
  }
  return rooms;
}

CallHandler::Options call_options(const core::Config& config) {
  CallHandler::Options options;
  options.ring_timeout = std::chrono::milliseconds(config.lines.ring_timeout_ms);
  options.line_idle_timeout = std::chrono::milliseconds(config.lines.idle_timeout_ms);
  options.max_occupants_per_line = config.limits.max_occupants_per_line;
  options.occupants_interval = std::chrono::milliseconds(config.lines.occupants_interval_ms);
  options.max_signal_bytes = config.limits.max_signal_bytes;
  options.speakers.speech_level = static_cast<uint8_t>(config.lines.speech_level_dbov);
  options.last_n = config.lines.last_n;
  return options;
}

// `scheme` "http" or "ws", with an "s" added under TLS.
std::string public_url(const std::string& scheme, bool tls, const std::string& bind_address, uint16_t port) {
  const bool any_address = bind_address == "0.0.0.0" || bind_address == "::";
  const std::string host = any_address ? "127.0.0.1" : bind_address;
  return scheme + (tls ? "s" : "") + "://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
         std::to_string(port) + "/";
}

admin::AdminHttpOptions admin_options(const core::Config& config, TlsCredentials tls) {
  admin::AdminHttpOptions options;
  options.bind_address = config.admin.bind_address;
  options.port = config.admin.port;
  options.token = config.admin.token;
  options.tls = std::move(tls);
  options.header_timeout = std::chrono::milliseconds(config.http.header_timeout_ms);
  return options;
}

}  // namespace

int run_server(const core::Config& config, const sigset_t& shutdown_signals) {
  // Before any SRTP session exists: AES-CTR and HMAC-SHA1 through nettle are
  // about 4x faster than the crypto Debian's libsrtp2 brings (bench/README.md).
  if (auto installed = rtp::install_fast_srtp_crypto(); installed) {
    PL_LOG(kInfo, "server") << "SRTP crypto: nettle (AES-128-CTR, HMAC-SHA1)";
  } else {
    PL_LOG(kWarn, "server") << "SRTP crypto: libsrtp2's own (" << installed.error().message << ")";
  }
  // HTTPS/WSS: both files read and checked before anything starts.
  auto http_tls = load_tls_files(config.http.tls_certificate_file, config.http.tls_private_key_file);
  auto admin_tls = load_tls_files(config.admin.tls_certificate_file, config.admin.tls_private_key_file);
  if (!http_tls || !admin_tls) {
    PL_LOG(kError, "server") << (http_tls ? "admin: " + admin_tls.error().message
                                          : "http: " + http_tls.error().message);
    return 1;
  }
  const bool http_uses_tls = http_tls->enabled();
  const bool admin_uses_tls = admin_tls->enabled();
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
  // The forwarding plane outlives every PeerConnection: they are destroyed
  // on the workers, by workers.stop() at the latest.
  core::MediaPlane media_plane(workers);
  settings->fabric = &media_plane.fabric();
  // Single-port mode: each worker's socket on ice.udp_port, open before the
  // workers start and closed after they stopped (every return below stops
  // them first).
  std::unique_ptr<core::SharedPorts> shared_ports;
  if (config.ice.udp_port != 0) {
    // One configured address: bound to it, so answers leave from the address
    // participants sent to; else every IPv4 address.
    const std::string bind_ip = config.ice.addresses.size() == 1 ? config.ice.addresses.front() : "0.0.0.0";
    auto opened = core::SharedPorts::open(workers, bind_ip, config.ice.udp_port);
    if (!opened) {
      PL_LOG(kError, "server") << opened.error().message;
      return 1;
    }
    shared_ports = std::move(opened).value();
    settings->shared_ports = shared_ports.get();
    PL_LOG(kInfo, "server") << "single-port mode: every participant's media on UDP " << bind_ip << ":"
                            << shared_ports->port() << " (ICE-lite)";
  }
  workers.start();
  core::EventLoop signaling_loop("signaling");
  signaling_loop.start();

  core::MemoryLineStore::Options store_options;
  store_options.max_lines = config.limits.max_lines;
  store_options.max_lines_per_user = config.limits.max_lines_per_user;
  store_options.max_members_per_line = config.limits.max_members_per_line;
  store_options.max_pending_invitations_per_user = config.limits.max_pending_invitations_per_user;
  store_options.max_blocked_per_user = config.limits.max_blocked_per_user;
  store_options.make_id = random_uuid_v4;
  store_options.make_token = random_token;
  core::MemoryLineStore line_store(std::move(store_options));
  const core::PeerConnectionSettings peer_settings = settings.value();
  // Event webhooks (docs/admin-api.md): made before the handler, so they outlive it.
  std::unique_ptr<admin::WebhookSender> webhooks;
  if (!config.webhooks.urls.empty()) {
    webhooks = std::make_unique<admin::WebhookSender>(admin::webhook_options(config.webhooks));
    PL_LOG(kInfo, "server") << "webhooks: call events go to " << config.webhooks.urls.size() << " URL(s)";
  }
  CallHandler handler(signaling_loop, workers, std::move(settings.value()), line_store, call_options(config));
  // Plugins live on the signaling thread: loaded, called and destroyed there.
  auto plugin_host = std::make_unique<core::PluginHost>(signaling_loop, core::make_plugin_settings(config),
                                                        core::PluginMediaServices{&workers, peer_settings, &handler});
  Status rooms_added;
  signaling_loop.run_sync([&plugin_host, &handler, &webhooks, &rooms_added, &config] {
    rooms_added = handler.add_rooms(room_specs(config));
    handler.use_events(webhooks.get());
    plugin_host->load();
    handler.use_plugins(plugin_host.get());  // the echo test is the echotest plugin
  });
  PluginRequests plugin_requests(*plugin_host);
  RequestRouter router(handler, {{&plugin_requests, {"attach", "detach"}, ""},
                                 {&plugin_requests, {"message", "ice_trickle", "hangup"}, "handle"}});
  SignalingServer server(signaling_options(config, std::move(*http_tls)), signaling_loop, router);
  server.use_admission(&handler);
  // A start that fails ends as a shutdown does: the threads stop before
  // what they use (the media plane's rings and eventfds) is destroyed.
  const auto stop_after_failed_start = [&] {
    signaling_loop.run_sync([&plugin_host, &handler] {
      handler.use_plugins(nullptr);
      plugin_host.reset();
    });
    signaling_loop.stop();
    workers.stop();
  };
  if (!rooms_added) {
    PL_LOG(kError, "server") << "lines.rooms: " << rooms_added.error().message;
    stop_after_failed_start();
    return 1;
  }
  if (auto status = server.start(); !status) {
    PL_LOG(kError, "server") << status.error().message;
    stop_after_failed_start();
    return 1;
  }
  // Its own listener (docs/admin-api.md); validate_config made sure a
  // non-loopback bind has a token.
  admin::AdminApi admin_api({signaling_loop, handler, plugin_host, workers, media_plane, config});
  admin_api.use_webhooks(webhooks.get());
  admin::AdminHttpServer admin_server(admin_options(config, std::move(*admin_tls)), admin_api.router());
  if (auto status = admin_server.start(); !status) {
    PL_LOG(kError, "server") << status.error().message;
    server.stop();
    stop_after_failed_start();
    return 1;
  }
  PL_LOG(kInfo, "server") << "admin API listening on "
                          << public_url("http", admin_uses_tls, config.admin.bind_address, admin_server.port())
                          << (config.admin.token.empty() ? " (no token: loopback only)" : " (token required)");
  PL_LOG(kInfo, "server") << "partyline " << PARTYLINE_VERSION << " with " << workers.size() << " media workers";
  std::string listening = public_url("http", http_uses_tls, config.http.bind_address, server.port());
  if (http_uses_tls) {
    listening += " (WebSocket " + public_url("ws", true, config.http.bind_address, server.port()) + "ws)";
  }
  PL_LOG(kInfo, "server") << "partyline listening on " << listening;

  int signal_number = 0;
  sigwait(&shutdown_signals, &signal_number);
  const auto shutdown_started = std::chrono::steady_clock::now();
  PL_LOG(kInfo, "server") << "signal " << signal_number << ": shutting down";

  // Order: stop taking requests and close every WebSocket (which closes each
  // session's PeerConnection), then let the workers finish their queues
  // (DTLS close_notify goes out there) and stop.
  // The admin listener first: its requests in flight are answered from the
  // signaling loop and the workers, which still run here.
  admin_server.stop();
  // Queued before the close frames, which close_now sends after them.
  signaling_loop.run_sync([&handler] { handler.announce_shutdown(); });
  server.stop();
  signaling_loop.run_sync([&handler, &plugin_host] {
    handler.close_all();
    handler.use_events(nullptr);  // the sender goes at the end of this function
    handler.use_plugins(nullptr);
    plugin_host.reset();  // every handle is gone with its session: destroys the plugins
  });
  signaling_loop.stop();
  workers.stop();
  PL_LOG(kInfo, "server") << "media: " << media_plane.summary();
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - shutdown_started);
  PL_LOG(kInfo, "server") << "stopped in " << elapsed.count() << " ms";
  return 0;
}

}  // namespace partyline::signaling
