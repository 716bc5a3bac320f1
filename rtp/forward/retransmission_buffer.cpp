#include "rtp/forward/retransmission_buffer.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace partyline::rtp {

std::string_view to_string(StoreOutcome outcome) {
  switch (outcome) {
    case StoreOutcome::kStored: return "stored";
    case StoreOutcome::kTooLarge: return "packet larger than the buffer's slots";
    case StoreOutcome::kTooOld: return "sequence number older than the buffer holds";
  }
  return "unknown store outcome";
}

RetransmissionBuffer::RetransmissionBuffer(size_t capacity, size_t max_packet_size,
                                           int64_t max_age_us)
    : max_packet_size_(max_packet_size),
      max_age_us_(max_age_us),
      slots_(std::bit_ceil(std::clamp<size_t>(capacity, 1, kMaxCapacity))),
      arena_(slots_.size() * max_packet_size) {}

StoreOutcome RetransmissionBuffer::store(uint16_t sequence_number, std::span<const uint8_t> packet,
                                         int64_t now_us) {
  if (packet.size() > max_packet_size_) return StoreOutcome::kTooLarge;
  const int64_t sequence = unwrapper_.peek(sequence_number);
  const std::optional<int64_t> highest = unwrapper_.highest();
  // An older packet must not evict the newer one sharing its slot.
  if (highest && sequence <= *highest - static_cast<int64_t>(slots_.size())) {
    return StoreOutcome::kTooOld;
  }
  unwrapper_.unwrap(sequence_number);
  const size_t index = index_of(sequence);
  slots_[index] = {sequence, now_us, packet.size()};
  if (!packet.empty()) {
    std::memcpy(arena_.data() + index * max_packet_size_, packet.data(), packet.size());
  }
  return StoreOutcome::kStored;
}

std::optional<std::span<const uint8_t>> RetransmissionBuffer::find(uint16_t sequence_number,
                                                                   int64_t now_us) const {
  const int64_t sequence = unwrapper_.peek(sequence_number);
  const Slot& slot = slots_[index_of(sequence)];
  if (slot.sequence != sequence || now_us - slot.stored_at_us > max_age_us_) return std::nullopt;
  return std::span<const uint8_t>(arena_.data() + index_of(sequence) * max_packet_size_, slot.size);
}

}  // namespace partyline::rtp
