// SharedUdpPort: the UDP socket of single-port mode (issue 18) as one
// worker holds it: every worker binds its own socket to the same port
// (SO_REUSEPORT), so the kernel spreads remote addresses over them, and each
// reads its socket in batches (recvmmsg). A datagram goes to the receiver
// (an IceLiteLink) it belongs to: by the source address of a check that
// receiver answered, or, for a check from an address not known yet, by the
// USERNAME's first fragment, the receiver's local ufrag. What no receiver on
// this socket claims goes to `on_unrouted` (the worker pool hands it to the
// worker whose receiver it is), or is dropped and counted.
//
// Runs on the GMainContext given to open(); every method and callback on
// that context's thread.
#pragma once

#include <glib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ice/send_result.hpp"
#include "rtp/result.hpp"
#include "rtp/stun/stun_message.hpp"

namespace partyline::ice {

// sockaddr <-> rtp::TransportAddress (IPv4 and IPv6).
bool to_transport_address(const sockaddr_storage& socket_address, rtp::TransportAddress& out);
socklen_t to_sockaddr(const rtp::TransportAddress& address, sockaddr_storage& out);
std::string ip_string(const rtp::TransportAddress& address);  // "127.0.0.1", "::1"
std::string to_string(const rtp::TransportAddress& address);  // "ip:port", "[ip]:port"

class SharedUdpPort {
 public:
  class Receiver {
   public:
    // The bytes are the port's receive buffer: valid during the call,
    // writable in place.
    virtual void on_port_datagram(std::span<uint8_t> datagram, const rtp::TransportAddress& from) = 0;

   protected:
    ~Receiver() = default;
  };

  using UnroutedHandler = std::function<void(std::span<uint8_t> datagram, const rtp::TransportAddress& from)>;
  // What the worker pool needs to know besides: which fragments this port
  // serves (for checks another worker's socket reads), and when a batch of
  // reads ends (to wake the workers it handed datagrams to once per batch).
  struct Observer {
    std::function<void(std::string_view local_ufrag, bool attached)> on_ufrag;
    std::function<void()> on_batch_end;
  };

  // Binds `bind_ip` (an IPv4 or IPv6 literal; "0.0.0.0" for every IPv4
  // address) and `port` (0: the kernel picks one, see port()).
  static Result<std::unique_ptr<SharedUdpPort>> open(GMainContext* context, const std::string& bind_ip,
                                                     uint16_t port, UnroutedHandler on_unrouted = {});
  ~SharedUdpPort();
  SharedUdpPort(const SharedUdpPort&) = delete;
  SharedUdpPort& operator=(const SharedUdpPort&) = delete;

  uint16_t port() const { return port_; }
  void set_observer(Observer observer) { observer_ = std::move(observer); }

  // Checks naming `local_ufrag` go to `receiver` until detach(receiver).
  void attach(std::string_view local_ufrag, Receiver* receiver);
  // Every datagram from `from` goes to `receiver` until detach(receiver).
  void route(const rtp::TransportAddress& from, Receiver* receiver);
  // Forgets the receiver's fragment and addresses.
  void detach(Receiver* receiver);

  // One datagram, never blocking.
  SendResult send_to(const rtp::TransportAddress& to, std::span<const uint8_t> datagram);
  // A datagram another worker's socket read for a receiver of this port
  // (the worker pool's hand-over): routed as if read here, but never handed
  // over again (dropped and counted when no receiver claims it).
  void deliver(std::span<uint8_t> datagram, const rtp::TransportAddress& from);

  struct Counters {
    uint64_t datagrams = 0;  // read from the socket
    uint64_t batches = 0;    // recvmmsg calls that returned datagrams
    uint64_t unrouted = 0;   // handed to on_unrouted
    uint64_t dropped = 0;    // no receiver and no handler, or truncated
  };
  const Counters& counters() const { return counters_; }

 private:
  struct ConstructionTag {};

 public:
  SharedUdpPort(ConstructionTag, GMainContext* context, int fd, uint16_t port, UnroutedHandler on_unrouted);

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  struct SourceDeleter {
    void operator()(GSource* source) const;
  };

  static gboolean on_readable(gint fd, GIOCondition condition, gpointer self);
  void read_batches();
  void dispatch(std::span<uint8_t> datagram, const rtp::TransportAddress& from, bool may_hand_over);
  Receiver* receiver_for(std::span<const uint8_t> datagram, const rtp::TransportAddress& from) const;

  GMainContext* context_;
  int fd_;
  uint16_t port_;
  UnroutedHandler on_unrouted_;
  Observer observer_;
  std::unique_ptr<GSource, SourceDeleter> source_;
  std::unordered_map<std::string, Receiver*, StringHash, std::equal_to<>> ufrags_;
  std::unordered_map<rtp::TransportAddress, Receiver*, rtp::TransportAddressHash> addresses_;
  // recvmmsg's batch: buffers, addresses and headers, allocated once.
  std::vector<uint8_t> buffers_;
  std::vector<sockaddr_storage> sources_;
  std::vector<iovec> iovecs_;
  std::vector<mmsghdr> headers_;
  Counters counters_;
};

}  // namespace partyline::ice
