#include "rtp/forward/retransmission_buffer.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace partyline::rtp {
namespace {

using Bytes = std::vector<uint8_t>;

// A recognisable packet for a sequence number.
Bytes packet_for(uint16_t sequence_number, size_t size = 100) {
  Bytes bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>(sequence_number + i);
  return bytes;
}

Bytes found(const RetransmissionBuffer& buffer, uint16_t sequence_number, int64_t now_us) {
  const auto bytes = buffer.find(sequence_number, now_us);
  if (!bytes) return {};
  return Bytes(bytes->begin(), bytes->end());
}

TEST(RetransmissionBuffer, FindsStoredCopy) {
  RetransmissionBuffer buffer(64, 1500, 1'000'000);
  Bytes packet = packet_for(7, 1200);
  ASSERT_EQ(buffer.store(7, packet, 0), StoreOutcome::kStored);
  packet[0] = 0xFF;  // the buffer holds a copy
  EXPECT_EQ(found(buffer, 7, 10), packet_for(7, 1200));
  EXPECT_FALSE(buffer.find(8, 10));
  EXPECT_FALSE(buffer.find(6, 10));
}

TEST(RetransmissionBuffer, EmptyBufferFindsNothing) {
  RetransmissionBuffer buffer(16, 1500, 1'000'000);
  EXPECT_FALSE(buffer.find(0, 0));
  EXPECT_FALSE(buffer.find(65535, 0));
}

TEST(RetransmissionBuffer, CapacityRoundsToPowerOfTwo) {
  EXPECT_EQ(RetransmissionBuffer(1000, 100, 1).capacity(), 1024u);
  EXPECT_EQ(RetransmissionBuffer(0, 100, 1).capacity(), 1u);
  EXPECT_EQ(RetransmissionBuffer(100000, 10, 1).capacity(), RetransmissionBuffer::kMaxCapacity);
}

TEST(RetransmissionBuffer, OldestIsOverwrittenWhenFull) {
  RetransmissionBuffer buffer(8, 1500, 1'000'000);
  for (uint16_t seq = 100; seq <= 108; ++seq)
    ASSERT_EQ(buffer.store(seq, packet_for(seq), 0), StoreOutcome::kStored);
  EXPECT_FALSE(buffer.find(100, 0));
  for (uint16_t seq = 101; seq <= 108; ++seq)
    EXPECT_EQ(found(buffer, seq, 0), packet_for(seq)) << seq;
}

TEST(RetransmissionBuffer, EntriesOlderThanMaxAgeAreMisses) {
  RetransmissionBuffer buffer(8, 1500, 500'000);
  ASSERT_EQ(buffer.store(1, packet_for(1), 1'000'000), StoreOutcome::kStored);
  EXPECT_TRUE(buffer.find(1, 1'500'000));
  EXPECT_FALSE(buffer.find(1, 1'500'001));
}

TEST(RetransmissionBuffer, WorksAcrossWrap) {
  RetransmissionBuffer buffer(16, 1500, 1'000'000);
  for (int i = 0; i < 12; ++i) {
    const auto seq = static_cast<uint16_t>(65530 + i);
    ASSERT_EQ(buffer.store(seq, packet_for(seq), 0), StoreOutcome::kStored);
  }
  for (int i = 0; i < 12; ++i) {
    const auto seq = static_cast<uint16_t>(65530 + i);
    EXPECT_EQ(found(buffer, seq, 0), packet_for(seq)) << seq;
  }
  EXPECT_FALSE(buffer.find(6, 0));
  EXPECT_FALSE(buffer.find(65529, 0));
}

TEST(RetransmissionBuffer, LateStoreWithinWindowIsKept) {
  RetransmissionBuffer buffer(8, 1500, 1'000'000);
  ASSERT_EQ(buffer.store(10, packet_for(10), 0), StoreOutcome::kStored);
  ASSERT_EQ(buffer.store(12, packet_for(12), 0), StoreOutcome::kStored);
  ASSERT_EQ(buffer.store(11, packet_for(11), 0), StoreOutcome::kStored);
  for (uint16_t seq = 10; seq <= 12; ++seq) EXPECT_EQ(found(buffer, seq, 0), packet_for(seq));
}

TEST(RetransmissionBuffer, TooOldStoreDoesNotEvictNewer) {
  RetransmissionBuffer buffer(8, 1500, 1'000'000);
  for (uint16_t seq = 100; seq <= 107; ++seq) buffer.store(seq, packet_for(seq), 0);
  EXPECT_EQ(buffer.store(99, packet_for(99), 0), StoreOutcome::kTooOld);
  EXPECT_EQ(found(buffer, 107, 0), packet_for(107));
  EXPECT_FALSE(buffer.find(99, 0));
  EXPECT_EQ(buffer.store(100, packet_for(100, 50), 0), StoreOutcome::kStored);  // replaces itself
  EXPECT_EQ(found(buffer, 100, 0), packet_for(100, 50));
}

TEST(RetransmissionBuffer, TooLargeIsRefused) {
  RetransmissionBuffer buffer(8, 200, 1'000'000);
  EXPECT_EQ(buffer.store(1, packet_for(1, 201), 0), StoreOutcome::kTooLarge);
  EXPECT_FALSE(buffer.find(1, 0));
  EXPECT_EQ(buffer.store(1, packet_for(1, 200), 0), StoreOutcome::kStored);
  EXPECT_EQ(found(buffer, 1, 0).size(), 200u);
  EXPECT_EQ(to_string(StoreOutcome::kTooLarge), "packet larger than the buffer's slots");
}

TEST(RetransmissionBuffer, SameSequenceNumberOneCycleLaterIsNotConfused) {
  RetransmissionBuffer buffer(16, 1500, 10'000'000);
  buffer.store(5, packet_for(5), 0);
  // Step forward a whole sequence cycle in jumps the unwrapper accepts.
  for (const uint16_t seq : {30000, 60000, 24464, 54464}) buffer.store(seq, packet_for(seq), 0);
  EXPECT_FALSE(buffer.find(5, 0));
  EXPECT_EQ(found(buffer, 54464, 0), packet_for(54464));
}

TEST(RetransmissionBuffer, SlotsDoNotBleedIntoEachOther) {
  RetransmissionBuffer buffer(4, 8, 1'000'000);
  for (uint16_t seq = 0; seq < 4; ++seq)
    buffer.store(seq, Bytes(8, static_cast<uint8_t>(seq + 1)), 0);
  buffer.store(4, Bytes(3, 0xEE), 0);  // shorter packet replacing seq 0
  EXPECT_EQ(found(buffer, 4, 0), Bytes(3, 0xEE));
  for (uint16_t seq = 1; seq < 4; ++seq)
    EXPECT_EQ(found(buffer, seq, 0), Bytes(8, static_cast<uint8_t>(seq + 1)));
}

}  // namespace
}  // namespace partyline::rtp
