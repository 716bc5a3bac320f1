#include "core/media/media_settings.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <memory>

namespace partyline::core {

namespace {

struct AddrinfoDeleter {
  void operator()(addrinfo* list) const { freeaddrinfo(list); }
};

// An IP address for `host` (returned unchanged when it already is one).
Result<std::string> resolve(const std::string& host, const std::string& setting) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* raw = nullptr;
  if (int status = getaddrinfo(host.c_str(), nullptr, &hints, &raw); status != 0) {
    return make_error(error_code::kBadRequest, "config: '" + setting + "' host '" + host + "' does not resolve: " +
                                                   gai_strerror(status));
  }
  std::unique_ptr<addrinfo, AddrinfoDeleter> list(raw);
  char address[NI_MAXHOST];
  if (getnameinfo(list->ai_addr, list->ai_addrlen, address, sizeof address, nullptr, 0, NI_NUMERICHOST) != 0) {
    return make_error(error_code::kBadRequest, "config: '" + setting + "' host '" + host + "' has no usable address");
  }
  return std::string(address);
}

// "host:port" with the host resolved; IPv6 literals may be bracketed.
Result<std::string> resolve_host_port(const std::string& host_port, const std::string& setting) {
  const size_t colon = host_port.rfind(':');
  if (colon == std::string::npos || colon + 1 == host_port.size()) {
    return make_error(error_code::kBadRequest, "config: '" + setting + "' must be host:port");
  }
  std::string host = host_port.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  auto address = resolve(host, setting);
  if (!address) return address.error();
  const bool ipv6 = address->find(':') != std::string::npos;
  return (ipv6 ? "[" + *address + "]" : *address) + host_port.substr(colon);
}

}  // namespace

Result<PeerConnectionSettings> make_peer_connection_settings(const Config& config,
                                                             std::shared_ptr<const ice::Certificate> certificate) {
  PeerConnectionSettings settings;
  settings.certificate = std::move(certificate);
  ice::IceConfig& ice = settings.ice;
  ice.local_addresses = config.ice.addresses;
  ice.allow_loopback = config.ice.allow_loopback;
  ice.public_ip = config.ice.public_ip;
  if (!config.ice.stun_server.empty()) {
    auto stun = resolve_host_port(config.ice.stun_server, "ice.stun_server");
    if (!stun) return stun.error();
    ice.stun_server = std::move(stun.value());
  }
  for (size_t i = 0; i < config.ice.turn_servers.size(); ++i) {
    const TurnServerConfig& turn = config.ice.turn_servers[i];
    auto host = resolve(turn.host, "ice.turn_servers[" + std::to_string(i) + "].host");
    if (!host) return host.error();
    ice.turn_servers.push_back(ice::TurnServer{host.value(), turn.port, turn.username, turn.password, true});
  }
  ice.allowed_remote_networks = config.ice.allowed_remote_networks;
  ice.setup_timeout_ms = config.ice.setup_timeout_ms;
  settings.video_start_bitrate_kbps = config.media.start_bitrate_kbps;
  settings.video_codecs = config.media.video_codecs;
  return settings;
}

}  // namespace partyline::core
