// PacketRing: a bounded, lock-free, single-producer single-consumer queue of
// packets, for handing forwarded RTP from one media worker to another in
// batches. Slots are preallocated: pushing copies the bytes into a slot,
// popping lends the consumer a view of it, so nothing allocates per packet.
//
// Exactly one thread may push and exactly one (other) thread may pop.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <span>

namespace partyline::core {

class PacketRing {
 public:
  static constexpr size_t kSlotBytes = 1500;  // one MTU-sized RTP packet

  // `capacity` is rounded up to a power of two.
  explicit PacketRing(size_t capacity);
  PacketRing(const PacketRing&) = delete;
  PacketRing& operator=(const PacketRing&) = delete;

  // Producer. False when the ring is full or the packet does not fit a slot
  // (the caller counts the drop).
  bool try_push(std::span<const uint8_t> packet, uint32_t tag);

  // Consumer. Calls `visit(std::span<const uint8_t> packet, uint32_t tag)`
  // for up to `max` packets in FIFO order; returns how many it visited.
  template <typename Visit>
  size_t pop_batch(size_t max, Visit&& visit);

  size_t capacity() const { return mask_ + 1; }
  // Packets pushed and not popped yet, from any thread (approximate while
  // either side runs).
  size_t depth() const {
    // The head first: the tail read after it is never behind it.
    const uint64_t head = head_.load(std::memory_order_acquire);
    return static_cast<size_t>(tail_.load(std::memory_order_acquire) - head);
  }

 private:
  struct Slot {
    uint32_t tag;
    uint16_t length;
    uint8_t bytes[kSlotBytes];
  };
  // Head and tail on their own cache lines: the producer writes tail_, the
  // consumer writes head_; sharing a line would make them fight over it.
  static constexpr size_t kCacheLine = 64;

  size_t mask_;
  std::unique_ptr<Slot[]> slots_;
  alignas(kCacheLine) std::atomic<uint64_t> tail_{0};  // next slot to fill
  uint64_t cached_head_ = 0;                           // producer's view of head_
  alignas(kCacheLine) std::atomic<uint64_t> head_{0};  // next slot to read
  uint64_t cached_tail_ = 0;                           // consumer's view of tail_
};

template <typename Visit>
size_t PacketRing::pop_batch(size_t max, Visit&& visit) {
  const uint64_t head = head_.load(std::memory_order_relaxed);
  if (cached_tail_ - head < max) cached_tail_ = tail_.load(std::memory_order_acquire);
  const uint64_t available = cached_tail_ - head;
  const size_t count = available < max ? static_cast<size_t>(available) : max;
  for (size_t i = 0; i < count; ++i) {
    const Slot& slot = slots_[(head + i) & mask_];
    visit(std::span<const uint8_t>(slot.bytes, slot.length), slot.tag);
  }
  // Released only after the visits: the producer may reuse the slots now.
  head_.store(head + count, std::memory_order_release);
  return count;
}

}  // namespace partyline::core
