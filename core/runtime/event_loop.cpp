#include "core/runtime/event_loop.hpp"

#include <algorithm>
#include <atomic>
#include <future>
#include <memory>

namespace partyline::core {

namespace {
// A task travels from the posting thread to the loop's inside a GSource,
// ordered by the GMainContext's lock. That lock is a GLib GMutex, on Linux a
// futex of GLib's own that ThreadSanitizer cannot see (GLib is not
// instrumented), so to it the task's construction and its run look like a
// data race. `handed_over` states the same order in C++'s terms: stored
// (release) before the source is attached, loaded (acquire) on the loop
// before the task is touched there. It costs a plain store and load on x86.
struct PostedTask {
  explicit PostedTask(std::function<void()> task) : task(std::move(task)) {
    handed_over.store(true, std::memory_order_release);
  }
  ~PostedTask() { (void)handed_over.load(std::memory_order_acquire); }
  std::function<void()> task;
  std::atomic<bool> handed_over{false};
};

gboolean run_posted_task(gpointer data) {
  auto* posted = static_cast<PostedTask*>(data);
  (void)posted->handed_over.load(std::memory_order_acquire);
  posted->task();
  return G_SOURCE_REMOVE;
}

void free_posted_task(gpointer data) {
  std::unique_ptr<PostedTask> owned(static_cast<PostedTask*>(data));
}
}  // namespace

EventLoop::EventLoop(std::string name)
    : name_(std::move(name)), context_(g_main_context_new()), loop_(g_main_loop_new(context_, FALSE)) {}

EventLoop::~EventLoop() {
  stop();
  g_main_loop_unref(loop_);
  g_main_context_unref(context_);
}

void EventLoop::start() {
  thread_ = std::thread([this] {
    g_main_context_push_thread_default(context_);
    g_main_loop_run(loop_);
    // Drain what was posted before stop() so no task is silently dropped.
    while (g_main_context_iteration(context_, FALSE)) {
    }
    g_main_context_pop_thread_default(context_);
  });
}

void EventLoop::stop() {
  if (!thread_.joinable()) return;
  post([this] { g_main_loop_quit(loop_); });
  thread_.join();
}

void EventLoop::post(std::function<void()> task) {
  // An idle source of default priority keeps FIFO order among posted tasks.
  GSource* source = g_idle_source_new();
  g_source_set_priority(source, G_PRIORITY_DEFAULT);
  auto owned = std::make_unique<PostedTask>(std::move(task));
  g_source_set_callback(source, run_posted_task, owned.release(), free_posted_task);
  g_source_attach(source, context_);
  g_source_unref(source);
}

void EventLoop::run_sync(std::function<void()> task) {
  std::promise<void> done;
  post([&] {
    task();
    done.set_value();
  });
  done.get_future().wait();
}

void Timer::start(GMainContext* context, std::chrono::milliseconds delay, std::function<bool()> fire) {
  cancel();
  fire_ = std::move(fire);
  source_ = g_timeout_source_new(static_cast<guint>(delay.count()));
  g_source_set_callback(source_, &Timer::on_fire, this, nullptr);
  g_source_attach(source_, context);
}

namespace {
// A source that becomes ready at multiples of its period (g_source_set_ready_time)
// and re-arms itself for the next multiple after each dispatch.
struct AlignedSource {
  GSource source;
  int64_t period_us;
};

int64_t next_multiple_after(int64_t now_us, int64_t period_us) {
  return (now_us / period_us + 1) * period_us;
}

gboolean dispatch_aligned(GSource* source, GSourceFunc callback, gpointer user_data) {
  if (callback == nullptr) return G_SOURCE_REMOVE;
  const gboolean again = callback(user_data);
  if (again == G_SOURCE_CONTINUE) {
    const int64_t period_us = reinterpret_cast<AlignedSource*>(source)->period_us;
    g_source_set_ready_time(source, next_multiple_after(g_get_monotonic_time(), period_us));
  }
  return again;
}

GSourceFuncs aligned_source_funcs = {nullptr, nullptr, dispatch_aligned, nullptr, nullptr, nullptr};
}  // namespace

void Timer::start_aligned(GMainContext* context, std::chrono::milliseconds period,
                          std::function<bool()> fire) {
  cancel();
  fire_ = std::move(fire);
  const int64_t period_us = std::max<int64_t>(1, std::chrono::microseconds(period).count());
  source_ = g_source_new(&aligned_source_funcs, sizeof(AlignedSource));
  reinterpret_cast<AlignedSource*>(source_)->period_us = period_us;
  g_source_set_ready_time(source_, next_multiple_after(g_get_monotonic_time(), period_us));
  g_source_set_callback(source_, &Timer::on_fire, this, nullptr);
  g_source_attach(source_, context);
}

void Timer::cancel() {
  if (source_ == nullptr) return;
  g_source_destroy(source_);
  g_source_unref(source_);
  source_ = nullptr;
}

gboolean Timer::on_fire(gpointer self) {
  auto* timer = static_cast<Timer*>(self);
  // `fire` may cancel or restart this timer (replacing fire_), or destroy
  // it: run it from a local, keep the source alive meanwhile, and look at
  // the Timer afterwards only if it still exists.
  GSource* current = timer->source_;
  g_source_ref(current);
  const std::shared_ptr<bool> alive = timer->alive_;
  std::function<bool()> fire = std::move(timer->fire_);
  const bool again = fire();
  const bool still_ours = *alive && timer->source_ == current;
  g_source_unref(current);
  if (!still_ours) return G_SOURCE_REMOVE;  // destroyed, cancelled or restarted inside fire()
  if (!again) {
    g_source_unref(timer->source_);
    timer->source_ = nullptr;
    return G_SOURCE_REMOVE;
  }
  timer->fire_ = std::move(fire);
  return G_SOURCE_CONTINUE;
}

}  // namespace partyline::core
