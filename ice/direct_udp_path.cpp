#include "ice/direct_udp_path.hpp"

#include <netinet/in.h>


namespace partyline::ice {

std::optional<DirectUdpPath> DirectUdpPath::for_selected_pair(NiceAgent* agent, guint stream_id,
                                                              guint component_id,
                                                              const NiceCandidate& remote) {
  if (remote.transport != NICE_CANDIDATE_TRANSPORT_UDP) return std::nullopt;
  // Transfer full: our reference. NULL for a relayed local candidate.
  GSocket* socket = nice_agent_get_selected_socket(agent, stream_id, component_id);
  if (socket == nullptr) return std::nullopt;
  std::unique_ptr<GSocket, SocketUnref> owned(socket);
  if (g_socket_get_socket_type(socket) != G_SOCKET_TYPE_DATAGRAM || g_socket_get_fd(socket) < 0) {
    return std::nullopt;
  }
  sockaddr_storage peer{};
  nice_address_copy_to_sockaddr(&remote.addr, reinterpret_cast<sockaddr*>(&peer));
  socklen_t length = 0;
  switch (peer.ss_family) {
    case AF_INET: length = sizeof(sockaddr_in); break;
    case AF_INET6: length = sizeof(sockaddr_in6); break;
    default: return std::nullopt;
  }
  // The socket's family must match the peer's (libnice pairs them so, but a
  // mismatch would only fail every send).
  const GSocketFamily family = g_socket_get_family(socket);
  if ((family == G_SOCKET_FAMILY_IPV4) != (peer.ss_family == AF_INET)) return std::nullopt;
  return DirectUdpPath(owned.release(), peer, length);
}

DirectUdpPath::DirectUdpPath(GSocket* socket, const sockaddr_storage& peer, socklen_t peer_length)
    : socket_(socket), fd_(g_socket_get_fd(socket)), peer_(peer), peer_length_(peer_length) {}

bool DirectUdpPath::send(std::span<const uint8_t> datagram) const {
  return ::sendto(fd_, datagram.data(), datagram.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                  reinterpret_cast<const sockaddr*>(&peer_), peer_length_) >= 0;
}

}  // namespace partyline::ice
