// classify_packet() on arbitrary bytes, then the parser the receive path
// would hand the packet to. Checks the classification against RFC 7983's
// first-byte table, kept here as data (an independent reading, so a demux
// that is wrong, or becomes wrong, shows up), and that whatever the RTP or
// RTCP parser accepts stays inside the datagram. The corpus holds an input
// on each side of every boundary of the table (boundary_*.bin).
#include <cstdint>
#include <cstdio>
#include <string>

#include "rtp/packet/packet_demux.hpp"
#include "rtp/rtcp/rtcp_packet.hpp"
#include "rtp/packet/rtp_packet.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace partyline::rtp {
namespace {

// RFC 7983 section 7's table of first bytes, as written there. A byte in
// none of the ranges is dropped (kUnknown). partyline has no ZRTP and no
// TURN relay, so those ranges are not its packets either: they are listed
// to say so, and to keep the DTLS and unknown boundaries next to them.
enum class Rfc7983 { kStun, kZrtp, kDtls, kTurnChannel, kRtpOrRtcp };

struct FirstByteRange {
  uint8_t first;
  uint8_t last;
  Rfc7983 protocol;
};

constexpr FirstByteRange kRfc7983Ranges[] = {
    {0, 3, Rfc7983::kStun},          {16, 19, Rfc7983::kZrtp},
    {20, 63, Rfc7983::kDtls},        {64, 79, Rfc7983::kTurnChannel},
    {128, 191, Rfc7983::kRtpOrRtcp},
};

// RFC 5761 section 4: with RTP and RTCP on one port, the second byte of an
// RTCP packet (its packet type) is 192-223; RTP never uses the payload types
// (64-95) that would put its marker bit + payload type in that range.
constexpr uint8_t kRtcpTypeFirst = 192;
constexpr uint8_t kRtcpTypeLast = 223;

PacketKind expected_kind(std::span<const uint8_t> packet) {
  if (packet.empty()) return PacketKind::kUnknown;
  for (const FirstByteRange& range : kRfc7983Ranges) {
    if (packet[0] < range.first || packet[0] > range.last) continue;
    switch (range.protocol) {
      case Rfc7983::kStun: return PacketKind::kStun;
      case Rfc7983::kDtls: return PacketKind::kDtls;
      case Rfc7983::kZrtp:
      case Rfc7983::kTurnChannel: return PacketKind::kUnknown;
      case Rfc7983::kRtpOrRtcp:
        if (packet.size() < 2) return PacketKind::kUnknown;  // no type byte to tell them apart
        return packet[1] >= kRtcpTypeFirst && packet[1] <= kRtcpTypeLast ? PacketKind::kRtcp : PacketKind::kRtp;
    }
  }
  return PacketKind::kUnknown;
}

}  // namespace
}  // namespace partyline::rtp

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace partyline::rtp;
  using partyline::fuzz::inside;
  const std::span<const uint8_t> packet(data, size);
  const PacketKind kind = classify_packet(packet);
  const PacketKind expected = expected_kind(packet);
  if (kind != expected) {
    std::fprintf(stderr, "first bytes %d %d: classify_packet says %s, RFC 7983 says %s\n", size > 0 ? data[0] : -1,
                 size > 1 ? data[1] : -1, std::string(to_string(kind)).c_str(), std::string(to_string(expected)).c_str());
  }
  FUZZ_REQUIRE(kind == expected);
  FUZZ_REQUIRE(!to_string(kind).empty());
  if (kind == PacketKind::kRtp) {
    if (auto view = parse_rtp_packet(packet)) FUZZ_REQUIRE(inside(view->payload, packet));
  } else if (kind == PacketKind::kRtcp) {
    RtcpCompoundReader reader(packet);
    RtcpPacketView rtcp;
    while (reader.next(rtcp)) FUZZ_REQUIRE(inside(rtcp.packet, packet));
  }
  return 0;
}
