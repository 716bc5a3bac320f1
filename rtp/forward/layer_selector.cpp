#include "rtp/forward/layer_selector.hpp"

#include <algorithm>

namespace partyline::rtp {

LayerSelector::LayerSelector(size_t layers) : layer_count_(std::clamp<size_t>(layers, 1, kMaxLayers)) {}

std::optional<size_t> LayerSelector::target(int64_t now_us) const {
  // Heights order the layers once every sending layer's is known; before,
  // the publisher's order does (lowest first).
  bool heights_known = true;
  bool any_active = false;
  for (size_t i = 0; i < layer_count_; ++i) {
    if (!active(layers_[i], now_us)) continue;
    any_active = true;
    if (!layers_[i].height) heights_known = false;
  }
  if (!any_active) return current_;
  auto rank = [&](size_t i) -> uint64_t { return heights_known ? *layers_[i].height : i; };
  std::optional<size_t> tallest, tallest_fitting, shortest;
  for (size_t i = 0; i < layer_count_; ++i) {
    if (!active(layers_[i], now_us)) continue;
    if (!tallest || rank(i) > rank(*tallest)) tallest = i;
    if (!shortest || rank(i) < rank(*shortest)) shortest = i;
    // Without heights a limit cannot be judged: the shortest is the safe choice.
    const bool fits = max_height_ && heights_known && *layers_[i].height <= *max_height_;
    if (fits && (!tallest_fitting || rank(i) > rank(*tallest_fitting))) tallest_fitting = i;
  }
  const size_t by_height = !max_height_ ? *tallest : tallest_fitting ? *tallest_fitting : *shortest;
  if (!max_bitrate_) return by_height;
  // Of those no taller, the tallest the downlink carries.
  std::optional<size_t> chosen;
  for (size_t i = 0; i < layer_count_; ++i) {
    if (!active(layers_[i], now_us) || rank(i) > rank(by_height) || !fits_bitrate(layers_[i])) continue;
    if (!chosen || rank(i) > rank(*chosen)) chosen = i;
  }
  return chosen ? chosen : shortest;
}

bool LayerSelector::on_packet(size_t layer, int64_t now_us, bool keyframe_start, std::optional<uint32_t> height,
                              size_t bytes) {
  if (layer >= layer_count_) return false;
  Layer& seen = layers_[layer];
  // A layer silent for a window starts its measurement over.
  if (!seen.seen || now_us - seen.window_start_us >= 2 * kBitrateWindowUs) {
    seen.window_start_us = now_us;
    seen.window_bytes = 0;
  } else if (now_us - seen.window_start_us >= kBitrateWindowUs) {
    seen.bitrate_bps = seen.window_bytes * 8 * 1'000'000 / static_cast<uint64_t>(now_us - seen.window_start_us);
    seen.window_start_us = now_us;
    seen.window_bytes = 0;
  }
  seen.window_bytes += bytes;
  seen.seen = true;
  seen.last_packet_us = now_us;
  if (height) seen.height = height;
  if (layer == current_) return true;
  if (!keyframe_start || target(now_us) != layer) return false;
  if (current_) ++switches_;
  current_ = layer;
  requested_for_.reset();
  return true;
}

std::optional<size_t> LayerSelector::keyframe_wanted(int64_t now_us) {
  const std::optional<size_t> wanted = target(now_us);
  if (!wanted || wanted == current_) return std::nullopt;
  if (requested_for_ == wanted && now_us < next_keyframe_request_us_) return std::nullopt;
  requested_for_ = wanted;
  next_keyframe_request_us_ = now_us + kKeyframeRetryUs;
  return wanted;
}

}  // namespace partyline::rtp
