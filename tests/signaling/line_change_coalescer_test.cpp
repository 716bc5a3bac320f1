// LineChangeCoalescer on a GMainContext the test drives itself: each test
// iterates the loop until the flush it waits for has run (or a deadline
// passes), so nothing depends on a sleep being long enough.
#include "signaling/line_change_coalescer.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace partyline::signaling {
namespace {

using namespace std::chrono_literals;

struct Flushed {
  std::string line_id;
  int64_t at_us = 0;  // g_get_monotonic_time()
};

class LineChangeCoalescerTest : public ::testing::Test {
 protected:
  ~LineChangeCoalescerTest() override {
    coalescer_.reset();  // its timers first, then their context
    g_main_context_unref(context_);
  }

  void make(std::chrono::milliseconds interval, std::function<void(const std::string&)> also = nullptr) {
    coalescer_ = std::make_unique<LineChangeCoalescer>(context_, interval, [this, also](const std::string& line_id) {
      flushed_.push_back({line_id, g_get_monotonic_time()});
      if (also) also(line_id);
    });
  }

  // Iterates the loop until `done` holds or `timeout` passes; returns `done()`.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 5s) {
    const int64_t deadline = g_get_monotonic_time() + timeout.count() * 1000;
    // Wakes the blocking iteration at the deadline at the latest.
    GSource* wake = g_timeout_source_new(static_cast<guint>(timeout.count()));
    g_source_set_callback(wake, [](gpointer) { return G_SOURCE_REMOVE; }, nullptr, nullptr);
    g_source_attach(wake, context_);
    while (!done() && g_get_monotonic_time() < deadline) g_main_context_iteration(context_, TRUE);
    g_source_destroy(wake);
    g_source_unref(wake);
    return done();
  }

  // Drives the loop for `duration`: how "nothing more is flushed" is watched.
  void run_for(std::chrono::milliseconds duration) {
    run_until([] { return false; }, duration);
  }

  GMainContext* context_ = g_main_context_new();
  std::unique_ptr<LineChangeCoalescer> coalescer_;
  std::vector<Flushed> flushed_;
};

TEST_F(LineChangeCoalescerTest, ChangesMadeTogetherAreFlushedOncePerLineFromTheLoop) {
  make(10s);
  for (int i = 0; i < 50; ++i) coalescer_->mark_changed("a");
  coalescer_->mark_changed("b");
  coalescer_->mark_changed("b");
  // Nothing is flushed inside mark_changed: the caller finishes its own
  // work (an `accepted` event, say) first.
  EXPECT_TRUE(flushed_.empty());
  EXPECT_TRUE(coalescer_->is_pending("a"));
  EXPECT_TRUE(coalescer_->is_pending("b"));
  EXPECT_FALSE(coalescer_->is_pending("c"));

  // A line not flushed within the interval is flushed on the next
  // iteration, not after the (here 10 s) interval.
  ASSERT_TRUE(run_until([&] { return flushed_.size() >= 2; }, 2s));
  run_for(100ms);
  ASSERT_EQ(flushed_.size(), 2u);
  EXPECT_NE(flushed_[0].line_id, flushed_[1].line_id);
  EXPECT_FALSE(coalescer_->is_pending("a"));
  EXPECT_FALSE(coalescer_->is_pending("b"));
}

TEST_F(LineChangeCoalescerTest, ChangesAfterAFlushWaitForTheIntervalAndAreFlushedOnce) {
  constexpr auto kInterval = 200ms;
  make(kInterval);
  coalescer_->mark_changed("a");
  ASSERT_TRUE(run_until([&] { return flushed_.size() == 1; }));
  for (int i = 0; i < 20; ++i) coalescer_->mark_changed("a");
  EXPECT_TRUE(coalescer_->is_pending("a"));
  ASSERT_TRUE(run_until([&] { return flushed_.size() == 2; }));
  EXPECT_GE(flushed_[1].at_us - flushed_[0].at_us, kInterval.count() * 1000);
  run_for(kInterval + 100ms);
  EXPECT_EQ(flushed_.size(), 2u);
}

TEST_F(LineChangeCoalescerTest, EachLineHasItsOwnInterval) {
  make(10s);
  coalescer_->mark_changed("a");
  ASSERT_TRUE(run_until([&] { return flushed_.size() == 1; }));
  coalescer_->mark_changed("a");  // due in 10 s
  coalescer_->mark_changed("b");  // never flushed: due now
  ASSERT_TRUE(run_until([&] { return flushed_.size() == 2; }, 2s));
  EXPECT_EQ(flushed_[1].line_id, "b");
  EXPECT_TRUE(coalescer_->is_pending("a"));
}

TEST_F(LineChangeCoalescerTest, FlushNowSendsAScheduledChangeAtOnceAndOnlyOnce) {
  make(10s);
  EXPECT_FALSE(coalescer_->flush_now("a"));  // nothing scheduled
  coalescer_->mark_changed("a");
  ASSERT_TRUE(run_until([&] { return flushed_.size() == 1; }));
  coalescer_->mark_changed("a");  // due in 10 s
  EXPECT_TRUE(coalescer_->flush_now("a"));
  ASSERT_EQ(flushed_.size(), 2u);  // synchronously, before flush_now returned
  EXPECT_FALSE(coalescer_->is_pending("a"));
  EXPECT_FALSE(coalescer_->flush_now("a"));
  run_for(100ms);  // the cancelled timer does not flush again
  EXPECT_EQ(flushed_.size(), 2u);
}

TEST_F(LineChangeCoalescerTest, ForgetDropsTheScheduledFlush) {
  make(0ms);
  coalescer_->mark_changed("a");
  coalescer_->forget("a");
  EXPECT_FALSE(coalescer_->is_pending("a"));
  run_for(50ms);
  EXPECT_TRUE(flushed_.empty());
  // A forgotten line starts afresh: its next change is flushed at once.
  coalescer_->mark_changed("a");
  EXPECT_TRUE(run_until([&] { return flushed_.size() == 1; }, 2s));
}

TEST_F(LineChangeCoalescerTest, AChangeMadeWhileFlushingIsFlushedAnIntervalLater) {
  constexpr auto kInterval = 100ms;
  bool marked_again = false;
  make(kInterval, [&](const std::string& line_id) {
    if (marked_again) return;
    marked_again = true;
    coalescer_->mark_changed(line_id);
  });
  coalescer_->mark_changed("a");
  ASSERT_TRUE(run_until([&] { return flushed_.size() == 2; }));
  EXPECT_GE(flushed_[1].at_us - flushed_[0].at_us, kInterval.count() * 1000);
}

TEST_F(LineChangeCoalescerTest, AFlushMayForgetItsOwnLine) {
  make(0ms, [&](const std::string& line_id) { coalescer_->forget(line_id); });
  coalescer_->mark_changed("a");
  ASSERT_TRUE(run_until([&] { return flushed_.size() == 1; }));
  EXPECT_FALSE(coalescer_->is_pending("a"));
  coalescer_->mark_changed("a");
  EXPECT_TRUE(run_until([&] { return flushed_.size() == 2; }));
}

TEST_F(LineChangeCoalescerTest, ZeroIntervalStillCoalescesOneIterationsChanges) {
  make(0ms);
  coalescer_->mark_changed("a");
  coalescer_->mark_changed("a");
  ASSERT_TRUE(run_until([&] { return flushed_.size() == 1; }));
  coalescer_->mark_changed("a");
  ASSERT_TRUE(run_until([&] { return flushed_.size() == 2; }));
  run_for(50ms);
  EXPECT_EQ(flushed_.size(), 2u);
}

}  // namespace
}  // namespace partyline::signaling
