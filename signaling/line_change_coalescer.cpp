#include "signaling/line_change_coalescer.hpp"

#include <algorithm>

namespace partyline::signaling {

LineChangeCoalescer::LineChangeCoalescer(GMainContext* context, std::chrono::milliseconds min_interval, Flush flush)
    : context_(context), min_interval_(std::max(min_interval, std::chrono::milliseconds(0))), flush_(std::move(flush)) {}

void LineChangeCoalescer::mark_changed(const std::string& line_id) {
  auto& schedule = lines_[line_id];
  if (!schedule) schedule = std::make_unique<LineSchedule>();
  if (schedule->pending) return;
  schedule->pending = true;
  const int64_t due_us = schedule->last_flush_us + min_interval_.count() * 1000;
  const int64_t wait_us = std::max<int64_t>(0, due_us - g_get_monotonic_time());
  // Rounded up: never earlier than the interval allows. A zero delay still
  // runs from the loop, after whatever else this iteration changes.
  const auto delay = std::chrono::milliseconds((wait_us + 999) / 1000);
  schedule->timer.start(context_, delay, [this, line_id] {
    run_flush(line_id);
    return false;
  });
}

bool LineChangeCoalescer::is_pending(const std::string& line_id) const {
  auto it = lines_.find(line_id);
  return it != lines_.end() && it->second->pending;
}

bool LineChangeCoalescer::flush_now(const std::string& line_id) {
  if (!is_pending(line_id)) return false;
  run_flush(line_id);
  return true;
}

void LineChangeCoalescer::forget(const std::string& line_id) { lines_.erase(line_id); }

void LineChangeCoalescer::run_flush(const std::string& line_id) {
  auto it = lines_.find(line_id);
  if (it == lines_.end() || !it->second->pending) return;
  LineSchedule& schedule = *it->second;
  schedule.pending = false;
  schedule.last_flush_us = g_get_monotonic_time();
  schedule.timer.cancel();  // when flushed ahead of time; a no-op from the timer itself
  // The flush may mark or forget this very line: `schedule` is not touched
  // after it, and the id is a copy of its own.
  const std::string id = line_id;
  flush_(id);
}

}  // namespace partyline::signaling
