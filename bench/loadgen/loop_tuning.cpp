#include "bench/loadgen/loop_tuning.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <vector>

namespace partyline::loadgen {

namespace {

// G_IO_IN/OUT/PRI/ERR/HUP have the values of POLLIN... on Linux, which are
// those of EPOLLIN... as well.
constexpr uint32_t kEventMask = EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLERR | EPOLLHUP;
constexpr gint64 kResyncIntervalUs = 200'000;

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
  struct Registration {
    uint32_t events = 0;    // as registered with epoll
    uint32_t wanted = 0;    // this round: all entries for the fd OR-ed
    uint64_t round = 0;     // last round the fd was in GLib's array
    bool registered = false;
    bool always_ready = false;  // epoll refuses it (a regular file): poll() would say ready
  };

  void resync();
  void apply(int fd, Registration& registration);

  int epoll_fd_;
  uint64_t round_ = 0;
  gint64 last_resync_us_ = 0;
  std::vector<Registration> by_fd_;
  std::vector<int> registered_;  // fds registered with epoll
  std::vector<int> first_index_;  // fd -> its first index in this round's array
  std::vector<epoll_event> events_ = std::vector<epoll_event>(256);
  bool duplicates_ = false;  // an fd appears twice in this round's array
};

// One per process: GLib's poll function takes no user data.
EpollPoller& the_poller() {
  static EpollPoller poller;
  return poller;
}

gint poll_function(GPollFD* fds, guint count, gint timeout_ms) { return the_poller().poll(fds, count, timeout_ms); }

void EpollPoller::resync() {
  for (int fd : registered_) {
    (void)epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    by_fd_[fd].registered = false;
  }
  registered_.clear();
}

void EpollPoller::apply(int fd, Registration& registration) {
  if (registration.registered && registration.events == registration.wanted) return;
  epoll_event event{};
  event.events = registration.wanted;
  event.data.fd = fd;
  int status = epoll_ctl(epoll_fd_, registration.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &event);
  if (status != 0 && errno == ENOENT) status = epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event);
  if (status != 0 && errno == EEXIST) status = epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event);
  if (status != 0) {
    // A regular file (EPERM) is always ready for poll(); a closed fd (EBADF)
    // is POLLNVAL there, and GLib drops its source.
    registration.always_ready = errno == EPERM;
    return;
  }
  if (!registration.registered) registered_.push_back(fd);
  registration.registered = true;
  registration.events = registration.wanted;
}

gint EpollPoller::poll(GPollFD* fds, guint count, gint timeout_ms) {
  ++round_;
  const gint64 now_us = g_get_monotonic_time();
  if (now_us - last_resync_us_ >= kResyncIntervalUs) {
    resync();
    last_resync_us_ = now_us;
  }
  duplicates_ = false;
  for (guint i = 0; i < count; ++i) {
    fds[i].revents = 0;
    const int fd = fds[i].fd;
    if (fd < 0) continue;
    if (static_cast<size_t>(fd) >= by_fd_.size()) {
      by_fd_.resize(static_cast<size_t>(fd) + 64);
      first_index_.resize(by_fd_.size(), -1);
    }
    Registration& registration = by_fd_[fd];
    if (registration.round != round_) registration.always_ready = false;
    if (registration.round == round_) {
      duplicates_ = true;
      registration.wanted |= fds[i].events & kEventMask;
    } else {
      registration.round = round_;
      registration.wanted = fds[i].events & kEventMask;
      first_index_[fd] = static_cast<int>(i);
    }
  }
  gint result = 0;
  for (guint i = 0; i < count; ++i) {
    if (fds[i].fd < 0) continue;
    Registration& registration = by_fd_[fds[i].fd];
    if (first_index_[fds[i].fd] == static_cast<int>(i)) apply(fds[i].fd, registration);
    if (registration.always_ready) {
      fds[i].revents = static_cast<gushort>(fds[i].events & (G_IO_IN | G_IO_OUT));
      result += fds[i].revents != 0 ? 1 : 0;
    }
  }
  if (result > 0) timeout_ms = 0;
  // Drop what GLib no longer asks for.
  for (size_t i = 0; i < registered_.size();) {
    const int fd = registered_[i];
    if (by_fd_[fd].round == round_) {
      ++i;
      continue;
    }
    (void)epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    by_fd_[fd].registered = false;
    registered_[i] = registered_.back();
    registered_.pop_back();
  }
  if (events_.size() < registered_.size()) events_.resize(registered_.size());
  // Never sleep past the next resync: a reused descriptor waits at most that long.
  const gint until_resync_ms = static_cast<gint>((last_resync_us_ + kResyncIntervalUs - now_us) / 1000) + 1;
  if (timeout_ms < 0 || timeout_ms > until_resync_ms) timeout_ms = until_resync_ms;
  const int ready = epoll_wait(epoll_fd_, events_.data(), static_cast<int>(events_.size()), timeout_ms);
  if (ready < 0) return errno == EINTR ? result : -1;
  for (int e = 0; e < ready; ++e) {
    const int fd = events_[e].data.fd;
    const auto revents = static_cast<gushort>(events_[e].events & kEventMask);
    if (!duplicates_) {
      GPollFD& entry = fds[first_index_[fd]];
      entry.revents = static_cast<gushort>(revents & (entry.events | G_IO_ERR | G_IO_HUP));
      result += entry.revents != 0 ? 1 : 0;
      continue;
    }
    for (guint i = static_cast<guint>(first_index_[fd]); i < count; ++i) {
      if (fds[i].fd != fd) continue;
      fds[i].revents = static_cast<gushort>(revents & (fds[i].events | G_IO_ERR | G_IO_HUP));
      result += fds[i].revents != 0 ? 1 : 0;
    }
  }
  return result;
}

}  // namespace

bool install_epoll_poll(GMainContext* context) {
  if (!the_poller().ok()) return false;
  g_main_context_set_poll_func(context, &poll_function);
  return true;
}

unsigned let_sources_recurse(GMainContext* context) {
  // Source ids are handed out in order per context: attaching a probe gives
  // the newest id, and every live source has a smaller one.
  GSource* probe = g_idle_source_new();
  const guint newest = g_source_attach(probe, context);
  g_source_destroy(probe);
  g_source_unref(probe);
  unsigned changed = 0;
  for (guint id = 1; id < newest; ++id) {
    GSource* source = g_main_context_find_source_by_id(context, id);
    if (source != nullptr && !g_source_get_can_recurse(source)) {
      g_source_set_can_recurse(source, TRUE);
      ++changed;
    }
  }
  return changed;
}

}  // namespace partyline::loadgen
