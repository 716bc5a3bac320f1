#include "reorder_buffer.hpp"

#include <algorithm>

namespace recorder {

ReorderBuffer::ReorderBuffer(Micros window, size_t capacity) : window_(window), slots_(capacity) {}

uint64_t ReorderBuffer::widen(uint16_t sequence) const {
  // The widened value closest to the highest one seen: a forward step of up
  // to half the 16-bit space, or a step back (a late or reordered packet).
  const auto delta = static_cast<int16_t>(static_cast<uint16_t>(sequence - static_cast<uint16_t>(highest_)));
  return highest_ + static_cast<int64_t>(delta);
}

ReorderBuffer::Insert ReorderBuffer::insert(uint16_t sequence, std::span<const uint8_t> packet, Micros arrival,
                                            ReorderSink& sink) {
  if (!started_) {
    // Start one 16-bit cycle up, so a reordered packet from just before the
    // first one still widens to a positive number (and is then late).
    started_ = true;
    next_ = (uint64_t{1} << 16) + sequence;
    highest_ = next_ - 1;
  }
  const uint64_t wide = widen(sequence);
  if (wide < next_) return Insert::kLate;
  if (wide <= highest_ && slot(wide).sequence == wide && slot(wide).present) return Insert::kDuplicate;
  if (wide >= next_ + slots_.size()) make_room_for(wide, sink);
  if (wide > highest_) {
    // Everything between the highest one and this one is missing from now.
    const uint64_t gap_first = std::max(highest_ + 1, next_);
    for (uint64_t missing = gap_first; missing < wide; ++missing) {
      Slot& hole = slot(missing);
      hole.sequence = missing;
      hole.present = false;
      hole.arrival = arrival;
      if (missing - gap_first < kMaxNackPerGap) missing_.push_back(static_cast<uint16_t>(missing));
    }
    highest_ = wide;
  }
  Slot& stored = slot(wide);
  stored.sequence = wide;
  stored.present = true;
  stored.arrival = arrival;
  stored.bytes.assign(packet.begin(), packet.end());
  deliver_ready(arrival, sink);
  return Insert::kAccepted;
}

void ReorderBuffer::advance(Micros now, ReorderSink& sink) {
  if (started_) deliver_ready(now, sink);
}

void ReorderBuffer::flush(ReorderSink& sink) {
  while (started_ && next_ <= highest_) give_up_oldest(sink);
}

void ReorderBuffer::deliver_ready(Micros now, ReorderSink& sink) {
  while (next_ <= highest_) {
    Slot& head = slot(next_);
    if (!head.present && now - head.arrival < window_) return;  // still waiting for it
    give_up_oldest(sink);
  }
}

void ReorderBuffer::make_room_for(uint64_t wide, ReorderSink& sink) {
  // `wide` is further ahead than the slots reach: what is held before the
  // new window goes out now (gaps as lost), and the rest of the jump is one
  // loss, never stored.
  const uint64_t window_start = wide - slots_.size() + 1;
  while (next_ <= highest_ && next_ < window_start) give_up_oldest(sink);
  if (next_ < window_start) {
    sink.on_lost(next_, window_start - next_);
    next_ = window_start;
    highest_ = next_ - 1;
  }
}

void ReorderBuffer::give_up_oldest(ReorderSink& sink) {
  // Delivers the oldest sequence number (next_ <= highest_): its packet when
  // held, else a run of consecutive missing ones as one loss.
  Slot& head = slot(next_);
  if (head.present) {
    head.present = false;
    sink.on_packet(next_, head.bytes, head.arrival);
    ++next_;
    return;
  }
  const uint64_t first = next_;
  while (next_ <= highest_ && !slot(next_).present) ++next_;
  sink.on_lost(first, next_ - first);
}

std::vector<uint16_t> ReorderBuffer::take_missing() {
  std::vector<uint16_t> taken;
  taken.swap(missing_);
  return taken;
}

}  // namespace recorder
