#include "core/calls/change_schedule.hpp"

#include <algorithm>

namespace partyline::core {

int64_t ChangeSchedule::mark(const std::string& line_id, int64_t now_ms) {
  LineSchedule& schedule = lines_[line_id];
  if (!schedule.due_ms) schedule.due_ms = std::max(now_ms, schedule.last_flush_ms + interval_ms_);
  return *schedule.due_ms;
}

bool ChangeSchedule::is_pending(const std::string& line_id) const {
  auto it = lines_.find(line_id);
  return it != lines_.end() && it->second.due_ms.has_value();
}

std::optional<int64_t> ChangeSchedule::next_wakeup() const {
  std::optional<int64_t> earliest;
  for (const auto& [line_id, schedule] : lines_) {
    if (schedule.due_ms && (!earliest || *schedule.due_ms < *earliest)) earliest = schedule.due_ms;
  }
  return earliest;
}

std::vector<std::string> ChangeSchedule::take_due(int64_t now_ms) {
  std::vector<std::string> due;
  for (auto& [line_id, schedule] : lines_) {
    if (!schedule.due_ms || *schedule.due_ms > now_ms) continue;
    schedule.due_ms.reset();
    schedule.last_flush_ms = now_ms;
    due.push_back(line_id);
  }
  return due;
}

bool ChangeSchedule::take(const std::string& line_id, int64_t now_ms) {
  auto it = lines_.find(line_id);
  if (it == lines_.end() || !it->second.due_ms) return false;
  it->second.due_ms.reset();
  it->second.last_flush_ms = now_ms;
  return true;
}

}  // namespace partyline::core
