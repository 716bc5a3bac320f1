#include "ice/send_result.hpp"

namespace partyline::ice {

std::string_view to_string(SendResult result) {
  switch (result) {
    case SendResult::kSent: return "sent";
    case SendResult::kNoPath: return "no_path";
    case SendResult::kNotSecure: return "not_secure";
    case SendResult::kProtectFailed: return "protect_failed";
    case SendResult::kSocketRefused: return "socket_refused";
    case SendResult::kCount: break;
  }
  return "unknown";
}

uint64_t SendCounters::failures() const {
  uint64_t total = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (static_cast<SendResult>(i) != SendResult::kSent) total += counts_[i];
  }
  return total;
}

}  // namespace partyline::ice
