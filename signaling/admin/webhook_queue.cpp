#include "signaling/admin/webhook_queue.hpp"

#include <algorithm>

namespace partyline::signaling::admin {

namespace {

constexpr int64_t kMaxRetryDelayMs = 3'600'000;

}  // namespace

int64_t WebhookQueue::retry_delay_ms(const WebhookPolicy& policy, unsigned failures) {
  int64_t delay = std::max<int64_t>(policy.retry_delay_ms, 0);
  for (unsigned i = 1; i < failures && delay < kMaxRetryDelayMs; ++i) delay *= 2;
  return std::min(delay, kMaxRetryDelayMs);
}

WebhookQueue::WebhookQueue(const WebhookPolicy& policy, size_t url_count) : policy_(policy), cursors_(url_count) {
  policy_.capacity = std::max<size_t>(policy_.capacity, 1);
  policy_.max_attempts = std::max(policy_.max_attempts, 1u);
}

bool WebhookQueue::push(std::shared_ptr<const WebhookEvent> event) {
  if (events_.size() >= policy_.capacity) return false;
  events_.push_back(std::move(event));
  trim();  // with no URL at all, nobody waits for it
  return true;
}

std::optional<WebhookQueue::Attempt> WebhookQueue::next_attempt(int64_t now_ms) {
  for (size_t url = 0; url < cursors_.size(); ++url) {
    Cursor& cursor = cursors_[url];
    if (cursor.in_flight || !has_pending(cursor) || cursor.not_before_ms > now_ms) continue;
    cursor.in_flight = true;
    return Attempt{url, events_[cursor.next - first_], cursor.failures + 1};
  }
  return std::nullopt;
}

WebhookQueue::Outcome WebhookQueue::finish(size_t url, bool delivered, int64_t now_ms) {
  Cursor& cursor = cursors_.at(url);
  cursor.in_flight = false;
  if (delivered) {
    advance(cursor);
    return Outcome::kDelivered;
  }
  if (++cursor.failures < policy_.max_attempts) {
    cursor.not_before_ms = now_ms + retry_delay_ms(policy_, cursor.failures);
    return Outcome::kRetryLater;
  }
  advance(cursor);
  return Outcome::kGivenUp;
}

std::optional<int64_t> WebhookQueue::next_wakeup_ms() const {
  std::optional<int64_t> earliest;
  for (const Cursor& cursor : cursors_) {
    if (cursor.in_flight || !has_pending(cursor)) continue;
    if (!earliest || cursor.not_before_ms < *earliest) earliest = cursor.not_before_ms;
  }
  return earliest;
}

void WebhookQueue::advance(Cursor& cursor) {
  ++cursor.next;
  cursor.failures = 0;
  cursor.not_before_ms = 0;
  trim();
}

void WebhookQueue::trim() {
  uint64_t done = first_ + events_.size();  // every URL is done with the events before it
  for (const Cursor& cursor : cursors_) done = std::min(done, cursor.next);
  while (first_ < done) {
    events_.pop_front();
    ++first_;
  }
}

}  // namespace partyline::signaling::admin
