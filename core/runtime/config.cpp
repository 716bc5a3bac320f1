#include "core/runtime/config.hpp"

#include <arpa/inet.h>

#include <algorithm>

#include <cstdlib>
#include <functional>
#include <limits>
#include <utility>
#include <set>
#include <variant>

#include "core/runtime/log.hpp"

namespace partyline::core {

namespace {

// Every configurable value is one of these; a table of (key, pointer) pairs
// describes each JSON object, so reading, printing and checking share it.
using FieldRef = std::variant<std::string*, bool*, uint16_t*, unsigned*, size_t*, std::vector<std::string>*,
                              std::vector<TurnServerConfig>*, std::vector<RoomConfig>*, PluginConfigs*>;
using FieldTable = std::vector<std::pair<const char*, FieldRef>>;

Error config_error(const std::string& path, const std::string& what) {
  return make_error(error_code::kBadRequest, "config: '" + path + "' " + what);
}

Status read_unsigned(const json_t* value, const std::string& path, unsigned long long max, unsigned long long& out) {
  if (!json_is_integer(value) || json_integer_value(value) < 0 ||
      static_cast<unsigned long long>(json_integer_value(value)) > max) {
    return config_error(path, "must be an integer from 0 to " + std::to_string(max));
  }
  out = static_cast<unsigned long long>(json_integer_value(value));
  return {};
}

Status read_string_list(const json_t* value, const std::string& path, std::vector<std::string>& out) {
  if (!json_is_array(value)) return config_error(path, "must be an array of strings");
  std::vector<std::string> items;
  size_t index;
  json_t* item;
  json_array_foreach(value, index, item) {
    if (!json_is_string(item)) return config_error(path + "[" + std::to_string(index) + "]", "must be a string");
    items.emplace_back(json_string_value(item));
  }
  out = std::move(items);
  return {};
}

FieldTable turn_fields(TurnServerConfig& turn);
FieldTable room_fields(RoomConfig& room);
template <class Item>
Status read_object_list(const json_t* value, const std::string& path, std::vector<Item>& out);

Status read_field(const json_t* value, const std::string& path, FieldRef field) {
  return std::visit(
      [&](auto* target) -> Status {
        using Target = std::remove_pointer_t<decltype(target)>;
        if constexpr (std::is_same_v<Target, std::string>) {
          if (!json_is_string(value)) return config_error(path, "must be a string");
          *target = json_string_value(value);
        } else if constexpr (std::is_same_v<Target, bool>) {
          if (!json_is_boolean(value)) return config_error(path, "must be true or false");
          *target = json_is_true(value);
        } else if constexpr (std::is_same_v<Target, std::vector<std::string>>) {
          return read_string_list(value, path, *target);
        } else if constexpr (std::is_same_v<Target, std::vector<TurnServerConfig>> ||
                             std::is_same_v<Target, std::vector<RoomConfig>>) {
          return read_object_list(value, path, *target);
        } else if constexpr (std::is_same_v<Target, PluginConfigs>) {
          if (!json_is_object(value)) return config_error(path, "must be an object of plugin names");
          PluginConfigs sections;
          const char* name;
          json_t* section;
          json_object_foreach(const_cast<json_t*>(value), name, section) {
            if (!json_is_object(section)) return config_error(path + "." + name, "must be an object");
            sections[name] = dump_json(section);
          }
          *target = std::move(sections);
        } else {
          unsigned long long number = 0;
          if (auto status = read_unsigned(value, path, std::numeric_limits<Target>::max(), number); !status) {
            return status;
          }
          *target = static_cast<Target>(number);
        }
        return {};
      },
      field);
}

Status read_object(const json_t* object, const std::string& path, const FieldTable& fields) {
  if (!json_is_object(object)) return config_error(path, "must be an object");
  const char* key;
  json_t* value;
  json_object_foreach(const_cast<json_t*>(object), key, value) {
    std::string key_path = path.empty() ? key : path + "." + key;
    auto field = std::find_if(fields.begin(), fields.end(), [&](const auto& entry) { return entry.first == std::string_view(key); });
    if (field == fields.end()) return config_error(key_path, "is not a known setting");
    if (auto status = read_field(value, key_path, field->second); !status) return status;
  }
  return {};
}

FieldTable turn_fields(TurnServerConfig& turn) {
  return {{"host", &turn.host}, {"port", &turn.port}, {"username", &turn.username}, {"password", &turn.password}};
}

FieldTable room_fields(RoomConfig& room) {
  return {{"id", &room.id}, {"members", &room.members}, {"token", &room.token}, {"open", &room.open}};
}

FieldTable item_fields(TurnServerConfig& turn) { return turn_fields(turn); }
FieldTable item_fields(RoomConfig& room) { return room_fields(room); }

// An array of objects, each read with its own field table.
template <class Item>
Status read_object_list(const json_t* value, const std::string& path, std::vector<Item>& out) {
  if (!json_is_array(value)) return config_error(path, "must be an array of objects");
  std::vector<Item> items;
  size_t index;
  json_t* element;
  json_array_foreach(value, index, element) {
    Item item;
    if (auto status = read_object(element, path + "[" + std::to_string(index) + "]", item_fields(item)); !status) {
      return status;
    }
    items.push_back(std::move(item));
  }
  out = std::move(items);
  return {};
}

// The sections of the file; top-level scalars are listed under "".
std::vector<std::pair<std::string, FieldTable>> config_sections(Config& config) {
  return {
      {"", {{"log_level", &config.log_level}, {"workers", &config.workers}}},
      {"http",
       {{"bind", &config.http.bind_address},
        {"port", &config.http.port},
        {"web_root", &config.http.web_root},
        {"max_connections", &config.http.max_connections},
        {"max_connections_per_address", &config.http.max_connections_per_address},
        {"header_timeout_ms", &config.http.header_timeout_ms},
        {"tls_certificate", &config.http.tls_certificate_file},
        {"tls_private_key", &config.http.tls_private_key_file}}},
      {"admin",
       {{"bind", &config.admin.bind_address},
        {"port", &config.admin.port},
        {"token", &config.admin.token},
        {"tls_certificate", &config.admin.tls_certificate_file},
        {"tls_private_key", &config.admin.tls_private_key_file}}},
      {"webhooks",
       {{"urls", &config.webhooks.urls},
        {"secret", &config.webhooks.secret},
        {"queue_size", &config.webhooks.queue_size},
        {"max_attempts", &config.webhooks.max_attempts},
        {"retry_delay_ms", &config.webhooks.retry_delay_ms},
        {"timeout_ms", &config.webhooks.timeout_ms}}},
      {"signaling",
       {{"max_message_bytes", &config.signaling.max_message_bytes},
        {"max_queued_bytes", &config.signaling.max_queued_bytes},
        {"max_queued_messages", &config.signaling.max_queued_messages},
        {"ping_interval_ms", &config.signaling.ping_interval_ms},
        {"idle_timeout_ms", &config.signaling.idle_timeout_ms},
        {"keepalive_interval_ms", &config.signaling.keepalive_interval_ms},
        {"resume_grace_ms", &config.signaling.resume_grace_ms},
        {"signalr_hub_path", &config.signaling.signalr_hub_path},
        {"lines_path", &config.signaling.lines_path},
        {"chat_realtime_paths", &config.signaling.chat_realtime_paths},
        {"peers_path", &config.signaling.peers_path},
        {"peers_room", &config.signaling.peers_room},
        {"verto_path", &config.signaling.verto_path}}},
      {"ice",
       {{"addresses", &config.ice.addresses},
        {"allow_loopback", &config.ice.allow_loopback},
        {"public_ip", &config.ice.public_ip},
        {"stun_server", &config.ice.stun_server},
        {"turn_servers", &config.ice.turn_servers},
        {"allowed_remote_networks", &config.ice.allowed_remote_networks},
        {"setup_timeout_ms", &config.ice.setup_timeout_ms},
        {"udp_port", &config.ice.udp_port}}},
      {"media", {{"start_bitrate_kbps", &config.media.start_bitrate_kbps}, {"video_codecs", &config.media.video_codecs}}},
      {"dtls", {{"certificate", &config.dtls.certificate_file}, {"private_key", &config.dtls.private_key_file}}},
      {"auth",
       {{"jwt_secret", &config.auth.jwt_secret},
        {"jwt_issuer", &config.auth.jwt_issuer},
        {"allow_anonymous", &config.auth.allow_anonymous},
        {"sessions_per_user", &config.auth.sessions_per_user}}},
      {"lines",
       {{"ring_timeout_ms", &config.lines.ring_timeout_ms},
        {"idle_timeout_ms", &config.lines.idle_timeout_ms},
        {"occupants_interval_ms", &config.lines.occupants_interval_ms},
        {"speech_level_dbov", &config.lines.speech_level_dbov},
        {"last_n", &config.lines.last_n},
        {"rooms", &config.lines.rooms}}},
      {"limits",
       {{"max_sessions", &config.limits.max_sessions},
        {"max_lines", &config.limits.max_lines},
        {"max_lines_per_user", &config.limits.max_lines_per_user},
        {"max_members_per_line", &config.limits.max_members_per_line},
        {"max_pending_invitations_per_user", &config.limits.max_pending_invitations_per_user},
        {"max_blocked_per_user", &config.limits.max_blocked_per_user},
        {"max_occupants_per_line", &config.limits.max_occupants_per_line},
        {"max_signal_bytes", &config.limits.max_signal_bytes},
        {"requests_per_second", &config.limits.requests_per_second},
        {"request_burst", &config.limits.request_burst},
        {"keepalives_per_second", &config.limits.keepalives_per_second},
        {"request_bytes_per_second", &config.limits.request_bytes_per_second},
        {"request_burst_bytes", &config.limits.request_burst_bytes},
        {"user_connects_per_second", &config.limits.user_connects_per_second},
        {"address_connects_per_second", &config.limits.address_connects_per_second},
        {"user_requests_per_second", &config.limits.user_requests_per_second},
        {"address_requests_per_second", &config.limits.address_requests_per_second}}},
      {"plugins",
       {{"folders", &config.plugins.folders},
        {"enabled", &config.plugins.enabled},
        {"max_message_bytes", &config.plugins.max_message_bytes},
        {"max_handles_per_session", &config.plugins.max_handles_per_session},
        {"line_mixer", &config.plugins.line_mixer},
        {"config", &config.plugins.config}}},
  };
}

JsonPtr field_to_json(FieldRef field) {
  return std::visit(
      [](auto* target) -> JsonPtr {
        using Target = std::remove_pointer_t<decltype(target)>;
        if constexpr (std::is_same_v<Target, std::string>) {
          return adopt_json(json_string(target->c_str()));
        } else if constexpr (std::is_same_v<Target, bool>) {
          return adopt_json(json_boolean(*target));
        } else if constexpr (std::is_same_v<Target, std::vector<std::string>>) {
          JsonPtr array = adopt_json(json_array());
          for (const auto& item : *target) json_array_append_new(array.get(), json_string(item.c_str()));
          return array;
        } else if constexpr (std::is_same_v<Target, std::vector<TurnServerConfig>> ||
                             std::is_same_v<Target, std::vector<RoomConfig>>) {
          JsonPtr array = adopt_json(json_array());
          for (auto item : *target) {
            JsonPtr object = adopt_json(json_object());
            for (const auto& [key, item_field] : item_fields(item)) {
              // Never print secrets in --print-config output.
              auto* text = std::get_if<std::string*>(&item_field);
              const bool secret = (std::string_view(key) == "password" || std::string_view(key) == "token") &&
                                  text != nullptr && !(*text)->empty();
              JsonPtr value = secret ? adopt_json(json_string("********")) : field_to_json(item_field);
              json_object_set_new(object.get(), key, value.release());
            }
            json_array_append_new(array.get(), object.release());
          }
          return array;
        } else if constexpr (std::is_same_v<Target, PluginConfigs>) {
          // A plugin's section may hold its secrets: --print-config shows
          // which plugins are configured, not how.
          JsonPtr object = adopt_json(json_object());
          for (const auto& [name, section] : *target) {
            json_object_set_new(object.get(), name.c_str(), json_pack("{s:s}", "(redacted)", "********"));
          }
          return object;
        } else {
          return adopt_json(json_integer(static_cast<json_int_t>(*target)));
        }
      },
      field);
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    if (!item.empty()) items.push_back(item);
    start = comma + 1;
  }
  return items;
}

bool is_ip_address(const std::string& text) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 || inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

// 127.0.0.0/8 or ::1: only this host can connect.
bool is_loopback_address(const std::string& text) {
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, text.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

Status validate_cidr(const std::string& cidr, const std::string& path) {
  size_t slash = cidr.find('/');
  std::string address = cidr.substr(0, slash);
  if (!is_ip_address(address)) return config_error(path, "'" + cidr + "' is not an address or CIDR network");
  if (slash == std::string::npos) return {};
  const std::string bits = cidr.substr(slash + 1);
  const int max_bits = address.find(':') == std::string::npos ? 32 : 128;
  char* end = nullptr;
  long value = std::strtol(bits.c_str(), &end, 10);
  if (bits.empty() || *end != '\0' || value < 0 || value > max_bits) {
    return config_error(path, "'" + cidr + "' has a bad prefix length");
  }
  return {};
}

}  // namespace

Status apply_config_json(Config& config, const json_t* root) {
  if (!json_is_object(root)) return config_error("", "the file must hold a JSON object");
  auto sections = config_sections(config);
  const char* key;
  json_t* value;
  json_object_foreach(const_cast<json_t*>(root), key, value) {
    auto section = std::find_if(sections.begin(), sections.end(), [&](const auto& s) { return s.first == key; });
    if (section != sections.end()) {
      if (auto status = read_object(value, key, section->second); !status) return status;
      continue;
    }
    JsonPtr single = adopt_json(json_object());
    json_object_set(single.get(), key, value);
    if (auto status = read_object(single.get(), "", sections.front().second); !status) return status;
  }
  return {};
}

Status apply_config_file(Config& config, const std::string& path) {
  json_error_t error{};
  JsonPtr root(json_load_file(path.c_str(), JSON_REJECT_DUPLICATES, &error));
  if (!root) {
    return make_error(error_code::kBadRequest, "config file " + path + ": line " + std::to_string(error.line) +
                                                   ", column " + std::to_string(error.column) + ": " + error.text);
  }
  return apply_config_json(config, root.get());
}

Status apply_config_environment(Config& config, const char* (*getenv_fn)(const char*)) {
  struct Override {
    const char* variable;
    const char* path;
    std::function<Status(const std::string&)> apply;
  };
  auto port_setter = [](const char* variable, uint16_t& target) {
    return [variable, &target](const std::string& text) -> Status {
      char* end = nullptr;
      long port = std::strtol(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0' || port < 0 || port > 65535) {
        return config_error(variable, "must be a port number from 0 to 65535");
      }
      target = static_cast<uint16_t>(port);
      return {};
    };
  };
  auto set_port = port_setter("PARTYLINE_HTTP_PORT", config.http.port);
  auto set_workers = [&](const std::string& text) -> Status {
    char* end = nullptr;
    long workers = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || workers < 0 || workers > 64) {
      return config_error("PARTYLINE_WORKERS", "must be a number from 0 to 64");
    }
    config.workers = static_cast<unsigned>(workers);
    return {};
  };
  const Override overrides[] = {
      {"PARTYLINE_HTTP_BIND", "http.bind", [&](const std::string& v) { config.http.bind_address = v; return Status{}; }},
      {"PARTYLINE_HTTP_PORT", "http.port", set_port},
      {"PARTYLINE_WEB_ROOT", "http.web_root", [&](const std::string& v) { config.http.web_root = v; return Status{}; }},
      {"PARTYLINE_LOG_LEVEL", "log_level", [&](const std::string& v) { config.log_level = v; return Status{}; }},
      {"PARTYLINE_WORKERS", "workers", set_workers},
      {"PARTYLINE_JWT_SECRET", "auth.jwt_secret", [&](const std::string& v) { config.auth.jwt_secret = v; return Status{}; }},
      {"PARTYLINE_PUBLIC_IP", "ice.public_ip", [&](const std::string& v) { config.ice.public_ip = v; return Status{}; }},
      {"PARTYLINE_ICE_ADDRESSES", "ice.addresses",
       [&](const std::string& v) { config.ice.addresses = split_list(v); return Status{}; }},
      {"PARTYLINE_ICE_UDP_PORT", "ice.udp_port", port_setter("PARTYLINE_ICE_UDP_PORT", config.ice.udp_port)},
      {"PARTYLINE_ICE_ALLOWED_NETWORKS", "ice.allowed_remote_networks",
       [&](const std::string& v) { config.ice.allowed_remote_networks = split_list(v); return Status{}; }},
      {"PARTYLINE_PLUGIN_FOLDERS", "plugins.folders",
       [&](const std::string& v) { config.plugins.folders = split_list(v); return Status{}; }},
      {"PARTYLINE_ADMIN_BIND", "admin.bind", [&](const std::string& v) { config.admin.bind_address = v; return Status{}; }},
      {"PARTYLINE_ADMIN_PORT", "admin.port", port_setter("PARTYLINE_ADMIN_PORT", config.admin.port)},
      {"PARTYLINE_ADMIN_TOKEN", "admin.token", [&](const std::string& v) { config.admin.token = v; return Status{}; }},
  };
  for (const auto& override : overrides) {
    const char* value = getenv_fn(override.variable);
    if (value == nullptr) continue;
    if (auto status = override.apply(value); !status) return status;
  }
  return {};
}

