// The figures the forwarding simulation (forwarding_simulation_test.cpp)
// collects and prints, so they can be quoted.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "rtp/rtcp/rtcp_reports.hpp"

namespace partyline::rtp::sim {

struct Figures {
  uint64_t media_packets = 0, padding_packets = 0, keyframes = 0;
  uint64_t upstream_lost = 0, upstream_nacked = 0, upstream_recovered = 0, publisher_resent = 0;
  uint64_t forwarded = 0, downstream_lost = 0, subscriber_nacked = 0;
  uint64_t cache_hits = 0, cache_misses = 0, subscriber_gave_up = 0;
  uint64_t keyframe_requests_from_subscribers = 0, keyframe_requests_sent = 0;
  uint64_t keyframe_requests_at_publisher = 0, keyframe_requests_absorbed = 0;
  uint64_t checked_packets = 0, residual_lost = 0, lost_before_first_received = 0;
  uint64_t output_holes = 0, late_padding_forwarded = 0;
  int64_t min_gap_sent_us = INT64_MAX, min_gap_at_publisher_us = INT64_MAX;
  ReportBlock upstream_report;
  friend bool operator==(const Figures&, const Figures&) = default;
};

inline int64_t smallest_gap(const std::vector<int64_t>& times) {
  int64_t gap = INT64_MAX;
  for (size_t i = 1; i < times.size(); ++i) gap = std::min(gap, times[i] - times[i - 1]);
  return gap;
}

inline void print(const Figures& f, int subscribers, int64_t checked_us, int64_t run_us) {
  using U = unsigned long long;
  std::printf(
      "forwarding simulation: 1 publisher, %d subscribers, 5%% loss per hop, "
      "%.0f s of media checked (%.0f s run)\n",
      subscribers, checked_us / 1e6, run_us / 1e6);
  std::printf("  published: %llu media + %llu padding packets, %llu keyframes\n",
              U(f.media_packets), U(f.padding_packets), U(f.keyframes));
  std::printf(
      "  upstream: %llu lost, %llu NACKed (retries included), %llu gaps filled "
      "(reordered or resent), %llu resent by the publisher; RR: cumulative lost %d, jitter %u "
      "ticks\n",
      U(f.upstream_lost), U(f.upstream_nacked), U(f.upstream_recovered), U(f.publisher_resent),
      f.upstream_report.cumulative_lost, f.upstream_report.jitter);
  std::printf(
      "  downstream: %llu forwarded, %llu lost, %llu NACKed, %llu cache hits "
      "(= retransmissions), %llu cache misses, %llu given up\n",
      U(f.forwarded), U(f.downstream_lost), U(f.subscriber_nacked), U(f.cache_hits),
      U(f.cache_misses), U(f.subscriber_gave_up));
  std::printf(
      "  keyframe requests: %llu from subscribers, %llu absorbed in flight, %llu sent, "
      "%llu reached the publisher; smallest gap %.1f ms sent, %.1f ms at the publisher\n",
      U(f.keyframe_requests_from_subscribers), U(f.keyframe_requests_absorbed),
      U(f.keyframe_requests_sent), U(f.keyframe_requests_at_publisher), f.min_gap_sent_us / 1e3,
      f.min_gap_at_publisher_us / 1e3);
  std::printf(
      "  residual loss: %llu of %llu packets (+%llu lost before a subscriber's first "
      "packet); output holes %llu; late padding forwarded to fill its number %llu\n",
      U(f.residual_lost), U(f.checked_packets), U(f.lost_before_first_received), U(f.output_holes),
      U(f.late_padding_forwarded));
}

}  // namespace partyline::rtp::sim
