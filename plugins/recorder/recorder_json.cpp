#include "recorder_json.hpp"

#include <jansson.h>

#include <cstdlib>
#include <memory>

namespace recorder {

namespace {

struct JsonDeleter {
  void operator()(json_t* value) const { json_decref(value); }
};
using Json = std::unique_ptr<json_t, JsonDeleter>;

std::string dump(const Json& value) {
  std::unique_ptr<char, decltype(&free)> text(json_dumps(value.get(), JSON_COMPACT), &free);
  return text ? std::string(text.get()) : std::string("{}");
}

json_t* files_array(const std::vector<FileSummary>& files) {
  json_t* array = json_array();
  for (const FileSummary& file : files) {
    json_t* entry = json_pack("{s:s, s:s, s:s, s:b, s:b, s:b}", "publisher", file.publisher.c_str(), "publisher_name",
                              file.publisher_name.c_str(), "path", file.path.c_str(), "audio", file.audio, "video",
                              file.video, "complete", file.finished);
    if (!file.error.empty()) json_object_set_new(entry, "error", json_string(file.error.c_str()));
    json_array_append_new(array, entry);
  }
  return array;
}

Json status_object(bool recording, const std::string& line_id, const std::vector<FileSummary>& files) {
  Json status(json_object());
  json_object_set_new(status.get(), "recording", json_boolean(recording));
  json_object_set_new(status.get(), "line_id", line_id.empty() ? json_null() : json_string(line_id.c_str()));
  json_object_set_new(status.get(), "files", files_array(files));
  return status;
}

}  // namespace

std::string parse_config(std::string_view text, RecorderConfig& config) {
  Json root(json_loadb(text.data(), text.size(), 0, nullptr));
  if (!json_is_object(root.get())) return "the recorder's config is not a JSON object";
  if (json_t* folder = json_object_get(root.get(), "folder")) {
    if (!json_is_string(folder) || json_string_length(folder) == 0) return "'folder' must be a non-empty string";
    config.folder = json_string_value(folder);
  }
  if (json_t* name = json_object_get(root.get(), "name")) {
    if (!json_is_string(name) || json_string_length(name) == 0 || json_string_length(name) > 64) {
      return "'name' must be a string of 1-64 bytes";
    }
    config.name = json_string_value(name);
  }
  return {};
}

std::string parse_request(std::string_view body, RecorderRequest& request) {
  Json root(json_loadb(body.data(), body.size(), 0, nullptr));
  const char* name = json_string_value(json_object_get(root.get(), "request"));
  if (name == nullptr) return "the body needs a string 'request'";
  request.request = name;
  if (request.request == "record") {
    json_t* line = json_object_get(root.get(), "line_id");
    if (!json_is_string(line) || json_string_length(line) == 0) return "'record' needs a string 'line_id'";
    request.line_id = json_string_value(line);
    return {};
  }
  if (request.request == "stop" || request.request == "status") return {};
  return "unknown request '" + request.request + "' (record, stop, status)";
}

std::string status_json(bool recording, const std::string& line_id, const std::vector<FileSummary>& files) {
  return dump(status_object(recording, line_id, files));
}

std::string stopped_event_json(const std::string& reason, const std::string& line_id,
                               const std::vector<FileSummary>& files) {
  Json event(json_pack("{s:s, s:s, s:s}", "recorder", "stopped", "reason", reason.c_str(), "line_id",
                       line_id.c_str()));
  json_object_set_new(event.get(), "files", files_array(files));
  return dump(event);
}

std::string admin_json(const std::string& handle, bool recording, const std::string& line_id,
                       const std::vector<FileSummary>& files, const SessionCounters& counters,
                       uint64_t ring_full, uint64_t too_large, uint64_t requests_dropped) {
  Json status = status_object(recording, line_id, files);
  json_object_set_new(status.get(), "handle", json_string(handle.c_str()));
  const StreamCounters& s = counters.streams;
  json_object_set_new(
      status.get(), "counters",
      json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "packets", (json_int_t)s.packets, "lost",
                (json_int_t)s.lost, "late", (json_int_t)s.late, "foreign", (json_int_t)s.foreign, "skipped_frames",
                (json_int_t)s.skipped_frames, "dropped_frames", (json_int_t)counters.dropped_frames,
                "keyframe_requests", (json_int_t)s.keyframe_requests, "unknown_stream",
                (json_int_t)counters.unknown_stream, "dropped_ring_full", (json_int_t)ring_full, "dropped_too_large",
                (json_int_t)too_large, "dropped_requests", (json_int_t)requests_dropped));
  return dump(status);
}

}  // namespace recorder