namespace {

// Single-port mode advertises host candidates on the one port and nothing
// else (an ICE-lite agent gathers no server-reflexive or relayed ones).
Status validate_single_port(const Config::Ice& ice) {
  if (ice.udp_port == 0) return {};
  if (ice.addresses.empty() && ice.public_ip.empty()) {
    return config_error("ice.udp_port", "single-port mode needs ice.addresses (or ice.public_ip) to advertise");
  }
  for (const std::string& address : ice.addresses) {
    if (address.find(':') != std::string::npos) {
      return config_error("ice.udp_port", "single-port mode serves IPv4 only; '" + address + "' in ice.addresses is IPv6");
    }
  }
  if (!ice.stun_server.empty() || !ice.turn_servers.empty()) {
    return config_error("ice.udp_port", "single-port mode gathers host candidates only: leave ice.stun_server and "
                                        "ice.turn_servers empty (behind a 1:1 NAT, set ice.public_ip)");
  }
  return {};
}

}  // namespace

Status validate_config(const Config& config) {
  if (auto level = parse_log_level(config.log_level); !level) return config_error("log_level", level.error().message);
  if (config.http.max_connections < 16) return config_error("http.max_connections", "must be at least 16");
  // Every WebSocket session is one of the connections, and plain HTTP gets
  // what the sessions leave (signaling_server.cpp).
  if (config.http.max_connections <= config.limits.max_sessions) {
    return config_error("http.max_connections", "must be more than limits.max_sessions (each session is a connection)");
  }
  if (config.http.header_timeout_ms < 100) return config_error("http.header_timeout_ms", "must be at least 100");
  if (config.signaling.max_message_bytes < 1024) return config_error("signaling.max_message_bytes", "must be at least 1024");
  if (config.signaling.max_queued_bytes < config.signaling.max_message_bytes) {
    return config_error("signaling.max_queued_bytes", "must be at least signaling.max_message_bytes");
  }
  if (config.signaling.max_queued_messages < 16) {
    return config_error("signaling.max_queued_messages", "must be at least 16");
  }
  // An adapter's path: empty (off) or a path of its own.
  auto bad_path = [](const std::string& path) {
    return !path.empty() && (path.size() < 2 || path.front() != '/' || path.back() == '/' || path == "/ws" ||
                             path.find_first_of("?#% ") != std::string::npos);
  };
  if (bad_path(config.signaling.signalr_hub_path)) {
    return config_error("signaling.signalr_hub_path", "'" + config.signaling.signalr_hub_path +
                                                          "' must be empty (off) or a path like /hubs/webrtc, other than /ws");
  }
  if (bad_path(config.signaling.lines_path)) {
    return config_error("signaling.lines_path", "'" + config.signaling.lines_path +
                                                    "' must be empty (off) or a path like /signaling/v1, other than /ws");
  }
  if (!config.signaling.lines_path.empty() && config.signaling.lines_path == config.signaling.signalr_hub_path) {
    return config_error("signaling.lines_path", "must differ from signaling.signalr_hub_path");
  }
  for (size_t index = 0; index < config.signaling.chat_realtime_paths.size(); ++index) {
    const std::string& prefix = config.signaling.chat_realtime_paths[index];
    if (prefix.size() < 3 || prefix.front() != '/' || prefix.back() != '/' || prefix == "/ws/" ||
        prefix.find_first_of("?#% ") != std::string::npos) {
      return config_error("signaling.chat_realtime_paths[" + std::to_string(index) + "]",
                          "'" + prefix + "' must be a path prefix like /api/chat/realtime/ (ending with '/')");
    }
  }
  if (bad_path(config.signaling.peers_path)) {
    return config_error("signaling.peers_path", "'" + config.signaling.peers_path +
                                                    "' must be empty (off) or a path like /peers, other than /ws");
  }
  if (!config.signaling.peers_path.empty() && (config.signaling.peers_path == config.signaling.signalr_hub_path ||
                                               config.signaling.peers_path == config.signaling.lines_path)) {
    return config_error("signaling.peers_path", "must differ from the other adapters' paths");
  }
  if (bad_path(config.signaling.verto_path)) {
    return config_error("signaling.verto_path", "'" + config.signaling.verto_path +
                                                    "' must be empty (off) or a path like /verto, other than /ws");
  }
  if (!config.signaling.verto_path.empty() && (config.signaling.verto_path == config.signaling.signalr_hub_path ||
                                               config.signaling.verto_path == config.signaling.lines_path ||
                                               config.signaling.verto_path == config.signaling.peers_path)) {
    return config_error("signaling.verto_path", "must differ from the other adapters' paths");
  }
  if (!config.signaling.peers_path.empty() && !is_room_id(config.signaling.peers_room)) {
    return config_error("signaling.peers_room", "must be a room id: 1 to 64 letters, digits, '.', '_', '-'");
  }
  std::set<std::string> room_ids;
  for (size_t index = 0; index < config.lines.rooms.size(); ++index) {
    const RoomConfig& room = config.lines.rooms[index];
    const std::string path = "lines.rooms[" + std::to_string(index) + "]";
    if (!is_room_id(room.id)) return config_error(path + ".id", "must be 1 to 64 letters, digits, '.', '_', '-'");
    if (!room_ids.insert(room.id).second) return config_error(path + ".id", "'" + room.id + "' is declared twice");
    for (const std::string& member : room.members) {
      if (member.empty() || member.size() > 128) return config_error(path + ".members", "must be user ids of 1 to 128 bytes");
    }
    if (room.members.size() > config.limits.max_members_per_line) {
      return config_error(path + ".members", "has more than limits.max_members_per_line");
    }
  }
  if (config.signaling.keepalive_interval_ms < 100) {
    return config_error("signaling.keepalive_interval_ms", "must be at least 100");
  }
  // A day at most: a detached session holds its line seat and PeerConnection.
  if (config.signaling.resume_grace_ms > 86400000) {
    return config_error("signaling.resume_grace_ms", "must be at most 86400000 (a day)");
  }
  if (config.signaling.ping_interval_ms < 100) return config_error("signaling.ping_interval_ms", "must be at least 100");
  if (config.signaling.idle_timeout_ms <= config.signaling.ping_interval_ms) {
    return config_error("signaling.idle_timeout_ms", "must be longer than signaling.ping_interval_ms");
  }
  for (size_t i = 0; i < config.ice.addresses.size(); ++i) {
    if (!is_ip_address(config.ice.addresses[i])) {
      return config_error("ice.addresses[" + std::to_string(i) + "]", "'" + config.ice.addresses[i] + "' is not an IP address");
    }
  }
  if (!config.ice.public_ip.empty() && !is_ip_address(config.ice.public_ip)) {
    return config_error("ice.public_ip", "'" + config.ice.public_ip + "' is not an IP address");
  }
  if (auto status = validate_single_port(config.ice); !status) return status;
  for (size_t i = 0; i < config.ice.allowed_remote_networks.size(); ++i) {
    if (auto status = validate_cidr(config.ice.allowed_remote_networks[i],
                                    "ice.allowed_remote_networks[" + std::to_string(i) + "]");
        !status) {
      return status;
    }
  }
  if (config.dtls.certificate_file.empty() != config.dtls.private_key_file.empty()) {
    return config_error("dtls", "certificate and private_key must be given together");
  }
  if (config.http.tls_certificate_file.empty() != config.http.tls_private_key_file.empty()) {
    return config_error("http", "tls_certificate and tls_private_key must be given together");
  }
  if (config.admin.tls_certificate_file.empty() != config.admin.tls_private_key_file.empty()) {
    return config_error("admin", "tls_certificate and tls_private_key must be given together");
  }
  for (size_t i = 0; i < config.webhooks.urls.size(); ++i) {
    const std::string& url = config.webhooks.urls[i];
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
      return config_error("webhooks.urls[" + std::to_string(i) + "]", "'" + url + "' is not an http(s) URL");
    }
  }
  if (!config.webhooks.urls.empty() && config.webhooks.secret.empty()) {
    return config_error("webhooks.secret", "must be set when webhooks.urls are (receivers check the signature)");
  }
  if (config.webhooks.queue_size == 0) return config_error("webhooks.queue_size", "must be at least 1");
  if (config.webhooks.max_attempts == 0) return config_error("webhooks.max_attempts", "must be at least 1");
  if (config.webhooks.timeout_ms == 0) return config_error("webhooks.timeout_ms", "must be at least 1");
  if (config.limits.max_sessions == 0) return config_error("limits.max_sessions", "must be at least 1");
  if (config.limits.max_lines == 0) return config_error("limits.max_lines", "must be at least 1");
  if (config.limits.max_lines_per_user == 0) return config_error("limits.max_lines_per_user", "must be at least 1");
  if (config.limits.max_members_per_line < 2) return config_error("limits.max_members_per_line", "must be at least 2");
  if (config.limits.max_blocked_per_user == 0) return config_error("limits.max_blocked_per_user", "must be at least 1");
  if (config.limits.max_pending_invitations_per_user == 0) {
    return config_error("limits.max_pending_invitations_per_user", "must be at least 1");
  }
  // The forwarding plane keeps one bit per worker (core/media/media_router.hpp).
  if (config.workers > 64) return config_error("workers", "must be from 0 to 64");
  if (config.limits.max_occupants_per_line < 2) {
    return config_error("limits.max_occupants_per_line", "must be at least 2");
  }
  if (config.limits.requests_per_second == 0) return config_error("limits.requests_per_second", "must be at least 1");
  if (config.limits.request_bytes_per_second == 0) {
    return config_error("limits.request_bytes_per_second", "must be at least 1");
  }
  if (config.limits.request_burst_bytes < config.signaling.max_message_bytes) {
    return config_error("limits.request_burst_bytes", "must be at least signaling.max_message_bytes");
  }
  if (config.limits.keepalives_per_second == 0) {
    return config_error("limits.keepalives_per_second", "must be at least 1");
  }
  if (config.limits.request_burst < config.limits.requests_per_second) {
    return config_error("limits.request_burst", "must be at least limits.requests_per_second");
  }
  if (config.lines.ring_timeout_ms < 100) return config_error("lines.ring_timeout_ms", "must be at least 100");
  // Longer, and occupants would look at a stale list for that long.
  if (config.lines.occupants_interval_ms > 5000) {
    return config_error("lines.occupants_interval_ms", "must be from 0 to 5000");
  }
  if (config.media.video_codecs.empty()) return config_error("media.video_codecs", "must name at least one codec");
  for (size_t i = 0; i < config.media.video_codecs.size(); ++i) {
    const std::string& name = config.media.video_codecs[i];
    if (name != "VP8" && name != "H264") {
      return config_error("media.video_codecs[" + std::to_string(i) + "]", "must be \"VP8\" or \"H264\"");
    }
    if (std::count(config.media.video_codecs.begin(), config.media.video_codecs.end(), name) > 1) {
      return config_error("media.video_codecs", "names " + name + " twice");
    }
  }
  if (config.lines.speech_level_dbov > 127) return config_error("lines.speech_level_dbov", "must be from 0 to 127");
  if (config.lines.last_n > config.limits.max_occupants_per_line) {
    return config_error("lines.last_n", "must be from 0 to limits.max_occupants_per_line");
  }
  if (config.plugins.max_message_bytes < 64) return config_error("plugins.max_message_bytes", "must be at least 64");
  if (config.plugins.max_handles_per_session == 0) {
    return config_error("plugins.max_handles_per_session", "must be at least 1");
  }
  if (!is_ip_address(config.admin.bind_address)) {
    return config_error("admin.bind", "'" + config.admin.bind_address + "' is not an IP address");
  }
  // The admin API can kick anyone and close any line: reachable from other
  // hosts, it must ask for a token.
  if (config.admin.token.empty() && !is_loopback_address(config.admin.bind_address)) {
    return config_error("admin.token", "must be set when admin.bind (" + config.admin.bind_address +
                                           ") is not a loopback address: anyone who reaches the port could kick "
                                           "participants");
  }
  if (config.admin.port != 0 && config.admin.port == config.http.port &&
      config.admin.bind_address == config.http.bind_address) {
    return config_error("admin.port", "must differ from http.port on the same address");
  }
  if (config.auth.sessions_per_user != "many" && config.auth.sessions_per_user != "one") {
    return config_error("auth.sessions_per_user", "must be \"many\" or \"one\"");
  }
  if (config.limits.max_signal_bytes < 64) return config_error("limits.max_signal_bytes", "must be at least 64");
  if (!config.auth.allow_anonymous && config.auth.jwt_secret.empty()) {
    return config_error("auth", "with allow_anonymous off, jwt_secret must be set (nobody could connect)");
  }
  return {};
}

bool is_room_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

JsonPtr config_to_json(const Config& config) {
  Config copy = config;  // the field table needs mutable pointers
  if (!copy.auth.jwt_secret.empty()) copy.auth.jwt_secret = "********";  // never print secrets
  if (!copy.admin.token.empty()) copy.admin.token = "********";
  if (!copy.webhooks.secret.empty()) copy.webhooks.secret = "********";
  JsonPtr root = adopt_json(json_object());
  for (const auto& [section, fields] : config_sections(copy)) {
    json_t* target = root.get();
    if (!section.empty()) {
      json_object_set_new(root.get(), section.c_str(), json_object());
      target = json_object_get(root.get(), section.c_str());
    }
    for (const auto& [key, field] : fields) json_object_set_new(target, key, field_to_json(field).release());
  }
  return root;
}

}  // namespace partyline::core
