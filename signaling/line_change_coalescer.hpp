// LineChangeCoalescer: turns many "line L changed" marks into at most one
// flush per line per interval, run from the event loop.
//
// Why: every occupant of a line gets the whole occupant list after a
// change (docs/protocol.md, `occupants`). When hundreds join one line at
// once, one event per change costs O(N) events of O(N) bytes per join.
// Coalesced, a burst of changes costs one event per occupant per interval,
// carrying the latest list.
//
// A mark on a line whose last flush is at least `min_interval` old flushes
// on the loop's next iteration (a lone change is not delayed; changes made
// in the same iteration share it); otherwise the flush waits until
// `min_interval` after the last one. Marks while a flush is scheduled
// change nothing. Only touched from the loop's thread.
#pragma once

#include <glib.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <unordered_map>

#include "core/runtime/event_loop.hpp"

namespace partyline::signaling {

class LineChangeCoalescer {
 public:
  // Called from the loop with the line whose changes are due. It may mark
  // lines (this one included: that schedules the next flush) or forget them.
  using Flush = std::function<void(const std::string& line_id)>;

  LineChangeCoalescer(GMainContext* context, std::chrono::milliseconds min_interval, Flush flush);
  LineChangeCoalescer(const LineChangeCoalescer&) = delete;
  LineChangeCoalescer& operator=(const LineChangeCoalescer&) = delete;

  void mark_changed(const std::string& line_id);
  bool is_pending(const std::string& line_id) const;
  // Flushes the line's scheduled change now, ahead of its time (true), or
  // does nothing when none is scheduled (false). The interval then counts
  // from now.
  bool flush_now(const std::string& line_id);
  // Drops the line's scheduled flush and its history (the line emptied or
  // was forgotten), so the map never grows with dead lines.
  void forget(const std::string& line_id);

  std::chrono::milliseconds min_interval() const { return min_interval_; }

 private:
  struct LineSchedule {
    core::Timer timer;
    int64_t last_flush_us = std::numeric_limits<int64_t>::min() / 2;  // g_get_monotonic_time(); "long ago"
    bool pending = false;
  };

  void run_flush(const std::string& line_id);

  GMainContext* context_;
  std::chrono::milliseconds min_interval_;
  Flush flush_;
  std::unordered_map<std::string, std::unique_ptr<LineSchedule>> lines_;
};

}  // namespace partyline::signaling
