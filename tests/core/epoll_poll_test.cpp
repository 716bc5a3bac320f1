#include "core/runtime/epoll_poll.hpp"

#include <fcntl.h>
#include <glib-unix.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <functional>
#include <thread>
#include <vector>

#include "tests/core/glib_deadline.hpp"

namespace partyline::core {
namespace {

// Pipes watched by GLib unix-fd sources on a context that polls through
// epoll. A poller belongs to the thread that iterates the context (one
// context per thread, as for a worker), so each test runs on a thread of its own.
class EpollPollTest : public ::testing::Test {
 protected:
  void SetUp() override {
    context_ = g_main_context_new();
    ASSERT_TRUE(install_epoll_poll(context_));
  }
  static void on_own_thread(const std::function<void()>& body) { std::thread(body).join(); }
  void TearDown() override {
    for (GSource* source : sources_) {
      g_source_destroy(source);
      g_source_unref(source);
    }
    g_main_context_unref(context_);
  }

  struct Pipe {
    std::array<int, 2> fds{-1, -1};
    int reads = 0;
    ~Pipe() { close_both(); }
    void close_both() {
      for (int& fd : fds) {
        if (fd >= 0) ::close(fd);
        fd = -1;
      }
    }
  };

  static gboolean on_readable(gint fd, GIOCondition, gpointer data) {
    char byte;
    if (::read(fd, &byte, 1) == 1) ++static_cast<Pipe*>(data)->reads;
    return G_SOURCE_CONTINUE;
  }

  GSource* watch(Pipe& pipe, GIOCondition condition = G_IO_IN) {
    GSource* source = g_unix_fd_source_new(pipe.fds[0], condition);
    g_source_set_callback(source, reinterpret_cast<GSourceFunc>(reinterpret_cast<void (*)()>(&on_readable)),
                          &pipe, nullptr);
    g_source_attach(source, context_);
    sources_.push_back(source);
    return source;
  }

  void unwatch(GSource* source) {
    g_source_destroy(source);
    g_source_unref(source);
    std::erase(sources_, source);
  }

  // Iterates (blocking) until `done` or the deadline; false on the deadline.
  // The wake returns a blocking iteration at the deadline even when no
  // watched descriptor ever becomes ready.
  bool run_until(const std::function<bool()>& done, int64_t deadline_us = 5'000'000) {
    const test_support::DeadlineWake wake(context_, std::chrono::milliseconds(deadline_us / 1000));
    while (!done()) {
      if (wake.passed()) return false;
      g_main_context_iteration(context_, TRUE);
    }
    return true;
  }

  GMainContext* context_ = nullptr;
  std::vector<GSource*> sources_;
};

TEST_F(EpollPollTest, DispatchesReadyDescriptorsAndTimers) {
  on_own_thread([&] {
    Pipe a, b;
    ASSERT_EQ(0, ::pipe(a.fds.data()));
    ASSERT_EQ(0, ::pipe(b.fds.data()));
    watch(a);
    watch(b);
    ASSERT_EQ(1, ::write(b.fds[1], "x", 1));
    ASSERT_TRUE(run_until([&] { return b.reads == 1; }));
    EXPECT_EQ(0, a.reads);  // not ready, not dispatched
    bool fired = false;
    GSource* timer = g_timeout_source_new(5);
    g_source_set_callback(timer, [](gpointer flag) -> gboolean {
      *static_cast<bool*>(flag) = true;
      return G_SOURCE_REMOVE;
    }, &fired, nullptr);
    g_source_attach(timer, context_);
    g_source_unref(timer);
    ASSERT_TRUE(run_until([&] { return fired; }));  // a wait with a timeout returns
    for (int i = 0; i < 3; ++i) ASSERT_EQ(1, ::write(a.fds[1], "y", 1));
    ASSERT_TRUE(run_until([&] { return a.reads == 3; }));
  });
}

// Two sources on one descriptor (GLib's array then has it twice): both hear it.
TEST_F(EpollPollTest, ServesEveryEntryOfADescriptorListedTwice) {
  on_own_thread([&] {
    Pipe pipe;
    ASSERT_EQ(0, ::pipe(pipe.fds.data()));
    int hup_or_in = 0;
    watch(pipe);
    GSource* second = g_unix_fd_source_new(pipe.fds[0], static_cast<GIOCondition>(G_IO_IN | G_IO_HUP));
    g_source_set_callback(second, reinterpret_cast<GSourceFunc>(reinterpret_cast<void (*)()>(
                                      +[](gint, GIOCondition, gpointer count) -> gboolean {
                                        ++*static_cast<int*>(count);
                                        return G_SOURCE_REMOVE;
                                      })),
                          &hup_or_in, nullptr);
    g_source_attach(second, context_);
    g_source_unref(second);
    ASSERT_EQ(1, ::write(pipe.fds[1], "z", 1));
    ASSERT_TRUE(run_until([&] { return pipe.reads == 1 && hup_or_in == 1; }));
  });
}

// A descriptor number closed and reused: served at the next iteration when
// it left GLib's array in between, and within the resync interval even when
// it was closed and reopened inside one iteration.
TEST_F(EpollPollTest, ServesAReusedDescriptorNumber) {
  on_own_thread([&] {
    Pipe first;
    ASSERT_EQ(0, ::pipe(first.fds.data()));
    GSource* source = watch(first);
    ASSERT_EQ(1, ::write(first.fds[1], "a", 1));
    ASSERT_TRUE(run_until([&] { return first.reads == 1; }));

    // Left the array for one iteration, then the number comes back.
    const int number = first.fds[0];
    unwatch(source);
    first.close_both();
    g_main_context_iteration(context_, FALSE);
    Pipe second;
    ASSERT_EQ(0, ::pipe(second.fds.data()));
    ASSERT_EQ(number, second.fds[0]);  // the lowest free numbers come back
    source = watch(second);
    ASSERT_EQ(1, ::write(second.fds[1], "b", 1));
    // At once, not after a resync: served by the very next iteration. A
    // poller that kept the stale registration would block that iteration
    // until its resync (up to kEpollResyncInterval) and serve the pipe in the
    // one after. Counting iterations tells the two apart on any machine; a
    // wall-clock bound (it was 100 ms) fails under ASan on loaded cores, and
    // passes the bug whenever the resync happens to fall inside it.
    {
      const test_support::DeadlineWake wake(context_, std::chrono::seconds(5));
      g_main_context_iteration(context_, TRUE);
    }
    EXPECT_EQ(second.reads, 1) << "not served by the first iteration after the write";
    ASSERT_TRUE(run_until([&] { return second.reads == 1; }));

    // Closed and reopened between two iterations, the number never leaving the array.
    unwatch(source);
    second.close_both();
    Pipe third;
    ASSERT_EQ(0, ::pipe(third.fds.data()));
    ASSERT_EQ(number, third.fds[0]);
    watch(third);
    ASSERT_EQ(1, ::write(third.fds[1], "c", 1));
    const int64_t start = g_get_monotonic_time();
    ASSERT_TRUE(run_until([&] { return third.reads == 1; }));
    EXPECT_LE(g_get_monotonic_time() - start,
              std::chrono::microseconds(kEpollResyncInterval).count() + 1'000'000);
  });
}

}  // namespace
}  // namespace partyline::core
