// One publisher's file: its announced streams (an Opus and/or a VP8 one),
// their StreamPipelines, their TimestampMappers against the file's one
// origin, and the WebmWriter. Runs on the writer thread.
//
// The file's tracks are the streams announced before its first packet (the
// host announces a publisher's streams together, before any packet). The
// header is written once the video track's dimensions are known, from the
// first keyframe (Matroska's track header needs them, libavformat refuses
// a video track without): audio before it waits in a bounded queue with its
// timestamps already computed, so nothing shifts.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "media_item.hpp"
#include "status.hpp"
#include "stream_pipeline.hpp"
#include "time.hpp"
#include "timestamp_mapper.hpp"
#include "webm_writer.hpp"

namespace recorder {

struct FileSummary {
  std::string publisher;
  std::string publisher_name;
  std::string path;
  bool audio = false;  // has an audio track
  bool video = false;
  bool finished = false;  // the file is complete (or failed)
  bool created = false;   // the file exists (it had packets to write)
  std::string error;      // why writing it failed, if it did
};

class PublisherRecording : private UnitSink {
 public:
  // Without a keyframe this long after the first packet, the file is opened
  // with kFallbackWidth x kFallbackHeight so the audio is not held forever.
  static constexpr Micros kKeyframeWait{3'000'000};
  static constexpr uint16_t kFallbackWidth = 640;
  static constexpr uint16_t kFallbackHeight = 480;
  // Audio held while waiting for the first keyframe: 10 s of 20 ms packets.
  static constexpr size_t kMaxPendingAudio = 500;

  PublisherRecording(std::string path, std::string publisher, std::string publisher_name);
  ~PublisherRecording() override;

  // Before the first packet; a stream announced later is not recorded.
  void add_stream(const StreamInfo& info);
  bool has_stream(uint32_t stream) const { return streams_.count(stream) != 0; }
  void on_packet(uint32_t stream, std::span<const uint8_t> packet, Micros arrival, RequestSink& requests);
  // The stream ended. Returns true when it was the file's last one (the
  // file is then finished).
  bool remove_stream(uint32_t stream, RequestSink& requests);
  void advance(Micros now, RequestSink& requests);
  // Delivers what is held and completes the file.
  void finish(RequestSink& requests);

  const FileSummary& summary() const { return summary_; }
  // Counters over its streams, for status and the admin API.
  StreamCounters counters() const;
  uint64_t dropped_frames() const;

 private:
  struct Stream {
    std::unique_ptr<StreamPipeline> pipeline;
    TimestampMapper mapper;
    bool removed = false;
  };
  struct PendingAudio {
    std::vector<uint8_t> data;
    int64_t pts_ms;
    int64_t duration_ms;
  };

  void on_unit(const MediaUnit& unit) override;
  void open(uint16_t width, uint16_t height);
  void write_video(const MediaUnit& unit, int64_t pts);
  void write_audio(std::span<const uint8_t> data, int64_t pts, int64_t duration);
  void fail(const std::string& why);

  FileSummary summary_;
  std::map<uint32_t, Stream> streams_;
  bool started_ = false;  // the first packet came: the tracks are fixed
  Micros origin_{0};
  std::unique_ptr<WebmWriter> writer_;
  std::deque<PendingAudio> pending_audio_;
  uint64_t pending_dropped_ = 0;
};

}  // namespace recorder
