#include "rtp/packet/packet_demux.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace partyline::rtp {
namespace {

// RFC 7983 section 7: the first byte selects the protocol.
PacketKind expected_kind(uint8_t first, uint8_t second) {
  if (first <= 3) return PacketKind::kStun;
  if (first >= 16 && first <= 19) return PacketKind::kUnknown;  // ZRTP: not supported
  if (first >= 20 && first <= 63) return PacketKind::kDtls;
  if (first >= 64 && first <= 79) return PacketKind::kUnknown;  // TURN channel: not on our path
  if (first >= 128 && first <= 191) {
    return (second >= 192 && second <= 223) ? PacketKind::kRtcp : PacketKind::kRtp;
  }
  return PacketKind::kUnknown;
}

TEST(PacketDemux, EveryFirstByteFollowsRfc7983) {
  for (int first = 0; first <= 255; ++first) {
    for (const uint8_t second : {0, 96, 111, 127, 128, 191, 192, 200, 206, 223, 224, 255}) {
      const std::vector<uint8_t> packet = {static_cast<uint8_t>(first), second, 0, 0};
      EXPECT_EQ(classify_packet(packet), expected_kind(static_cast<uint8_t>(first), second))
          << "first byte " << first << ", second byte " << int{second};
    }
  }
}

struct DemuxCase {
  const char* name;
  std::vector<uint8_t> packet;
  PacketKind expected;
};

class PacketDemuxTable : public ::testing::TestWithParam<DemuxCase> {};

TEST_P(PacketDemuxTable, Classifies) {
  EXPECT_EQ(classify_packet(GetParam().packet), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PacketDemuxTable,
    ::testing::Values(
        DemuxCase{"Empty", {}, PacketKind::kUnknown},
        DemuxCase{"StunBindingRequest", {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42},
                  PacketKind::kStun},
        DemuxCase{"StunSingleByte", {0x01}, PacketKind::kStun},
        DemuxCase{"DtlsHandshake", {22, 0xFE, 0xFD}, PacketKind::kDtls},
        DemuxCase{"DtlsApplicationData", {23, 0xFE, 0xFD}, PacketKind::kDtls},
        DemuxCase{"DtlsLowerBound", {20}, PacketKind::kDtls},
        DemuxCase{"DtlsUpperBound", {63}, PacketKind::kDtls},
        DemuxCase{"ZrtpIsUnknown", {16, 0}, PacketKind::kUnknown},
        DemuxCase{"TurnChannelIsUnknown", {0x40, 0x00}, PacketKind::kUnknown},
        DemuxCase{"RtpOpus", {0x80, 111, 0, 1}, PacketKind::kRtp},
        DemuxCase{"RtpMarkerVp8", {0x80, 0x80 | 96, 0, 1}, PacketKind::kRtp},
        DemuxCase{"RtcpSenderReport", {0x80, 200, 0, 6}, PacketKind::kRtcp},
        DemuxCase{"RtcpLowerBound", {0x81, 192}, PacketKind::kRtcp},
        DemuxCase{"RtcpUpperBound", {0x81, 223}, PacketKind::kRtcp},
        DemuxCase{"RtpJustAboveRtcpRange", {0x80, 224}, PacketKind::kRtp},
        DemuxCase{"RtpJustBelowRtcpRange", {0x80, 191}, PacketKind::kRtp},
        DemuxCase{"RtpRangeSingleByteIsUnknown", {0x80}, PacketKind::kUnknown},
        DemuxCase{"Byte192IsUnknown", {192, 0}, PacketKind::kUnknown},
        DemuxCase{"Byte255IsUnknown", {255, 0}, PacketKind::kUnknown},
        DemuxCase{"Byte4IsUnknown", {4, 0}, PacketKind::kUnknown}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(PacketDemux, KindNames) {
  EXPECT_EQ(to_string(PacketKind::kStun), "stun");
  EXPECT_EQ(to_string(PacketKind::kDtls), "dtls");
  EXPECT_EQ(to_string(PacketKind::kRtp), "rtp");
  EXPECT_EQ(to_string(PacketKind::kRtcp), "rtcp");
  EXPECT_EQ(to_string(PacketKind::kUnknown), "unknown");
}

}  // namespace
}  // namespace partyline::rtp
