#include "rtp/forward/sequence_rewriter.hpp"

#include <algorithm>

#include "rtp/packet/rtp_packet.hpp"

namespace partyline::rtp {

std::string_view to_string(RewriteOutcome outcome) {
  switch (outcome) {
    case RewriteOutcome::kForward: return "forward";
    case RewriteOutcome::kRepeat: return "repeat of a forwarded packet";
    case RewriteOutcome::kDropped: return "input was dropped";
    case RewriteOutcome::kTooOld: return "older than the reorder window or the source";
  }
  return "unknown rewrite outcome";
}

SequenceRewriter::SequenceRewriter(uint32_t output_ssrc, uint32_t clock_rate,
                                   uint16_t first_sequence_number, uint32_t first_timestamp)
    : output_ssrc_(output_ssrc),
      clock_rate_(clock_rate),
      first_timestamp_(first_timestamp),
      next_output_(first_sequence_number),
      slots_(kWindow) {}

RewriteResult SequenceRewriter::rewrite(const SourcePacket& packet, int64_t now_us) {
  const int64_t input = accept(packet, now_us);
  if (input > highest_input_) {
    advance_to(input);
    const int64_t output = next_output_++;
    *slot_of(input) = make_slot(input, output, SlotState::kForwarded);
    return {RewriteOutcome::kForward, header_for(output, packet, now_us)};
  }
  if (too_old(input)) return {};
  Slot& slot = *slot_of(input);
  switch (slot.state) {
    case SlotState::kEmpty: return {};  // too_old() said otherwise: never
    case SlotState::kDropped: return {RewriteOutcome::kDropped, {}};
    case SlotState::kForwarded:
      return {RewriteOutcome::kRepeat, header_for(output_of(slot), packet, now_us)};
    case SlotState::kReserved:
      slot.state = SlotState::kForwarded;
      return {RewriteOutcome::kForward, header_for(output_of(slot), packet, now_us)};
  }
  return {};
}

bool SequenceRewriter::drop(const SourcePacket& packet, int64_t now_us) {
  const int64_t input = accept(packet, now_us);
  if (input > highest_input_) {
    advance_to(input);
    *slot_of(input) = make_slot(input, 0, SlotState::kDropped);
    return true;
  }
  // A repeat of a dropped input; a reserved number stays for the caller to fill.
  return !too_old(input) && slot_of(input)->state == SlotState::kDropped;
}

int64_t SequenceRewriter::accept(const SourcePacket& packet, int64_t now_us) {
  if (source_ssrc_ != packet.ssrc || restart_pending_) {
    restart_pending_ = false;
    start_source(packet, now_us);
  }
  int64_t input = sequence_unwrapper_.peek(packet.sequence_number);
  if (input <= highest_input_ && !holds(*slot_of(input), input)) {
    if (++too_old_in_a_row_ >= kTooOldInARowBeforeResync) {
      start_source(packet, now_us);
      input = sequence_unwrapper_.peek(packet.sequence_number);
    }
  } else {
    too_old_in_a_row_ = 0;
  }
  sequence_unwrapper_.unwrap(packet.sequence_number);
  return input;
}

void SequenceRewriter::start_source(const SourcePacket& packet, int64_t now_us) {
  if (source_ssrc_) ++source_switches_;
  source_ssrc_ = packet.ssrc;
  sequence_unwrapper_.reset();
  timestamp_unwrapper_.reset();
  std::fill(slots_.begin(), slots_.end(), Slot{});
  too_old_in_a_row_ = 0;
  // The first packet is the next in order: it gets next_output_.
  highest_input_ = int64_t{packet.sequence_number} - 1;

  int64_t output_timestamp = first_timestamp_;
  if (newest_output_timestamp_) {
    const int64_t elapsed_us = std::max<int64_t>(0, now_us - newest_output_time_us_);
    const int64_t elapsed_ticks = elapsed_us * clock_rate_ / 1'000'000;
    output_timestamp = *newest_output_timestamp_ + std::max<int64_t>(1, elapsed_ticks);
  }
  timestamp_offset_ = output_timestamp - int64_t{packet.timestamp};
}

void SequenceRewriter::advance_to(int64_t input) {
  const int64_t skipped = input - highest_input_ - 1;
  // Only the newest kWindow - 1 skipped inputs can still be looked up.
  const int64_t first_reserved = std::max<int64_t>(1, skipped - int64_t{kWindow} + 2);
  for (int64_t k = first_reserved; k <= skipped; ++k) {
    *slot_of(highest_input_ + k) = make_slot(highest_input_ + k, next_output_ + k - 1, SlotState::kReserved);
  }
  next_output_ += skipped;
  highest_input_ = input;
}

RewrittenHeader SequenceRewriter::header_for(int64_t output, const SourcePacket& packet,
                                             int64_t now_us) {
  const int64_t output_timestamp =
      timestamp_unwrapper_.unwrap(packet.timestamp) + timestamp_offset_;
  if (!newest_output_timestamp_ || output_timestamp > *newest_output_timestamp_) {
    newest_output_timestamp_ = output_timestamp;
    newest_output_time_us_ = now_us;
  }
  return {output_ssrc_, static_cast<uint16_t>(output), static_cast<uint32_t>(output_timestamp)};
}

std::optional<uint16_t> SequenceRewriter::input_for_output(uint16_t output) const {
  if (!source_ssrc_) return std::nullopt;
  // Outputs are input + offset, the offset changing only at drops and
  // source switches: try the current offset first, then the whole window.
  const int64_t newest_output = next_output_ - 1;
  const int64_t extended = newest_output - static_cast<uint16_t>(static_cast<uint16_t>(newest_output) - output);
  const int64_t guess = highest_input_ - (newest_output - extended);
  const Slot& guessed = slots_[static_cast<uint64_t>(guess) & (kWindow - 1)];
  if (holds(guessed, guess) && guessed.state != SlotState::kDropped && output_of(guessed) == extended) {
    return static_cast<uint16_t>(guess);
  }
  for (const Slot& slot : slots_) {
    if (slot.state != SlotState::kEmpty && slot.state != SlotState::kDropped && output_of(slot) == extended) {
      return static_cast<uint16_t>(slot.input);
    }
  }
  return std::nullopt;
}

SequenceRewriter::Slot* SequenceRewriter::slot_of(int64_t input) {
  return &slots_[static_cast<uint64_t>(input) & (kWindow - 1)];
}

bool SequenceRewriter::too_old(int64_t input) {
  return input <= highest_input_ - int64_t{kWindow} || !holds(*slot_of(input), input);
}

bool apply_rewrite(std::span<uint8_t> packet, const RewrittenHeader& header) {
  return set_rtp_ssrc(packet, header.ssrc) &&
         set_rtp_sequence_number(packet, header.sequence_number) &&
         set_rtp_timestamp(packet, header.timestamp);
}

}  // namespace partyline::rtp
