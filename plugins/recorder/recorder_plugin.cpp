// recorder: records a phone line, one WebM file (VP8 + Opus, as sent) per
// publisher. A client attaches and sends {"request": "record", "line_id"}:
// the handle joins the line as a subscriber (the occupants see it, named
// from the config) and every publisher's streams reach line_rtp. {"request":
// "stop"} leaves the line and completes the files; {"request": "status"}
// lists them. See README.md.
//
// Threads: messages on the signaling thread; line_* callbacks and the timer
// on the handle's media thread, which only copies into the handle's
// MediaChannel; everything else on the handle's RecorderWriter thread.
// Built against the public header only.
#include <partyline/plugin.h>

#include <ctime>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "media_channel.hpp"
#include "recorder_json.hpp"
#include "recorder_writer.hpp"

namespace {

using namespace recorder;

const pl_host* g_host = nullptr;  // valid from init to destroy

// How often the media thread passes on the writer's NACKs and keyframe
// requests when no packet arrives to carry them (line_rtp does it too).
constexpr uint32_t kTimerPeriodMs = 50;

struct Recorder {
  pl_handle* handle = nullptr;
  // Made at the first `record`, kept for the handle's life.
  std::shared_ptr<MediaChannel> channel;
  std::unique_ptr<RecorderWriter> writer;
  bool recording = false;
  std::string line_id;  // of the current or last recording
  uint32_t session = 0;
};

struct Plugin {
  RecorderConfig config;
  std::set<Recorder*> recorders;
  // Writers of destroyed handles still completing their files: joined once
  // they have, or at destroy (the only place that waits for them).
  std::vector<std::unique_ptr<RecorderWriter>> retiring;

  void reap() {
    std::erase_if(retiring, [](const auto& writer) { return writer->exited(); });
  }
};

void log(const pl_handle* handle, pl_log_level level, std::string_view text) {
  g_host->log(g_host, handle, level, text.data(), text.size());
}

int reply_text(pl_reply* reply, std::string_view text) { return g_host->reply(reply, text.data(), text.size()); }

std::string utc_now_text() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y%m%dT%H%M%SZ", &utc);
  return text;
}

int init(const pl_host* host, const char* config_json, size_t config_length, void** state) {
  if (host->api_minor < 2) return 500;  // needs the line services of API 1.2
  g_host = host;
  auto plugin = std::make_unique<Plugin>();
  const std::string error = parse_config(std::string_view(config_json, config_length), plugin->config);
  if (!error.empty()) return log(nullptr, PL_LOG_ERROR, error), 400;
  // Fixed now, so a later change of working directory cannot move it.
  std::error_code failed;
  plugin->config.folder = std::filesystem::absolute(plugin->config.folder, failed).lexically_normal().string();
  std::filesystem::create_directories(plugin->config.folder, failed);
  if (failed) log(nullptr, PL_LOG_WARN, "cannot create " + plugin->config.folder + ": " + failed.message());
  log(nullptr, PL_LOG_INFO, "recorder ready, writing to " + plugin->config.folder);
  *state = plugin.release();
  return PL_OK;
}

void destroy(void* state) {
  std::unique_ptr<Plugin> plugin(static_cast<Plugin*>(state));
  plugin->retiring.clear();  // joins each writer: at shutdown, waiting for the disk is fine
  g_host = nullptr;
}

int create_handle(void* state, pl_handle* handle, void** handle_state) {
  auto* plugin = static_cast<Plugin*>(state);
  plugin->reap();
  auto recorder = std::make_unique<Recorder>();
  recorder->handle = handle;
  plugin->recorders.insert(recorder.get());
  *handle_state = recorder.release();
  return PL_OK;
}

// Ends the recording on the plugin's side: the media thread stops stamping
// items, the timer stops, the writer completes the files.
void end_recording(Recorder& recorder, const std::string& reason, bool notify) {
  recorder.channel->session.store(0, std::memory_order_release);
  (void)g_host->stop_timer(recorder.handle);
  recorder.writer->stop(recorder.session, reason, notify);
  recorder.recording = false;
}

