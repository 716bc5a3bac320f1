#include "core/media/media_plane.hpp"

#include <glib-unix.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace partyline::core {

struct MediaPlane::Wakeup {
  MediaPlane* plane = nullptr;
  size_t worker = 0;
  int fd = -1;
  GSource* source = nullptr;
  ~Wakeup() {
    if (source != nullptr) {
      g_source_destroy(source);
      g_source_unref(source);
    }
    if (fd >= 0) close(fd);
  }
};

MediaPlane::MediaPlane(WorkerPool& workers, RouterOptions options) : workers_(workers) {
  for (size_t i = 0; i < workers.size(); ++i) {
    auto wakeup = std::make_unique<Wakeup>();
    wakeup->plane = this;
    wakeup->worker = i;
    wakeup->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wakeup->fd < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
    wakeups_.push_back(std::move(wakeup));
  }
  fabric_ = std::make_unique<MediaFabric>(
      workers.size(), options,
      [this](size_t worker, std::function<void()> task) { workers_.worker(worker).post(std::move(task)); },
      [this](size_t worker) { wake(worker); });
  for (auto& wakeup : wakeups_) {
    wakeup->source = g_unix_fd_source_new(wakeup->fd, G_IO_IN);
    g_source_set_callback(wakeup->source, reinterpret_cast<GSourceFunc>(reinterpret_cast<void (*)()>(&on_wakeup)),
                          wakeup.get(), nullptr);
    // GLib blocks a non-recursive source while dispatching it: it takes the
    // descriptor out of the poll set and puts it back, signalling the
    // context's own wake-up each time, which makes the next wait return at
    // once for nothing. Nothing iterates a worker's context recursively.
    g_source_set_can_recurse(wakeup->source, TRUE);
    g_source_attach(wakeup->source, workers.worker(wakeup->worker).context());
  }
}

MediaPlane::~MediaPlane() { wakeups_.clear(); }

std::string MediaPlane::summary() const {
  std::string text;
  for (size_t i = 0; i < fabric_->size(); ++i) {
    const WorkerRouter& router = fabric_->router(i);
    text += (i > 0 ? "; " : "") + std::string("worker-") + std::to_string(i) + " forwarded " +
            std::to_string(router.forwarded()) + ", retransmitted " + std::to_string(router.retransmitted());
    for (size_t reason = 0; reason < static_cast<size_t>(RouterDrop::kCount); ++reason) {
      const uint64_t drops = router.drops(static_cast<RouterDrop>(reason));
      if (drops > 0) text += ", " + std::string(to_string(static_cast<RouterDrop>(reason))) + " " + std::to_string(drops);
    }
  }
  return text;
}

void MediaPlane::wake(size_t worker) {
  const uint64_t one = 1;
  // EAGAIN means the counter is saturated: a wake-up is pending anyway.
  (void)!write(wakeups_[worker]->fd, &one, sizeof one);
}

gboolean MediaPlane::on_wakeup(gint fd, GIOCondition, gpointer data) {
  auto* wakeup = static_cast<Wakeup*>(data);
  uint64_t count = 0;
  (void)!read(fd, &count, sizeof count);
  wakeup->plane->fabric_->router(wakeup->worker).drain(g_get_monotonic_time());
  return G_SOURCE_CONTINUE;
}

}  // namespace partyline::core
