// Puts one stream's RTP packets back in sequence order and decides when a
// missing one is lost. Sans-I/O: time comes in with each call.
//
// The host rewrites a line's streams for each subscriber so their sequence
// numbers are continuous: a gap is a loss (or a reordering), never the
// publisher's own numbering. A gap's sequence numbers are reported once for a
// NACK; the packets after the gap wait for `window` (measured by the arrival
// times passed in) and the gap is then given up as lost. Sequence numbers are
// widened to 64 bits on the way in, so nothing after does wrap arithmetic.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "time.hpp"

namespace recorder {

// Receives the buffer's output, in sequence order.
class ReorderSink {
 public:
  virtual ~ReorderSink() = default;
  virtual void on_packet(uint64_t sequence, std::span<const uint8_t> packet, Micros arrival) = 0;
  // `count` consecutive packets from `first` are given up on.
  virtual void on_lost(uint64_t first, uint64_t count) = 0;
};

class ReorderBuffer {
 public:
  enum class Insert { kAccepted, kDuplicate, kLate };

  // `capacity`: how many sequence numbers ahead of the oldest missing one
  // are held; a packet further ahead forces the oldest out as lost.
  ReorderBuffer(Micros window, size_t capacity);

  // One packet as it arrived at `arrival`; delivers what became ready.
  Insert insert(uint16_t sequence, std::span<const uint8_t> packet, Micros arrival, ReorderSink& sink);
  // Gives up on gaps older than the window at `now` (no packet needed).
  void advance(Micros now, ReorderSink& sink);
  // The stream ended: delivers everything held, gaps as lost.
  void flush(ReorderSink& sink);

  // The sequence numbers that went missing since the last call (each one
  // reported once), for a NACK. At most `max_nack` per gap: a gap longer
  // than that is an outage, not something retransmission should repair.
  std::vector<uint16_t> take_missing();

  static constexpr size_t kMaxNackPerGap = 64;

 private:
  struct Slot {
    uint64_t sequence = 0;
    bool present = false;
    Micros arrival{0};  // of the packet, or when its absence was noticed
    std::vector<uint8_t> bytes;  // keeps its capacity: reused, not reallocated per packet
  };

  uint64_t widen(uint16_t sequence) const;
  Slot& slot(uint64_t sequence) { return slots_[sequence % slots_.size()]; }
  void deliver_ready(Micros now, ReorderSink& sink);
  void make_room_for(uint64_t wide, ReorderSink& sink);
  void give_up_oldest(ReorderSink& sink);

  Micros window_;
  std::vector<Slot> slots_;
  bool started_ = false;
  uint64_t next_ = 0;     // the oldest sequence number not delivered yet
  uint64_t highest_ = 0;  // the highest one seen (next_ - 1 when nothing is held)
  std::vector<uint16_t> missing_;
};

}  // namespace recorder
