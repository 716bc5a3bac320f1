// The recorder's JSON: its config section, the requests it reads, and the
// status, event and admin objects it writes (jansson, the plugin's own
// choice: JSON crosses the plugin ABI as text).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "publisher_recording.hpp"
#include "recording_session.hpp"

namespace recorder {

struct RecorderConfig {
  std::string folder = "recordings";  // relative to the server's working directory
  std::string name = "recorder";      // the occupant's display name
};
// Empty on success, else why the section is refused.
std::string parse_config(std::string_view text, RecorderConfig& config);

struct RecorderRequest {
  std::string request;  // "record", "stop", "status"
  std::string line_id;  // for "record"
};
// Empty on success, else the reason for a 400.
std::string parse_request(std::string_view body, RecorderRequest& request);

// {"recording": bool, "line_id": "..." | null, "files": [...]}
std::string status_json(bool recording, const std::string& line_id, const std::vector<FileSummary>& files);
// {"recorder": "stopped", "reason": "...", "line_id": "...", "files": [...]}: the files are complete.
std::string stopped_event_json(const std::string& reason, const std::string& line_id,
                               const std::vector<FileSummary>& files);
// The status with "handle" and drop/loss "counters", for the admin API.
std::string admin_json(const std::string& handle, bool recording, const std::string& line_id,
                       const std::vector<FileSummary>& files, const SessionCounters& counters,
                       uint64_t ring_full, uint64_t too_large, uint64_t requests_dropped);

}  // namespace recorder
