#include "signaling/admin/admin_metrics.hpp"

#include <cstdio>

namespace partyline::signaling::admin {

namespace {

class Exposition {
 public:
  void family(const char* name, const char* type, const char* help) {
    text_ += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  void sample(const char* name, const std::string& labels, uint64_t value) {
    text_ += name + (labels.empty() ? "" : "{" + labels + "}") + " " + std::to_string(value) + "\n";
  }
  void sample(const char* name, double value) {
    char number[64];
    std::snprintf(number, sizeof number, "%.3f", value);
    text_ += std::string(name) + " " + number + "\n";
  }
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
};

std::string worker_label(size_t index) { return "worker=\"" + std::to_string(index) + "\""; }

}  // namespace

std::string render_metrics(const MetricsSnapshot& snapshot) {
  Exposition out;
  out.family("partyline_uptime_seconds", "gauge", "Seconds since the server started.");
  out.sample("partyline_uptime_seconds", snapshot.uptime_s);
  out.family("partyline_workers", "gauge", "Media worker threads.");
  out.sample("partyline_workers", "", snapshot.workers.size());
  out.family("partyline_sessions", "gauge", "Signaling sessions (WebSockets past the handshake) open now.");
  out.sample("partyline_sessions", "", snapshot.sessions);
  out.family("partyline_lines", "gauge", "Phone lines that exist now (occupied or not).");
  out.sample("partyline_lines", "", snapshot.lines);
  out.family("partyline_occupants", "gauge", "Sessions occupying a line now.");
  out.sample("partyline_occupants", "", snapshot.occupants);

  WorkerFigures total;
  for (const WorkerFigures& worker : snapshot.workers) {
    total.forwarded += worker.forwarded;
    total.retransmitted += worker.retransmitted;
    total.legs += worker.legs;
    for (size_t reason = 0; reason < total.drops.size(); ++reason) total.drops[reason] += worker.drops[reason];
  }
  out.family("partyline_forwarded_packets_total", "counter", "RTP packets forwarded to subscribers, all workers.");
  out.sample("partyline_forwarded_packets_total", "", total.forwarded);
  out.family("partyline_retransmitted_packets_total", "counter",
             "NACKed packets resent from the workers' caches, all workers.");
  out.sample("partyline_retransmitted_packets_total", "", total.retransmitted);
  out.family("partyline_forwarding_drops_total", "counter",
             "Packets the forwarding plane did not send, by reason, all workers.");
  for (size_t reason = 0; reason < total.drops.size(); ++reason) {
    const std::string label = "reason=\"" + std::string(core::to_string(static_cast<core::RouterDrop>(reason))) + "\"";
    out.sample("partyline_forwarding_drops_total", label, total.drops[reason]);
  }
  out.family("partyline_forwarding_legs", "gauge", "Subscriber legs served now, all workers.");
  out.sample("partyline_forwarding_legs", "", total.legs);

  out.family("partyline_worker_forwarded_packets_total", "counter", "RTP packets forwarded by one worker.");
  for (size_t i = 0; i < snapshot.workers.size(); ++i) {
    out.sample("partyline_worker_forwarded_packets_total", worker_label(i), snapshot.workers[i].forwarded);
  }
  out.family("partyline_worker_forwarding_drops_total", "counter", "Packets one worker did not send, by reason.");
  for (size_t i = 0; i < snapshot.workers.size(); ++i) {
    for (size_t reason = 0; reason < total.drops.size(); ++reason) {
      const std::string labels = worker_label(i) + ",reason=\"" +
                                 std::string(core::to_string(static_cast<core::RouterDrop>(reason))) + "\"";
      out.sample("partyline_worker_forwarding_drops_total", labels, snapshot.workers[i].drops[reason]);
    }
  }

  const WebhookCounts& hooks = snapshot.webhooks;
  out.family("partyline_webhook_events_total", "counter",
             "Webhook events by outcome: queued, then per URL delivered or dropped_after_retries; "
             "dropped_queue_full never queued.");
  out.sample("partyline_webhook_events_total", "outcome=\"queued\"", hooks.queued);
  out.sample("partyline_webhook_events_total", "outcome=\"delivered\"", hooks.delivered);
  out.sample("partyline_webhook_events_total", "outcome=\"dropped_queue_full\"", hooks.dropped_queue_full);
  out.sample("partyline_webhook_events_total", "outcome=\"dropped_after_retries\"", hooks.dropped_after_retries);
  out.family("partyline_webhook_retries_total", "counter", "Webhook delivery attempts after a failed one.");
  out.sample("partyline_webhook_retries_total", "", hooks.retries);
  return out.take();
}

}  // namespace partyline::signaling::admin
