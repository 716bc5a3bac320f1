#include "core/runtime/worker_pool.hpp"

#include <algorithm>
#include <string>
#include <thread>

#include "core/runtime/epoll_poll.hpp"

namespace partyline::core {

WorkerPool::WorkerPool(unsigned count) {
  // At most 64: the forwarding plane keeps one bit per worker.
  if (count == 0) count = std::clamp(std::thread::hardware_concurrency(), 1u, 64u);
  for (unsigned i = 0; i < count; ++i) {
    workers_.push_back(std::make_unique<EventLoop>("worker-" + std::to_string(i)));
    // A worker watches one socket per PeerConnection and wakes per packet:
    // epoll instead of poll() over all of them (core/runtime/epoll_poll.hpp).
    install_epoll_poll(workers_.back()->context());
  }
}

WorkerPool::~WorkerPool() { stop(); }

void WorkerPool::start() {
  for (auto& worker : workers_) {
    worker->start();
    auto tuning = std::make_unique<Tuning>(worker->context());
    Tuning* owned = tuning.get();
    GMainContext* context = worker->context();
    worker->post([owned, context] {
      owned->marker.mark_new_sources();
      owned->timer.start(context, std::chrono::seconds(1), [owned] {
        owned->marker.mark_new_sources();
        return true;
      });
    });
    tuning_.push_back(std::move(tuning));
  }
}

void WorkerPool::stop() {
  for (auto& worker : workers_) worker->stop();
}

size_t WorkerPool::pick_index() { return next_.fetch_add(1, std::memory_order_relaxed) % workers_.size(); }

}  // namespace partyline::core
