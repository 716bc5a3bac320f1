// The fixture of the plugin-sink benchmark: one publisher's stream fanned
// out, on one worker, to N plugin handles in the line (core::GuestMedia, as
// a recorder would subscribe), each ending in what a recording plugin does
// on the media thread: copy the packet into a slot of its own queue. So it
// measures what the host adds per plugin sink (the leg's rewrite and the
// hand-over), beside forward/srtp's cost of an SRTP subscriber.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "bench/forwarding_line.hpp"
#include "core/media/guest_media.hpp"
#include "core/media/media_router.hpp"

namespace partyline::bench {

class PluginSinkLine {
 public:
  PluginSinkLine(MediaProfile profile, size_t sinks);
  ~PluginSinkLine();
  PluginSinkLine(const PluginSinkLine&) = delete;
  PluginSinkLine& operator=(const PluginSinkLine&) = delete;

  void publish_next();
  uint64_t forwarded() const { return fabric_.router(0).forwarded(); }
  // Packets the plugins copied (must equal forwarded()).
  uint64_t delivered() const;
  size_t legs() const { return fabric_.router(0).leg_count(); }

 private:
  // What a recording plugin's line_rtp does: copy into its own slot.
  class CopyingSink final : public core::GuestMediaSink {
   public:
    void on_stream_added(const core::GuestStream&) override {}
    void on_stream_removed(uint32_t) override {}
    void on_stream_rtp(uint32_t number, std::span<const uint8_t> packet) override;
    uint64_t copied = 0;

   private:
    std::array<uint8_t, 1500> slot_{};
  };
  class IgnoringOwner final : public core::SourceOwner {
   public:
    void on_keyframe_request(core::StreamKey, rtp::KeyframeRequestReason) override {}
    void on_retransmission_request(core::StreamKey, std::span<const uint16_t>) override {}
  };

  core::MediaFabric fabric_{1};
  PublisherStream stream_;
  IgnoringOwner owner_;
  std::vector<std::unique_ptr<CopyingSink>> sinks_;
  std::vector<std::unique_ptr<core::GuestMedia>> guests_;
};

}  // namespace partyline::bench
