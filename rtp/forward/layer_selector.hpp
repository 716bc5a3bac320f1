// LayerSelector: which simulcast layer one subscriber's leg forwards.
//
// A simulcast publisher sends the same picture in up to kMaxLayers sizes,
// each its own RTP stream (rid). Every leg sees the packets of every layer
// and forwards one: by default the tallest layer the publisher is sending,
// or the tallest no taller than the subscriber's max_height (the shortest
// when none is). A layer's height is what its latest keyframe declared (VP8:
// rtp::vp8_keyframe_size); until every sending layer's is known, layers
// count as ordered as the publisher listed them (lowest first, as browsers'
// clients and LiveKit's and mediasoup's order them). A layer that sent
// nothing for kInactiveAfterUs (a browser pauses its top layers when its
// estimate is low) is not chosen.
//
// A subscriber's downlink bounds the choice too (set_max_bitrate, from its
// estimate: LineMedia): of the layers the height allows, the tallest whose
// bitrate, measured here over kBitrateWindowUs of its packets, fits with
// kBitrateHeadroom to spare; the shortest when none does. A layer whose
// bitrate is not measured yet fits.
//
// Switching only happens at a keyframe of the target layer, so the decoder
// never gets a frame that refers to another layer's pictures; until then
// the current layer goes on. keyframe_wanted() says when to ask the target
// layer for one (at once, then every kKeyframeRetryUs while waiting).
// Continuity of sequence numbers and timestamps across the switch is the
// ForwardingLeg's (its rewriter treats the new layer as a new source).
//
// Sans-I/O: time comes with each call. Nothing allocates.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace partyline::rtp {

class LayerSelector {
 public:
  static constexpr size_t kMaxLayers = 4;
  static constexpr int64_t kInactiveAfterUs = 1'000'000;
  static constexpr int64_t kKeyframeRetryUs = 500'000;
  static constexpr int64_t kBitrateWindowUs = 1'000'000;
  static constexpr double kBitrateHeadroom = 1.2;  // a layer fits when its bitrate * this <= the limit

  explicit LayerSelector(size_t layers = 1);

  size_t layer_count() const { return layer_count_; }
  // nullopt: no limit.
  void set_max_height(std::optional<uint32_t> max_height) { max_height_ = max_height; }
  std::optional<uint32_t> max_height() const { return max_height_; }
  // bits per second the leg may use; nullopt: no limit.
  void set_max_bitrate(std::optional<uint64_t> max_bitrate) { max_bitrate_ = max_bitrate; }
  std::optional<uint64_t> max_bitrate() const { return max_bitrate_; }
  // What `layer` sent over its last full window (0 before one ended).
  uint64_t layer_bitrate(size_t layer) const { return layer < layer_count_ ? layers_[layer].bitrate_bps : 0; }

  // A packet of `layer` (index in the publisher's order) at `now_us`;
  // `keyframe_start`: it starts a keyframe, of `height` when known. True:
  // forward it. `bytes`: the packet's payload, for the layer's bitrate.
  bool on_packet(size_t layer, int64_t now_us, bool keyframe_start, std::optional<uint32_t> height,
                 size_t bytes = 0);
  // The layer a keyframe should be asked of, when the leg waits for one to
  // switch to (or to start on); at most once per kKeyframeRetryUs.
  std::optional<size_t> keyframe_wanted(int64_t now_us);

  // The layer forwarded now (nullopt before the first keyframe).
  std::optional<size_t> current() const { return current_; }
  // The layer it should forward, given what is known at `now_us`.
  std::optional<size_t> target(int64_t now_us) const;
  uint64_t switches() const { return switches_; }

 private:
  struct Layer {
    bool seen = false;
    int64_t last_packet_us = 0;
    std::optional<uint32_t> height;
    int64_t window_start_us = 0;
    uint64_t window_bytes = 0;
    uint64_t bitrate_bps = 0;
  };
  bool fits_bitrate(const Layer& layer) const {
    return !max_bitrate_ || layer.bitrate_bps == 0 ||
           static_cast<double>(layer.bitrate_bps) * kBitrateHeadroom <= static_cast<double>(*max_bitrate_);
  }
  bool active(const Layer& layer, int64_t now_us) const {
    return layer.seen && now_us - layer.last_packet_us <= kInactiveAfterUs;
  }

  size_t layer_count_;
  std::array<Layer, kMaxLayers> layers_{};
  std::optional<uint32_t> max_height_;
  std::optional<uint64_t> max_bitrate_;
  std::optional<size_t> current_;
  int64_t next_keyframe_request_us_ = 0;
  std::optional<size_t> requested_for_;  // the target the last request was for
  uint64_t switches_ = 0;
};

}  // namespace partyline::rtp
