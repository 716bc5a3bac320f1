#include "recorder_writer.hpp"

#include <utility>

#include "recorder_json.hpp"

namespace recorder {

namespace {

// The idle wake-up: gaps are given up and late keyframes waited out at
// least this often when no packet comes.
constexpr std::chrono::milliseconds kIdleWake{100};
// Items handled between checks for commands and gaps.
constexpr int kBatch = 256;

}  // namespace

RecorderWriter::RecorderWriter(const pl_host* host, pl_handle* handle, std::shared_ptr<MediaChannel> channel)
    : host_(host), channel_(std::move(channel)), handle_(handle), thread_([this] { run(); }) {}

RecorderWriter::~RecorderWriter() {
  retire();
  if (thread_.joinable()) thread_.join();
}

void RecorderWriter::start(uint32_t session, SessionSettings settings) {
  std::lock_guard lock(mutex_);
  snapshot_.files.clear();
  commands_.push_back({Command::Kind::kStart, session, std::move(settings), {}, false});
  commands_pending_ = true;
  channel_->wake();
}

void RecorderWriter::stop(uint32_t session, std::string reason, bool notify) {
  std::lock_guard lock(mutex_);
  commands_.push_back({Command::Kind::kStop, session, {}, std::move(reason), notify});
  commands_pending_ = true;
  channel_->wake();
}

void RecorderWriter::retire() {
  std::lock_guard lock(mutex_);
  if (handle_ == nullptr) return;
  handle_ = nullptr;
  commands_.push_back({Command::Kind::kQuit, 0, {}, {}, false});
  commands_pending_ = true;
  channel_->wake();
}

WriterSnapshot RecorderWriter::snapshot() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

void RecorderWriter::run() {
  while (true) {
    apply_commands();
    if (quit_) break;
    drain_items();
    if (quit_) break;
    if (session_ && current_session_ != 0 && channel_->empty()) {
      // Everything that arrived is in: a gap still open now is late by the
      // clock, not only by the packets behind it.
      session_->advance(steady_now(), *channel_);
    }
    publish_snapshot(false);
    channel_->sleep(kIdleWake, commands_pending_);
  }
  exited_ = true;
}

void RecorderWriter::apply_commands() {
  if (!commands_pending_.load()) return;
  std::deque<Command> commands;
  {
    std::lock_guard lock(mutex_);
    commands.swap(commands_);
    commands_pending_ = false;
  }
  for (Command& command : commands) {
    switch (command.kind) {
      case Command::Kind::kStart:
        if (session_ && current_session_ != 0) session_->finish(*channel_);
        session_ = std::make_unique<RecordingSession>(std::move(command.settings));
        current_session_ = command.session;
        published_version_ = 0;
        break;
      case Command::Kind::kStop:
        if (command.session != current_session_ || !session_) break;
        drain_current_session();
        session_->finish(*channel_);
        current_session_ = 0;
        publish_snapshot(true);
        if (command.notify) push_stopped(command.reason);
        break;
      case Command::Kind::kQuit:
        if (session_) {
          drain_current_session();
          session_->finish(*channel_);
        }
        current_session_ = 0;
        publish_snapshot(true);
        quit_ = true;
        return;
    }
  }
}

void RecorderWriter::drain_items() {
  for (int handled = 0; handled < kBatch; ++handled) {
    MediaItem* item = channel_->front();
    if (item == nullptr) return;
    // An item of a recording whose start command is still queued: take it.
    if (item->session != current_session_) {
      apply_commands();
      if (quit_) return;
    }
    if (session_ && current_session_ != 0 && item->session == current_session_) {
      session_->on_item(*item, *channel_);
    } else {
      ++stale_items_;  // of a stopped recording: its files are complete
    }
    channel_->pop();
  }
}

void RecorderWriter::drain_current_session() {
  // What the media thread queued before the stop belongs in the files. It
  // stamps nothing more for this recording now (the session was cleared
  // before the command was sent), and a next recording's items stay queued.
  while (MediaItem* item = channel_->front()) {
    if (item->session != current_session_) return;
    session_->on_item(*item, *channel_);
    channel_->pop();
  }
}

void RecorderWriter::publish_snapshot(bool force) {
  if (!session_) return;
  for (const std::string& error : session_->take_errors()) log(PL_LOG_ERROR, "recording failed: " + error);
  const bool files_changed = force || session_->version() != published_version_;
  published_version_ = session_->version();
  std::vector<FileSummary> files;
  if (files_changed) files = session_->files();  // copied outside the lock
  const SessionCounters counters = session_->counters();
  std::lock_guard lock(mutex_);
  if (files_changed) snapshot_.files = std::move(files);
  snapshot_.counters = counters;
}

void RecorderWriter::log(pl_log_level level, const std::string& text) {
  std::lock_guard lock(mutex_);
  host_->log(host_, handle_, level, text.data(), text.size());
}

void RecorderWriter::push_stopped(const std::string& reason) {
  const std::string event = stopped_event_json(reason, session_->line_id(), session_->files());
  std::lock_guard lock(mutex_);  // handle_ stays valid while it is held (retire() takes it)
  if (handle_ != nullptr) host_->push_event(handle_, event.data(), event.size(), nullptr, nullptr, 0);
}

}  // namespace recorder
