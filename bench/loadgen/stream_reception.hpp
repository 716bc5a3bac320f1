// What one receiving participant got of one publisher's stream (audio or
// video): counts over the steady window, duplicates, reordering, and the
// SSRC the server announced for it in its offer. Pure bookkeeping: the
// caller passes the packet's trailer and the time.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "bench/loadgen/delay_histogram.hpp"
#include "bench/loadgen/payload.hpp"

namespace partyline::loadgen {

// Packets whose send time lies in [start_ns, end_ns) are the ones the run
// measures; before the window starts both are "never".
struct MeasurementWindow {
  uint64_t start_ns = std::numeric_limits<uint64_t>::max();
  uint64_t end_ns = std::numeric_limits<uint64_t>::max();
  bool contains(uint64_t time_ns) const { return time_ns >= start_ns && time_ns < end_ns; }
};

struct ReceptionCounters {
  uint64_t received = 0;        // distinct packets sent inside the window
  uint64_t duplicates = 0;      // inside the window, the same stream sequence again
  uint64_t reordered = 0;       // inside the window, older than one already received
  uint64_t retransmissions = 0; // inside the window, arrived as RTX
  uint64_t wrong_ssrc = 0;      // on an SSRC other than the one announced for the stream

  void add(const ReceptionCounters& other) {
    received += other.received;
    duplicates += other.duplicates;
    reordered += other.reordered;
    retransmissions += other.retransmissions;
    wrong_ssrc += other.wrong_ssrc;
  }
};

class StreamReception {
 public:
  // The server's offer says the stream arrives with these SSRCs.
  void announce(uint32_t ssrc, std::optional<uint32_t> rtx_ssrc) {
    ssrc_ = ssrc;
    rtx_ssrc_ = rtx_ssrc;
  }
  void withdraw() { ssrc_.reset(), rtx_ssrc_.reset(); }
  bool announced() const { return ssrc_.has_value(); }
  std::optional<uint32_t> ssrc() const { return ssrc_; }

  // One packet of this stream. `ssrc` is the RTP header's; `retransmission`
  // when it came as RTX (payload type of the RTX codec).
  void on_packet(const PayloadTrailer& trailer, uint32_t ssrc, bool retransmission, uint64_t now_ns,
                 const MeasurementWindow& window, DelayHistogram& delays);

  const ReceptionCounters& counters() const { return counters_; }
  uint64_t total_packets() const { return total_packets_; }  // any time, duplicates included

 private:
  // Returns true when `sequence` had been seen before (and marks it seen).
  bool seen_before(uint32_t sequence);

  static constexpr uint32_t kMaxTrackedSequence = 1u << 26;  // 8 MiB of bits at most

  std::optional<uint32_t> ssrc_;
  std::optional<uint32_t> rtx_ssrc_;
  std::vector<uint64_t> seen_;  // bit per stream sequence number
  std::optional<uint32_t> highest_sequence_;
  ReceptionCounters counters_;
  uint64_t total_packets_ = 0;
};

}  // namespace partyline::loadgen
