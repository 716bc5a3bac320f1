// The effective configuration: embedded defaults, overridden by an optional
// JSON file (--config), overridden by environment variables for the common
// settings. docs/configuration.md documents every key.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/runtime/json.hpp"
#include "rtp/result.hpp"

namespace partyline::core {

struct TurnServerConfig {
  std::string host;
  uint16_t port = 3478;
  std::string username;
  std::string password;
};

// A room (docs/configuration.md, "lines.rooms"): a line with an id the
// operator chose, made at start and never forgotten, for clients that name
// their call by a key of their own system (a chat id, a channel id).
struct RoomConfig {
  std::string id;                    // 1 to 64 letters, digits, '.', '_', '-'
  std::vector<std::string> members;  // user ids that may join
  std::string token;                 // who presents it may join (a channel password); empty: none
  bool open = false;                 // anyone who connects may join (not made a member by joining)
};

// Each plugin's own config section (plugins.config.NAME), as JSON text: the
// plugin reads it, so its keys are its own business.
using PluginConfigs = std::map<std::string, std::string>;

struct Config {
  std::string log_level = "info";
  unsigned workers = 0;  // 0: one per core

  struct Http {
    std::string bind_address = "0.0.0.0";
    uint16_t port = 8088;
    std::string web_root;  // default: the installed page, else the source tree's web/ folder
    // TCP connections the listener holds at once (WebSockets included), and
    // from one remote address (0: no per-address limit, e.g. behind a proxy).
    unsigned max_connections = 10000;
    unsigned max_connections_per_address = 256;
    // A request's headers must be complete this long after the connection
    // opened (or after the next request's first byte on a kept-alive one);
    // beyond, the connection is closed. Both listeners (signaling and admin).
    unsigned header_timeout_ms = 10000;
    // HTTPS and WSS when both are set (PEM files); plain HTTP otherwise.
    std::string tls_certificate_file;
    std::string tls_private_key_file;
  } http;

  // The admin API's own listener (docs/admin-api.md).
  struct Admin {
    std::string bind_address = "127.0.0.1";  // anything but loopback needs a token
    uint16_t port = 7088;
    std::string token;  // "Authorization: Bearer <token>"; empty: none asked (loopback only)
    std::string tls_certificate_file;  // HTTPS when both are set (PEM files)
    std::string tls_private_key_file;
  } admin;

  // Event webhooks (docs/admin-api.md): JSON events POSTed to each URL,
  // signed with HMAC-SHA256 of the body under `secret`.
  struct Webhooks {
    std::vector<std::string> urls;  // empty: no webhooks
    std::string secret;             // required when urls are set
    unsigned queue_size = 1000;     // events waiting for delivery; more are dropped (and counted)
    unsigned max_attempts = 5;      // per event and URL, then dropped (and counted)
    unsigned retry_delay_ms = 500;  // before the first retry; doubles each time
    unsigned timeout_ms = 2000;     // per request
  } webhooks;

  struct Signaling {
    size_t max_message_bytes = 65536;
    size_t max_queued_bytes = 1048576;  // a session's unsent outbound bytes; more: closed with 4007
    unsigned max_queued_messages = 1024;  // a session's unsent outbound messages; more: closed with 4007
    unsigned ping_interval_ms = 15000;
    unsigned idle_timeout_ms = 45000;
    unsigned keepalive_interval_ms = 30000;
    // A session whose WebSocket was lost keeps its line, PeerConnection and
    // invitations this long, for the client to resume it; 0: no resume.
    unsigned resume_grace_ms = 20000;
    // Seed 000's SignalR hub (docs/compat.md): `POST <path>/negotiate` and
    // its WebSocket at <path>; empty: off.
    std::string signalr_hub_path = "/hubs/webrtc";
    std::string lines_path = "/signaling/v1";  // seed 003's lines protocol
    // Seed 001's chat-room endpoint: `<prefix><chatId>` for each prefix
    // (each ends with '/'); empty: off.
    std::vector<std::string> chat_realtime_paths{"/api/chat/realtime/", "/sphere/chat/realtime/"};
    // Seed 002's connected-peers relay at this path, everyone on it in the
    // room `peers_room` (made open when lines.rooms does not declare it).
    std::string peers_path = "/peers";
    std::string peers_room = "peers";
    // Seed 004's verto channel client: JSON-RPC at this path, a login to a
    // room whose token is the channel's password; empty: off.
    std::string verto_path = "/verto";
  } signaling;

  struct Ice {
    std::vector<std::string> addresses;  // empty: every non-loopback interface
    bool allow_loopback = true;          // also gather on 127.0.0.1
    std::string public_ip;               // 1:1 NAT address to advertise
    std::string stun_server;             // "host:port"
    std::vector<TurnServerConfig> turn_servers;
    std::vector<std::string> allowed_remote_networks;  // CIDR; empty: any
    unsigned setup_timeout_ms = 30000;  // offer to DTLS-SRTP keys, else the PeerConnection fails; 0: no limit
    // Single-port mode: every participant's media on this one UDP port,
    // the server an ICE-lite agent (docs/architecture.md); 0: off, each
    // participant gets its own socket and libnice agent.
    uint16_t udp_port = 0;
  } ice;

