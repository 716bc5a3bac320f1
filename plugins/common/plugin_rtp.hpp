// The RTP the in-tree plugins read and write (RFC 3550 section 5.1): what a
// packet says (sequence number, timestamp, payload type, marker, where the
// payload is past CSRCs, a header extension and padding, and the RFC 6464
// audio level when asked for its RFC 8285 extension id), and a plain header
// for a packet a plugin sends (the host puts in the server's SSRC, so it is
// left zero). One reader for the recorder and the audio bridge; like them,
// it sees only the public plugin header's world.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace plugin_rtp {

struct RtpView {
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  uint8_t payload_type = 0;
  bool marker = false;
  std::span<const uint8_t> payload;
  int audio_level = -1;  // RFC 6464 level 0..127 (0 loudest), -1 when absent
};

// nullopt for anything that is not a well-formed RTP packet. `level_id` is
// the negotiated id of the audio level extension (0: none negotiated).
std::optional<RtpView> parse_rtp(std::span<const uint8_t> packet, int level_id = 0);

inline constexpr size_t kRtpHeaderBytes = 12;

// Writes a 12-byte header (version 2, no CSRC, no extension) at the start
// of `out`, which must hold at least kRtpHeaderBytes. SSRC 0 leaves it to
// the host (send_rtp puts in the server's).
void write_rtp_header(std::span<uint8_t> out, uint8_t payload_type, bool marker, uint16_t sequence,
                      uint32_t timestamp, uint32_t ssrc = 0);

}  // namespace plugin_rtp
