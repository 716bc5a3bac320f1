// EventLoop: one thread running one GMainContext. Every worker and the
// signaling thread is an EventLoop; libnice agents, timers and sockets are
// attached to the context of the loop that owns them, so their callbacks run
// on that thread and need no locks.
#pragma once

#include <glib.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace partyline::core {

class EventLoop {
 public:
  explicit EventLoop(std::string name);
  ~EventLoop();  // stops and joins
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  void start();
  // Runs every task already posted, then stops the thread. Idempotent.
  void stop();

  // Thread-safe: runs `task` on the loop's thread, in posting order.
  void post(std::function<void()> task);
  // Thread-safe: runs `task` on the loop's thread and waits for it to finish.
  // Must not be called from the loop's own thread.
  void run_sync(std::function<void()> task);

  bool on_loop_thread() const { return std::this_thread::get_id() == thread_.get_id(); }
  GMainContext* context() const { return context_; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  GMainContext* context_;
  GMainLoop* loop_;
  std::thread thread_;
};

// A repeating or one-shot timer on an EventLoop's context; removed when the
// Timer is destroyed or reset. Only touched from the loop's thread.
class Timer {
 public:
  Timer() = default;
  // A Timer may be destroyed by its own callback (an owner erasing it from
  // a map, say); on_fire notices through alive_ and touches nothing after.
  ~Timer() {
    *alive_ = false;
    cancel();
  }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Calls `fire` after `delay`; it repeats while `fire` returns true.
  void start(GMainContext* context, std::chrono::milliseconds delay, std::function<bool()> fire);
  // Calls `fire` at every multiple of `period` on the monotonic clock while
  // it returns true. Every aligned timer of one period on a context fires in
  // the same loop iteration: a worker with hundreds of PeerConnections wakes
  // once per period for their media ticks, not once per PeerConnection (each
  // wake-up polls every descriptor and checks every source of the context).
  void start_aligned(GMainContext* context, std::chrono::milliseconds period, std::function<bool()> fire);
  void cancel();
  bool active() const { return source_ != nullptr; }

 private:
  static gboolean on_fire(gpointer self);
  GSource* source_ = nullptr;
  std::function<bool()> fire_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace partyline::core