void destroy_handle(void* state, void* handle_state) {
  auto* plugin = static_cast<Plugin*>(state);
  std::unique_ptr<Recorder> recorder(static_cast<Recorder*>(handle_state));
  plugin->recorders.erase(recorder.get());
  if (recorder->recording) {
    // The host has taken the handle out of the line and stopped its timer
    // already (and a call now could outlive the handle): only our side ends.
    recorder->channel->session.store(0, std::memory_order_release);
    recorder->recording = false;
  }
  if (recorder->writer) {
    recorder->writer->retire();  // it completes the files without the handle
    plugin->retiring.push_back(std::move(recorder->writer));
  }
  plugin->reap();
}

int record(Plugin& plugin, Recorder& recorder, const std::string& line_id, pl_reply* reply) {
  if (recorder.recording) return reply_text(reply, "already recording line " + recorder.line_id), 409;
  if (!recorder.channel) {
    try {
      recorder.channel = std::make_shared<MediaChannel>();
      recorder.writer = std::make_unique<RecorderWriter>(g_host, recorder.handle, recorder.channel);
    } catch (const std::exception& error) {
      recorder.channel.reset();
      return reply_text(reply, std::string("cannot start recording: ") + error.what()), 500;
    }
  }
  const uint32_t session = ++recorder.session;
  recorder.writer->start(session, SessionSettings{plugin.config.folder, line_id, utc_now_text()});
  // Before the join: the first announcement must already be stamped.
  recorder.channel->session.store(session, std::memory_order_release);
  pl_line_join join{};
  join.struct_size = sizeof(join);
  join.line_id = line_id.c_str();
  join.display_name = plugin.config.name.c_str();
  join.subscribe = 1;
  join.publish_audio = 0;
  const int status = g_host->line_join(recorder.handle, &join);
  if (status != PL_OK) {
    recorder.channel->session.store(0, std::memory_order_release);
    recorder.writer->stop(session, "join_failed", false);
    return reply_text(reply, "cannot join line " + line_id + " (" + std::to_string(status) + ")"), status;
  }
  (void)g_host->start_timer(recorder.handle, kTimerPeriodMs);
  recorder.recording = true;
  recorder.line_id = line_id;
  return reply_text(reply, status_json(true, line_id, {}));
}

int handle_message(void* state, void* handle_state, const char* body, size_t body_length, const char*, const char*,
                   size_t, pl_reply* reply) {
  auto* plugin = static_cast<Plugin*>(state);
  auto* recorder = static_cast<Recorder*>(handle_state);
  RecorderRequest request;
  const std::string error = parse_request(std::string_view(body, body_length), request);
  if (!error.empty()) return reply_text(reply, error), 400;
  if (request.request == "record") return record(*plugin, *recorder, request.line_id, reply);
  const auto files = [&] { return recorder->writer ? recorder->writer->snapshot().files : std::vector<FileSummary>{}; };
  if (request.request == "stop") {
    if (!recorder->recording) return reply_text(reply, "not recording"), 404;
    (void)g_host->line_leave(recorder->handle);
    end_recording(*recorder, "stop", true);
    return reply_text(reply, status_json(false, recorder->line_id, files()));
  }
  return reply_text(reply, status_json(recorder->recording, recorder->line_id, files()));  // status
}

void line_left(void*, void* handle_state, const char*, const char* reason) {
  auto* recorder = static_cast<Recorder*>(handle_state);
  if (!recorder->recording) return;
  log(recorder->handle, PL_LOG_INFO, std::string("left line ") + recorder->line_id + ": " + (reason ? reason : "?"));
  end_recording(*recorder, reason ? reason : "left", true);
}

