// classify_packet() on arbitrary bytes, then the parser the receive path
// would hand the packet to. Checks the classification against RFC 7983's
// first-byte ranges (an independent reading, so a change in the demux that
// breaks the RFC shows up), and that whatever the RTP or RTCP parser accepts
// stays inside the datagram.
#include <cstdint>

#include "rtp/packet_demux.hpp"
#include "rtp/rtcp_packet.hpp"
#include "rtp/rtp_packet.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace partyline::rtp {
namespace {

// RFC 7983 section 7 (RTP and RTCP told apart by RFC 5761 payload types).
PacketKind expected_kind(std::span<const uint8_t> packet) {
  if (packet.empty()) return PacketKind::kUnknown;
  const uint8_t first = packet[0];
  if (first <= 3) return PacketKind::kStun;
  if (first >= 20 && first <= 63) return PacketKind::kDtls;
  if (first >= 128 && first <= 191) {
    if (packet.size() < 2) return PacketKind::kUnknown;
    const uint8_t type = packet[1];
    return (type >= 192 && type <= 223) ? PacketKind::kRtcp : PacketKind::kRtp;
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
  FUZZ_REQUIRE(kind == expected_kind(packet));
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
