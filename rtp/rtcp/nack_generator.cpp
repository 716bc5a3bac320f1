#include "rtp/rtcp/nack_generator.hpp"

#include <algorithm>

namespace partyline::rtp {

NackGenerator::NackGenerator(NackGeneratorConfig config)
    : config_(config), rtt_us_(config.initial_rtt_us) {
  config_.max_missing = std::max<size_t>(1, config_.max_missing);
  missing_.reserve(config_.max_missing);
}

PacketArrival NackGenerator::on_packet(uint16_t sequence_number, int64_t now_us) {
  const std::optional<int64_t> highest = unwrapper_.highest();
  const int64_t sequence = unwrapper_.unwrap(sequence_number);
  if (!highest) return PacketArrival::kNew;
  if (sequence > *highest) {
    if (sequence > *highest + 1) add_gap(*highest + 1, sequence - 1, now_us);
    return PacketArrival::kNew;
  }
  const auto it = std::lower_bound(
      missing_.begin(), missing_.end(), sequence,
      [](const Missing& missing, int64_t value) { return missing.sequence < value; });
  if (it == missing_.end() || it->sequence != sequence) return PacketArrival::kIgnored;
  missing_.erase(it);
  ++stats_.recovered;
  return PacketArrival::kRecovered;
}

void NackGenerator::add_gap(int64_t first, int64_t last, int64_t now_us) {
  const auto capacity = static_cast<int64_t>(config_.max_missing);
  if (last - first + 1 > capacity) {
    stats_.abandoned += static_cast<uint64_t>(last - first + 1 - capacity);
    first = last - capacity + 1;
  }
  const auto room_needed = static_cast<size_t>(last - first + 1);
  const size_t free = config_.max_missing - missing_.size();
  if (room_needed > free) {
    const size_t evict = room_needed - free;
    stats_.abandoned += evict;
    missing_.erase(missing_.begin(), missing_.begin() + static_cast<ptrdiff_t>(evict));
  }
  for (int64_t sequence = first; sequence <= last; ++sequence) {
    missing_.push_back({sequence, now_us, now_us + config_.reorder_delay_us, 0});
  }
}

size_t NackGenerator::poll(int64_t now_us, std::span<uint16_t> out) {
  const size_t before = missing_.size();
  std::erase_if(missing_, [&](const Missing& missing) { return exhausted(missing, now_us); });
  stats_.given_up += before - missing_.size();

  size_t written = 0;
  for (Missing& missing : missing_) {
    if (written == out.size()) break;
    if (missing.next_send_us > now_us) continue;
    out[written++] = static_cast<uint16_t>(missing.sequence);
    ++missing.sends;
    missing.next_send_us = now_us + retry_interval();
  }
  stats_.nacked += written;
  return written;
}

std::optional<int64_t> NackGenerator::next_wakeup() const {
  std::optional<int64_t> wakeup;
  for (const Missing& missing : missing_) {
    // Either its next send or, after the last one, the moment it is given up.
    const int64_t at = std::min(missing.next_send_us, missing.detected_us + config_.max_age_us);
    if (!wakeup || at < *wakeup) wakeup = at;
  }
  return wakeup;
}

bool NackGenerator::is_missing(uint16_t sequence_number) const {
  const int64_t sequence = unwrapper_.peek(sequence_number);
  return std::binary_search(
      missing_.begin(), missing_.end(), Missing{sequence, 0, 0, 0},
      [](const Missing& a, const Missing& b) { return a.sequence < b.sequence; });
}

bool NackGenerator::exhausted(const Missing& missing, int64_t now_us) const {
  if (now_us >= missing.detected_us + config_.max_age_us) return true;
  // After the last send, wait one retry interval for the answer.
  return missing.sends >= config_.max_retries && now_us >= missing.next_send_us;
}

int64_t NackGenerator::retry_interval() const {
  return std::max(rtt_us_, config_.min_retry_interval_us);
}

}  // namespace partyline::rtp
