// LoadRun::collect: turns the participants' counters into a RunResult.
#include <algorithm>

#include "bench/loadgen/load_run.hpp"
#include "bench/loadgen/process_stats.hpp"

namespace partyline::loadgen {

namespace {

DelaySummary summarize(const DelayHistogram& histogram) {
  return DelaySummary{histogram.count(), histogram.percentile_us(0.50), histogram.percentile_us(0.99),
                      histogram.max_us()};
}

}  // namespace

RunResult LoadRun::collect() const {
  RunResult r;
  r.options = run_.options;
  r.started_at = result_.started_at;
  r.participants = participants_.size();
  r.ready = ready_count_;
  r.failed = failed_count_;
  r.setup_seconds = static_cast<double>(setup_done_ns_ - start_ns_) / 1e9;
  r.window_ran = window_ran_;
  r.window_seconds = window_ran_ ? run_.options.duration_seconds : 0;
  for (const auto& participant : participants_) {
    if (participant->measured()) ++r.measured;
    if (!participant->failed()) continue;
    StepFailures& failures = r.failures[std::string(to_string(participant->failure_step()))];
    if (failures.count++ == 0) {
      failures.example = "participant " + std::to_string(participant->index()) + ": " + participant->failure_reason();
    }
  }

  // Expected: every packet a publisher sent in the window, once per other
  // participant that was up when the window started.
  for (const Participant* publisher : publishers_) {
    const PublisherCounters& sent = publisher->publisher()->counters();
    r.send_failures += sent.send_failures;
    r.keyframes += sent.keyframes;
    r.keyframe_requests += sent.keyframe_requests;
    r.nacked_packets += sent.nacked_packets;
    r.rtx_sent += sent.retransmissions;
    r.skipped_late += sent.skipped_late;
    for (size_t kind = 0; kind < kStreamKinds; ++kind) {
      r.sent += sent.sent_in_window[kind];
      if (sent.sent_in_window[kind] == 0) continue;
      for (const auto& receiver : participants_) {
        if (!receiver->measured() || receiver.get() == publisher) continue;
        r.expected += sent.sent_in_window[kind];
        ++r.stream_pairs;
        const StreamReception& reception = receiver->reception(publisher->index(), static_cast<StreamKind>(kind));
        if (reception.counters().received == 0) ++r.missing_streams;
      }
    }
  }
  for (const auto& receiver : participants_) {
    r.srtp_drops += receiver->transport_drops();
    r.unrecognized_packets += receiver->unrecognized_packets();
    if (!receiver->measured()) continue;
    ReceptionCounters counters;
    for (const Participant* publisher : publishers_) {
      for (size_t kind = 0; kind < kStreamKinds; ++kind) {
        counters.add(receiver->reception(publisher->index(), static_cast<StreamKind>(kind)).counters());
      }
    }
    r.received += counters.received;
    r.duplicates += counters.duplicates;
    r.reordered += counters.reordered;
    r.retransmissions += counters.retransmissions;
    r.wrong_ssrc += counters.wrong_ssrc;
  }
  r.lost = static_cast<int64_t>(r.expected) - static_cast<int64_t>(r.received);
  r.loss_ratio = r.expected > 0 ? static_cast<double>(r.lost) / static_cast<double>(r.expected) : 0;

  DelayHistogram all;
  for (size_t kind = 0; kind < kStreamKinds; ++kind) {
    r.delay[kind] = summarize(run_.delays[kind]);
    all.merge(run_.delays[kind]);
  }
  r.delay_all = summarize(all);

  if (server_cpu_start_us_ && server_cpu_end_us_) {
    r.server_cpu_us = *server_cpu_end_us_ - *server_cpu_start_us_;
    if (r.received > 0) r.server_cpu_us_per_packet = static_cast<double>(*r.server_cpu_us) / static_cast<double>(r.received);
  }
  if (run_.options.server_pid) r.server_peak_rss_kib = process_peak_rss_kib(*run_.options.server_pid);
  if (window_ran_) {
    r.loadgen_cpu_us = own_cpu_end_us_ - own_cpu_start_us_;
    if (r.received > 0) {
      r.loadgen_cpu_us_per_packet = static_cast<double>(r.loadgen_cpu_us) / static_cast<double>(r.received);
    }
  }
  r.loadgen_peak_rss_kib = own_peak_rss_kib();
  if (window_ran_ && machine_cpu_start_ && machine_cpu_end_ && r.window_seconds > 0) {
    const double window_us = r.window_seconds * 1e6;
    const double busy = static_cast<double>(machine_cpu_end_->busy_us - machine_cpu_start_->busy_us);
    const double ours = static_cast<double>(r.loadgen_cpu_us + r.server_cpu_us.value_or(0));
    r.other_cpu_cores = std::max(0.0, busy - ours) / window_us;
    r.steal_cpu_cores = static_cast<double>(machine_cpu_end_->steal_us - machine_cpu_start_->steal_us) / window_us;
  }
  return r;
}

}  // namespace partyline::loadgen
