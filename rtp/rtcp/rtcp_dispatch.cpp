#include "rtp/rtcp/rtcp_dispatch.hpp"

#include <array>

namespace partyline::rtp {

bool dispatch_rtcp(std::span<const uint8_t> compound, RtcpHandler& handler) {
  RtcpCompoundReader reader(compound);
  RtcpPacketView packet;
  while (reader.next(packet)) {
    switch (packet.packet_type) {
      case rtcp_type::kSenderReport:
        if (auto report = parse_sender_report(packet)) handler.on_sender_report(*report);
        break;
      case rtcp_type::kReceiverReport:
        if (auto report = parse_receiver_report(packet)) handler.on_receiver_report(*report);
        break;
      case rtcp_type::kPayloadFeedback:
        if (packet.count == feedback_format::kPli) {
          if (auto pli = parse_pli(packet)) handler.on_pli(*pli);
        } else if (packet.count == feedback_format::kFir) {
          if (auto fir = parse_fir(packet)) handler.on_fir(*fir);
        }
        break;
      case rtcp_type::kTransportFeedback:
        if (packet.count == feedback_format::kNack) {
          if (auto nack = parse_nack(packet)) {
            std::array<uint16_t, kMaxNackedPerMessage> lost{};
            const size_t count = nack->expand(lost);
            handler.on_nack(*nack, std::span<const uint16_t>(lost.data(), count));
          }
        }
        break;
      default:
        break;
    }
  }
  return reader.error().ok();
}

}  // namespace partyline::rtp
