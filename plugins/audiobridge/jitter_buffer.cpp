#include "jitter_buffer.hpp"

#include <algorithm>

namespace audiobridge {

JitterBuffer::JitterBuffer(const JitterConfig& config)
    : config_(config),
      slots_(std::max<size_t>(config.capacity, 2)),
      storage_(slots_.size() * kMaxPayload) {}

uint64_t JitterBuffer::widen(uint16_t sequence) const {
  // The widened value closest to the highest one seen: a forward step of up
  // to half the 16-bit space, or a step back (a late or reordered packet).
  const auto delta = static_cast<int16_t>(static_cast<uint16_t>(sequence - static_cast<uint16_t>(highest_)));
  return highest_ + static_cast<int64_t>(delta);
}

void JitterBuffer::start_at(uint16_t sequence, Micros arrival) {
  // One 16-bit cycle up, so a packet from just before the first one still
  // widens to a positive number (and is then late).
  started_ = true;
  playing_ = false;
  quiet_ = false;
  first_arrival_ = arrival;
  next_ = (uint64_t{1} << 16) + sequence;
  highest_ = next_ - 1;
  dry_ticks_ = 0;
  // The old numbering's slots could alias the new one's.
  for (Slot& slot : slots_) slot.present = false;
}

bool JitterBuffer::holds(uint64_t sequence) const {
  const Slot& slot = slots_[index(sequence)];
  return slot.present && slot.sequence == sequence;
}

std::span<const uint8_t> JitterBuffer::bytes_of(uint64_t sequence) const {
  const size_t at = index(sequence);
  return {storage_.data() + at * kMaxPayload, slots_[at].size};
}

JitterBuffer::Insert JitterBuffer::insert(uint16_t sequence, uint32_t timestamp, std::span<const uint8_t> payload,
                                          Micros arrival, int audio_level) {
  if (payload.size() > kMaxPayload) {
    ++counters_.too_large;
    return Insert::kTooLarge;
  }
  if (!started_) start_at(sequence, arrival);
  uint64_t wide = widen(sequence);
  const uint64_t distance = wide > highest_ ? wide - highest_ : highest_ - wide;
  if (distance > config_.reset_distance) {
    // One stray packet (a stale one, a corrupt header) must not reset the
    // stream; two in sequence are a client that restarted its numbering.
    if (!has_stray_ || sequence != static_cast<uint16_t>(stray_ + 1)) {
      has_stray_ = true;
      stray_ = sequence;
      ++counters_.strays;
      return Insert::kStray;
    }
    ++counters_.resets;
    start_at(stray_, arrival);  // the stray's frame is then concealed, by FEC from this one
    wide = widen(sequence);
  }
  has_stray_ = false;
  if (wide < next_) {
    ++counters_.late;
    return Insert::kLate;
  }
  if (holds(wide)) {
    ++counters_.duplicates;
    return Insert::kDuplicate;
  }
  if (quiet_) {
    // Playout stopped after running dry: restart at this packet, prebuffered
    // again, skipping whatever was never sent.
    quiet_ = false;
    playing_ = false;
    first_arrival_ = arrival;
    next_ = wide;
  }
  if (wide >= next_ + slots_.size()) make_room_for(wide);
  Slot& slot = slots_[index(wide)];
  slot.sequence = wide;
  slot.present = true;
  slot.timestamp = timestamp;
  slot.audio_level = audio_level;
  slot.size = payload.size();
  std::copy(payload.begin(), payload.end(), storage_.begin() + static_cast<ptrdiff_t>(index(wide) * kMaxPayload));
  highest_ = std::max(highest_, wide);
  ++counters_.received;
  return Insert::kAccepted;
}

void JitterBuffer::make_room_for(uint64_t wide) {
  // The sender is further ahead than the slots reach (its clock runs fast,
  // or we stalled): the oldest frames are skipped so the newest fit.
  const uint64_t new_next = wide - slots_.size() + 1;
  const uint64_t scan_end = std::min(new_next, next_ + slots_.size());
  for (uint64_t sequence = next_; sequence < scan_end; ++sequence) {
    if (!holds(sequence)) continue;
    slots_[index(sequence)].present = false;
    ++counters_.overflow;
  }
  next_ = new_next;
}

JitterBuffer::Frame JitterBuffer::pop(Micros now) {
  Frame frame;
  if (!started_ || quiet_) return frame;
  if (!playing_) {
    if (now - first_arrival_ < config_.target_delay) return frame;
    playing_ = true;
  }
  if (holds(next_)) {
    Slot& slot = slots_[index(next_)];
    slot.present = false;  // its bytes stay readable until the next insert
    frame.kind = Frame::Kind::kPacket;
    frame.payload = bytes_of(next_);
    frame.timestamp = slot.timestamp;
    frame.audio_level = slot.audio_level;
    ++next_;
    ++counters_.played;
    dry_ticks_ = 0;
    return frame;
  }
  if (next_ > highest_) {
    // Nothing held at all: a loss, or the sender went quiet. Conceal a few
    // ticks, then stop rather than run PLC on silence forever.
    if (dry_ticks_ >= config_.max_conceal) {
      quiet_ = true;
      ++counters_.rebuffers;
      return frame;
    }
    ++dry_ticks_;
  }
  frame.kind = Frame::Kind::kMissing;
  if (holds(next_ + 1)) frame.next = bytes_of(next_ + 1);
  ++next_;
  highest_ = std::max(highest_, next_ - 1);
  ++counters_.concealed;
  return frame;
}

size_t JitterBuffer::held() const {
  size_t count = 0;
  for (const Slot& slot : slots_) count += slot.present && slot.sequence >= next_ ? 1 : 0;
  return count;
}

}  // namespace audiobridge
