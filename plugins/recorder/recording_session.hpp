// One recording of a line (from `record` to `stop`): the media items of the
// handle's ring in, one PublisherRecording per publisher out. Runs on the
// writer thread; time comes with the items (their arrival) or with advance.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "media_item.hpp"
#include "publisher_recording.hpp"
#include "stream_pipeline.hpp"
#include "time.hpp"

namespace recorder {

struct SessionSettings {
  std::string folder;   // where the files go (exists or is created)
  std::string line_id;
  std::string started;  // the recording's start as text, e.g. 20240501T101500Z: part of each file name
};

struct SessionCounters {
  StreamCounters streams;
  uint64_t dropped_frames = 0;  // incomplete VP8 frames
  uint64_t unknown_stream = 0;  // packets of a stream never announced (or not recorded)
  uint64_t bad_announcements = 0;
};

class RecordingSession {
 public:
  explicit RecordingSession(SessionSettings settings);
  ~RecordingSession();

  void on_item(const MediaItem& item, RequestSink& requests);
  // Gives up on old gaps and opens files whose keyframe is late, at `now`.
  void advance(Micros now, RequestSink& requests);
  // Completes every file (stop, line left, handle gone).
  void finish(RequestSink& requests);

  // One per publisher, in the order they first came (but none for a
  // publisher that left before sending a packet).
  std::vector<FileSummary> files() const;
  SessionCounters counters() const;
  // Problems to log (a file that could not be written), each once.
  std::vector<std::string> take_errors();
  const std::string& line_id() const { return settings_.line_id; }
  // Grows whenever files() may have changed.
  uint64_t version() const { return version_; }

 private:
  void add_stream(const StreamInfo& info);
  std::string file_path(const std::string& publisher);
  void collect_errors();

  SessionSettings settings_;
  // Publishers in arrival order; a publisher that leaves and comes back
  // gets a new file (a new entry).
  std::vector<std::unique_ptr<PublisherRecording>> publishers_;
  std::map<uint32_t, PublisherRecording*> by_stream_;  // live streams only
  std::set<std::string> used_paths_;
  std::set<const PublisherRecording*> reported_;  // errors already taken
  std::vector<std::string> errors_;
  SessionCounters counters_;
  uint64_t version_ = 0;
};

}  // namespace recorder
