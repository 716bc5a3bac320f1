#include "core/runtime/epoll_poll.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <vector>

namespace partyline::core {
namespace {

// G_IO_IN/OUT/PRI/ERR/HUP have the values of POLLIN..., which on Linux are
// those of EPOLLIN... too.
constexpr uint32_t kEventMask = EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLERR | EPOLLHUP;
constexpr gint64 kResyncIntervalUs = std::chrono::microseconds(kEpollResyncInterval).count();

class EpollPoller {
 public:
  EpollPoller() : epoll_fd_(epoll_create1(EPOLL_CLOEXEC)) {}
  ~EpollPoller() {
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
  }
  EpollPoller(const EpollPoller&) = delete;
  EpollPoller& operator=(const EpollPoller&) = delete;

  bool ok() const { return epoll_fd_ >= 0; }
  gint poll(GPollFD* fds, guint count, gint timeout_ms);

 private:
  struct Watch {
    uint64_t round = 0;       // the last round the descriptor was in GLib's array
    int first_index = -1;     // its first entry in that round's array
    uint32_t wanted = 0;      // that round's events, over all its entries
    uint32_t registered = 0;  // the events epoll watches for it
    bool in_epoll = false;
    bool always_ready = false;  // epoll refuses it (a regular file): poll() would say ready
  };

  // Reads the round's array into watches_; true if a descriptor appears twice.
  bool collect(GPollFD* fds, guint count);
  void register_watch(int fd, Watch& watch);
  void forget_absent();
  void forget_all();
  // Copies epoll's answer (and always-ready descriptors) into the array.
  gint report(GPollFD* fds, guint count, int ready, bool duplicates);

  int epoll_fd_;
  uint64_t round_ = 0;
  gint64 last_resync_us_ = 0;
  std::vector<Watch> watches_;  // indexed by descriptor
  std::vector<int> in_epoll_;   // descriptors registered with epoll
  std::vector<epoll_event> events_ = std::vector<epoll_event>(64);
};

bool EpollPoller::collect(GPollFD* fds, guint count) {
  bool duplicates = false;
  for (guint i = 0; i < count; ++i) {
    fds[i].revents = 0;
    const int fd = fds[i].fd;
    if (fd < 0) continue;
    if (static_cast<size_t>(fd) >= watches_.size()) watches_.resize(static_cast<size_t>(fd) + 64);
    Watch& watch = watches_[fd];
    const uint32_t events = fds[i].events & kEventMask;
    if (watch.round == round_) {
      duplicates = true;
      watch.wanted |= events;
      continue;
    }
    watch.round = round_;
    watch.first_index = static_cast<int>(i);
    watch.wanted = events;
    watch.always_ready = false;
  }
  return duplicates;
}

void EpollPoller::register_watch(int fd, Watch& watch) {
  if (watch.in_epoll && watch.registered == watch.wanted) return;
  epoll_event event{};
  event.events = watch.wanted;
  event.data.fd = fd;
  int status = epoll_ctl(epoll_fd_, watch.in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &event);
  // The kernel dropped a closed descriptor that was reopened (MOD: ENOENT).
  if (status != 0 && errno == ENOENT) status = epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event);
  if (status != 0) {
    // poll() calls a regular file always ready (epoll: EPERM); a closed
    // descriptor (EBADF) is POLLNVAL there and GLib drops its source.
    watch.always_ready = errno == EPERM;
    return;
  }
  if (!watch.in_epoll) in_epoll_.push_back(fd);
  watch.in_epoll = true;
  watch.registered = watch.wanted;
}

void EpollPoller::forget_absent() {
  for (size_t i = 0; i < in_epoll_.size();) {
    const int fd = in_epoll_[i];
    if (watches_[fd].round == round_) {
      ++i;
      continue;
    }
    (void)epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);  // ENOENT/EBADF once closed: fine
    watches_[fd].in_epoll = false;
    in_epoll_[i] = in_epoll_.back();
    in_epoll_.pop_back();
  }
}

