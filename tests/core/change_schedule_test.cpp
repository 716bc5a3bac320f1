// ChangeSchedule in virtual time: the times are the test's, no clock runs.
#include "core/calls/change_schedule.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace partyline::core {
namespace {

std::vector<std::string> sorted(std::vector<std::string> lines) {
  std::sort(lines.begin(), lines.end());
  return lines;
}

TEST(ChangeScheduleTest, ALoneChangeIsDueAtOnceAndChangesTogetherShareOneFlush) {
  ChangeSchedule schedule(50);
  EXPECT_FALSE(schedule.next_wakeup());
  EXPECT_EQ(schedule.mark("a", 1000), 1000);
  EXPECT_EQ(schedule.mark("a", 1000), 1000);
  EXPECT_EQ(schedule.mark("b", 1000), 1000);
  EXPECT_EQ(schedule.next_wakeup(), 1000);
  EXPECT_EQ(sorted(schedule.take_due(1000)), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(schedule.take_due(1000).empty());
  EXPECT_FALSE(schedule.next_wakeup());
}

TEST(ChangeScheduleTest, ChangesAfterAFlushWaitForTheIntervalAndAreFlushedOnce) {
  ChangeSchedule schedule(50);
  schedule.mark("a", 1000);
  ASSERT_EQ(schedule.take_due(1000).size(), 1u);
  EXPECT_EQ(schedule.mark("a", 1010), 1050);
  EXPECT_EQ(schedule.mark("a", 1020), 1050);  // a burst shares the flush
  EXPECT_TRUE(schedule.is_pending("a"));
  EXPECT_TRUE(schedule.take_due(1049).empty());
  EXPECT_EQ(schedule.take_due(1050), (std::vector<std::string>{"a"}));
  EXPECT_FALSE(schedule.is_pending("a"));
  // Quiet for longer than the interval: the next change is due at once.
  EXPECT_EQ(schedule.mark("a", 2000), 2000);
}

TEST(ChangeScheduleTest, EachLineHasItsOwnInterval) {
  ChangeSchedule schedule(100);
  schedule.mark("a", 0);
  ASSERT_EQ(schedule.take_due(0).size(), 1u);
  schedule.mark("a", 10);  // due at 100
  schedule.mark("b", 10);  // never flushed: due at once
  EXPECT_EQ(schedule.next_wakeup(), 10);
  EXPECT_EQ(schedule.take_due(10), (std::vector<std::string>{"b"}));
  EXPECT_EQ(schedule.next_wakeup(), 100);
  EXPECT_EQ(schedule.take_due(100), (std::vector<std::string>{"a"}));
}

TEST(ChangeScheduleTest, TakingAheadOfTimeFlushesOnceAndRestartsTheInterval) {
  ChangeSchedule schedule(100);
  schedule.mark("a", 0);
  schedule.take_due(0);
  schedule.mark("a", 20);
  EXPECT_TRUE(schedule.take("a", 30));
  EXPECT_FALSE(schedule.take("a", 30));  // nothing scheduled any more
  EXPECT_TRUE(schedule.take_due(100).empty());
  EXPECT_EQ(schedule.mark("a", 40), 130);  // the interval counts from the early flush
}

TEST(ChangeScheduleTest, ForgetDropsTheScheduledFlushAndTheHistory) {
  ChangeSchedule schedule(100);
  schedule.mark("a", 0);
  schedule.take_due(0);
  schedule.mark("a", 10);
  schedule.forget("a");
  EXPECT_FALSE(schedule.next_wakeup());
  EXPECT_EQ(schedule.tracked(), 0u);
  EXPECT_EQ(schedule.mark("a", 20), 20);  // no history: due at once
}

TEST(ChangeScheduleTest, AZeroIntervalStillCoalescesChangesMadeTogether) {
  ChangeSchedule schedule(0);
  schedule.mark("a", 5);
  schedule.mark("a", 5);
  EXPECT_EQ(schedule.take_due(5).size(), 1u);
  EXPECT_EQ(schedule.mark("a", 5), 5);  // a change made while flushing: the next flush
  EXPECT_EQ(schedule.take_due(5).size(), 1u);
}

}  // namespace
}  // namespace partyline::core
