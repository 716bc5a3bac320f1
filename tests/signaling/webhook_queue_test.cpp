#include "signaling/admin/webhook_queue.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace partyline::signaling::admin {
namespace {

constexpr int64_t kStart = 1'000'000;  // an arbitrary monotonic time, ms

std::shared_ptr<const WebhookEvent> event(uint64_t id) {
  auto made = std::make_shared<WebhookEvent>();
  made->id = id;
  made->type = "joined";
  made->body = "{\"id\":" + std::to_string(id) + "}";
  return made;
}

void push_events(WebhookQueue& queue, uint64_t count) {
  for (uint64_t id = 1; id <= count; ++id) ASSERT_TRUE(queue.push(event(id)));
}

// One attempt as the simulation saw it.
struct Seen {
  int64_t at_ms;
  size_t url;
  uint64_t id;
  unsigned number;
  bool operator==(const Seen&) const = default;
};
std::ostream& operator<<(std::ostream& out, const Seen& seen) {
  return out << "{t+" << seen.at_ms - kStart << " url " << seen.url << " id " << seen.id << " #" << seen.number << "}";
}

// Runs the queue in virtual time as WebhookSender does: starts what is due,
// each attempt takes `took_ms` and ends as `answer` says, then the clock
// jumps to the next wakeup. Stops when nothing is left.
std::vector<Seen> simulate(WebhookQueue& queue, int64_t took_ms,
                           const std::function<bool(const WebhookQueue::Attempt&)>& answer) {
  std::vector<Seen> seen;
  int64_t now = kStart;
  for (int steps = 0; steps < 10'000; ++steps) {
    std::vector<WebhookQueue::Attempt> due;
    while (auto attempt = queue.next_attempt(now)) due.push_back(*attempt);
    if (due.empty()) {
      auto wakeup = queue.next_wakeup_ms();
      if (!wakeup) return seen;
      EXPECT_GT(*wakeup, now) << "a wakeup in the past with nothing due";
      now = *wakeup;
      continue;
    }
    for (const auto& attempt : due) seen.push_back({now, attempt.url, attempt.event->id, attempt.number});
    now += took_ms;
    for (const auto& attempt : due) queue.finish(attempt.url, answer(attempt), now);
  }
  ADD_FAILURE() << "the simulation did not end";
  return seen;
}

TEST(WebhookQueue, RetryDelayDoublesUpToAnHour) {
  struct Row {
    int64_t base_ms;
    unsigned failures;
    int64_t expected_ms;
  };
  const Row rows[] = {
      {100, 1, 100},         {100, 2, 200},         {100, 3, 400},       {100, 10, 51'200},
      {500, 4, 4'000},       {100, 40, 3'600'000},  {0, 5, 0},           {-5, 1, 0},
      {3'600'000, 1, 3'600'000}, {3'000'000, 2, 3'600'000}, {1, std::numeric_limits<unsigned>::max(), 3'600'000},
  };
  for (const Row& row : rows) {
    WebhookPolicy policy;
    policy.retry_delay_ms = row.base_ms;
    EXPECT_EQ(WebhookQueue::retry_delay_ms(policy, row.failures), row.expected_ms)
        << "base " << row.base_ms << " after " << row.failures << " failures";
  }
}

TEST(WebhookQueue, AnEventIsDueAtOnceAndInFlightOnlyOnce) {
  WebhookQueue queue({10, 3, 100}, 1);
  EXPECT_FALSE(queue.next_attempt(kStart));
  EXPECT_FALSE(queue.next_wakeup_ms());
  ASSERT_TRUE(queue.push(event(1)));
  ASSERT_EQ(queue.next_wakeup_ms(), 0);  // due since ever
  auto attempt = queue.next_attempt(kStart);
  ASSERT_TRUE(attempt);
  EXPECT_EQ(attempt->url, 0u);
  EXPECT_EQ(attempt->event->id, 1u);
  EXPECT_EQ(attempt->number, 1u);
  // In flight: neither offered again nor waiting on time, also when more come.
  ASSERT_TRUE(queue.push(event(2)));
  EXPECT_FALSE(queue.next_attempt(kStart + 10'000));
  EXPECT_FALSE(queue.next_wakeup_ms());
  EXPECT_EQ(queue.finish(0, true, kStart + 5), WebhookQueue::Outcome::kDelivered);
  EXPECT_EQ(queue.size(), 1u);
  EXPECT_EQ(queue.next_attempt(kStart + 5)->event->id, 2u);
}

TEST(WebhookQueue, DeliversInOrder) {
  WebhookQueue queue({10, 3, 100}, 1);
  push_events(queue, 4);
  const auto seen = simulate(queue, 7, [](const auto&) { return true; });
  const std::vector<Seen> expected = {
      {kStart, 0, 1, 1}, {kStart + 7, 0, 2, 1}, {kStart + 14, 0, 3, 1}, {kStart + 21, 0, 4, 1}};
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(queue.size(), 0u);
}

TEST(WebhookQueue, RetriesWithDoublingDelaysThenGivesUpAndMovesOn) {
  // max 4 attempts, 100 ms first delay; each attempt takes 10 ms. Event 1
  // never gets through; event 2 waits behind it, then goes at once.
  WebhookQueue queue({10, 4, 100}, 1);
  push_events(queue, 2);
  const auto seen = simulate(queue, 10, [](const auto& attempt) { return attempt.event->id != 1; });
  const std::vector<Seen> expected = {
      {kStart, 0, 1, 1},        // fails at +10: retry at +110
      {kStart + 110, 0, 1, 2},  // fails at +120: retry at +320
      {kStart + 320, 0, 1, 3},  // fails at +330: retry at +730
      {kStart + 730, 0, 1, 4},  // fails at +740: given up
      {kStart + 740, 0, 2, 1},
  };
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(queue.size(), 0u);
}

TEST(WebhookQueue, OutcomesOfEachAttempt) {
  WebhookQueue queue({10, 3, 50}, 1);
  push_events(queue, 2);
  ASSERT_TRUE(queue.next_attempt(kStart));
  EXPECT_EQ(queue.finish(0, false, kStart), WebhookQueue::Outcome::kRetryLater);
  EXPECT_EQ(queue.next_wakeup_ms(), kStart + 50);
  EXPECT_FALSE(queue.next_attempt(kStart + 49));  // event 2 waits too
  ASSERT_EQ(queue.next_attempt(kStart + 50)->number, 2u);
  EXPECT_EQ(queue.finish(0, false, kStart + 60), WebhookQueue::Outcome::kRetryLater);
  EXPECT_EQ(queue.next_wakeup_ms(), kStart + 160);
  ASSERT_EQ(queue.next_attempt(kStart + 160)->number, 3u);
  EXPECT_EQ(queue.finish(0, false, kStart + 160), WebhookQueue::Outcome::kGivenUp);
  EXPECT_EQ(queue.size(), 1u);
  // The next event starts afresh: first attempt, due at once.
  EXPECT_EQ(queue.next_wakeup_ms(), 0);
  auto next = queue.next_attempt(kStart + 160);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->event->id, 2u);
  EXPECT_EQ(next->number, 1u);
}

TEST(WebhookQueue, ARetriedEventDeliveredLateKeepsTheOrder) {
  // Every event fails its first attempt once: ids still go out 1, 2, 3.
  WebhookQueue queue({10, 2, 20}, 1);
  push_events(queue, 3);
  std::vector<uint64_t> delivered;
  simulate(queue, 1, [&delivered](const auto& attempt) {
    if (attempt.number == 1) return false;
    delivered.push_back(attempt.event->id);
    return true;
  });
  EXPECT_EQ(delivered, (std::vector<uint64_t>{1, 2, 3}));
}

TEST(WebhookQueue, OneAttemptOnlyGivesUpAtOnce) {
  WebhookQueue queue({10, 0, 100}, 1);  // 0 acts as 1
  push_events(queue, 1);
  ASSERT_TRUE(queue.next_attempt(kStart));
  EXPECT_EQ(queue.finish(0, false, kStart), WebhookQueue::Outcome::kGivenUp);
  EXPECT_EQ(queue.size(), 0u);
}

TEST(WebhookQueue, AFullQueueRefusesUntilAnEventIsDone) {
  WebhookQueue queue({2, 3, 100}, 1);
  EXPECT_TRUE(queue.push(event(1)));
  EXPECT_TRUE(queue.push(event(2)));
  EXPECT_FALSE(queue.push(event(3)));
  ASSERT_TRUE(queue.next_attempt(kStart));  // in flight still takes its place
  EXPECT_FALSE(queue.push(event(3)));
  queue.finish(0, true, kStart);
  EXPECT_TRUE(queue.push(event(3)));
  EXPECT_FALSE(queue.push(event(4)));
  EXPECT_EQ(queue.size(), 2u);
  // Capacity 0 acts as 1.
  WebhookQueue tiny({0, 3, 100}, 1);
  EXPECT_TRUE(tiny.push(event(1)));
  EXPECT_FALSE(tiny.push(event(2)));
}

TEST(WebhookQueue, UrlsGoAtTheirOwnPaceAndTheSlowestHoldsTheQueue) {
  // URL 0 is down for event 1 (2 attempts, 100 ms); URL 1 takes everything.
  WebhookQueue queue({3, 2, 100}, 2);
  push_events(queue, 3);
  const auto seen = simulate(queue, 10, [](const auto& attempt) { return attempt.url == 1 || attempt.event->id != 1; });
  const std::vector<Seen> expected = {
      {kStart, 0, 1, 1},       {kStart, 1, 1, 1},        {kStart + 10, 1, 2, 1},
      {kStart + 20, 1, 3, 1},  {kStart + 110, 0, 1, 2},  {kStart + 120, 0, 2, 1},
      {kStart + 130, 0, 3, 1},
  };
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(queue.size(), 0u);
}

TEST(WebhookQueue, AnEventStaysQueuedUntilEveryUrlIsDone) {
  WebhookQueue queue({2, 5, 100}, 2);
  push_events(queue, 2);
  auto first = queue.next_attempt(kStart);
  auto second = queue.next_attempt(kStart);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->url, 0u);
  EXPECT_EQ(second->url, 1u);
  queue.finish(1, true, kStart);
  EXPECT_EQ(queue.size(), 2u);  // URL 0 still has event 1 in flight
  EXPECT_FALSE(queue.push(event(3)));
  EXPECT_EQ(queue.next_attempt(kStart)->event->id, 2u);  // URL 1 goes on
  queue.finish(0, true, kStart);
  EXPECT_EQ(queue.size(), 1u);
  EXPECT_TRUE(queue.push(event(3)));
}

TEST(WebhookQueue, TheEarliestWaitingUrlSetsTheWakeup) {
  WebhookQueue queue({10, 5, 100}, 2);
  push_events(queue, 1);
  ASSERT_TRUE(queue.next_attempt(kStart));
  ASSERT_TRUE(queue.next_attempt(kStart));
  queue.finish(0, false, kStart);  // retry at +100
  EXPECT_EQ(queue.next_wakeup_ms(), kStart + 100);
  queue.finish(1, false, kStart + 30);  // retry at +130
  EXPECT_EQ(queue.next_wakeup_ms(), kStart + 100);
  auto retry = queue.next_attempt(kStart + 100);
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->url, 0u);
  EXPECT_FALSE(queue.next_attempt(kStart + 129));
  EXPECT_EQ(queue.next_wakeup_ms(), kStart + 130);
}

}  // namespace
}  // namespace partyline::signaling::admin