void EpollPoller::forget_all() {
  for (int fd : in_epoll_) {
    (void)epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    watches_[fd].in_epoll = false;
  }
  in_epoll_.clear();
}

gint EpollPoller::report(GPollFD* fds, guint count, int ready, bool duplicates) {
  gint result = 0;
  for (guint i = 0; i < count; ++i) {
    if (fds[i].fd >= 0 && watches_[fds[i].fd].always_ready) {
      fds[i].revents = static_cast<gushort>(fds[i].events & (G_IO_IN | G_IO_OUT));
    }
  }
  for (int e = 0; e < ready; ++e) {
    const int fd = events_[e].data.fd;
    const Watch& watch = watches_[fd];
    const uint32_t happened = events_[e].events & kEventMask;
    // Without duplicates only the first entry has this descriptor.
    const guint last = duplicates ? count : static_cast<guint>(watch.first_index) + 1;
    for (guint i = static_cast<guint>(watch.first_index); i < last; ++i) {
      if (fds[i].fd != fd) continue;
      fds[i].revents = static_cast<gushort>(happened & (fds[i].events | G_IO_ERR | G_IO_HUP));
    }
  }
  for (guint i = 0; i < count; ++i) result += fds[i].revents != 0 ? 1 : 0;
  return result;
}

gint EpollPoller::poll(GPollFD* fds, guint count, gint timeout_ms) {
  ++round_;
  const gint64 now_us = g_get_monotonic_time();
  if (now_us - last_resync_us_ >= kResyncIntervalUs) {
    forget_all();
    last_resync_us_ = now_us;
  }
  const bool duplicates = collect(fds, count);
  bool any_always_ready = false;
  for (guint i = 0; i < count; ++i) {
    const int fd = fds[i].fd;
    if (fd < 0) continue;
    Watch& watch = watches_[fd];
    if (watch.first_index == static_cast<int>(i)) register_watch(fd, watch);
    any_always_ready = any_always_ready || watch.always_ready;
  }
  forget_absent();
  if (any_always_ready) timeout_ms = 0;
  // Never sleep past the next resync (see the header).
  const gint until_resync_ms = static_cast<gint>((last_resync_us_ + kResyncIntervalUs - now_us) / 1000) + 1;
  if (timeout_ms < 0 || timeout_ms > until_resync_ms) timeout_ms = until_resync_ms;
  if (events_.size() < in_epoll_.size()) events_.resize(in_epoll_.size());
  const int ready = epoll_wait(epoll_fd_, events_.data(), static_cast<int>(events_.size()), timeout_ms);
  if (ready < 0) {
    if (errno != EINTR) return -1;
    return report(fds, count, 0, duplicates);
  }
  return report(fds, count, ready, duplicates);
}

// GLib's poll function takes no user data: one poller per thread, for the
// context that thread iterates.
EpollPoller& this_threads_poller() {
  thread_local EpollPoller poller;
  return poller;
}

thread_local uint64_t t_waiting_us = 0;

gint poll_through_epoll(GPollFD* fds, guint count, gint timeout_ms) {
  EpollPoller& poller = this_threads_poller();
  // The time spent waiting, for the loop's busy share (/metrics): two
  // clock reads per loop iteration, not per packet.
  const int64_t before = g_get_monotonic_time();
  const gint ready = poller.ok() ? poller.poll(fds, count, timeout_ms) : g_poll(fds, count, timeout_ms);
  t_waiting_us += static_cast<uint64_t>(g_get_monotonic_time() - before);
  return ready;
}

}  // namespace

uint64_t thread_poll_wait_us() { return t_waiting_us; }

bool install_epoll_poll(GMainContext* context) {
  const int probe = epoll_create1(EPOLL_CLOEXEC);
  if (probe < 0) return false;
  ::close(probe);
  g_main_context_set_poll_func(context, &poll_through_epoll);
  return true;
}

}  // namespace partyline::core
