#include "rtp/packet/packet_demux.hpp"

namespace partyline::rtp {

PacketKind classify_packet(std::span<const uint8_t> packet) {
  if (packet.empty()) return PacketKind::kUnknown;
  const uint8_t first = packet[0];
  if (first <= 3) return PacketKind::kStun;
  if (first >= 20 && first <= 63) return PacketKind::kDtls;
  if (first >= 128 && first <= 191) {
    // RTCP packet types 192..223 (RFC 5761 section 4) occupy the byte where
    // RTP keeps the marker bit and payload type; payload types 64..95 are
    // therefore never used for RTP when RTP and RTCP are multiplexed.
    if (packet.size() < 2) return PacketKind::kUnknown;
    const uint8_t second = packet[1];
    return (second >= 192 && second <= 223) ? PacketKind::kRtcp : PacketKind::kRtp;
  }
  return PacketKind::kUnknown;
}

std::string_view to_string(PacketKind kind) {
  switch (kind) {
    case PacketKind::kStun: return "stun";
    case PacketKind::kDtls: return "dtls";
    case PacketKind::kRtp: return "rtp";
    case PacketKind::kRtcp: return "rtcp";
    case PacketKind::kUnknown: return "unknown";
  }
  return "unknown";
}

}  // namespace partyline::rtp
