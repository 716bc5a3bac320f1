// RequestCounts: the requests answered on the signaling thread, by request
// name and result code, for /metrics (partyline_signaling_requests_total).
// Plain counters of the thread that answers (no lock: the scrape reads them
// in a task on that loop). Names come from clients, so the label set is
// bounded: a name that is not [a-z0-9_]{1,32}, or any name beyond the first
// kMaxNames, counts as "other".
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace partyline::signaling {

class RequestCounts {
 public:
  static constexpr size_t kMaxNames = 64;
  struct Entry {
    std::string request;
    int code = 0;  // 200 for success, else the error code sent
    uint64_t count = 0;
  };

  void count(std::string_view request, int code);
  std::vector<Entry> snapshot() const;  // ordered by request, then code

 private:
  std::map<std::pair<std::string, int>, uint64_t> counts_;
  size_t names_ = 0;
};

// The calling thread's counts (the signaling loop's, in the server).
RequestCounts& thread_request_counts();

}  // namespace partyline::signaling
