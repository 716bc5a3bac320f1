// Demultiplexing of the packets that share one ICE component (RFC 7983):
// STUN, DTLS, RTP and RTCP are told apart by their first bytes.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace partyline::rtp {

enum class PacketKind { kStun, kDtls, kRtp, kRtcp, kUnknown };

PacketKind classify_packet(std::span<const uint8_t> packet);
std::string_view to_string(PacketKind kind);

}  // namespace partyline::rtp
