// The few RTP header fields the recorder needs, and where the payload is
// (after CSRCs and a header extension, before padding). RFC 3550 section 5.1.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace recorder {

struct RtpView {
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  uint8_t payload_type = 0;
  bool marker = false;
  std::span<const uint8_t> payload;
};

// nullopt for anything that is not a well-formed RTP packet.
std::optional<RtpView> parse_rtp(std::span<const uint8_t> packet);

}  // namespace recorder
