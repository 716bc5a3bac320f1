// The webhook sender's queue and retry schedule (docs/admin-api.md,
// "Webhooks"), sans-I/O: events go in, and the caller asks, with the time
// (a monotonic clock in milliseconds), which delivery to attempt now and
// when to ask next, then reports how each attempt ended. No thread, lock or
// clock inside; WebhookSender does the HTTP and the waiting.
//
// Each URL takes the events in order: one attempt at a time per URL, and an
// event that failed waits (retry_delay_ms, doubled after each failure) and
// is tried again, up to max_attempts, while the events behind it wait too.
// Different URLs do not wait for each other. An event leaves the queue when
// every URL is done with it (delivered or given up); a push into a full
// queue is refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace partyline::signaling::admin {

// One stamped event, serialized and signed once, shared by every URL's
// attempts.
struct WebhookEvent {
  uint64_t id = 0;        // X-Partyline-Delivery; increases by one per event
  std::string type;       // X-Partyline-Event
  std::string body;       // the exact bytes POSTed (and signed)
  std::string signature;  // X-Partyline-Signature: "sha256=<hex>"
};

// The sender's counters, as one read (docs/admin-api.md lists them).
struct WebhookCounts {
  uint64_t queued = 0;                 // events accepted into the queue
  uint64_t delivered = 0;              // deliveries a URL answered 2xx (per URL)
  uint64_t retries = 0;                // attempts after a failed one
  uint64_t dropped_queue_full = 0;     // events refused: the queue was full
  uint64_t dropped_after_retries = 0;  // deliveries given up after max_attempts (per URL)
};

struct WebhookPolicy {
  size_t capacity = 1000;        // events in the queue at once; 0 acts as 1
  unsigned max_attempts = 5;     // per event and URL; 0 acts as 1
  int64_t retry_delay_ms = 500;  // before the first retry; doubles each time
};

class WebhookQueue {
 public:
  // The delay before retry `failures` (1: after the first failed attempt):
  // retry_delay_ms * 2^(failures - 1), at most one hour.
  static int64_t retry_delay_ms(const WebhookPolicy& policy, unsigned failures);

  WebhookQueue(const WebhookPolicy& policy, size_t url_count);

  // False when the queue is full: the event is not queued.
  bool push(std::shared_ptr<const WebhookEvent> event);

  struct Attempt {
    size_t url = 0;  // index into the configured URLs
    std::shared_ptr<const WebhookEvent> event;
    unsigned number = 1;  // 1 for the first attempt, 2 for the first retry, ...
  };
  // An attempt due at `now_ms` for a URL with none in flight, marked in
  // flight; nullopt when none is due. Call until nullopt.
  std::optional<Attempt> next_attempt(int64_t now_ms);

  enum class Outcome { kDelivered, kRetryLater, kGivenUp };
  // How the attempt in flight for `url` ended.
  Outcome finish(size_t url, bool delivered, int64_t now_ms);

  // When next_attempt may next return one: the earliest retry time of a URL
  // waiting for one (possibly already past), nullopt when nothing waits on
  // time (every URL is idle with nothing to send, or in flight).
  std::optional<int64_t> next_wakeup_ms() const;

  size_t size() const { return events_.size(); }
  size_t capacity() const { return policy_.capacity; }

 private:
  struct Cursor {
    uint64_t next = 0;          // index (since the start) of the URL's next event
    unsigned failures = 0;      // failed attempts of that event
    int64_t not_before_ms = 0;  // its next attempt's earliest time
    bool in_flight = false;
  };
  bool has_pending(const Cursor& cursor) const { return cursor.next < first_ + events_.size(); }
  void advance(Cursor& cursor);
  void trim();  // drops the front events every URL is done with

  WebhookPolicy policy_;
  std::deque<std::shared_ptr<const WebhookEvent>> events_;
  uint64_t first_ = 0;  // index of events_.front()
  std::vector<Cursor> cursors_;
};

}  // namespace partyline::signaling::admin
