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
  if (!max_height_) return tallest;
  return tallest_fitting ? tallest_fitting : shortest;
}

bool LayerSelector::on_packet(size_t layer, int64_t now_us, bool keyframe_start, std::optional<uint32_t> height) {
  if (layer >= layer_count_) return false;
  Layer& seen = layers_[layer];
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
