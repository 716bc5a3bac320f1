// The RTP the bridge reads and writes (RFC 3550 section 5.1): what a
// participant's packet says (sequence number, timestamp, the Opus payload,
// and its RFC 6464 audio level when the client sends that header extension,
// RFC 8285), and the header of a packet of the mix. The host puts the
// server's SSRC in what the bridge sends, so the header written here leaves
// it zero.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace audiobridge {

struct RtpIn {
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  uint8_t payload_type = 0;
  std::span<const uint8_t> payload;
  int audio_level = -1;  // RFC 6464 level 0..127 (0 loudest), -1 when absent
};

// nullopt for anything that is not a well-formed RTP packet. `level_id` is
// the negotiated id of the audio level extension (0: none negotiated).
std::optional<RtpIn> parse_rtp(std::span<const uint8_t> packet, int level_id);

inline constexpr size_t kRtpHeaderBytes = 12;

// Writes a 12-byte header (version 2, no CSRC, no extension, SSRC 0) at the
// start of `out`, which must hold at least kRtpHeaderBytes.
void write_rtp_header(std::span<uint8_t> out, uint8_t payload_type, bool marker, uint16_t sequence,
                      uint32_t timestamp);

}  // namespace audiobridge
