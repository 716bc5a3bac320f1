// DirectUdpPath: media sent straight on the UDP socket of the selected ICE
// pair, around libnice's send.
//
// nice_agent_send costs about 0.45 us per packet on top of the kernel's
// sendmsg (the agent's mutex, the stream and component lookups, GSocket's
// address conversion: ../shared/PERFORMANCE.md). An SFU sends every packet
// once per subscriber, so that is paid N times per received packet. libnice
// documents nice_agent_get_selected_socket for applications that send
// themselves; the agent keeps owning the socket, receiving on it and running
// consent freshness on it. So the path is only valid while the agent says the
// pair is selected and consented: IceAgent drops it on a new selected pair,
// on failure (consent expired) and on close. A relayed (TURN) pair has no
// socket of its own, and media then goes through libnice as before.
#pragma once

#include <gio/gio.h>
#include <nice/agent.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

namespace partyline::ice {

class DirectUdpPath {
 public:
  // The selected pair's local socket and remote address, or nullopt when the
  // pair is relayed, not UDP, or libnice gives no socket.
  static std::optional<DirectUdpPath> for_selected_pair(NiceAgent* agent, guint stream_id,
                                                        guint component_id,
                                                        const NiceCandidate& remote);

  // One datagram, never blocking. False when the kernel refused it (socket
  // buffer full, unreachable): the caller counts the drop.
  bool send(std::span<const uint8_t> datagram) const;

 private:
  struct SocketUnref {
    void operator()(GSocket* socket) const { g_object_unref(socket); }
  };

  DirectUdpPath(GSocket* socket, const sockaddr_storage& peer, socklen_t peer_length);

  // Held so the descriptor stays open even if libnice drops the socket before
  // IceAgent hears of it.
  std::unique_ptr<GSocket, SocketUnref> socket_;
  int fd_ = -1;
  sockaddr_storage peer_{};
  socklen_t peer_length_ = 0;
};

}  // namespace partyline::ice
