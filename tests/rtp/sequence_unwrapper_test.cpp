#include "rtp/packet/sequence_unwrapper.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace partyline::rtp {
namespace {

struct UnwrapCase {
  std::string name;
  std::vector<uint16_t> input;
  std::vector<int64_t> expected;
};

class SequenceUnwrapperTable : public ::testing::TestWithParam<UnwrapCase> {};

TEST_P(SequenceUnwrapperTable, ExtendsEachValue) {
  const UnwrapCase& c = GetParam();
  ASSERT_EQ(c.input.size(), c.expected.size());
  SequenceUnwrapper unwrapper;
  for (size_t i = 0; i < c.input.size(); ++i) {
    EXPECT_EQ(unwrapper.unwrap(c.input[i]), c.expected[i]) << "at index " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SequenceUnwrapperTable,
    ::testing::Values(
        UnwrapCase{"FirstValueMapsToItself", {1234}, {1234}},
        UnwrapCase{"InOrder", {10, 11, 12, 13}, {10, 11, 12, 13}},
        UnwrapCase{"ForwardWrap", {65534, 65535, 0, 1}, {65534, 65535, 65536, 65537}},
        UnwrapCase{"TwoWraps",
                   {65535, 0, 32768, 65535, 0},
                   {65535, 65536, 98304, 131071, 131072}},
        UnwrapCase{"ReorderedAcrossWrap", {65535, 1, 0, 2}, {65535, 65537, 65536, 65538}},
        UnwrapCase{"OldPacketAfterWrap", {0, 65500}, {0, -36}},
        UnwrapCase{"OldPacketDoesNotMoveReference",
                   {1000, 1001, 990, 1002},
                   {1000, 1001, 990, 1002}},
        UnwrapCase{"Duplicate", {7, 7, 7}, {7, 7, 7}},
        UnwrapCase{"JumpJustUnderHalfIsForward", {0, 32767}, {0, 32767}},
        UnwrapCase{"JumpOfExactlyHalfIsForward", {0, 32768}, {0, 32768}},
        UnwrapCase{"JumpJustOverHalfIsBackward", {0, 32769}, {0, -32767}},
        UnwrapCase{"BigForwardJumpsChain",
                   {0, 30000, 60000, 24464, 54464},
                   {0, 30000, 60000, 90000, 120000}},
        UnwrapCase{"BackwardThenForwardPastHighest",
                   {5000, 4000, 4500, 5001},
                   {5000, 4000, 4500, 5001}}),
    [](const auto& info) { return info.param.name; });

TEST(SequenceUnwrapper, PeekDoesNotChangeState) {
  SequenceUnwrapper unwrapper;
  EXPECT_EQ(unwrapper.peek(5), 5);
  EXPECT_FALSE(unwrapper.highest().has_value());
  EXPECT_EQ(unwrapper.unwrap(65535), 65535);
  EXPECT_EQ(unwrapper.peek(3), 65539);
  EXPECT_EQ(unwrapper.highest(), 65535);
  EXPECT_EQ(unwrapper.unwrap(3), 65539);
  EXPECT_EQ(unwrapper.highest(), 65539);
}

TEST(SequenceUnwrapper, ResetForgetsHistory) {
  SequenceUnwrapper unwrapper;
  EXPECT_EQ(unwrapper.unwrap(65535), 65535);
  EXPECT_EQ(unwrapper.unwrap(0), 65536);
  unwrapper.reset();
  EXPECT_EQ(unwrapper.unwrap(0), 0);
}

TEST(SequenceUnwrapper, LongRunIsMonotonic) {
  SequenceUnwrapper unwrapper;
  const int64_t start = 65000;
  for (int64_t i = 0; i < 300000; ++i) {
    ASSERT_EQ(unwrapper.unwrap(static_cast<uint16_t>(start + i)), start + i);
  }
}

TEST(TimestampUnwrapper, WrapsAt32Bits) {
  TimestampUnwrapper unwrapper;
  EXPECT_EQ(unwrapper.unwrap(0xFFFFFF00u), 0xFFFFFF00ll);
  EXPECT_EQ(unwrapper.unwrap(0x00000100u), 0x100000100ll);
  EXPECT_EQ(unwrapper.unwrap(0xFFFFFFF0u), 0xFFFFFFF0ll);  // reordered, older
  EXPECT_EQ(unwrapper.unwrap(0x80000100u), 0x180000100ll);  // exactly half ahead
  EXPECT_EQ(unwrapper.unwrap(0x00000100u), 0x200000100ll);  // half ahead again
  EXPECT_EQ(unwrapper.unwrap(0x00000000u), 0x200000000ll);  // slightly older
}

}  // namespace
}  // namespace partyline::rtp
