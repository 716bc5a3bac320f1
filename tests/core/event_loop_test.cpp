#include "core/runtime/event_loop.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <vector>

#include "tests/core/glib_deadline.hpp"

namespace partyline::core {
namespace {

TEST(EventLoopTest, PostedTasksRunInOrderOnTheLoopThread) {
  EventLoop loop("test");
  loop.start();
  std::vector<int> order;
  bool on_thread = true;
  for (int i = 0; i < 100; ++i) {
    loop.post([&, i] {
      order.push_back(i);
      on_thread = on_thread && loop.on_loop_thread();
    });
  }
  loop.run_sync([] {});
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
  EXPECT_TRUE(on_thread);
}

TEST(EventLoopTest, StopRunsTasksAlreadyPosted) {
  std::atomic<int> ran{0};
  {
    EventLoop loop("test");
    loop.start();
    for (int i = 0; i < 10; ++i) loop.post([&] { ++ran; });
    loop.stop();
  }
  EXPECT_EQ(ran.load(), 10);
}

TEST(TimerTest, RepeatsUntilItReturnsFalse) {
  EventLoop loop("test");
  loop.start();
  Timer timer;
  std::promise<int> done;
  int fired = 0;
  loop.run_sync([&] {
    timer.start(loop.context(), std::chrono::milliseconds(1), [&] {
      if (++fired < 3) return true;
      done.set_value(fired);
      return false;
    });
  });
  auto fired_count = done.get_future();
  ASSERT_EQ(fired_count.wait_for(std::chrono::seconds(5)), std::future_status::ready) << "the timer never finished";
  EXPECT_EQ(fired_count.get(), 3);
  loop.run_sync([&] { EXPECT_FALSE(timer.active()); });
}

TEST(TimerTest, MayRestartOrCancelItselfFromItsCallback) {
  EventLoop loop("test");
  loop.start();
  Timer timer;
  std::promise<void> done;
  int generation = 0;
  std::function<bool()> fire = [&]() -> bool {
    ++generation;
    if (generation < 3) {
      timer.start(loop.context(), std::chrono::milliseconds(1), fire);  // replaces the running callback
      return true;  // ignored: the timer was restarted
    }
    timer.cancel();
    done.set_value();
    return true;
  };
  loop.run_sync([&] { timer.start(loop.context(), std::chrono::milliseconds(1), fire); });
  ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready)
      << "the timer never fired its last time";
  loop.run_sync([&] {
    EXPECT_EQ(generation, 3);
    EXPECT_FALSE(timer.active());
  });
}

// An owner may destroy a timer from its own callback (CallHandler erases a
// ringing call's timer when the call times out); run under ASan this fails
// on any use after free.
TEST(TimerTest, MayBeDestroyedByItsOwnCallback) {
  EventLoop loop("test");
  loop.start();
  auto timer = std::make_unique<Timer>();
  std::promise<void> done;
  loop.run_sync([&] {
    timer->start(loop.context(), std::chrono::milliseconds(1), [&] {
      timer.reset();
      done.set_value();
      return true;
    });
  });
  ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready)
      << "the timer never fired its last time";
  loop.run_sync([&] { EXPECT_EQ(timer, nullptr); });
}


// Aligned timers of one period fire together, whenever they were started:
// driven one g_main_context_iteration at a time on a private context, both
// first fire in the same iteration, at the same multiple of the period, and
// keep firing together.
TEST(TimerTest, AlignedTimersOfOnePeriodFireInTheSameIteration) {
  GMainContext* context = g_main_context_new();
  constexpr auto kPeriod = std::chrono::milliseconds(20);
  constexpr int64_t kPeriodUs = 20'000;
  Timer first;
  Timer second;
  int iteration = 0;
  std::vector<std::pair<int, int64_t>> first_fires;   // (iteration, monotonic µs)
  std::vector<std::pair<int, int64_t>> second_fires;
  first.start_aligned(context, kPeriod, [&] {
    first_fires.emplace_back(iteration, g_get_monotonic_time());
    return true;
  });
  // Started later: with plain timeouts it would fire 5 ms after the first.
  const int64_t start = g_get_monotonic_time();
  while (g_get_monotonic_time() < start + 5'000) g_main_context_iteration(context, FALSE);
  second.start_aligned(context, kPeriod, [&] {
    second_fires.emplace_back(iteration, g_get_monotonic_time());
    return second_fires.size() < 3;  // stops itself after three
  });
  {
    // Five fires take 100 ms; a timer that stops firing fails here instead
    // of blocking the iteration forever.
    const test_support::DeadlineWake wake(context, std::chrono::seconds(5));
    while (first_fires.size() < 5 && !wake.passed()) {
      ++iteration;
      g_main_context_iteration(context, TRUE);
    }
  }
  ASSERT_EQ(first_fires.size(), 5u) << "the first timer stopped firing";
  ASSERT_EQ(second_fires.size(), 3u);
  EXPECT_FALSE(second.active());
  EXPECT_TRUE(first.active());
  // The first may have fired before the second existed (iteration 0).
  size_t offset = 0;
  while (offset < first_fires.size() && first_fires[offset].first == 0) ++offset;
  ASSERT_GE(first_fires.size(), offset + second_fires.size());
  for (size_t i = 0; i < second_fires.size(); ++i) {
    EXPECT_EQ(first_fires[i + offset].first, second_fires[i].first) << "fire " << i;
  }
  for (size_t i = 1; i < first_fires.size(); ++i) {
    // At most one fire per multiple of the period (a loaded machine may skip one).
    EXPECT_GT(first_fires[i].second / kPeriodUs, first_fires[i - 1].second / kPeriodUs) << "fire " << i;
  }
  first.cancel();
  g_main_context_unref(context);
}

}  // namespace
}  // namespace partyline::core
