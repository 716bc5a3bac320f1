// GET /metrics: what one scrape read, and its rendering in the Prometheus
// text exposition format (version 0.0.4). Pure: AdminApi gathers the
// figures on the threads that own them and hands them here.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/media/media_router.hpp"
#include "core/media/media_totals.hpp"
#include "ice/transport_totals.hpp"
#include "signaling/admin/webhook_queue.hpp"
#include "signaling/request_counts.hpp"
#include "signaling/signaling_server.hpp"

namespace partyline::signaling::admin {

// One worker's forwarding counters (core::WorkerRouter), read on the worker.
struct WorkerFigures {
  uint64_t forwarded = 0;
  uint64_t retransmitted = 0;
  uint64_t legs = 0;
  std::array<uint64_t, static_cast<size_t>(core::RouterDrop::kCount)> drops{};
  ice::TransportTotals transport;  // its PeerTransports, closed ones included
  core::MediaTotals media;         // its LineMedias' feedback
  uint64_t queued = 0;             // packets other workers queued for it, not drained yet
  double waiting_s = 0;            // time its loop spent waiting for events
};

struct MetricsSnapshot {
  double uptime_s = 0;
  uint64_t sessions = 0;   // WebSocket sessions known to the CallHandler
  uint64_t lines = 0;      // lines in the LineStore
  uint64_t occupants = 0;  // sessions occupying a line
  uint64_t detached = 0;   // of those, sessions whose connection was lost, awaiting a resume
  uint64_t slow_reader_closes = 0;  // WebSockets closed with 4007 since start
  ResumeTotals resumes;             // since start
  // Connections closed because their request headers outlasted
  // http.header_timeout_ms, on the signaling and the admin listener.
  uint64_t signaling_header_timeouts = 0;
  uint64_t admin_header_timeouts = 0;
  // Plain HTTP connections of the signaling listener closed to keep the
  // WebSocket sessions' share (http.max_connections - limits.max_sessions).
  uint64_t signaling_connections_evicted = 0;
  std::vector<WorkerFigures> workers;
  std::vector<RequestCounts::Entry> requests;  // answered by the signaling loop
  WebhookCounts webhooks;  // the webhook sender's counters (all 0 without webhooks)
};

// Every family has HELP and TYPE; totals are the per-worker counters summed
// (and each worker's own series too, labelled worker="N").
std::string render_metrics(const MetricsSnapshot& snapshot);

}  // namespace partyline::signaling::admin
