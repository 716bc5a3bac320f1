// Leveled logging to stderr. Every line names who it is about: a context
// such as "session=3f2a participant=alice" or "line=9c1d" (never empty; use
// "server" for process-wide lines). Not for the packet hot path.
#pragma once

#include <atomic>
#include <sstream>
#include <string>
#include <string_view>

#include "rtp/result.hpp"

namespace partyline::core {

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3, kTrace = 4 };

Result<LogLevel> parse_log_level(std::string_view name);
std::string_view to_string(LogLevel level);

void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);

// One log line; written atomically to stderr when destroyed.
class LogLine {
 public:
  LogLine(LogLevel level, std::string_view context);
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;

  template <typename T>
  LogLine& operator<<(const T& value) {
    stream_ << value;
    return *this;
  }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

}  // namespace partyline::core

// PL_LOG(kInfo, "session=" + id) << "connected in " << ms << " ms";
#define PL_LOG(level, context)                                                \
  if (!::partyline::core::log_enabled(::partyline::core::LogLevel::level)) { \
  } else                                                                      \
    ::partyline::core::LogLine(::partyline::core::LogLevel::level, (context))
