#include "publisher_recording.hpp"

#include <utility>

namespace recorder {

PublisherRecording::PublisherRecording(std::string path, std::string publisher, std::string publisher_name) {
  summary_.path = std::move(path);
  summary_.publisher = std::move(publisher);
  summary_.publisher_name = std::move(publisher_name);
}

PublisherRecording::~PublisherRecording() = default;

void PublisherRecording::add_stream(const StreamInfo& info) {
  if (started_ || summary_.finished) return;
  auto pipeline = std::make_unique<StreamPipeline>(info);
  if (!pipeline->recordable()) return;  // H264 has no place in WebM
  bool& track = info.video ? summary_.video : summary_.audio;
  if (track) return;  // one track of each kind per file
  track = true;
  streams_.emplace(info.stream, Stream{std::move(pipeline), TimestampMapper(info.clock_rate), false});
}

void PublisherRecording::on_packet(uint32_t stream, std::span<const uint8_t> packet, Micros arrival,
                                   RequestSink& requests) {
  auto found = streams_.find(stream);
  if (found == streams_.end() || found->second.removed || summary_.finished) return;
  if (!started_) {
    started_ = true;
    origin_ = arrival;
  }
  found->second.pipeline->on_packet(packet, arrival, *this, requests);
  advance(arrival, requests);
}

bool PublisherRecording::remove_stream(uint32_t stream, RequestSink& requests) {
  auto found = streams_.find(stream);
  if (found == streams_.end() || found->second.removed) return false;
  found->second.pipeline->finish(*this, requests);
  found->second.removed = true;
  for (const auto& [number, each] : streams_) {
    if (!each.removed) return false;
  }
  finish(requests);
  return true;
}

void PublisherRecording::advance(Micros now, RequestSink& requests) {
  if (summary_.finished) return;
  for (auto& [number, stream] : streams_) {
    if (!stream.removed) stream.pipeline->advance(now, *this, requests);
  }
  // The video has not given a keyframe in time: open without its size.
  if (started_ && !writer_ && now - origin_ >= kKeyframeWait) open(kFallbackWidth, kFallbackHeight);
}

void PublisherRecording::finish(RequestSink& requests) {
  if (summary_.finished) return;
  for (auto& [number, stream] : streams_) {
    if (!stream.removed) stream.pipeline->finish(*this, requests);
    stream.removed = true;
  }
  // Audio still waiting for a keyframe that never came gets a file anyway.
  if (!writer_ && started_) open(kFallbackWidth, kFallbackHeight);
  if (writer_) {
    const Status status = writer_->finish();
    if (!status.ok() && summary_.error.empty()) summary_.error = status.error();
  }
  writer_.reset();
  summary_.finished = true;
}

StreamCounters PublisherRecording::counters() const {
  StreamCounters sum;
  for (const auto& [number, stream] : streams_) {
    const StreamCounters& each = stream.pipeline->counters();
    sum.packets += each.packets;
    sum.lost += each.lost;
    sum.late += each.late;
    sum.foreign += each.foreign;
    sum.skipped_frames += each.skipped_frames;
    sum.keyframe_requests += each.keyframe_requests;
  }
  return sum;
}

uint64_t PublisherRecording::dropped_frames() const {
  uint64_t dropped = 0;
  for (const auto& [number, stream] : streams_) dropped += stream.pipeline->dropped_frames();
  return dropped;
}

void PublisherRecording::on_unit(const MediaUnit& unit) {
  if (!summary_.error.empty()) return;
  auto& stream = streams_.at(unit.stream);
  const int64_t pts = stream.mapper.pts_ms(unit.rtp_timestamp, unit.arrival, origin_);
  if (unit.video) {
    if (!writer_) open(unit.width != 0 ? unit.width : kFallbackWidth, unit.height != 0 ? unit.height : kFallbackHeight);
    write_video(unit, pts);
    return;
  }
  const int64_t duration = (static_cast<int64_t>(unit.samples_48k) + 24) / 48;  // 48 kHz samples to ms, rounded
  if (writer_ || !summary_.video) {
    if (!writer_) open(0, 0);
    write_audio(unit.data, pts, duration);
    return;
  }
  if (pending_audio_.size() == kMaxPendingAudio) {
    pending_audio_.pop_front();
    ++pending_dropped_;
  }
  pending_audio_.push_back({std::vector<uint8_t>(unit.data.begin(), unit.data.end()), pts, duration});
}

void PublisherRecording::open(uint16_t width, uint16_t height) {
  if (writer_ || !summary_.error.empty()) return;
  WebmTracks tracks{summary_.audio, summary_.video, width, height};
  std::string error;
  writer_ = WebmWriter::open(summary_.path, tracks, error);
  if (!writer_) return fail(error);
  summary_.created = true;
  for (const PendingAudio& audio : pending_audio_) write_audio(audio.data, audio.pts_ms, audio.duration_ms);
  pending_audio_.clear();
}

void PublisherRecording::write_video(const MediaUnit& unit, int64_t pts) {
  if (!writer_) return;
  const Status status = writer_->write_video(unit.data, pts, unit.keyframe);
  if (!status.ok()) fail(status.error());
}

void PublisherRecording::write_audio(std::span<const uint8_t> data, int64_t pts, int64_t duration) {
  if (!writer_) return;
  const Status status = writer_->write_audio(data, pts, duration);
  if (!status.ok()) fail(status.error());
}

void PublisherRecording::fail(const std::string& why) {
  // The file is given up; the recording of the others goes on.
  summary_.error = why;
  writer_.reset();
}

}  // namespace recorder
