// IceConfig: how a participant's ICE agent gathers and which remote
// candidates it accepts. Plain data, filled by core/ from the config file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace partyline::ice {

struct TurnServer {
  std::string host;  // an IP address (resolve names when loading the config)
  uint16_t port = 3478;
  std::string username;
  std::string password;
  bool udp = true;  // false: TURN over TCP
};

struct IceConfig {
  // Addresses to gather host candidates on, e.g. {"127.0.0.1"}. Empty: every
  // non-loopback interface libnice finds, plus 127.0.0.1 if allow_loopback.
  std::vector<std::string> local_addresses;
  bool allow_loopback = false;
  // 1:1 NAT (e.g. a cloud VM): advertise host candidates with this address
  // and the gathered port. Empty: advertise what was gathered.
  std::string public_ip;
  // UDP port range for host candidates; 0/0 lets the kernel choose.
  uint16_t port_min = 0;
  uint16_t port_max = 0;
  // "host:port" (host an IP address) or empty for no STUN.
  std::string stun_server;
  std::vector<TurnServer> turn_servers;
  // Remote candidates must lie in one of these networks (CIDR, IPv4 or
  // IPv6, e.g. "127.0.0.0/8", "fd00::/8"); empty accepts any address.
  std::vector<std::string> allowed_remote_networks;
  // partyline serves UDP only: remote TCP candidates are always ignored.
  // The server is the controlled agent because browsers send the offer;
  // tests pairing two partyline agents may set one side controlling.
  bool controlling = false;
  // How long connection set-up may take, from the remote parameters to
  // DTLS-SRTP keys; then the transport fails (0: no limit). Without it, a
  // peer whose candidates lead nowhere stays "checking" for ever.
  uint32_t setup_timeout_ms = 30000;
};

}  // namespace partyline::ice
