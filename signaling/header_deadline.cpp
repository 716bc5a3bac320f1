#include "signaling/header_deadline.hpp"

#include <linux/tcp.h>  // struct tcp_info with tcpi_bytes_received (not in glibc's netinet/tcp.h)
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>

#include "core/runtime/log.hpp"

namespace partyline::signaling {

namespace {

std::atomic<uint64_t> g_signaling_timeouts{0};
std::atomic<uint64_t> g_admin_timeouts{0};
std::atomic<uint64_t> g_signaling_evictions{0};
std::atomic<uint64_t> g_admin_evictions{0};

std::atomic<uint64_t>& timeouts_of(HttpListener listener) {
  return listener == HttpListener::kAdmin ? g_admin_timeouts : g_signaling_timeouts;
}

std::atomic<uint64_t>& evictions_of(HttpListener listener) {
  return listener == HttpListener::kAdmin ? g_admin_evictions : g_signaling_evictions;
}

std::chrono::milliseconds tick_for(std::chrono::milliseconds timeout) {
  return std::clamp(timeout / 10, std::chrono::milliseconds(10), std::chrono::milliseconds(250));
}

// Bytes the kernel has received on `fd` (TLS records included); 0 when unknown.
uint64_t bytes_received(int fd) {
  tcp_info info{};
  socklen_t length = sizeof(info);
  if (fd < 0 || ::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return 0;
  return info.tcpi_bytes_received;
}

}  // namespace

uint64_t header_timeouts(HttpListener listener) { return timeouts_of(listener).load(std::memory_order_relaxed); }

uint64_t connections_evicted(HttpListener listener) { return evictions_of(listener).load(std::memory_order_relaxed); }

HeaderDeadline::HeaderDeadline(std::chrono::milliseconds timeout, HttpListener listener, size_t max_plain)
    : timeout_(timeout), tick_(tick_for(timeout)), listener_(listener), max_plain_(max_plain) {}

HeaderDeadline::~HeaderDeadline() { stop(); }

void HeaderDeadline::start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void HeaderDeadline::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void HeaderDeadline::on_connection(void* self, MHD_Connection* connection, void**,
                                   MHD_ConnectionNotificationCode code) {
  auto* deadline = static_cast<HeaderDeadline*>(self);
  std::lock_guard lock(deadline->mutex_);
  if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
    auto found = deadline->entries_.find(connection);
    if (found == deadline->entries_.end()) return;
    if (found->second.phase == Phase::kClosing) --deadline->closing_;
    deadline->entries_.erase(found);
    return;
  }
  deadline->make_room();
  const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
  Entry entry;
  entry.fd = info != nullptr ? info->connect_fd : -1;
  entry.deadline = Clock::now() + deadline->timeout_;
  deadline->entries_.insert_or_assign(connection, entry);
}

void HeaderDeadline::make_room() {
  if (max_plain_ == 0 || entries_.size() - closing_ < max_plain_) return;
  Entry* oldest_idle = nullptr;
  Entry* oldest_awaiting = nullptr;
  for (auto& [connection, entry] : entries_) {
    if (entry.fd < 0) continue;
    if (entry.phase == Phase::kIdle && (!oldest_idle || entry.idle_since < oldest_idle->idle_since)) {
      oldest_idle = &entry;
    } else if (entry.phase == Phase::kAwaitingHeaders &&
               (!oldest_awaiting || entry.deadline < oldest_awaiting->deadline)) {
      oldest_awaiting = &entry;
    }
  }
  Entry* victim = oldest_idle != nullptr ? oldest_idle : oldest_awaiting;
  if (victim == nullptr) return;  // every one is in a request: MHD's own limit decides
  PL_LOG(kDebug, "server") << (listener_ == HttpListener::kAdmin ? "admin" : "signaling") << " listener: "
                           << max_plain_ << " plain connections: closing the "
                           << (victim == oldest_idle ? "longest idle" : "longest awaiting its headers")
                           << " one for a new one";
  evictions_of(listener_).fetch_add(1, std::memory_order_relaxed);
  close_entry(*victim);
}

void HeaderDeadline::close_entry(Entry& entry) {
  ::shutdown(entry.fd, SHUT_RDWR);
  // Once: MHD removes the entry when it has closed the connection.
  entry.phase = Phase::kClosing;
  ++closing_;
}

void HeaderDeadline::headers_received(MHD_Connection* connection) {
  std::lock_guard lock(mutex_);
  auto found = entries_.find(connection);
  if (found != entries_.end() && found->second.phase != Phase::kClosing) found->second.phase = Phase::kInRequest;
}

void HeaderDeadline::request_completed(MHD_Connection* connection) {
  std::lock_guard lock(mutex_);
  auto found = entries_.find(connection);
  if (found == entries_.end()) return;
  if (found->second.phase == Phase::kClosing) return;
  found->second.phase = Phase::kIdle;
  found->second.idle_since = Clock::now();
  found->second.bytes_at_idle = bytes_received(found->second.fd);
}

void HeaderDeadline::upgraded(MHD_Connection* connection) {
  std::lock_guard lock(mutex_);
  auto found = entries_.find(connection);
  if (found == entries_.end()) return;
  if (found->second.phase == Phase::kClosing) --closing_;
  entries_.erase(found);
}

void HeaderDeadline::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, tick_, [this] { return stopping_; });
    if (!stopping_) check(Clock::now());
  }
}

// Under mutex_.
void HeaderDeadline::check(Clock::time_point now) {
  for (auto& [connection, entry] : entries_) {
    if (entry.phase == Phase::kIdle) {
      // A byte since the last response: the next request has begun.
      if (bytes_received(entry.fd) != entry.bytes_at_idle) {
        entry.phase = Phase::kAwaitingHeaders;
        entry.deadline = now + timeout_;
      }
      continue;
    }
    if (entry.phase != Phase::kAwaitingHeaders || now < entry.deadline || entry.fd < 0) continue;
    PL_LOG(kInfo, "server") << (listener_ == HttpListener::kAdmin ? "admin" : "signaling")
                            << " listener: closing a connection whose request headers took over " << timeout_.count()
                            << " ms";
    // Counted first: the client sees the end as soon as shutdown() returns.
    timeouts_of(listener_).fetch_add(1, std::memory_order_relaxed);
    close_entry(entry);
  }
}

}  // namespace partyline::signaling