  struct Dtls {
    std::string certificate_file;  // PEM; empty: generate a P-256 certificate at start
    std::string private_key_file;
  } dtls;

  struct Auth {
    std::string jwt_secret;     // HS256 key for ?token=; empty: tokens are refused
    std::string jwt_issuer;     // when set, tokens must carry this "iss"
    bool allow_anonymous = true;  // ?name= without a token (demos and tests)
    std::string sessions_per_user = "many";  // "one": a new connection replaces the user's older one
  } auth;

  struct Lines {
    unsigned ring_timeout_ms = 60000;   // an unanswered invitation ends with "timeout"
    unsigned idle_timeout_ms = 300000;  // a line nobody occupies or rings for is forgotten
    unsigned occupants_interval_ms = 50;  // at most one `occupants` event per line per interval
    // Louder than this (-dBov) is speech, for the active speaker (0 to 127).
    unsigned speech_level_dbov = 50;
    // Each occupant receives the video of the N most recent speakers (and
    // whom it pinned); 0: everyone's.
    unsigned last_n = 0;
    std::vector<RoomConfig> rooms;
  } lines;

  // What the server tells each participant's sender (docs/configuration.md).
  struct Media {
    // Where a publisher's send-side bandwidth estimate starts (Chromium's
    // x-google-start-bitrate in our answers): transport-cc feedback corrects
    // it within a few hundred milliseconds either way, and Chromium's
    // encoder picks its first resolution from it (300 kbit/s, its own
    // default, means 640x360 for a 1280x720 camera); 0: leave it to the browser.
    unsigned start_bitrate_kbps = 1000;
    // The video codecs a publisher is answered in, the first its offer has
    // winning ("VP8", "H264"); subscribers get each stream in its publisher's.
    std::vector<std::string> video_codecs = {"VP8", "H264"};
  } media;

  struct Limits {
    unsigned max_sessions = 1000;
    unsigned max_lines = 10000;
    unsigned max_lines_per_user = 100;       // lines one user created that still exist
    unsigned max_members_per_line = 1000;
    unsigned max_pending_invitations_per_user = 100;  // invitations one user has ringing
    unsigned max_blocked_per_user = 1000;  // users one user may block
    unsigned max_occupants_per_line = 100;
    unsigned max_signal_bytes = 16384;  // a `signal`'s data, serialized
    unsigned requests_per_second = 50;  // per session, sustained
    unsigned request_burst = 100;       // per session, at once
    unsigned keepalives_per_second = 10;  // per session, sustained, in bursts of twice as many
    unsigned request_bytes_per_second = 262144;  // per session, sustained: large messages cost their size
    unsigned request_burst_bytes = 1048576;      // per session, at once
    // Shared by every session of one user, or from one remote address (so
    // reconnecting refills nothing), in bursts of twice as many; 0: no limit.
    unsigned user_connects_per_second = 5;       // WebSocket connects; more are closed with 4009
    unsigned address_connects_per_second = 200;
    unsigned user_requests_per_second = 100;     // requests; more get 429
    unsigned address_requests_per_second = 2000;
  } limits;

  struct Plugins {
    std::vector<std::string> folders;  // empty: the installed plugin folder, then the build tree's
    std::vector<std::string> enabled;  // names to load; empty: every plugin found
    unsigned max_message_bytes = 16384;
    unsigned max_handles_per_session = 16;
    std::string line_mixer = "audiobridge";  // the plugin that mixes lines of mixed audio (API 1.4)
    PluginConfigs config;
  } plugins;
};

// Overlays the JSON object on `config`. Unknown keys and wrong types are
// errors naming the key path (a typo must not be silently ignored).
Status apply_config_json(Config& config, const json_t* root);
Status apply_config_file(Config& config, const std::string& path);
// PARTYLINE_HTTP_BIND, PARTYLINE_HTTP_PORT, PARTYLINE_WEB_ROOT,
// PARTYLINE_LOG_LEVEL, PARTYLINE_WORKERS, PARTYLINE_JWT_SECRET, PARTYLINE_PUBLIC_IP,
// PARTYLINE_ICE_ADDRESSES, PARTYLINE_ICE_ALLOWED_NETWORKS, PARTYLINE_PLUGIN_FOLDERS
// (comma lists), PARTYLINE_ADMIN_BIND, PARTYLINE_ADMIN_PORT, PARTYLINE_ADMIN_TOKEN.
// `getenv` is injectable for tests.
Status apply_config_environment(Config& config, const char* (*getenv_fn)(const char*));
// Cross-field checks (port ranges, files given in pairs, CIDR syntax, a token
// for an admin listener reachable from elsewhere than loopback).
Status validate_config(const Config& config);

JsonPtr config_to_json(const Config& config);

// A room id (lines.rooms[].id, signaling.peers_room): 1 to 64 letters,
// digits, '.', '_', '-' (what URLs and the protocol carry unescaped).
bool is_room_id(std::string_view id);

}  // namespace partyline::core
