#include "bench/loadgen/stream_reception.hpp"

namespace partyline::loadgen {

bool StreamReception::seen_before(uint32_t sequence) {
  if (sequence >= kMaxTrackedSequence) return false;  // cannot tell: count it as new
  const size_t word = sequence / 64;
  if (word >= seen_.size()) seen_.resize(std::max(word + 1, seen_.size() * 2), 0);
  const uint64_t bit = uint64_t{1} << (sequence % 64);
  const bool seen = (seen_[word] & bit) != 0;
  seen_[word] |= bit;
  return seen;
}

void StreamReception::on_packet(const PayloadTrailer& trailer, uint32_t ssrc, bool retransmission, uint64_t now_ns,
                                const MeasurementWindow& window, DelayHistogram& delays) {
  ++total_packets_;
  const std::optional<uint32_t>& expected = retransmission ? rtx_ssrc_ : ssrc_;
  if (!expected || *expected != ssrc) ++counters_.wrong_ssrc;
  const bool duplicate = seen_before(trailer.sequence);
  const bool older = highest_sequence_ && trailer.sequence < *highest_sequence_;
  if (!highest_sequence_ || trailer.sequence > *highest_sequence_) highest_sequence_ = trailer.sequence;
  if (!window.contains(trailer.send_time_ns)) return;
  if (duplicate) {
    ++counters_.duplicates;
    return;
  }
  ++counters_.received;
  if (older) ++counters_.reordered;
  if (retransmission) ++counters_.retransmissions;
  const uint64_t delay_ns = now_ns > trailer.send_time_ns ? now_ns - trailer.send_time_ns : 0;
  delays.record(delay_ns / 1000);
}

}  // namespace partyline::loadgen
