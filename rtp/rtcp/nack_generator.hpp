// NackGenerator: the receiver side of generic NACK (RFC 4585). Tracks the
// sequence numbers received on one stream, lists the missing ones, and says
// which to NACK when: each missing packet after reorder_delay, then again every
// max(RTT, min_retry_interval), at most max_retries times and never after
// max_age; a late arrival (reordered or retransmitted) removes it.
//
// Used by the SFU on its receive leg from a publisher, and by the simulated
// subscribers in the tests. Sans-I/O and allocation-free after construction:
// the missing list is a vector reserved to max_missing entries, kept sorted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "rtp/packet/sequence_unwrapper.hpp"

namespace partyline::rtp {

struct NackGeneratorConfig {
  size_t max_missing = 512;  // older missing packets are abandoned beyond this
  int max_retries = 10;
  int64_t max_age_us = 1'500'000;  // from detection of the gap
  int64_t min_retry_interval_us = 20'000;
  int64_t initial_rtt_us = 100'000;
  // Wait this long after a gap appears before the first NACK, so packets
  // merely reordered on the path are not requested.
  int64_t reorder_delay_us = 0;
};

enum class PacketArrival : uint8_t {
  kNew,        // newer than any before (possibly after a gap)
  kRecovered,  // was missing: a late or retransmitted packet
  kIgnored,    // duplicate, or older than anything still tracked
};

struct NackGeneratorStats {
  uint64_t nacked = 0;     // sequence numbers put into NACKs, retries included
  uint64_t recovered = 0;  // missing packets that arrived after all
  uint64_t given_up = 0;   // retries or age exhausted
  uint64_t abandoned = 0;  // pushed out by max_missing
};

class NackGenerator {
 public:
  explicit NackGenerator(NackGeneratorConfig config = {});

  PacketArrival on_packet(uint16_t sequence_number, int64_t now_us);
  void set_rtt(int64_t rtt_us) { rtt_us_ = rtt_us; }

  // Writes the sequence numbers to NACK now into `out` (ascending), returns
  // how many. Entries that do not fit stay due for the next poll.
  size_t poll(int64_t now_us, std::span<uint16_t> out);
  // When poll() next has something to do; nullopt when nothing is missing.
  std::optional<int64_t> next_wakeup() const;

  bool is_missing(uint16_t sequence_number) const;
  size_t missing_count() const { return missing_.size(); }
  const NackGeneratorStats& stats() const { return stats_; }

 private:
  struct Missing {
    int64_t sequence = 0;  // extended
    int64_t detected_us = 0;
    int64_t next_send_us = 0;
    int sends = 0;
  };
  void add_gap(int64_t first, int64_t last, int64_t now_us);
  bool exhausted(const Missing& missing, int64_t now_us) const;
  int64_t retry_interval() const;

  NackGeneratorConfig config_;
  int64_t rtt_us_;
  SequenceUnwrapper unwrapper_;
  std::vector<Missing> missing_;  // ascending by sequence
  NackGeneratorStats stats_;
};

}  // namespace partyline::rtp
