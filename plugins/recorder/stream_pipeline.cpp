#include "stream_pipeline.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "opus_packet.hpp"
#include "plugin_rtp.hpp"

namespace recorder {

using plugin_rtp::parse_rtp;

namespace {

bool same_codec(std::string_view a, std::string_view b) {  // SDP codec names are case-insensitive
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

StreamPipeline::StreamPipeline(const StreamInfo& info)
    : stream_(info.stream),
      video_(info.video),
      recordable_(same_codec(info.codec, info.video ? "VP8" : "opus")),
      payload_type_(info.payload_type),
      reorder_(kReorderWindow, kReorderSlots) {}

void StreamPipeline::on_packet(std::span<const uint8_t> packet, Micros arrival, UnitSink& units,
                               RequestSink& requests) {
  if (!recordable_) return;
  const auto rtp = parse_rtp(packet);
  if (!rtp || rtp->payload_type != payload_type_) {
    ++counters_.foreign;
    return;
  }
  ++counters_.packets;
  units_ = &units;
  requests_ = &requests;
  now_ = arrival;
  if (reorder_.insert(rtp->sequence, packet, arrival, *this) != ReorderBuffer::Insert::kAccepted) ++counters_.late;
  // Audio losses are not asked for: browsers negotiate no NACK for Opus,
  // and the Opus decoder conceals a lost packet better than a late one helps.
  const auto missing = reorder_.take_missing();
  if (video_ && !missing.empty()) requests.nack(stream_, missing);
  if (video_ && keyframe_requested_) maybe_request_keyframe(arrival);  // repeats while waiting
}

void StreamPipeline::advance(Micros now, UnitSink& units, RequestSink& requests) {
  if (!recordable_) return;
  units_ = &units;
  requests_ = &requests;
  now_ = now;
  reorder_.advance(now, *this);
  if (video_ && keyframe_requested_) maybe_request_keyframe(now);
}

void StreamPipeline::finish(UnitSink& units, RequestSink& requests) {
  if (!recordable_) return;
  units_ = &units;
  requests_ = &requests;
  reorder_.flush(*this);
}

void StreamPipeline::on_packet(uint64_t, std::span<const uint8_t> packet, Micros arrival) {
  const auto rtp = parse_rtp(packet);  // parsed before it was stored: cannot fail
  MediaUnit unit;
  unit.stream = stream_;
  unit.video = video_;
  unit.rtp_timestamp = rtp->timestamp;
  unit.arrival = arrival;
  if (!video_) {
    unit.data = rtp->payload;
    unit.keyframe = true;
    unit.samples_48k = opus_samples_48k(rtp->payload);
    if (!unit.data.empty()) units_->on_unit(unit);
    return;
  }
  const auto frame = vp8_.push(rtp->payload, rtp->timestamp, rtp->marker);
  if (!frame) return;
  if (waiting_for_keyframe_ && !frame->keyframe) {
    // It references frames the file does not have: skip until a keyframe.
    ++counters_.skipped_frames;
    maybe_request_keyframe(arrival);
    return;
  }
  waiting_for_keyframe_ = false;
  unit.data = frame->data;
  unit.keyframe = frame->keyframe;
  unit.width = frame->width;
  unit.height = frame->height;
  units_->on_unit(unit);
}

void StreamPipeline::on_lost(uint64_t, uint64_t count) {
  counters_.lost += count;
  if (!video_) return;
  vp8_.lost();
  // The frame that lost a packet is dropped; those after it reference it.
  waiting_for_keyframe_ = true;
  maybe_request_keyframe(now_);
}

void StreamPipeline::maybe_request_keyframe(Micros now) {
  if (!waiting_for_keyframe_) return;
  if (keyframe_requested_ && now - last_keyframe_request_ < kKeyframeInterval) return;
  keyframe_requested_ = true;
  last_keyframe_request_ = now;
  ++counters_.keyframe_requests;
  requests_->request_keyframe(stream_);
}

}  // namespace recorder
