#include "core/media/packet_ring.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace partyline::core {
namespace {

std::vector<uint8_t> packet_of(uint32_t value, size_t size) {
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>(value + i);
  return bytes;
}

TEST(PacketRingTest, CapacityIsAPowerOfTwoAndFullRingRefuses) {
  PacketRing ring(5);
  EXPECT_EQ(ring.capacity(), 8u);
  for (uint32_t i = 0; i < 8; ++i) EXPECT_TRUE(ring.try_push(packet_of(i, 10), i));
  EXPECT_FALSE(ring.try_push(packet_of(99, 10), 99));
  std::vector<uint32_t> tags;
  EXPECT_EQ(ring.pop_batch(3, [&](std::span<const uint8_t>, uint32_t tag) { tags.push_back(tag); }), 3u);
  EXPECT_EQ(tags, (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_TRUE(ring.try_push(packet_of(8, 10), 8));  // room again
}

TEST(PacketRingTest, OversizedPacketsAreRefusedAndEmptyOnesCarried) {
  PacketRing ring(4);
  EXPECT_FALSE(ring.try_push(std::vector<uint8_t>(PacketRing::kSlotBytes + 1), 1));
  EXPECT_TRUE(ring.try_push(std::vector<uint8_t>(PacketRing::kSlotBytes), 2));
  EXPECT_TRUE(ring.try_push({}, 3));
  std::vector<size_t> sizes;
  ring.pop_batch(10, [&](std::span<const uint8_t> packet, uint32_t) { sizes.push_back(packet.size()); });
  EXPECT_EQ(sizes, (std::vector<size_t>{PacketRing::kSlotBytes, 0}));
  EXPECT_EQ(ring.pop_batch(10, [](std::span<const uint8_t>, uint32_t) {}), 0u);
}

// One producer and one consumer thread: every packet arrives once, in
// order, with its bytes intact, across many wrap-arounds of a small ring.
TEST(PacketRingTest, TwoThreadsPassEveryPacketInOrder) {
  // 50000 packets wrap the 64-slot ring some 780 times. (200000 took 30 s
  // on two cores shared with two compilers: each yield then gives a
  // compiler the core for a whole timeslice.)
  constexpr uint32_t kPackets = 50000;
  PacketRing ring(64);
  // A ring that loses or withholds a packet would leave both threads
  // spinning: past the deadline they stop, and the count below fails.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::atomic<bool> give_up{false};
  std::thread producer([&] {
    for (uint32_t i = 0; i < kPackets && !give_up.load(std::memory_order_relaxed);) {
      if (ring.try_push(packet_of(i, 1 + i % 200), i)) {
        ++i;
      } else {
        std::this_thread::yield();
      }
    }
  });
  uint32_t expected = 0;
  bool intact = true;
  while (expected < kPackets && std::chrono::steady_clock::now() < deadline) {
    size_t got = ring.pop_batch(32, [&](std::span<const uint8_t> packet, uint32_t tag) {
      intact = intact && tag == expected && packet.size() == 1 + expected % 200 &&
               std::equal(packet.begin(), packet.end(), packet_of(expected, packet.size()).begin());
      ++expected;
    });
    if (got == 0) std::this_thread::yield();
  }
  give_up = true;
  producer.join();
  EXPECT_TRUE(intact);
  EXPECT_EQ(expected, kPackets);
}

}  // namespace
}  // namespace partyline::core