std::string admin_entry(const Recorder& recorder) {
  WriterSnapshot snapshot;
  if (recorder.writer) snapshot = recorder.writer->snapshot();
  const MediaChannel* channel = recorder.channel.get();
  return admin_json(g_host->handle_id(recorder.handle), recorder.recording, recorder.line_id, snapshot.files,
                    snapshot.counters, channel ? channel->dropped_ring_full.load() : 0,
                    channel ? channel->dropped_too_large.load() : 0, channel ? channel->dropped_requests.load() : 0);
}

int admin_query(void* state, void* handle_state, const char*, size_t, pl_reply* reply) {
  if (handle_state != nullptr) return reply_text(reply, admin_entry(*static_cast<Recorder*>(handle_state)));
  // Each entry is already JSON text: joined as text, not parsed again.
  std::string all = "{\"recorders\": [";
  bool first = true;
  for (const Recorder* recorder : static_cast<Plugin*>(state)->recorders) {
    all += (first ? "" : ", ") + admin_entry(*recorder);
    first = false;
  }
  all += "]}";
  return reply_text(reply, all);
}

// ---- media thread: copy and return ----

void pass_requests(Recorder& recorder) {
  recorder.channel->drain_requests([&](const Request& request) {
    if (request.kind == Request::Kind::kKeyframe) {
      (void)g_host->line_request_keyframe(recorder.handle, request.stream);
    } else {
      (void)g_host->line_nack(recorder.handle, request.stream, request.sequence_numbers.data(), request.count);
    }
  });
}

void line_stream_added(void*, void* handle_state, const pl_line_stream* stream) {
  auto* recorder = static_cast<Recorder*>(handle_state);
  if (!recorder->channel) return;
  StreamAnnouncement announcement;
  announcement.video = stream->video != 0;
  announcement.codec = stream->codec ? stream->codec : "";
  announcement.clock_rate = stream->clock_rate;
  announcement.payload_type = stream->payload_type;
  announcement.publisher = stream->publisher ? stream->publisher : "";
  announcement.publisher_name = stream->publisher_name ? stream->publisher_name : "";
  recorder->channel->stream_added(stream->stream, announcement, steady_now());
}

void line_stream_removed(void*, void* handle_state, uint32_t stream) {
  auto* recorder = static_cast<Recorder*>(handle_state);
  if (recorder->channel) recorder->channel->stream_removed(stream, steady_now());
}

void line_rtp(void*, void* handle_state, uint32_t stream, const uint8_t* packet, size_t length) {
  auto* recorder = static_cast<Recorder*>(handle_state);
  if (!recorder->channel) return;
  pass_requests(*recorder);
  recorder->channel->packet(stream, std::span<const uint8_t>(packet, length), steady_now());
}

void timer(void*, void* handle_state) {
  auto* recorder = static_cast<Recorder*>(handle_state);
  if (recorder->channel) pass_requests(*recorder);
}

const pl_plugin kRecorder = [] {
  pl_plugin plugin{};
  plugin.api_major = PARTYLINE_PLUGIN_API_VERSION_MAJOR;
  plugin.api_minor = PARTYLINE_PLUGIN_API_VERSION_MINOR;
  plugin.struct_size = sizeof(pl_plugin);
  plugin.name = "recorder";
  plugin.version = "1.0.0";
  plugin.description = "records a phone line: one WebM file (VP8 + Opus) per publisher";
  plugin.init = init;
  plugin.destroy = destroy;
  plugin.create_handle = create_handle;
  plugin.destroy_handle = destroy_handle;
  plugin.handle_message = handle_message;
  plugin.admin_query = admin_query;
  plugin.line_stream_added = line_stream_added;
  plugin.line_stream_removed = line_stream_removed;
  plugin.line_rtp = line_rtp;
  plugin.line_left = line_left;
  plugin.timer = timer;
  return plugin;
}();

}  // namespace

extern "C" PARTYLINE_PLUGIN_EXPORT const pl_plugin* partyline_plugin_entry(void) { return &kRecorder; }
