#include "signaling/admin/admin_metrics.hpp"

#include <algorithm>
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
  void sample(const char* name, double value) { sample(name, std::string(), value); }
  void sample(const char* name, const std::string& labels, double value) {
    char number[64];
    std::snprintf(number, sizeof number, "%.3f", value);
    text_ += name + (labels.empty() ? "" : "{" + labels + "}") + " " + number + "\n";
  }
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
};

std::string worker_label(size_t index) { return "worker=\"" + std::to_string(index) + "\""; }

// What the workers' transports and media handlers counted, summed, and the
// workers' own load.
void render_media_totals(Exposition& out, const MetricsSnapshot& snapshot) {
  ice::TransportTotals transport;
  core::MediaTotals media;
  for (const WorkerFigures& worker : snapshot.workers) {
    transport += worker.transport;
    media += worker.media;
  }
  out.family("partyline_media_packets_total", "counter", "SRTP and SRTCP packets received (in) and sent (out).");
  out.sample("partyline_media_packets_total", "direction=\"in\"", transport.packets_received);
  out.sample("partyline_media_packets_total", "direction=\"out\"", transport.packets_sent);
  out.family("partyline_media_bytes_total", "counter", "SRTP and SRTCP bytes on the wire, received (in) and sent (out).");
  out.sample("partyline_media_bytes_total", "direction=\"in\"", transport.bytes_received);
  out.sample("partyline_media_bytes_total", "direction=\"out\"", transport.bytes_sent);
  out.family("partyline_srtp_unprotect_failures_total", "counter",
             "Received SRTP/SRTCP packets failing authentication or the replay check.");
  out.sample("partyline_srtp_unprotect_failures_total", "", transport.srtp_unprotect_failures);
  out.family("partyline_send_failures_total", "counter",
             "Outgoing datagrams not sent: no path, not secure, protection failed or refused by the socket.");
  out.sample("partyline_send_failures_total", "", transport.send_failures);
  out.family("partyline_transport_failures_total", "counter", "PeerConnections that failed, by layer.");
  out.sample("partyline_transport_failures_total", "layer=\"ice\"", transport.ice_failures);
  out.sample("partyline_transport_failures_total", "layer=\"dtls\"", transport.dtls_failures);
  out.family("partyline_transport_setup_timeouts_total", "counter",
             "PeerConnections failed because set-up outlasted ice.setup_timeout_ms (also in transport_failures_total).");
  out.sample("partyline_transport_setup_timeouts_total", "", transport.setup_timeouts);
  out.family("partyline_nacked_packets_received_total", "counter", "Packets subscribers asked for again (NACK).");
  out.sample("partyline_nacked_packets_received_total", "", media.nacked_packets_received);
  out.family("partyline_keyframe_requests_received_total", "counter", "PLI and FIR from subscribers.");
  out.sample("partyline_keyframe_requests_received_total", "", media.keyframe_requests_received);
  out.family("partyline_nacks_sent_total", "counter", "NACKs sent to publishers for packets no cache held.");
  out.sample("partyline_nacks_sent_total", "", media.nacks_sent);
  out.family("partyline_keyframe_requests_sent_total", "counter", "PLIs sent to publishers (coalesced).");
  out.sample("partyline_keyframe_requests_sent_total", "", media.keyframe_requests_sent);
  out.family("partyline_muted_drops_total", "counter", "Published packets not forwarded because an operator muted them.");
  out.sample("partyline_muted_drops_total", "", media.muted_drops);

  out.family("partyline_worker_media_packets_total", "counter", "SRTP and SRTCP packets of one worker, by direction.");
  for (size_t i = 0; i < snapshot.workers.size(); ++i) {
    out.sample("partyline_worker_media_packets_total", worker_label(i) + ",direction=\"in\"",
               snapshot.workers[i].transport.packets_received);
    out.sample("partyline_worker_media_packets_total", worker_label(i) + ",direction=\"out\"",
               snapshot.workers[i].transport.packets_sent);
  }
  out.family("partyline_worker_queued_packets", "gauge",
             "Packets other workers queued for one worker (its rings' depth) and not yet served.");
  for (size_t i = 0; i < snapshot.workers.size(); ++i) {
    out.sample("partyline_worker_queued_packets", worker_label(i), snapshot.workers[i].queued);
  }
  out.family("partyline_worker_busy_seconds_total", "counter",
             "Time since the start one worker's loop spent not waiting for events (running callbacks).");
  for (size_t i = 0; i < snapshot.workers.size(); ++i) {
    out.sample("partyline_worker_busy_seconds_total", worker_label(i),
               std::max(0.0, snapshot.uptime_s - snapshot.workers[i].waiting_s));
  }
}

}  // namespace

std::string render_metrics(const MetricsSnapshot& snapshot) {
  Exposition out;
  out.family("partyline_uptime_seconds", "gauge", "Seconds since the server started.");
  out.sample("partyline_uptime_seconds", snapshot.uptime_s);
  out.family("partyline_workers", "gauge", "Media worker threads.");
  out.sample("partyline_workers", "", snapshot.workers.size());
  out.family("partyline_slow_reader_closes_total", "counter",
             "WebSockets closed with 4007: more unsent outbound bytes or messages than signaling.max_queued_*.");
  out.sample("partyline_slow_reader_closes_total", "", snapshot.slow_reader_closes);
  out.family("partyline_http_header_timeouts_total", "counter",
             "HTTP connections closed because their request headers took longer than http.header_timeout_ms, "
             "by listener.");
  out.sample("partyline_http_header_timeouts_total", "listener=\"signaling\"", snapshot.signaling_header_timeouts);
  out.sample("partyline_http_header_timeouts_total", "listener=\"admin\"", snapshot.admin_header_timeouts);
  out.family("partyline_http_connections_evicted_total", "counter",
             "Plain HTTP connections closed (longest idle, else longest awaiting headers) to keep limits.max_sessions "
             "of http.max_connections for WebSocket sessions.");
  out.sample("partyline_http_connections_evicted_total", "listener=\"signaling\"",
             snapshot.signaling_connections_evicted);
  out.family("partyline_sessions", "gauge",
             "Signaling sessions (WebSockets past the handshake) open now, detached ones awaiting a resume included.");
  out.sample("partyline_sessions", "", snapshot.sessions);
  out.family("partyline_sessions_detached", "gauge",
             "Sessions whose WebSocket was lost, kept for signaling.resume_grace_ms awaiting a resume.");
  out.sample("partyline_sessions_detached", "", snapshot.detached);
  out.family("partyline_session_resumes_total", "counter",
             "Resumes (?resume=) by outcome: resumed, refused (4008), expired (no resume within the grace).");
  out.sample("partyline_session_resumes_total", "outcome=\"resumed\"", snapshot.resumes.resumed);
  out.sample("partyline_session_resumes_total", "outcome=\"refused\"", snapshot.resumes.refused);
  out.sample("partyline_session_resumes_total", "outcome=\"expired\"", snapshot.resumes.expired);
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
  render_media_totals(out, snapshot);
  out.family("partyline_signaling_requests_total", "counter",
             "Signaling requests answered, by request name and result code (200: success).");
  for (const RequestCounts::Entry& entry : snapshot.requests) {
    out.sample("partyline_signaling_requests_total",
               "request=\"" + entry.request + "\",code=\"" + std::to_string(entry.code) + "\"", entry.count);
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
