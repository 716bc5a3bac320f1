#include "rtp/packet/rtp_header_extensions.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "rtp/packet/rtp_packet.hpp"

namespace partyline::rtp {
namespace {

using Bytes = std::vector<uint8_t>;

struct Element {
  uint8_t id;
  Bytes value;
  friend bool operator==(const Element&, const Element&) = default;
};

std::vector<Element> read_all(uint16_t profile, const Bytes& data,
                              HeaderExtensionError* error = nullptr) {
  HeaderExtensionReader reader(profile, data);
  std::vector<Element> elements;
  HeaderExtensionElement element;
  while (reader.next(element)) {
    elements.push_back({element.id, Bytes(element.value.begin(), element.value.end())});
  }
  if (error) *error = reader.error();
  return elements;
}

TEST(HeaderExtensions, FormFromProfile) {
  EXPECT_EQ(extension_form(0xBEDE), ExtensionForm::kOneByte);
  EXPECT_EQ(extension_form(0x1000), ExtensionForm::kTwoByte);
  EXPECT_EQ(extension_form(0x100F), ExtensionForm::kTwoByte);
  EXPECT_EQ(extension_form(0x1010), ExtensionForm::kUnknown);
  EXPECT_EQ(extension_form(0xBEDF), ExtensionForm::kUnknown);
  EXPECT_EQ(extension_form(0x0000), ExtensionForm::kUnknown);
}

struct ReadCase {
  std::string name;
  uint16_t profile;
  Bytes data;
  std::vector<Element> expected;
  HeaderExtensionError error;
};

class HeaderExtensionRead : public ::testing::TestWithParam<ReadCase> {};

TEST_P(HeaderExtensionRead, YieldsElementsThenError) {
  const ReadCase& c = GetParam();
  HeaderExtensionError error = HeaderExtensionError::kNone;
  EXPECT_EQ(read_all(c.profile, c.data, &error), c.expected);
  EXPECT_EQ(error, c.error) << to_string(error);
  EXPECT_EQ(validate_header_extensions(c.profile, c.data), c.error);
}

constexpr auto kNone = HeaderExtensionError::kNone;

INSTANTIATE_TEST_SUITE_P(
    Cases, HeaderExtensionRead,
    ::testing::Values(
        ReadCase{"OneByteEmpty", 0xBEDE, {}, {}, kNone},
        ReadCase{"OneByteSingle", 0xBEDE, {0x10, 0xAB, 0, 0}, {{1, {0xAB}}}, kNone},
        // RFC 8285 section 4.2 example-like: audio level id 1, abs-send-time id 3 (3 bytes).
        ReadCase{"OneByteTwoElements", 0xBEDE, {0x10, 0x85, 0x32, 0x01, 0x02, 0x03, 0, 0},
                 {{1, {0x85}}, {3, {0x01, 0x02, 0x03}}}, kNone},
        ReadCase{"OneBytePaddingBetween", 0xBEDE, {0x20, 0x11, 0, 0, 0x30, 0x22, 0, 0},
                 {{2, {0x11}}, {3, {0x22}}}, kNone},
        ReadCase{"OneByteIdZeroIsOneBytePaddingWhateverItsLength", 0xBEDE,
                 {0x05, 0x10, 0x42, 0x00}, {{1, {0x42}}}, kNone},
        ReadCase{"OneByteSixteenBytes", 0xBEDE,
                 {0xEF, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 0, 0},
                 {{14, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}}}, kNone},
        ReadCase{"OneByteId15StopsParsing", 0xBEDE, {0x10, 0x01, 0xF3, 0x20, 0x02, 0, 0, 0},
                 {{1, {0x01}}}, kNone},
        ReadCase{"OneByteValuePastEnd", 0xBEDE, {0x10, 0x01, 0x23, 0x01},
                 {{1, {0x01}}}, HeaderExtensionError::kElementPastEnd},
        ReadCase{"OneByteHeaderAtEnd", 0xBEDE, {0, 0, 0, 0x10}, {},
                 HeaderExtensionError::kElementPastEnd},
        ReadCase{"TwoByteSingle", 0x1000, {0x05, 0x02, 0xAA, 0xBB}, {{5, {0xAA, 0xBB}}}, kNone},
        ReadCase{"TwoByteZeroLength", 0x1000, {0xFF, 0x00, 0x07, 0x01, 0x09, 0},
                 {{255, {}}, {7, {0x09}}}, kNone},
        ReadCase{"TwoByteAppBits", 0x100A, {0x01, 0x01, 0x42, 0}, {{1, {0x42}}}, kNone},
        ReadCase{"TwoBytePadding", 0x1000, {0, 0, 0x10, 0x01, 0x42, 0, 0, 0}, {{16, {0x42}}},
                 kNone},
        ReadCase{"TwoByteLengthBytePastEnd", 0x1000, {0x03, 0x01, 0x00, 0x04}, {{3, {0x00}}},
                 HeaderExtensionError::kTwoByteHeaderPastEnd},
        ReadCase{"TwoByteValuePastEnd", 0x1000, {0x03, 0x05, 0x00, 0x00}, {},
                 HeaderExtensionError::kElementPastEnd},
        ReadCase{"UnknownProfile", 0xABCD, {0x10, 0x01, 0, 0}, {},
                 HeaderExtensionError::kUnknownProfile}),
    [](const auto& info) { return info.param.name; });

TEST(HeaderExtensions, FindById) {
  const Bytes data = {0x10, 0x85, 0x32, 0x01, 0x02, 0x03, 0, 0};
  const auto level = find_header_extension(0xBEDE, data, 1);
  ASSERT_TRUE(level.has_value());
  EXPECT_EQ(Bytes(level->begin(), level->end()), Bytes{0x85});
  EXPECT_EQ(level->data(), data.data() + 1);  // zero-copy
  const auto send_time = find_header_extension(0xBEDE, data, 3);
  ASSERT_TRUE(send_time.has_value());
  EXPECT_EQ(send_time->size(), 3u);
  EXPECT_FALSE(find_header_extension(0xBEDE, data, 2).has_value());
  EXPECT_FALSE(find_header_extension(0xBEDE, data, 0).has_value());
  EXPECT_FALSE(find_header_extension(0x1234, data, 1).has_value());
}

TEST(HeaderExtensions, BuilderOneByteMatchesKnownBytes) {
  std::array<uint8_t, 32> buffer{};
  HeaderExtensionBuilder builder(ExtensionForm::kOneByte, buffer);
  const Bytes level = {0x85};
  const Bytes send_time = {0x01, 0x02, 0x03};
  ASSERT_EQ(builder.add(1, level), kNone);
  ASSERT_EQ(builder.add(3, send_time), kNone);
  EXPECT_EQ(builder.profile(), 0xBEDE);
  const auto data = builder.data();
  EXPECT_EQ(Bytes(data.begin(), data.end()), (Bytes{0x10, 0x85, 0x32, 0x01, 0x02, 0x03, 0, 0}));
}

TEST(HeaderExtensions, BuilderTwoByteRoundTrips) {
  std::array<uint8_t, 300> buffer{};
  HeaderExtensionBuilder builder(ExtensionForm::kTwoByte, buffer);
  const Bytes empty;
  const Bytes big(255, 0x5A);
  ASSERT_EQ(builder.add(200, empty), kNone);
  ASSERT_EQ(builder.add(15, big), kNone);
  EXPECT_EQ(builder.profile(), 0x1000);
  const auto data = builder.data();
  EXPECT_EQ(data.size() % 4, 0u);
  const Bytes block(data.begin(), data.end());
  EXPECT_EQ(read_all(0x1000, block), (std::vector<Element>{{200, {}}, {15, big}}));
}

TEST(HeaderExtensions, BuilderRejectsInvalidInput) {
  std::array<uint8_t, 8> buffer{};
  HeaderExtensionBuilder one(ExtensionForm::kOneByte, buffer);
  const Bytes value = {1};
  const Bytes empty;
  const Bytes seventeen(17, 1);
  EXPECT_EQ(one.add(0, value), HeaderExtensionError::kInvalidId);
  EXPECT_EQ(one.add(15, value), HeaderExtensionError::kInvalidId);
  EXPECT_EQ(one.add(1, empty), HeaderExtensionError::kInvalidLength);
  EXPECT_EQ(one.add(1, seventeen), HeaderExtensionError::kInvalidLength);
  const Bytes seven(7, 2);
  EXPECT_EQ(one.add(1, seven), kNone);
  EXPECT_EQ(one.add(2, value), HeaderExtensionError::kOutputTooSmall);  // 8 + 2 > 8
  EXPECT_EQ(one.data().size(), 8u);

  HeaderExtensionBuilder two(ExtensionForm::kTwoByte, buffer);
  EXPECT_EQ(two.add(0, value), HeaderExtensionError::kInvalidId);
  const Bytes too_long(256, 1);
  EXPECT_EQ(two.add(1, too_long), HeaderExtensionError::kInvalidLength);

  std::array<uint8_t, 3> tiny{};
  HeaderExtensionBuilder odd(ExtensionForm::kTwoByte, tiny);
  EXPECT_EQ(odd.add(1, value), kNone);
  EXPECT_TRUE(odd.data().empty());  // no room to pad to 4
}

ExtensionIdMap identity_map() {
  ExtensionIdMap map{};
  for (size_t i = 0; i < map.size(); ++i) map[i] = static_cast<uint8_t>(i);
  return map;
}

TEST(HeaderExtensions, RewriteOneByteIdsInPlace) {
  Bytes data = {0x10, 0x85, 0x32, 0x01, 0x02, 0x03, 0x50, 0x77};
  ExtensionIdMap map = identity_map();
  map[1] = 4;
  map[3] = 0;  // drop
  map[5] = 14;
  ASSERT_EQ(rewrite_extension_ids(0xBEDE, data, map), kNone);
  EXPECT_EQ(data, (Bytes{0x40, 0x85, 0, 0, 0, 0, 0xE0, 0x77}));
  EXPECT_EQ(read_all(0xBEDE, data), (std::vector<Element>{{4, {0x85}}, {14, {0x77}}}));
}

TEST(HeaderExtensionsRewrite, TwoByteIdsInPlace) {
  Bytes data = {0x01, 0x01, 0xAA, 0xC8, 0x00, 0x02, 0x02, 0xBB, 0xCC, 0, 0, 0};
  ExtensionIdMap map{};  // everything not listed is dropped
  map[1] = 250;
  map[2] = 3;
  ASSERT_EQ(rewrite_extension_ids(0x1000, data, map), kNone);
  EXPECT_EQ(data, (Bytes{0xFA, 0x01, 0xAA, 0, 0, 0x03, 0x02, 0xBB, 0xCC, 0, 0, 0}));
  EXPECT_EQ(read_all(0x1000, data), (std::vector<Element>{{250, {0xAA}}, {3, {0xBB, 0xCC}}}));
}

TEST(HeaderExtensionsRewrite, ErrorsLeaveDataUntouched) {
  ExtensionIdMap map = identity_map();
  map[1] = 15;  // not a usable one-byte id
  Bytes data = {0x20, 0x01, 0x10, 0x02};
  const Bytes before = data;
  EXPECT_EQ(rewrite_extension_ids(0xBEDE, data, map), HeaderExtensionError::kInvalidId);
  EXPECT_EQ(data, before);

  map[1] = 0;
  Bytes truncated = {0x10, 0x01, 0x23, 0x01};  // second element runs past the end
  const Bytes truncated_before = truncated;
  EXPECT_EQ(rewrite_extension_ids(0xBEDE, truncated, map), HeaderExtensionError::kElementPastEnd);
  EXPECT_EQ(truncated, truncated_before);

  EXPECT_EQ(rewrite_extension_ids(0xABCD, data, map), HeaderExtensionError::kUnknownProfile);
}

TEST(HeaderExtensionsRewrite, StopsAtId15) {
  Bytes data = {0x10, 0x01, 0xF0, 0x10, 0x02, 0, 0, 0};
  ExtensionIdMap map = identity_map();
  map[1] = 2;
  ASSERT_EQ(rewrite_extension_ids(0xBEDE, data, map), kNone);
  EXPECT_EQ(data, (Bytes{0x20, 0x01, 0xF0, 0x10, 0x02, 0, 0, 0}));
}

TEST(HeaderExtensionsRewrite, WholePacket) {
  Bytes packet = {0x90, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3,
                  0xBE, 0xDE, 0x00, 0x01, 0x10, 0x85, 0x20, 0x09, 0xAB};
  ExtensionIdMap map = identity_map();
  map[1] = 0;
  map[2] = 7;
  ASSERT_EQ(rewrite_packet_extension_ids(packet, map), kNone);
  const auto view = parse_rtp_packet(packet);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(Bytes(view->extension_data.begin(), view->extension_data.end()),
            (Bytes{0, 0, 0x70, 0x09}));
  EXPECT_EQ(view->payload.size(), 1u);
  EXPECT_EQ(view->payload[0], 0xAB);

  Bytes no_extension = {0x80, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0x10, 0x85};
  const Bytes before = no_extension;
  EXPECT_EQ(rewrite_packet_extension_ids(no_extension, map), kNone);
  EXPECT_EQ(no_extension, before);

  Bytes malformed = {0x90, 0x60, 0, 1};
  EXPECT_EQ(rewrite_packet_extension_ids(malformed, map), HeaderExtensionError::kMalformedPacket);
}

}  // namespace
}  // namespace partyline::rtp
