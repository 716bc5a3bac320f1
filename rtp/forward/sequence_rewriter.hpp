// SequenceRewriter: maps the packets of whatever source currently feeds one
// subscriber leg onto the leg's own SSRC and one continuous sequence number
// and timestamp space (the job of mediasoup's SeqManager, plus the SSRC and
// timestamp side).
//
// - In order: output = input + offset, so a gap in the input (loss) stays a
//   gap in the output, which the subscriber NACKs.
// - Reordering and duplicates: the output sequence number of every input in
//   the last kWindow inputs is remembered, so a late or repeated packet maps
//   to the number it has (or would have had) in order.
// - Dropping (e.g. padding-only packets the SFU does not forward): a dropped
//   in-order input takes no output number, so the output has no hole for it.
//   A *late* input cannot give its number back (later packets already used
//   the following ones): drop() then returns false and changes nothing; the
//   caller either forwards it with rewrite() to fill its number (right for
//   padding) or leaves the number a hole (as mediasoup does).
// - Source switch: a packet with another SSRC than the current source starts
//   a new source. Its first packet gets last output + 1, and its timestamp
//   offset is chosen so output time advances by the wall-clock time since the
//   newest output timestamp (at least one tick). Output numbers never repeat
//   across switches. The caller feeds only the packets of the source it has
//   selected for this leg; a late packet of the previous source would count
//   as another switch.
//
// Everything works on 64-bit extended values (rtp/packet/sequence_unwrapper.hpp) and
// truncates only on output. No allocation after construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "rtp/packet/sequence_unwrapper.hpp"

namespace partyline::rtp {

enum class RewriteOutcome : uint8_t {
  kForward,  // first time this input is seen: send it with the header
  kRepeat,   // seen and forwarded before: same header as the first time
  kDropped,  // the input was dropped with drop(): never send it
  kTooOld,   // older than the window, or from before the current source began
};
std::string_view to_string(RewriteOutcome outcome);

// The header fields of a source packet that the rewriter maps.
struct SourcePacket {
  uint32_t ssrc = 0;
  uint16_t sequence_number = 0;
  uint32_t timestamp = 0;
};

struct RewrittenHeader {
  uint32_t ssrc = 0;
  uint16_t sequence_number = 0;
  uint32_t timestamp = 0;
  friend bool operator==(const RewrittenHeader&, const RewrittenHeader&) = default;
};

struct RewriteResult {
  RewriteOutcome outcome = RewriteOutcome::kTooOld;
  RewrittenHeader header;  // meaningful for kForward and kRepeat only
  bool should_send() const {
    return outcome == RewriteOutcome::kForward || outcome == RewriteOutcome::kRepeat;
  }
};

class SequenceRewriter {
 public:
  // Inputs remembered for reordering and for mapping NACKs back. Twice the
  // forwarding cache (512 packets per stream, core::RouterOptions), so a
  // packet the cache no longer holds can still be asked of the publisher in
  // its own numbering. A power of two. Every leg has one window (a line of
  // 100 all publishing has almost 20,000 legs), so a slot is kept to 12
  // bytes: 12 KiB per leg.
  static constexpr size_t kWindow = 1024;
  // This many too-old packets in a row mean the source restarted its
  // sequence numbers under the same SSRC: it is then treated as a new source.
  static constexpr int kTooOldInARowBeforeResync = 32;

  SequenceRewriter(uint32_t output_ssrc, uint32_t clock_rate, uint16_t first_sequence_number,
                   uint32_t first_timestamp);

  // Maps a packet to forward. `now_us` matters only for a source switch.
  RewriteResult rewrite(const SourcePacket& packet, int64_t now_us);
  // Marks a packet as not forwarded. True when it took no output number;
  // false when its number was taken already (a late input, see the file
  // comment), it was forwarded before, or it is too old.
  bool drop(const SourcePacket& packet, int64_t now_us);
  // The next packet starts a new source even under the same SSRC, as a
  // switch would: after the caller forwarded nothing of the source for a
  // while (a paused leg), the source's sequence numbers have moved on, and
  // the gap must become neither a hole the subscriber NACKs nor a jump.
  void restart() { restart_pending_ = true; }

  // The input (source) sequence number behind `output`: forwarded as it,
  // or not yet arrived (lost upstream) with `output` reserved for it; while
  // it is within the window, nullopt otherwise (and for dropped inputs).
  // For answering NACKs, which name the leg's numbers.
  std::optional<uint16_t> input_for_output(uint16_t output) const;
  // The newest output timestamp and when it was produced, for sender reports.
  std::optional<int64_t> newest_output_timestamp() const { return newest_output_timestamp_; }
  int64_t newest_output_time_us() const { return newest_output_time_us_; }

  uint32_t output_ssrc() const { return output_ssrc_; }
  std::optional<uint32_t> source_ssrc() const { return source_ssrc_; }
  uint64_t source_switches() const { return source_switches_; }

 private:
  enum class SlotState : uint8_t { kEmpty, kReserved, kForwarded, kDropped };
  // The low 32 bits of the extended input and output numbers: a slot holds
  // an input from the newest kWindow, and every output it holds is below
  // next_output_ by less than 2^32, so the full values are recovered exactly
  // (holds(), output_of()).
  struct Slot {
    uint32_t input = 0;
    uint32_t output = 0;
    SlotState state = SlotState::kEmpty;
  };
  static_assert(sizeof(Slot) == 12);
  static Slot make_slot(int64_t input, int64_t output, SlotState state) {
    return {static_cast<uint32_t>(input), static_cast<uint32_t>(output), state};
  }
  static bool holds(const Slot& slot, int64_t input) {
    return slot.state != SlotState::kEmpty && slot.input == static_cast<uint32_t>(input);
  }
  int64_t output_of(const Slot& slot) const {
    return next_output_ - static_cast<uint32_t>(static_cast<uint32_t>(next_output_) - slot.output);
  }

  // Returns the extended input sequence number; starts a new source if needed.
  int64_t accept(const SourcePacket& packet, int64_t now_us);
  void start_source(const SourcePacket& packet, int64_t now_us);
  // Moves the highest input to `input`, reserving numbers for the skipped ones.
  void advance_to(int64_t input);
  RewrittenHeader header_for(int64_t output, const SourcePacket& packet, int64_t now_us);
  Slot* slot_of(int64_t input);
  bool too_old(int64_t input);

  // Configuration.
  uint32_t output_ssrc_;
  uint32_t clock_rate_;
  uint32_t first_timestamp_;

  // The output space, continuous across sources.
  int64_t next_output_;  // number of the next in-order input
  std::optional<int64_t> newest_output_timestamp_;
  int64_t newest_output_time_us_ = 0;

  // The current source.
  std::optional<uint32_t> source_ssrc_;
  SequenceUnwrapper sequence_unwrapper_;
  TimestampUnwrapper timestamp_unwrapper_;
  int64_t highest_input_ = 0;
  int64_t timestamp_offset_ = 0;
  int too_old_in_a_row_ = 0;
  bool restart_pending_ = false;  // restart(): the next packet starts a source
  uint64_t source_switches_ = 0;
  std::vector<Slot> slots_;  // kWindow entries, indexed by input & (kWindow - 1)
};

// Writes the rewritten SSRC, sequence number and timestamp into an RTP packet
// (in place); false when the packet is shorter than the fixed header.
bool apply_rewrite(std::span<uint8_t> packet, const RewrittenHeader& header);

}  // namespace partyline::rtp
