#include "core/runtime/shared_ports.hpp"

#include <glib-unix.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "rtp/packet/packet_demux.hpp"

namespace partyline::core {
namespace {

// A ring slot carries the source address's 16 bytes before the datagram;
// the tag its family and port.
constexpr size_t kAddressBytes = 16;
constexpr size_t kMaxHandedOver = PacketRing::kSlotBytes - kAddressBytes;
constexpr size_t kDrainBatch = 64;

uint32_t tag_of(const rtp::TransportAddress& address) {
  return (static_cast<uint32_t>(address.family) << 16) | address.port;
}

}  // namespace

SharedPorts::SharedPorts(ConstructionTag, WorkerPool& workers, uint16_t port) : pool_(workers), port_(port) {
  const size_t n = workers.size();
  for (size_t i = 0; i < n; ++i) {
    auto worker = std::make_unique<Worker>();
    worker->to_wake.assign(n, false);
    worker->scratch.resize(PacketRing::kSlotBytes);
    // Before any socket opens: another worker may wake this one as soon as its own reads.
    worker->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (worker->wake_fd < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
    workers_.push_back(std::move(worker));
  }
  for (size_t i = 0; i < n * n; ++i) rings_.push_back(std::make_unique<PacketRing>(kRingCapacity));
  for (size_t i = 0; i < n; ++i) wake_contexts_.push_back({this, i});
}

Result<std::unique_ptr<SharedPorts>> SharedPorts::open(WorkerPool& workers, const std::string& bind_ip,
                                                       uint16_t port) {
  auto ports = std::make_unique<SharedPorts>(ConstructionTag{}, workers, port);
  for (size_t i = 0; i < workers.size(); ++i) {
    const Status status = ports->open_worker(i, bind_ip);
    if (!status.ok()) return make_error(status.error().code, "ice.udp_port " + std::to_string(port) + ": " +
                                                                 status.error().message);
    // Port 0 (tests): the kernel's choice for the first socket is everyone's.
    if (i == 0) ports->port_ = ports->workers_[0]->port->port();
  }
  return ports;
}

Status SharedPorts::open_worker(size_t index, const std::string& bind_ip) {
  Worker& worker = *workers_[index];
  auto port = ice::SharedUdpPort::open(
      pool_.worker(index).context(), bind_ip, port_,
      [this, index](std::span<uint8_t> datagram, const rtp::TransportAddress& from) { hand_over(index, datagram, from); });
  if (!port.ok()) return port.error();
  worker.port = std::move(port).value();
  worker.port->set_observer({
      [this, index](std::string_view ufrag, bool attached) {
        std::lock_guard lock(directory_mutex_);
        if (attached) {
          directory_.insert_or_assign(std::string(ufrag), index);
        } else if (auto found = directory_.find(std::string(ufrag)); found != directory_.end() && found->second == index) {
          directory_.erase(found);
        }
      },
      [this, index] { wake_pending(index); },
  });
  worker.wake_source = g_unix_fd_source_new(worker.wake_fd, G_IO_IN);
  g_source_set_callback(worker.wake_source, G_SOURCE_FUNC(&SharedPorts::on_wake), &wake_contexts_[index], nullptr);
  g_source_set_can_recurse(worker.wake_source, TRUE);  // as MediaPlane's: no block/unblock per dispatch
  g_source_attach(worker.wake_source, pool_.worker(index).context());
  worker.sweep.start(pool_.worker(index).context(), kSweepInterval, [this, index] {
    sweep(index);
    return true;
  });
  return {};
}

SharedPorts::~SharedPorts() {
  for (size_t i = 0; i < workers_.size(); ++i) close_worker(i);
  for (auto& worker : workers_) ::close(worker->wake_fd);
}

void SharedPorts::close_worker(size_t index) {
  Worker& worker = *workers_[index];
  worker.sweep.cancel();
  if (worker.wake_source != nullptr) {
    g_source_destroy(worker.wake_source);
    g_source_unref(worker.wake_source);
    worker.wake_source = nullptr;
  }
  worker.port.reset();
}

void SharedPorts::hand_over(size_t from, std::span<uint8_t> datagram, const rtp::TransportAddress& address) {
  Worker& worker = *workers_[from];
  size_t owner = from;
  if (auto route = worker.routes.find(address); route != worker.routes.end()) {
    owner = route->second.worker;
  } else if (rtp::classify_packet(datagram) == rtp::PacketKind::kStun) {
    const auto message = rtp::parse_stun_message(datagram);
    const auto username = message.ok() && message->username ? rtp::split_ice_username(*message->username)
                                                            : std::nullopt;
    if (username) {
      std::lock_guard lock(directory_mutex_);
      if (auto found = directory_.find(std::string(username->receiver)); found != directory_.end()) {
        owner = found->second;
        worker.routes.insert_or_assign(address, Route{owner, std::string(username->receiver)});
      }
    }
  }
  if (owner == from) {  // nobody, or a fragment of this worker's that its port no longer serves
    ++worker.counters.unknown;
    return;
  }
  if (datagram.size() > kMaxHandedOver) {
    ++worker.counters.handover_drops;
    return;
  }
  // One copy: the address, then the datagram, into the ring's slot.
  std::array<uint8_t, PacketRing::kSlotBytes> slot;
  std::memcpy(slot.data(), address.address.data(), kAddressBytes);
  std::memcpy(slot.data() + kAddressBytes, datagram.data(), datagram.size());
  if (!ring(from, owner).try_push(std::span<const uint8_t>(slot.data(), kAddressBytes + datagram.size()),
                                  tag_of(address))) {
    ++worker.counters.handover_drops;
    return;
  }
  ++worker.counters.handed_over;
  worker.to_wake[owner] = true;
}

void SharedPorts::wake_pending(size_t from) {
  Worker& worker = *workers_[from];
  for (size_t to = 0; to < worker.to_wake.size(); ++to) {
    if (!worker.to_wake[to]) continue;
    worker.to_wake[to] = false;
    const uint64_t one = 1;
    (void)!write(workers_[to]->wake_fd, &one, sizeof one);  // EAGAIN: a wake-up is pending anyway
  }
}

gboolean SharedPorts::on_wake(gint fd, GIOCondition, gpointer data) {
  auto* context = static_cast<WakeContext*>(data);
  uint64_t count = 0;
  (void)!read(fd, &count, sizeof count);
  context->ports->drain(context->worker);
  return G_SOURCE_CONTINUE;
}

void SharedPorts::drain(size_t to) {
  Worker& worker = *workers_[to];
  if (!worker.port) return;
  for (size_t from = 0; from < workers_.size(); ++from) {
    if (from == to) continue;
    auto deliver = [&](std::span<const uint8_t> slot, uint32_t tag) {
      rtp::TransportAddress address;
      address.family = static_cast<rtp::TransportAddress::Family>(tag >> 16);
      address.port = static_cast<uint16_t>(tag);
      std::memcpy(address.address.data(), slot.data(), kAddressBytes);
      const size_t size = slot.size() - kAddressBytes;
      std::memcpy(worker.scratch.data(), slot.data() + kAddressBytes, size);
      ++worker.counters.received_over;
      worker.port->deliver(std::span<uint8_t>(worker.scratch.data(), size), address);
    };
    size_t popped = 0;
    do {
      popped = ring(from, to).pop_batch(kDrainBatch, deliver);
    } while (popped == kDrainBatch);
  }
}

void SharedPorts::sweep(size_t index) {
  Worker& worker = *workers_[index];
  if (worker.routes.empty()) return;
  std::lock_guard lock(directory_mutex_);
  std::erase_if(worker.routes, [this](const auto& entry) {
    auto found = directory_.find(entry.second.ufrag);
    return found == directory_.end() || found->second != entry.second.worker;
  });
}

}  // namespace partyline::core
