// A bounded single-producer/single-consumer ring of fixed slots, allocated
// once. The producer fills a slot in place (claim, then publish) and the
// consumer reads it in place (front, then pop), so a packet is copied once
// and nothing is allocated per item. Positions are 64-bit counters that never
// wrap in practice; the slot is position % capacity.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace recorder {

template <typename Slot>
class SpscRing {
 public:
  explicit SpscRing(size_t capacity) : slots_(std::make_unique<Slot[]>(capacity)), capacity_(capacity) {}
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  size_t capacity() const { return capacity_; }

  // Producer: the next free slot, or nullptr when fewer than `reserve` slots
  // would stay free after it (a reserve keeps room for rarer, more important
  // items when ordinary ones fill the ring).
  Slot* claim(size_t reserve = 0) {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    const uint64_t head = head_.load(std::memory_order_acquire);
    if (tail - head + 1 + reserve > capacity_) return nullptr;
    return &slots_[tail % capacity_];
  }
  // Producer: makes the claimed slot visible to the consumer. Sequentially
  // consistent, so that a producer that then reads the consumer's "sleeping"
  // flag and a consumer that set it and then checks empty() cannot both miss
  // each other (the wake-up handshake in MediaChannel).
  void publish() { tail_.fetch_add(1, std::memory_order_seq_cst); }

  // Consumer: the oldest published slot, or nullptr when empty.
  Slot* front() {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_.load(std::memory_order_acquire)) return nullptr;
    return &slots_[head % capacity_];
  }
  // Consumer: releases the slot front() returned.
  void pop() { head_.store(head_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

  bool empty() const { return head_.load(std::memory_order_seq_cst) == tail_.load(std::memory_order_seq_cst); }

 private:
  std::unique_ptr<Slot[]> slots_;
  size_t capacity_;
  // On their own cache lines: each is written by one side only.
  alignas(64) std::atomic<uint64_t> head_{0};  // consumer's position
  alignas(64) std::atomic<uint64_t> tail_{0};  // producer's position
};

}  // namespace recorder
