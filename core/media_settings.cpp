#include "core/media_settings.hpp"

namespace partyline::core {

PeerConnectionSettings make_peer_connection_settings(const Config& config,
                                                     std::shared_ptr<const ice::Certificate> certificate) {
  PeerConnectionSettings settings;
  settings.certificate = std::move(certificate);
  ice::IceConfig& ice = settings.ice;
  ice.local_addresses = config.ice.addresses;
  ice.allow_loopback = config.ice.allow_loopback;
  ice.public_ip = config.ice.public_ip;
  ice.stun_server = config.ice.stun_server;
  for (const auto& turn : config.ice.turn_servers) {
    ice.turn_servers.push_back(ice::TurnServer{turn.host, turn.port, turn.username, turn.password, true});
  }
  ice.allowed_remote_networks = config.ice.allowed_remote_networks;
  return settings;
}

}  // namespace partyline::core
