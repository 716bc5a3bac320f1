// The GMainContext an ice/ test iterates on its own thread, with a deadline:
// a blocking iteration returns only when a source is ready, so a 20 ms tick
// keeps waking it and run_until can notice its limit instead of hanging when
// the awaited event never comes (the bug the test is there to catch).
#pragma once

#include <glib.h>

#include <chrono>
#include <functional>

namespace partyline::ice::test_support {

class TestMainContext {
 public:
  TestMainContext() : context_(g_main_context_new()), tick_(g_timeout_source_new(20)) {
    g_source_set_callback(tick_, [](gpointer) -> gboolean { return G_SOURCE_CONTINUE; }, nullptr, nullptr);
    g_source_attach(tick_, context_);
  }
  // After what ran on it is gone: a few iterations let libnice finish closing
  // its sockets before the context goes.
  ~TestMainContext() {
    for (int i = 0; i < 5; ++i) g_main_context_iteration(context_, FALSE);
    g_source_destroy(tick_);
    g_source_unref(tick_);
    g_main_context_unref(context_);
  }
  TestMainContext(const TestMainContext&) = delete;
  TestMainContext& operator=(const TestMainContext&) = delete;

  GMainContext* get() const { return context_; }

  // Iterates until `done` or `limit`; false on timeout.
  bool run_until(const std::function<bool()>& done,
                 std::chrono::milliseconds limit = std::chrono::seconds(10)) const {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      g_main_context_iteration(context_, TRUE);
    }
    return true;
  }

 private:
  GMainContext* context_;
  GSource* tick_;
};

}  // namespace partyline::ice::test_support
