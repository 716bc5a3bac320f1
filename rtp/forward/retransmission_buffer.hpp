// RetransmissionBuffer: copies of the packets a leg has sent, kept so a NACK
// can be answered. A fixed ring of `capacity` slots indexed by the extended
// sequence number, over one arena of capacity x max_packet_size bytes
// allocated at construction: storing a packet is a memcpy, never an
// allocation. A packet is found while it is among the newest `capacity`
// sequence numbers and younger than max_age.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "rtp/packet/sequence_unwrapper.hpp"

namespace partyline::rtp {

enum class StoreOutcome : uint8_t {
  kStored,
  kTooLarge,  // longer than max_packet_size: not stored
  kTooOld,    // older than the newest `capacity` sequence numbers: not stored
};
std::string_view to_string(StoreOutcome outcome);

class RetransmissionBuffer {
 public:
  static constexpr size_t kMaxCapacity = 32768;  // half the sequence space

  // `capacity` is rounded up to a power of two, at most kMaxCapacity.
  RetransmissionBuffer(size_t capacity, size_t max_packet_size, int64_t max_age_us);

  StoreOutcome store(uint16_t sequence_number, std::span<const uint8_t> packet, int64_t now_us);
  // The stored bytes, or nullopt when never stored, overwritten or too old.
  // The span stays valid until the next store().
  std::optional<std::span<const uint8_t>> find(uint16_t sequence_number, int64_t now_us) const;

  size_t capacity() const { return slots_.size(); }
  size_t max_packet_size() const { return max_packet_size_; }

 private:
  struct Slot {
    int64_t sequence = INT64_MIN;  // extended; INT64_MIN when empty
    int64_t stored_at_us = 0;
    size_t size = 0;
  };
  size_t index_of(int64_t sequence) const {
    return static_cast<size_t>(static_cast<uint64_t>(sequence) & (slots_.size() - 1));
  }

  size_t max_packet_size_;
  int64_t max_age_us_;
  SequenceUnwrapper unwrapper_;
  std::vector<Slot> slots_;
  std::vector<uint8_t> arena_;  // slot i owns [i * max_packet_size_, +max_packet_size_)
};

}  // namespace partyline::rtp
