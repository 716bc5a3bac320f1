// A recorder handle's writer thread: it takes the media items out of the
// handle's MediaChannel and runs the RecordingSession on them (depacketizing,
// timestamps, file I/O), so the media thread only copies packets. The
// signaling thread starts and stops recordings through commands; it reads
// what the writer has written through a snapshot. Both take a mutex only
// briefly (never during file I/O).
#pragma once

#include <partyline/plugin.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "media_channel.hpp"
#include "recording_session.hpp"

namespace recorder {

struct WriterSnapshot {
  std::vector<FileSummary> files;  // of the current or last recording
  SessionCounters counters;
};

class RecorderWriter {
 public:
  // Starts the thread. `host` and `handle` are used for events and logs
  // until retire().
  RecorderWriter(const pl_host* host, pl_handle* handle, std::shared_ptr<MediaChannel> channel);
  // Joins the thread (after retire(), or it retires first).
  ~RecorderWriter();
  RecorderWriter(const RecorderWriter&) = delete;
  RecorderWriter& operator=(const RecorderWriter&) = delete;

  // ---- signaling thread ----
  // A new recording: its items carry `session`. The snapshot is emptied now.
  void start(uint32_t session, SessionSettings settings);
  // Completes the recording's files; with `notify`, an event
  // {"recorder": "stopped", ...} follows when they are, with `reason`.
  void stop(uint32_t session, std::string reason, bool notify = true);
  // The handle is being destroyed: complete everything, push no event and
  // never touch the handle again, then let the thread end.
  void retire();
  // True once the thread has ended (joining it then does not wait).
  bool exited() const { return exited_.load(); }
  WriterSnapshot snapshot() const;

 private:
  struct Command {
    enum class Kind { kStart, kStop, kQuit } kind;
    uint32_t session = 0;
    SessionSettings settings;
    std::string reason;
    bool notify = false;
  };

  void run();
  void apply_commands();
  void drain_items();
  void drain_current_session();
  void publish_snapshot(bool files_changed);
  void log(pl_log_level level, const std::string& text);
  void push_stopped(const std::string& reason);

  const pl_host* host_;
  std::shared_ptr<MediaChannel> channel_;

  mutable std::mutex mutex_;  // guards what follows, up to the thread
  pl_handle* handle_;         // nullptr once retired
  std::deque<Command> commands_;
  WriterSnapshot snapshot_;
  std::atomic<bool> commands_pending_{false};

  // The writer thread's own.
  std::unique_ptr<RecordingSession> session_;
  uint32_t current_session_ = 0;  // 0 between recordings
  uint64_t published_version_ = 0;
  uint64_t stale_items_ = 0;
  bool quit_ = false;

  std::atomic<bool> exited_{false};
  std::thread thread_;  // last: starts after everything above exists
};

}  // namespace recorder
