// MediaTotals: the feedback every LineMedia of one media worker exchanged,
// summed as it happens, for /metrics. Thread-local like
// ice::TransportTotals: plain increments on the worker, read by a scrape
// task on that worker.
#pragma once

#include <cstdint>

namespace partyline::core {

struct MediaTotals {
  uint64_t nacked_packets_received = 0;    // sequence numbers subscribers NACKed
  uint64_t keyframe_requests_received = 0; // PLI and FIR from subscribers
  uint64_t nacks_sent = 0;                 // NACKs sent to publishers (cache misses)
  uint64_t keyframe_requests_sent = 0;     // PLIs sent to publishers
  uint64_t muted_drops = 0;                // published packets not forwarded: force-muted

  MediaTotals& operator+=(const MediaTotals& other) {
    nacked_packets_received += other.nacked_packets_received;
    keyframe_requests_received += other.keyframe_requests_received;
    nacks_sent += other.nacks_sent;
    keyframe_requests_sent += other.keyframe_requests_sent;
    muted_drops += other.muted_drops;
    return *this;
  }
};

MediaTotals& thread_media_totals();

}  // namespace partyline::core
