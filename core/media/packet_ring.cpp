#include "core/media/packet_ring.hpp"

#include <bit>

namespace partyline::core {

PacketRing::PacketRing(size_t capacity)
    : mask_(std::bit_ceil(capacity < 2 ? size_t{2} : capacity) - 1), slots_(std::make_unique_for_overwrite<Slot[]>(mask_ + 1)) {}

bool PacketRing::try_push(std::span<const uint8_t> packet, uint32_t tag) {
  if (packet.size() > kSlotBytes) return false;
  const uint64_t tail = tail_.load(std::memory_order_relaxed);
  if (tail - cached_head_ > mask_) {
    cached_head_ = head_.load(std::memory_order_acquire);
    if (tail - cached_head_ > mask_) return false;  // full
  }
  Slot& slot = slots_[tail & mask_];
  slot.tag = tag;
  slot.length = static_cast<uint16_t>(packet.size());
  if (!packet.empty()) std::memcpy(slot.bytes, packet.data(), packet.size());  // data() may be null when empty
  tail_.store(tail + 1, std::memory_order_release);
  return true;
}

}  // namespace partyline::core
