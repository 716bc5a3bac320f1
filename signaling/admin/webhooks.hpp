// Event webhooks (docs/admin-api.md, "Webhooks"): every call event is POSTed
// as signed JSON to each configured URL.
//
// Threads: on_call_event runs on the signaling loop and never blocks; it
// stamps and signs the event and queues it (a full queue drops it, counted).
// One delivery thread of the sender's own sends with libcurl (a multi
// handle, one request in flight per URL), retries per WebhookQueue, and
// stops promptly when the sender is destroyed, also mid-request or
// mid-retry (what is still queued then is not sent). The counters are
// atomics, read by /metrics from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/runtime/config.hpp"
#include "core/runtime/json.hpp"
#include "signaling/admin/webhook_queue.hpp"
#include "signaling/call_events.hpp"

namespace partyline::signaling::admin {

struct WebhookOptions {
  std::vector<std::string> urls;
  std::string secret;  // HMAC-SHA256 key of X-Partyline-Signature
  WebhookPolicy policy;
  long timeout_ms = 2000;  // per request, connecting included
};
WebhookOptions webhook_options(const core::Config::Webhooks& config);

// The body POSTed: {"event": type, "id": id, "timestamp": unix_ms, ...fields}
// (fields may not override the first three), compact JSON.
std::string webhook_body(std::string_view type, uint64_t id, int64_t unix_ms, json_t* fields);
// "sha256=" and the lowercase hex HMAC-SHA256 of `body` under `secret`.
std::string webhook_signature(std::string_view secret, std::string_view body);

class WebhookSender final : public CallEvents {
 public:
  // Starts the delivery thread.
  explicit WebhookSender(WebhookOptions options);
  // Stops and joins it.
  ~WebhookSender() override;
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  void on_call_event(std::string_view type, core::JsonPtr fields) override;

  WebhookCounts counts() const;

 private:
  class Delivery;  // libcurl's side, in webhooks.cpp
  void run();  // the delivery thread
  void finish(const WebhookQueue::Attempt& attempt, bool delivered, const std::string& why);

  const WebhookOptions options_;
  uint64_t last_id_ = 0;           // signaling loop only
  bool dropping_ = false;          // signaling loop only: logs the first drop of a run
  std::mutex mutex_;               // guards queue_ (held briefly, never during I/O)
  WebhookQueue queue_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<Delivery> delivery_;

  struct Counters {
    std::atomic<uint64_t> queued{0};
    std::atomic<uint64_t> delivered{0};
    std::atomic<uint64_t> retries{0};
    std::atomic<uint64_t> dropped_queue_full{0};
    std::atomic<uint64_t> dropped_after_retries{0};
  } counters_;

  std::thread thread_;  // last: started when everything above exists
};

}  // namespace partyline::signaling::admin
