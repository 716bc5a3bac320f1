#include "ice/shared_udp_port.hpp"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <iterator>

#include "rtp/packet/packet_demux.hpp"

namespace partyline::ice {
namespace {

constexpr size_t kBatch = 32;
// Larger than any datagram partyline or a browser sends (RTP packets stay
// under the path MTU); a longer one arrives truncated and is dropped.
constexpr size_t kDatagramCapacity = 2048;
// Batches per wake-up before returning to the loop, so timers and rings are
// served while a socket stays busy.
constexpr int kBatchesPerWake = 8;

}  // namespace

bool to_transport_address(const sockaddr_storage& socket_address, rtp::TransportAddress& out) {
  out = {};
  if (socket_address.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(socket_address);
    out.family = rtp::TransportAddress::Family::kIpv4;
    std::memcpy(out.address.data(), &v4.sin_addr, 4);
    out.port = ntohs(v4.sin_port);
    return true;
  }
  if (socket_address.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(socket_address);
    out.family = rtp::TransportAddress::Family::kIpv6;
    std::memcpy(out.address.data(), &v6.sin6_addr, 16);
    out.port = ntohs(v6.sin6_port);
    return true;
  }
  return false;
}

socklen_t to_sockaddr(const rtp::TransportAddress& address, sockaddr_storage& out) {
  std::memset(&out, 0, sizeof out);
  if (address.family == rtp::TransportAddress::Family::kIpv4) {
    auto& v4 = reinterpret_cast<sockaddr_in&>(out);
    v4.sin_family = AF_INET;
    v4.sin_port = htons(address.port);
    std::memcpy(&v4.sin_addr, address.address.data(), 4);
    return sizeof(sockaddr_in);
  }
  auto& v6 = reinterpret_cast<sockaddr_in6&>(out);
  v6.sin6_family = AF_INET6;
  v6.sin6_port = htons(address.port);
  std::memcpy(&v6.sin6_addr, address.address.data(), 16);
  return sizeof(sockaddr_in6);
}

std::string ip_string(const rtp::TransportAddress& address) {
  char text[INET6_ADDRSTRLEN] = {};
  const bool v4 = address.family == rtp::TransportAddress::Family::kIpv4;
  inet_ntop(v4 ? AF_INET : AF_INET6, address.address.data(), text, sizeof text);
  return text;
}

std::string to_string(const rtp::TransportAddress& address) {
  const bool v4 = address.family == rtp::TransportAddress::Family::kIpv4;
  return (v4 ? ip_string(address) : "[" + ip_string(address) + "]") + ":" + std::to_string(address.port);
}

void SharedUdpPort::SourceDeleter::operator()(GSource* source) const {
  g_source_destroy(source);
  g_source_unref(source);
}

Result<std::unique_ptr<SharedUdpPort>> SharedUdpPort::open(GMainContext* context, const std::string& bind_ip,
                                                           uint16_t port, UnroutedHandler on_unrouted) {
  rtp::TransportAddress bind_address;
  bind_address.port = port;
  if (inet_pton(AF_INET, bind_ip.c_str(), bind_address.address.data()) == 1) {
    bind_address.family = rtp::TransportAddress::Family::kIpv4;
  } else if (inet_pton(AF_INET6, bind_ip.c_str(), bind_address.address.data()) == 1) {
    bind_address.family = rtp::TransportAddress::Family::kIpv6;
  } else {
    return make_error(error_code::kBadRequest, "'" + bind_ip + "' is not an IP address");
  }
  sockaddr_storage storage;
  const socklen_t length = to_sockaddr(bind_address, storage);
  const int fd = socket(storage.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(error_code::kInternal, std::string("socket: ") + std::strerror(errno));
  auto fail = [fd](const char* what) {
    const int error = errno;
    ::close(fd);
    return make_error(error_code::kUnavailable, std::string(what) + ": " + std::strerror(error));
  };
  const int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) return fail("SO_REUSEPORT");
  if (bind(fd, reinterpret_cast<const sockaddr*>(&storage), length) != 0) return fail("bind");
  sockaddr_storage bound{};
  socklen_t bound_length = sizeof bound;
  rtp::TransportAddress bound_address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_length) != 0 ||
      !to_transport_address(bound, bound_address)) {
    return fail("getsockname");
  }
  return std::make_unique<SharedUdpPort>(ConstructionTag{}, context, fd, bound_address.port, std::move(on_unrouted));
}

