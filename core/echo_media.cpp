#include "core/echo_media.hpp"

#include <algorithm>
#include <cstring>

#include "rtp/rtcp_feedback.hpp"
#include "rtp/rtcp_packet.hpp"
#include "rtp/rtcp_reports.hpp"
#include "rtp/rtp_packet.hpp"

namespace partyline::core {

namespace {
constexpr uint8_t kSenderReport = 200;
constexpr uint8_t kTransportFeedback = 205;
constexpr uint8_t kPayloadFeedback = 206;
// A NACK names at most this many packets per message we rewrite; more is
// truncated (the participant asks again).
constexpr size_t kMaxNackedPerMessage = 256;
}  // namespace

EchoMedia::EchoMedia(std::vector<EchoStream> streams) : streams_(std::move(streams)) {}

std::optional<EchoMedia::Match> EchoMedia::find_by_remote_ssrc(uint32_t ssrc) {
  for (auto& stream : streams_) {
    if (stream.remote_ssrc == ssrc) return Match{&stream, false};
    if (stream.remote_rtx_ssrc == ssrc) return Match{&stream, true};
  }
  return std::nullopt;
}

// Offers without a=ssrc lines (rid-based, or clients that omit them): the
// payload type tells which m-line an SSRC belongs to.
std::optional<EchoMedia::Match> EchoMedia::learn(uint32_t ssrc, uint8_t payload_type) {
  for (auto& stream : streams_) {
    if (stream.rtx_payload_type == payload_type && !stream.remote_rtx_ssrc) {
      stream.remote_rtx_ssrc = ssrc;
      return Match{&stream, true};
    }
    if (!stream.remote_ssrc &&
        std::find(stream.payload_types.begin(), stream.payload_types.end(), payload_type) !=
            stream.payload_types.end()) {
      stream.remote_ssrc = ssrc;
      return Match{&stream, false};
    }
  }
  return std::nullopt;
}

const EchoStream* EchoMedia::find_by_local_ssrc(uint32_t ssrc) const {
  for (const auto& stream : streams_) {
    if (stream.local_ssrc == ssrc || stream.local_rtx_ssrc == ssrc) return &stream;
  }
  return nullptr;
}

EchoMedia::Output EchoMedia::on_rtp(std::span<const uint8_t> packet, std::span<uint8_t> rtp_out,
                                    std::span<uint8_t> rtcp_out) {
  Output output;
  auto parsed = rtp::parse_rtp_packet(packet);
  if (!parsed || packet.size() > rtp_out.size()) {
    count(EchoDrop::kMalformedRtp);
    return output;
  }
  auto match = find_by_remote_ssrc(parsed->ssrc);
  if (!match) match = learn(parsed->ssrc, parsed->payload_type);
  if (!match || (match->rtx && !match->stream->local_rtx_ssrc)) {
    count(EchoDrop::kUnknownStream);
    return output;
  }
  std::memcpy(rtp_out.data(), packet.data(), packet.size());
  if (rtp::rewrite_packet_extension_ids(rtp_out.first(packet.size()), match->stream->extension_ids) !=
      rtp::HeaderExtensionError::kNone) {
    count(EchoDrop::kMalformedExtensions);
    return output;
  }
  const uint32_t local_ssrc = match->rtx ? *match->stream->local_rtx_ssrc : match->stream->local_ssrc;
  rtp::set_rtp_ssrc(rtp_out, local_ssrc);
  output.rtp_length = packet.size();
  ++echoed_packets_;

  if (match->stream->video && !match->rtx && !keyframe_requested_) {
    rtp::RtcpWriter writer(rtcp_out);
    if (rtp::write_pli(writer, match->stream->local_ssrc, parsed->ssrc).ok()) {
      keyframe_requested_ = true;
      output.rtcp_length = writer.size();
    }
  }
  return output;
}

EchoMedia::Output EchoMedia::on_rtcp(std::span<const uint8_t> compound, std::span<uint8_t> rtcp_out) {
  rtp::RtcpWriter writer(rtcp_out);
  rtp::RtcpCompoundReader reader(compound);
  rtp::RtcpPacketView packet;
  while (reader.next(packet)) {
    if (packet.packet_type == kSenderReport) {
      auto report = rtp::parse_sender_report(packet);
      if (!report) continue;
      auto match = find_by_remote_ssrc(report->sender_ssrc);
      if (!match || match->rtx) continue;
      // Sender info only: its report blocks describe what the participant
      // receives, which is our business, not its receiver's.
      (void)rtp::write_sender_report(writer, match->stream->local_ssrc, report->info, {});
      continue;
    }
    if (packet.packet_type != kTransportFeedback && packet.packet_type != kPayloadFeedback) continue;
    auto feedback = rtp::parse_feedback(packet);
    if (!feedback) continue;
    const EchoStream* stream = nullptr;
    if (packet.packet_type == kPayloadFeedback && packet.count == rtp::feedback_format::kFir) {
      auto fir = rtp::parse_fir(packet);
      if (!fir || fir->entry_count() == 0) continue;
      stream = find_by_local_ssrc(fir->entry(0).ssrc);
      if (stream == nullptr || !stream->remote_ssrc) continue;
      const rtp::FirEntry entry{*stream->remote_ssrc, fir->entry(0).sequence_number};
      (void)rtp::write_fir(writer, stream->local_ssrc, std::span(&entry, 1));
      continue;
    }
    stream = find_by_local_ssrc(feedback->media_ssrc);
    if (stream == nullptr || !stream->remote_ssrc) continue;
    if (packet.packet_type == kPayloadFeedback && packet.count == rtp::feedback_format::kPli) {
      (void)rtp::write_pli(writer, stream->local_ssrc, *stream->remote_ssrc);
    } else if (packet.packet_type == kTransportFeedback && packet.count == rtp::feedback_format::kNack) {
      auto nack = rtp::parse_nack(packet);
      if (!nack) continue;
      std::array<uint16_t, kMaxNackedPerMessage> lost{};
      const size_t lost_count = nack->expand(lost);
      (void)rtp::write_nack(writer, stream->local_ssrc, *stream->remote_ssrc, std::span(lost.data(), lost_count));
    }
  }
  if (!reader.error().ok()) count(EchoDrop::kMalformedRtcp);
  return Output{0, writer.size()};
}

}  // namespace partyline::core
