// A deadline for loops of blocking g_main_context_iteration calls. A blocking
// iteration returns only when some source of the context is ready: when the
// source a test waits for never comes (the bug the test is there to catch),
// checking a deadline between iterations is not enough, the loop hangs in
// the iteration. A DeadlineWake's timeout source wakes the context at the
// deadline (and every `timeout` after it), so the loop sees the deadline and
// the test fails instead of hanging.
#pragma once

#include <glib.h>

#include <chrono>

namespace partyline::core::test_support {

class DeadlineWake {
 public:
  DeadlineWake(GMainContext* context, std::chrono::milliseconds timeout)
      // The deadline is taken before the source exists, so the source's
      // ready time (its creation + timeout) is never earlier than it.
      : deadline_us_(g_get_monotonic_time() + timeout.count() * 1000),
        source_(g_timeout_source_new(static_cast<guint>(timeout.count()))) {
    g_source_set_callback(source_, [](gpointer) -> gboolean { return G_SOURCE_CONTINUE; }, nullptr, nullptr);
    g_source_attach(source_, context);
  }
  ~DeadlineWake() {
    g_source_destroy(source_);
    g_source_unref(source_);
  }
  DeadlineWake(const DeadlineWake&) = delete;
  DeadlineWake& operator=(const DeadlineWake&) = delete;

  bool passed() const { return g_get_monotonic_time() >= deadline_us_; }

 private:
  int64_t deadline_us_;
  GSource* source_;
};

}  // namespace partyline::core::test_support