SharedUdpPort::SharedUdpPort(ConstructionTag, GMainContext* context, int fd, uint16_t port,
                             UnroutedHandler on_unrouted)
    : context_(context),
      fd_(fd),
      port_(port),
      on_unrouted_(std::move(on_unrouted)),
      buffers_(kBatch * kDatagramCapacity),
      sources_(kBatch),
      iovecs_(kBatch),
      headers_(kBatch) {
  GSource* source = g_unix_fd_source_new(fd_, G_IO_IN);
  g_source_set_callback(source, G_SOURCE_FUNC(&SharedUdpPort::on_readable), this, nullptr);
  g_source_attach(source, context_);
  source_.reset(source);
}

SharedUdpPort::~SharedUdpPort() {
  source_.reset();
  ::close(fd_);
}

void SharedUdpPort::attach(std::string_view local_ufrag, Receiver* receiver) {
  ufrags_.insert_or_assign(std::string(local_ufrag), receiver);
  if (observer_.on_ufrag) observer_.on_ufrag(local_ufrag, true);
}

void SharedUdpPort::route(const rtp::TransportAddress& from, Receiver* receiver) {
  addresses_.insert_or_assign(from, receiver);
}

void SharedUdpPort::detach(Receiver* receiver) {
  std::erase_if(ufrags_, [this, receiver](const auto& entry) {
    if (entry.second != receiver) return false;
    if (observer_.on_ufrag) observer_.on_ufrag(entry.first, false);
    return true;
  });
  std::erase_if(addresses_, [receiver](const auto& entry) { return entry.second == receiver; });
}

SendResult SharedUdpPort::send_to(const rtp::TransportAddress& to, std::span<const uint8_t> datagram) {
  sockaddr_storage storage;
  const socklen_t length = to_sockaddr(to, storage);
  const ssize_t sent = sendto(fd_, datagram.data(), datagram.size(), MSG_DONTWAIT,
                              reinterpret_cast<const sockaddr*>(&storage), length);
  return sent == static_cast<ssize_t>(datagram.size()) ? SendResult::kSent : SendResult::kSocketRefused;
}

gboolean SharedUdpPort::on_readable(gint, GIOCondition, gpointer self) {
  static_cast<SharedUdpPort*>(self)->read_batches();
  return G_SOURCE_CONTINUE;
}

void SharedUdpPort::read_batches() {
  for (int round = 0; round < kBatchesPerWake; ++round) {
    for (size_t i = 0; i < kBatch; ++i) {
      iovecs_[i] = {buffers_.data() + i * kDatagramCapacity, kDatagramCapacity};
      headers_[i].msg_hdr = {};
      headers_[i].msg_hdr.msg_name = &sources_[i];
      headers_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      headers_[i].msg_hdr.msg_iov = &iovecs_[i];
      headers_[i].msg_hdr.msg_iovlen = 1;
    }
    const int count = recvmmsg(fd_, headers_.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (count <= 0) return;  // EAGAIN: drained (errors such as ICMP ones: try at the next wake-up)
    ++counters_.batches;
    for (int i = 0; i < count; ++i) {
      ++counters_.datagrams;
      rtp::TransportAddress from;
      if ((headers_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0 || !to_transport_address(sources_[i], from)) {
        ++counters_.dropped;
        continue;
      }
      dispatch({buffers_.data() + i * kDatagramCapacity, headers_[i].msg_len}, from, true);
    }
    if (observer_.on_batch_end) observer_.on_batch_end();
    if (static_cast<size_t>(count) < kBatch) return;
  }
}

SharedUdpPort::Receiver* SharedUdpPort::receiver_for(std::span<const uint8_t> datagram,
                                                     const rtp::TransportAddress& from) const {
  if (auto found = addresses_.find(from); found != addresses_.end()) return found->second;
  if (rtp::classify_packet(datagram) != rtp::PacketKind::kStun) return nullptr;
  const auto message = rtp::parse_stun_message(datagram);
  if (!message.ok() || !message->username) return nullptr;
  const auto username = rtp::split_ice_username(*message->username);
  if (!username) return nullptr;
  const auto found = ufrags_.find(username->receiver);
  return found == ufrags_.end() ? nullptr : found->second;
}

void SharedUdpPort::deliver(std::span<uint8_t> datagram, const rtp::TransportAddress& from) {
  dispatch(datagram, from, false);
}

void SharedUdpPort::dispatch(std::span<uint8_t> datagram, const rtp::TransportAddress& from, bool may_hand_over) {
  if (Receiver* receiver = receiver_for(datagram, from)) {
    receiver->on_port_datagram(datagram, from);
  } else if (may_hand_over && on_unrouted_) {
    ++counters_.unrouted;
    on_unrouted_(datagram, from);
  } else {
    ++counters_.dropped;
  }
}

}  // namespace partyline::ice
