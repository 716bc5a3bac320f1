// Everything one run measured, and its reports: a summary on stderr, JSON
// and a CSV row.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "bench/loadgen/options.hpp"
#include "rtp/result.hpp"

namespace partyline::loadgen {

struct DelaySummary {
  uint64_t samples = 0;
  uint64_t p50_us = 0;
  uint64_t p99_us = 0;
  uint64_t max_us = 0;
};

struct StepFailures {
  size_t count = 0;
  std::string example;  // the first participant's reason, with its index
};

struct RunResult {
  Options options;
  std::string started_at;  // UTC, ISO 8601

  // Participants.
  size_t participants = 0;
  size_t ready = 0;        // came up within the set-up deadline
  size_t measured = 0;     // were up when the window started
  size_t failed = 0;
  std::map<std::string, StepFailures> failures;  // by step name
  double setup_seconds = 0;                      // from start until all were up (or the deadline)
  bool window_ran = false;
  double window_seconds = 0;

  // Packets whose send time lies inside the window.
  uint64_t sent = 0;         // by the publishers
  uint64_t expected = 0;     // sent x receivers of each stream
  uint64_t received = 0;     // distinct, by all receivers
  int64_t lost = 0;          // expected - received
  double loss_ratio = 0;
  uint64_t duplicates = 0;
  uint64_t reordered = 0;
  uint64_t retransmissions = 0;
  uint64_t wrong_ssrc = 0;
  size_t stream_pairs = 0;     // (receiver, publisher stream) pairs that should see packets
  size_t missing_streams = 0;  // of those, how many received nothing
  std::array<DelaySummary, 2> delay{};  // audio, video
  DelaySummary delay_all;

  // Publisher side, whole run.
  uint64_t send_failures = 0;
  uint64_t keyframes = 0;
  uint64_t keyframe_requests = 0;
  uint64_t nacked_packets = 0;
  uint64_t rtx_sent = 0;
  uint64_t skipped_late = 0;
  uint64_t srtp_drops = 0;           // received packets the transports dropped (SRTP auth/replay)
  uint64_t unrecognized_packets = 0; // RTP without our trailer

  // CPU over the window.
  std::optional<uint64_t> server_cpu_us;
  std::optional<double> server_cpu_us_per_packet;  // per packet received by all receivers
  std::optional<uint64_t> server_peak_rss_kib;
  uint64_t loadgen_cpu_us = 0;
  std::optional<double> loadgen_cpu_us_per_packet;
  uint64_t loadgen_peak_rss_kib = 0;
  // The rest of the machine over the window, in cores (1.0 = one CPU busy
  // all the time): what other processes used (neither the server nor the
  // loadgen), and what the hypervisor stole. The noise next to the figures.
  std::optional<double> other_cpu_cores;
  std::optional<double> steal_cpu_cores;

  bool ok() const;  // everyone up and measured, the window ran, within --max-loss
};

void print_summary(const RunResult& result);
Status write_json(const RunResult& result, const std::string& path);
// Appends one row; writes the header first when the file is new or empty.
Status append_csv(const RunResult& result, const std::string& path);

}  // namespace partyline::loadgen
