// One WebM file written with libavformat: a VP8 and/or an Opus track, frames
// copied as they came (no transcoding), timestamps in milliseconds.
// Does file I/O: only the recorder's writer thread uses it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "status.hpp"

struct AVFormatContext;
struct AVPacket;

namespace recorder {

struct WebmTracks {
  bool audio = false;
  bool video = false;
  uint16_t width = 0;  // the video's, which Matroska's track header needs
  uint16_t height = 0;
};

class WebmWriter {
 public:
  // Creates the file and writes its header. nullptr and `error` on failure.
  static std::unique_ptr<WebmWriter> open(const std::string& path, const WebmTracks& tracks, std::string& error);
  // Public for std::make_unique, but only open() can make the key.
  class Key {
    friend class WebmWriter;
    Key() = default;
  };
  explicit WebmWriter(Key) {}
  ~WebmWriter();  // finishes the file when finish() was not called
  WebmWriter(const WebmWriter&) = delete;
  WebmWriter& operator=(const WebmWriter&) = delete;

  // pts strictly increasing per track (the caller's TimestampMapper sees to it).
  Status write_video(std::span<const uint8_t> frame, int64_t pts_ms, bool keyframe);
  Status write_audio(std::span<const uint8_t> packet, int64_t pts_ms, int64_t duration_ms);
  // Writes what the muxer still holds and the trailer (duration, cues), and
  // closes the file. Once; later calls return the first outcome.
  Status finish();

 private:
  struct FormatDeleter {
    void operator()(AVFormatContext* context) const;
  };
  struct PacketDeleter {
    void operator()(AVPacket* packet) const;
  };

  Status write(int stream_index, std::span<const uint8_t> data, int64_t pts_ms, int64_t duration_ms, bool key);

  std::unique_ptr<AVFormatContext, FormatDeleter> context_;
  std::unique_ptr<AVPacket, PacketDeleter> packet_;
  int video_index_ = -1;
  int audio_index_ = -1;
  bool finished_ = false;
  Status finish_status_;
};

}  // namespace recorder
