// A MediaTransport that records what a media handler sent, for tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/media/media_handler.hpp"
#include "rtp/rtcp/rtcp_feedback.hpp"
#include "rtp/rtcp/rtcp_packet.hpp"

namespace partyline::core {

class RecordingTransport : public MediaTransport {
 public:
  using Bytes = std::vector<uint8_t>;

  ice::SendResult send_rtp(std::span<uint8_t> buffer, size_t length) override {
    room_for_trailer = room_for_trailer && buffer.size() >= length + rtp::kSrtpMaxTrailer;
    if (!secure) return ice::SendResult::kNotSecure;
    rtp.emplace_back(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(length));
    return ice::SendResult::kSent;
  }
  ice::SendResult send_rtcp(std::span<uint8_t> buffer, size_t length) override {
    room_for_trailer = room_for_trailer && buffer.size() >= length + rtp::kSrtpMaxTrailer;
    if (!secure) return ice::SendResult::kNotSecure;
    rtcp.emplace_back(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(length));
    return ice::SendResult::kSent;
  }
  // The RTCP feedback packets of one type and format sent so far.
  std::vector<rtp::FeedbackView> feedback(uint8_t packet_type, uint8_t format) const {
    std::vector<rtp::FeedbackView> found;
    for (const Bytes& compound : rtcp) {
      rtp::RtcpCompoundReader reader(compound);
      rtp::RtcpPacketView packet;
      while (reader.next(packet)) {
        if (packet.packet_type != packet_type || packet.count != format) continue;
        if (auto parsed = rtp::parse_feedback(packet)) found.push_back(*parsed);
      }
    }
    return found;
  }

  std::vector<Bytes> rtp, rtcp;
  bool secure = true;            // false: DTLS not done, nothing goes out
  bool room_for_trailer = true;  // every buffer had room for the SRTP trailer
};

}  // namespace partyline::core
