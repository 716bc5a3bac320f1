// SharedPorts: single-port mode's sockets across the media workers
// (ice.udp_port; docs/architecture.md, "STUN and ICE-lite"). Each worker
// binds its own ice::SharedUdpPort to the one port (SO_REUSEPORT), and the
// kernel spreads remote addresses over those sockets by a hash of their own,
// so a participant's datagrams may arrive on another worker's socket than
// the one its PeerConnection lives on. That worker hands them over:
//   - a check whose USERNAME names a fragment served elsewhere is looked up
//     in the directory of fragments (ufrag -> worker, kept from the ports'
//     attach and detach; a mutex, taken only for checks from addresses the
//     reading worker does not know yet, never per media packet), and the
//     reading worker remembers the address's worker;
//   - every later datagram from that address goes the same way without a
//     lookup: through a lock-free single-producer single-consumer ring per
//     pair of workers (core::PacketRing, slots preallocated), the owner woken
//     once per read batch through an eventfd.
// The kernel keeps an address on the same socket while the sockets stay
// open, so only the worker that reads an address needs to know where it goes.
// Remembered addresses whose fragment left the directory are forgotten by a
// sweep every few seconds.
#pragma once

#include <glib.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/media/packet_ring.hpp"
#include "core/runtime/event_loop.hpp"
#include "core/runtime/worker_pool.hpp"
#include "ice/shared_udp_port.hpp"
#include "rtp/result.hpp"

namespace partyline::core {

class SharedPorts {
 public:
  static constexpr size_t kRingCapacity = 1024;
  static constexpr std::chrono::milliseconds kSweepInterval{5000};

  // Binds every worker's socket and attaches it to the worker's context,
  // before the workers start: `bind_ip` an IPv4 literal ("0.0.0.0" for
  // all), `port` the shared port (0: the kernel picks one for the first
  // worker, and the others take it; tests).
  static Result<std::unique_ptr<SharedPorts>> open(WorkerPool& workers, const std::string& bind_ip, uint16_t port);
  // After the workers stopped (the IceLiteLinks on the ports are gone with
  // their PeerConnections by then).
  ~SharedPorts();
  SharedPorts(const SharedPorts&) = delete;
  SharedPorts& operator=(const SharedPorts&) = delete;

 private:
  struct ConstructionTag {};

 public:
  SharedPorts(ConstructionTag, WorkerPool& workers, uint16_t port);

  uint16_t port() const { return port_; }
  // The socket of worker `index`, to use on that worker's thread only.
  ice::SharedUdpPort& worker_port(size_t index) { return *workers_[index]->port; }

  // Per worker, read on its thread (or when the workers are stopped).
  struct Counters {
    uint64_t handed_over = 0;      // pushed towards another worker
    uint64_t received_over = 0;    // taken from another worker's ring
    uint64_t handover_drops = 0;   // ring full or datagram too large for a slot
    uint64_t unknown = 0;          // no worker serves its address or fragment
  };
  const Counters& counters(size_t index) const { return workers_[index]->counters; }

 private:
  struct Route {
    size_t worker = 0;
    std::string ufrag;
  };
  // What one worker owns; touched on its thread only, except `wake_fd`.
  struct Worker {
    std::unique_ptr<ice::SharedUdpPort> port;
    std::unordered_map<rtp::TransportAddress, Route, rtp::TransportAddressHash> routes;
    std::vector<bool> to_wake;  // workers given datagrams during this batch
    int wake_fd = -1;
    GSource* wake_source = nullptr;
    Timer sweep;
    std::vector<uint8_t> scratch;  // a handed-over datagram, writable for its receiver
    Counters counters;
  };

  Status open_worker(size_t index, const std::string& bind_ip);
  void close_worker(size_t index);
  void hand_over(size_t from, std::span<uint8_t> datagram, const rtp::TransportAddress& address);
  void wake_pending(size_t from);
  void drain(size_t to);
  void sweep(size_t index);
  static gboolean on_wake(gint fd, GIOCondition condition, gpointer data);
  PacketRing& ring(size_t from, size_t to) { return *rings_[from * workers_.size() + to]; }

  WorkerPool& pool_;
  uint16_t port_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::unique_ptr<PacketRing>> rings_;  // [from * n + to]
  struct WakeContext {
    SharedPorts* ports;
    size_t worker;
  };
  std::vector<WakeContext> wake_contexts_;

  std::mutex directory_mutex_;
  std::unordered_map<std::string, size_t> directory_;  // ufrag -> worker
};

}  // namespace partyline::core
