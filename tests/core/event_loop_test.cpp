#include "core/event_loop.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <vector>

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
  EXPECT_EQ(done.get_future().get(), 3);
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
  done.get_future().wait();
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
  done.get_future().wait();
  loop.run_sync([&] { EXPECT_EQ(timer, nullptr); });
}

}  // namespace
}  // namespace partyline::core
