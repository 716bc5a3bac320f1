// PluginMedia: the media handler of a plugin handle's PeerConnection. It
// tells the plugin which m-line each packet from the participant belongs to
// and sends what the plugin sends on an m-line as the server's own stream
// of that m-line (its SSRC, its negotiated header extensions). What the
// plugin does with the media (echo it, mix it, record it) is its business;
// the ABI side (core/plugins/) implements PluginMediaSink.
//
// A MediaHandler like the others: sans-I/O, on the PeerConnection's worker.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/media/answered_streams.hpp"
#include "core/media/media_handler.hpp"
#include "rtp/rtcp/rtcp_dispatch.hpp"
#include "rtp/forward/ssrc_directory.hpp"
#include "rtp/srtp/srtp_session.hpp"

namespace partyline::core {

class PluginMedia;

// What PluginMedia hands on (on the worker).
class PluginMediaSink {
 public:
  virtual ~PluginMediaSink() = default;
  virtual void on_media_rtp(size_t mline, bool video, bool rtx, std::span<uint8_t> packet) = 0;
  virtual void on_media_rtcp(std::span<const uint8_t> compound) = 0;
  // The participant asked (PLI, FIR) for a keyframe of what we send on `mline`.
  virtual void on_keyframe_requested(size_t mline) = 0;
  // `media` is being destroyed: nothing may call it any more.
  virtual void on_media_gone(PluginMedia* media) = 0;
};

// Why a plugin's send was refused (ABI codes come from these).
enum class PluginSendResult { kSent, kBadPacket, kNoSuchStream, kNotSent };

class PluginMedia final : public MediaHandler, private rtp::RtcpHandler {
 public:
  PluginMedia(std::vector<AnsweredStream> streams, MediaTransport& transport, PluginMediaSink& sink);
  ~PluginMedia() override;
  PluginMedia(const PluginMedia&) = delete;
  PluginMedia& operator=(const PluginMedia&) = delete;

  void on_rtp(std::span<uint8_t> packet, int64_t now_us) override;
  void on_rtcp(std::span<const uint8_t> compound, int64_t now_us) override;
  void on_transport_secure(int64_t /*now_us*/) override {}
  int64_t on_timer(int64_t /*now_us*/) override { return kNoDeadline; }

  // From the plugin, on the worker.
  PluginSendResult send_rtp(size_t mline, std::span<const uint8_t> packet);
  PluginSendResult send_rtcp(std::span<const uint8_t> compound);
  PluginSendResult request_keyframe(size_t mline);

  uint64_t unknown_stream_drops() const { return unknown_stream_drops_; }

 private:
  void on_pli(const rtp::PliView& pli) override;
  void on_fir(const rtp::FirView& fir) override;
  const AnsweredStream* stream_at(size_t mline) const;
  void keyframe_asked_for(uint32_t local_ssrc);

  std::vector<AnsweredStream> streams_;
  rtp::SsrcDirectory remote_;  // one entry per stream, same order
  MediaTransport& transport_;
  PluginMediaSink& sink_;
  uint64_t unknown_stream_drops_ = 0;
  std::array<uint8_t, 1500 + rtp::kSrtpMaxTrailer> rtp_out_{};
  std::array<uint8_t, 1500 + rtp::kSrtpMaxTrailer> rtcp_out_{};
};

}  // namespace partyline::core
