#include "core/media/echo_media.hpp"

#include <cstring>

#include "rtp/packet/rtp_packet.hpp"

namespace partyline::core {

namespace {
constexpr size_t kMtu = 1500;
}  // namespace

EchoMedia::EchoMedia(std::vector<AnsweredStream> streams, MediaTransport& transport)
    : streams_(std::move(streams)), transport_(transport) {
  for (const AnsweredStream& stream : streams_) {
    remote_.add({stream.payload_types, stream.rtx_payload_type, stream.remote_ssrc, stream.remote_rtx_ssrc});
  }
}

void EchoMedia::on_rtp(std::span<uint8_t> packet, int64_t /*now_us*/) {
  auto parsed = rtp::parse_rtp_packet(packet);
  if (!parsed || packet.size() > kMtu) {
    count(EchoDrop::kMalformedRtp);
    return;
  }
  auto match = remote_.match(parsed->ssrc, parsed->payload_type);
  if (!match || (match->rtx && !streams_[match->index].local_rtx_ssrc)) {
    count(EchoDrop::kUnknownStream);
    return;
  }
  const AnsweredStream& stream = streams_[match->index];
  const std::span<uint8_t> echo(rtp_out_.data(), packet.size());
  std::memcpy(echo.data(), packet.data(), packet.size());
  if (rtp::rewrite_packet_extension_ids(echo, stream.extension_ids) != rtp::HeaderExtensionError::kNone) {
    count(EchoDrop::kMalformedExtensions);
    return;
  }
  rtp::set_rtp_ssrc(echo, match->rtx ? *stream.local_rtx_ssrc : stream.local_ssrc);
  ++echoed_packets_;
  (void)transport_.send_rtp(rtp_out_, packet.size());

  if (stream.video && !match->rtx && !keyframe_requested_) {
    rtp::RtcpWriter writer(std::span(rtcp_out_.data(), kMtu));
    if (rtp::write_pli(writer, stream.local_ssrc, parsed->ssrc).ok() &&
        transport_.send_rtcp(rtcp_out_, writer.size()) == ice::SendResult::kSent) {
      keyframe_requested_ = true;
    }
  }
}

void EchoMedia::on_rtcp(std::span<const uint8_t> compound, int64_t /*now_us*/) {
  rtcp_writer_.emplace(std::span(rtcp_out_.data(), kMtu));
  if (!rtp::dispatch_rtcp(compound, *this)) count(EchoDrop::kMalformedRtcp);
  const size_t length = rtcp_writer_->size();
  rtcp_writer_.reset();
  if (length > 0) (void)transport_.send_rtcp(rtcp_out_, length);
}

const AnsweredStream* EchoMedia::stream_with_remote(uint32_t local_ssrc) const {
  for (size_t i = 0; i < streams_.size(); ++i) {
    const AnsweredStream& stream = streams_[i];
    if ((stream.local_ssrc == local_ssrc || stream.local_rtx_ssrc == local_ssrc) && remote_[i].ssrc) {
      return &stream;
    }
  }
  return nullptr;
}

void EchoMedia::on_sender_report(const rtp::SenderReportView& report) {
  auto match = remote_.find(report.sender_ssrc);
  if (!match || match->rtx) return;
  // Sender info only: its report blocks describe what the participant
  // receives, which is our business, not its receiver's.
  (void)rtp::write_sender_report(*rtcp_writer_, streams_[match->index].local_ssrc, report.info, {});
}

void EchoMedia::on_pli(const rtp::PliView& pli) {
  const AnsweredStream* stream = stream_with_remote(pli.media_ssrc);
  if (stream == nullptr) return;
  (void)rtp::write_pli(*rtcp_writer_, stream->local_ssrc, *remote_[stream - streams_.data()].ssrc);
}

void EchoMedia::on_fir(const rtp::FirView& fir) {
  if (fir.entry_count() == 0) return;
  const AnsweredStream* stream = stream_with_remote(fir.entry(0).ssrc);
  if (stream == nullptr) return;
  const rtp::FirEntry entry{*remote_[stream - streams_.data()].ssrc, fir.entry(0).sequence_number};
  (void)rtp::write_fir(*rtcp_writer_, stream->local_ssrc, std::span(&entry, 1));
}

void EchoMedia::on_nack(const rtp::NackView& nack, std::span<const uint16_t> lost) {
  const AnsweredStream* stream = stream_with_remote(nack.media_ssrc);
  if (stream == nullptr) return;
  (void)rtp::write_nack(*rtcp_writer_, stream->local_ssrc, *remote_[stream - streams_.data()].ssrc, lost);
}

}  // namespace partyline::core
