// MediaPlane: the forwarding plane wired to the media workers. It builds the
// MediaFabric with one router per worker, delivers the fabric's control
// tasks with EventLoop::post, and wakes a worker for queued packets through
// an eventfd watched by that worker's loop: a write() per batch, no lock and
// no allocation (a posted task would allocate and lock the GMainContext for
// every wake-up).
#pragma once

#include <glib.h>

#include <memory>
#include <string>
#include <vector>

#include "core/media/media_router.hpp"
#include "core/runtime/worker_pool.hpp"

namespace partyline::core {

class MediaPlane {
 public:
  // Create before the workers start or while they run; destroy after they
  // stopped (or while they run: the watches are removed thread-safely).
  MediaPlane(WorkerPool& workers, RouterOptions options = {});
  ~MediaPlane();
  MediaPlane(const MediaPlane&) = delete;
  MediaPlane& operator=(const MediaPlane&) = delete;

  MediaFabric& fabric() { return *fabric_; }
  // Per worker: packets forwarded and retransmitted, drops by reason. Read
  // it only when the workers are stopped (the counters are theirs).
  std::string summary() const;

 private:
  struct Wakeup;
  static gboolean on_wakeup(gint fd, GIOCondition condition, gpointer data);
  void wake(size_t worker);

  WorkerPool& workers_;
  std::vector<std::unique_ptr<Wakeup>> wakeups_;
  std::unique_ptr<MediaFabric> fabric_;
};

}  // namespace partyline::core
