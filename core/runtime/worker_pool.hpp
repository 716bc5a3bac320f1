// The media workers: one EventLoop per core. A participant's transport is
// created on one worker and lives there until it closes. Each worker waits
// through epoll (core/runtime/epoll_poll.hpp) and, once a second, lets the sources
// attached since (libnice's sockets and timers, ours) recurse
// (core/runtime/source_recursion.hpp).
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "core/runtime/event_loop.hpp"
#include "core/runtime/source_recursion.hpp"

namespace partyline::core {

class WorkerPool {
 public:
  // `count` 0 means one worker per hardware thread.
  explicit WorkerPool(unsigned count);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void start();
  void stop();

  // Round-robin; thread-safe.
  EventLoop& pick() { return worker(pick_index()); }
  size_t pick_index();
  EventLoop& worker(size_t index) { return *workers_[index]; }
  size_t size() const { return workers_.size(); }

 private:
  struct Tuning {
    explicit Tuning(GMainContext* context) : marker(context) {}
    SourceRecursionMarker marker;
    Timer timer;
  };

  std::vector<std::unique_ptr<EventLoop>> workers_;
  std::vector<std::unique_ptr<Tuning>> tuning_;  // one per worker, used on its thread
  std::atomic<size_t> next_{0};
};

}  // namespace partyline::core
