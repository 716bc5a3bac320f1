#include "core/media/plugin_media.hpp"

#include <cstring>

#include "rtp/packet/rtp_packet.hpp"

namespace partyline::core {

namespace {
constexpr size_t kMtu = 1500;
}  // namespace

PluginMedia::PluginMedia(std::vector<AnsweredStream> streams, MediaTransport& transport, PluginMediaSink& sink)
    : streams_(std::move(streams)), transport_(transport), sink_(sink) {
  for (const AnsweredStream& stream : streams_) {
    remote_.add({stream.payload_types, stream.rtx_payload_type, stream.remote_ssrc, stream.remote_rtx_ssrc});
  }
}

PluginMedia::~PluginMedia() { sink_.on_media_gone(this); }

void PluginMedia::on_rtp(std::span<uint8_t> packet, int64_t /*now_us*/) {
  auto parsed = rtp::parse_rtp_packet(packet);
  if (!parsed) return;
  auto match = remote_.match(parsed->ssrc, parsed->payload_type);
  if (!match) {
    ++unknown_stream_drops_;
    return;
  }
  const AnsweredStream& stream = streams_[match->index];
  sink_.on_media_rtp(stream.mline, stream.video, match->rtx, packet);
}

void PluginMedia::on_rtcp(std::span<const uint8_t> compound, int64_t /*now_us*/) {
  (void)rtp::dispatch_rtcp(compound, *this);
  sink_.on_media_rtcp(compound);
}

const AnsweredStream* PluginMedia::stream_at(size_t mline) const {
  for (const AnsweredStream& stream : streams_) {
    if (stream.mline == mline) return &stream;
  }
  return nullptr;
}

PluginSendResult PluginMedia::send_rtp(size_t mline, std::span<const uint8_t> packet) {
  const AnsweredStream* stream = stream_at(mline);
  if (stream == nullptr) return PluginSendResult::kNoSuchStream;
  if (packet.size() > kMtu) return PluginSendResult::kBadPacket;
  auto parsed = rtp::parse_rtp_packet(packet);
  if (!parsed) return PluginSendResult::kBadPacket;
  const bool rtx = stream->rtx_payload_type == parsed->payload_type;
  if (rtx && !stream->local_rtx_ssrc) return PluginSendResult::kBadPacket;
  const std::span<uint8_t> out(rtp_out_.data(), packet.size());
  std::memcpy(out.data(), packet.data(), packet.size());
  if (rtp::rewrite_packet_extension_ids(out, stream->extension_ids) != rtp::HeaderExtensionError::kNone) {
    return PluginSendResult::kBadPacket;
  }
  rtp::set_rtp_ssrc(out, rtx ? *stream->local_rtx_ssrc : stream->local_ssrc);
  return transport_.send_rtp(rtp_out_, packet.size()) == ice::SendResult::kSent ? PluginSendResult::kSent
                                                                                : PluginSendResult::kNotSent;
}

PluginSendResult PluginMedia::send_rtcp(std::span<const uint8_t> compound) {
  if (compound.empty() || compound.size() > kMtu) return PluginSendResult::kBadPacket;
  std::memcpy(rtcp_out_.data(), compound.data(), compound.size());
  return transport_.send_rtcp(rtcp_out_, compound.size()) == ice::SendResult::kSent ? PluginSendResult::kSent
                                                                                     : PluginSendResult::kNotSent;
}

PluginSendResult PluginMedia::request_keyframe(size_t mline) {
  const AnsweredStream* stream = stream_at(mline);
  if (stream == nullptr || !stream->video) return PluginSendResult::kNoSuchStream;
  const std::optional<uint32_t> remote = remote_[static_cast<size_t>(stream - streams_.data())].ssrc;
  if (!remote) return PluginSendResult::kNotSent;  // nothing received on it yet
  rtp::RtcpWriter writer(std::span(rtcp_out_.data(), kMtu));
  if (!rtp::write_pli(writer, stream->local_ssrc, *remote).ok()) return PluginSendResult::kNotSent;
  return transport_.send_rtcp(rtcp_out_, writer.size()) == ice::SendResult::kSent ? PluginSendResult::kSent
                                                                                   : PluginSendResult::kNotSent;
}

void PluginMedia::keyframe_asked_for(uint32_t local_ssrc) {
  for (const AnsweredStream& stream : streams_) {
    if (stream.local_ssrc == local_ssrc || stream.local_rtx_ssrc == local_ssrc) {
      sink_.on_keyframe_requested(stream.mline);
      return;
    }
  }
}

void PluginMedia::on_pli(const rtp::PliView& pli) { keyframe_asked_for(pli.media_ssrc); }

void PluginMedia::on_fir(const rtp::FirView& fir) {
  for (size_t i = 0; i < fir.entry_count(); ++i) keyframe_asked_for(fir.entry(i).ssrc);
}

}  // namespace partyline::core
