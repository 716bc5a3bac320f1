// EchoMedia: the media logic of the echo test, a MediaHandler. Whatever a
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

#include "core/media/answered_streams.hpp"
#include "core/media/media_handler.hpp"
#include "rtp/rtcp/rtcp_dispatch.hpp"
#include "rtp/packet/rtp_header_extensions.hpp"
#include "rtp/srtp/srtp_session.hpp"
#include "rtp/forward/ssrc_directory.hpp"

namespace partyline::core {

// Why an incoming packet was not echoed; counted, never logged per packet.
enum class EchoDrop { kMalformedRtp, kUnknownStream, kMalformedExtensions, kMalformedRtcp, kCount };

class EchoMedia final : public MediaHandler, private rtp::RtcpHandler {
 public:
  EchoMedia(std::vector<AnsweredStream> streams, MediaTransport& transport);

  // The echo, and the first time video arrives a PLI, so the first echoed
  // frame is a keyframe.
  void on_rtp(std::span<uint8_t> packet, int64_t now_us) override;
  // Feedback about our SSRCs is rewritten onto the participant's SSRCs; its
  // sender reports are rewritten onto ours so its receiver sees the sender's
  // clock.
  void on_rtcp(std::span<const uint8_t> compound, int64_t now_us) override;
  void on_transport_secure(int64_t /*now_us*/) override {}
  int64_t on_timer(int64_t /*now_us*/) override { return kNoDeadline; }

  uint64_t echoed_packets() const { return echoed_packets_; }
  uint64_t drops(EchoDrop reason) const { return drops_[static_cast<size_t>(reason)]; }

 private:
  // rtp::RtcpHandler: one RTCP packet of the participant's compound.
  void on_sender_report(const rtp::SenderReportView& report) override;
  void on_pli(const rtp::PliView& pli) override;
  void on_fir(const rtp::FirView& fir) override;
  void on_nack(const rtp::NackView& nack, std::span<const uint16_t> lost) override;

  // The stream we send on `local_ssrc` and the participant's SSRC for it.
  const AnsweredStream* stream_with_remote(uint32_t local_ssrc) const;
  void count(EchoDrop reason) { ++drops_[static_cast<size_t>(reason)]; }

  std::vector<AnsweredStream> streams_;
  rtp::SsrcDirectory remote_;  // one entry per stream, in the same order
  MediaTransport& transport_;
  bool keyframe_requested_ = false;
  uint64_t echoed_packets_ = 0;
  std::array<uint64_t, static_cast<size_t>(EchoDrop::kCount)> drops_{};
  // The RTCP compound being written in answer to the participant's.
  std::optional<rtp::RtcpWriter> rtcp_writer_;
  // Scratch space for what goes back: one MTU plus the SRTP trailer.
  std::array<uint8_t, 1500 + rtp::kSrtpMaxTrailer> rtp_out_{};
  std::array<uint8_t, 1500 + rtp::kSrtpMaxTrailer> rtcp_out_{};
};

}  // namespace partyline::core
