// ChangeSchedule: turns many "line L changed" marks into at most one flush
// per line per interval. Sans-I/O: time comes with each call (milliseconds
// on a monotonic clock); the owner asks next_wakeup() when to come back and
// take_due() what is due then (CallHandler drives one loop timer with it).
//
// Why: every occupant of a line gets the whole occupant list after a change
// (docs/protocol.md, `occupants`; the same for `presence`). When hundreds
// join one line at once, one event per change costs O(N) events of O(N)
// bytes per join. Coalesced, a burst costs one event per recipient per
// interval, carrying the latest list.
//
// A mark on a line whose last flush is at least `interval` old is due at
// once (a lone change is not delayed; the owner flushes it on the loop's
// next iteration, so changes made in the same iteration share it);
// otherwise it is due `interval` after the last flush. Marks while a flush
// is due change nothing.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace partyline::core {

class ChangeSchedule {
 public:
  explicit ChangeSchedule(int64_t interval_ms) : interval_ms_(interval_ms < 0 ? 0 : interval_ms) {}

  // Returns when the line's flush is due (this mark's, or the one already
  // scheduled).
  int64_t mark(const std::string& line_id, int64_t now_ms);
  bool is_pending(const std::string& line_id) const;
  // The earliest time a flush is due (nullopt: none is scheduled).
  std::optional<int64_t> next_wakeup() const;
  // The lines due at `now_ms`, in no particular order; each counts as
  // flushed at `now_ms` (its next mark waits for the interval).
  std::vector<std::string> take_due(int64_t now_ms);
  // Takes the line's scheduled flush ahead of its time (true), or nothing
  // when none is scheduled (false). The interval then counts from now.
  bool take(const std::string& line_id, int64_t now_ms);
  // Drops the line's scheduled flush and its history (the line emptied or
  // was forgotten), so the map never grows with dead lines.
  void forget(const std::string& line_id) { lines_.erase(line_id); }

  int64_t interval_ms() const { return interval_ms_; }
  size_t tracked() const { return lines_.size(); }

 private:
  struct LineSchedule {
    int64_t last_flush_ms = std::numeric_limits<int64_t>::min() / 2;  // "long ago"
    std::optional<int64_t> due_ms;                                    // set while a flush is scheduled
  };

  int64_t interval_ms_;
  std::unordered_map<std::string, LineSchedule> lines_;
};

}  // namespace partyline::core
