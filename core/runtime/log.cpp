#include "core/runtime/log.hpp"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <iomanip>

namespace partyline::core {

namespace {
// Process-wide verbosity, set once from config and read by every thread.
std::atomic<int> g_log_level{static_cast<int>(LogLevel::kInfo)};
}  // namespace

Result<LogLevel> parse_log_level(std::string_view name) {
  if (name == "error") return LogLevel::kError;
  if (name == "warn") return LogLevel::kWarn;
  if (name == "info") return LogLevel::kInfo;
  if (name == "debug") return LogLevel::kDebug;
  if (name == "trace") return LogLevel::kTrace;
  return make_error(error_code::kBadRequest,
                    "unknown log level '" + std::string(name) + "' (expected error, warn, info, debug or trace)");
}

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::kError: return "error";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kInfo: return "info";
    case LogLevel::kDebug: return "debug";
    case LogLevel::kTrace: return "trace";
  }
  return "info";
}

void set_log_level(LogLevel level) { g_log_level.store(static_cast<int>(level), std::memory_order_relaxed); }

bool log_enabled(LogLevel level) {
  return static_cast<int>(level) <= g_log_level.load(std::memory_order_relaxed);
}

LogLine::LogLine(LogLevel level, std::string_view context) : level_(level) {
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  stream_ << std::put_time(&utc, "%Y-%m-%dT%H:%M:%S") << '.' << std::setw(3) << std::setfill('0') << millis
          << std::setfill(' ') << "Z " << std::left << std::setw(5) << to_string(level_) << ' '
          << (context.empty() ? std::string_view("server") : context) << ": ";
}

LogLine::~LogLine() {
  stream_ << '\n';
  std::string line = stream_.str();
  // One write() per line so lines from different threads never interleave.
  [[maybe_unused]] ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace partyline::core
