// EchoMedia: the media logic of the echo test, sans-I/O. Whatever a
// participant sends comes back to it on the server's own SSRCs (declared in
// the SDP answer), and the receiver's feedback (PLI, FIR, NACK) is mapped back
// onto the participant's sending SSRCs so its encoder reacts as it would to a
// real remote peer.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "rtp/rtp_header_extensions.hpp"

namespace partyline::core {

// One negotiated m-line the echo serves.
struct EchoStream {
  bool video = false;
  std::vector<uint8_t> payload_types;   // media payload types of this m-line
  std::optional<uint8_t> rtx_payload_type;
  uint32_t local_ssrc = 0;              // what we send the echo on
  std::optional<uint32_t> local_rtx_ssrc;
  std::optional<uint32_t> remote_ssrc;  // from the offer; learned by payload type otherwise
  std::optional<uint32_t> remote_rtx_ssrc;
  // Header extension ids negotiated for this m-line map to themselves; every
  // other id is dropped from echoed packets, so the receiver never meets an
  // extension it did not agree to (or one whose id means something else).
  rtp::ExtensionIdMap extension_ids{};
};

// Why an incoming packet was not echoed; counted, never logged per packet.
enum class EchoDrop { kMalformedRtp, kUnknownStream, kMalformedExtensions, kMalformedRtcp, kCount };

class EchoMedia {
 public:
  explicit EchoMedia(std::vector<EchoStream> streams);

  struct Output {
    size_t rtp_length = 0;   // bytes of `rtp_out` to send as RTP (0: none)
    size_t rtcp_length = 0;  // bytes of `rtcp_out` to send as RTCP (0: none)
  };

  // A decrypted RTP packet from the participant. Writes the echo into
  // `rtp_out` and, the first time video arrives, a PLI into `rtcp_out` so the
  // first echoed frame is a keyframe.
  Output on_rtp(std::span<const uint8_t> packet, std::span<uint8_t> rtp_out, std::span<uint8_t> rtcp_out);
  // A decrypted RTCP compound from the participant. Feedback about our SSRCs
  // is rewritten onto the participant's SSRCs; its sender reports are
  // rewritten onto ours so its receiver sees the sender's clock.
  Output on_rtcp(std::span<const uint8_t> compound, std::span<uint8_t> rtcp_out);

  uint64_t echoed_packets() const { return echoed_packets_; }
  uint64_t drops(EchoDrop reason) const { return drops_[static_cast<size_t>(reason)]; }

 private:
  struct Match {
    EchoStream* stream;
    bool rtx;
  };
  std::optional<Match> find_by_remote_ssrc(uint32_t ssrc);
  std::optional<Match> learn(uint32_t ssrc, uint8_t payload_type);
  const EchoStream* find_by_local_ssrc(uint32_t ssrc) const;
  void count(EchoDrop reason) { ++drops_[static_cast<size_t>(reason)]; }

  std::vector<EchoStream> streams_;
  bool keyframe_requested_ = false;
  uint64_t echoed_packets_ = 0;
  std::array<uint64_t, static_cast<size_t>(EchoDrop::kCount)> drops_{};
};

}  // namespace partyline::core
