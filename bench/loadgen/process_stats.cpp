#include "bench/loadgen/process_stats.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace partyline::loadgen {

std::optional<uint64_t> process_cpu_us(int pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string content;
  if (!file || !std::getline(file, content)) return std::nullopt;
  // The command name (field 2) is in parentheses and may contain spaces:
  // count fields from the last ')'. utime and stime are fields 14 and 15.
  const size_t name_end = content.rfind(')');
  if (name_end == std::string::npos) return std::nullopt;
  std::istringstream fields(content.substr(name_end + 2));
  std::string field;
  uint64_t utime = 0;
  uint64_t stime = 0;
  for (int number = 3; number <= 15 && fields >> field; ++number) {
    if (number == 14) utime = std::stoull(field);
    if (number == 15) stime = std::stoull(field);
  }
  if (!fields) return std::nullopt;
  const long ticks_per_second = sysconf(_SC_CLK_TCK);
  if (ticks_per_second <= 0) return std::nullopt;
  return (utime + stime) * 1'000'000 / static_cast<uint64_t>(ticks_per_second);
}

std::optional<uint64_t> process_peak_rss_kib(int pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(file, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));  // "VmHWM:   12345 kB"
  }
  return std::nullopt;
}

uint64_t own_cpu_us() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto micros = [](const timeval& time) {
    return static_cast<uint64_t>(time.tv_sec) * 1'000'000 + static_cast<uint64_t>(time.tv_usec);
  };
  return micros(usage.ru_utime) + micros(usage.ru_stime);
}

std::optional<MachineCpu> machine_cpu_us() {
  std::ifstream file("/proc/stat");
  std::string label;
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  if (!(file >> label >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal) || label != "cpu") {
    return std::nullopt;
  }
  const long ticks_per_second = sysconf(_SC_CLK_TCK);
  if (ticks_per_second <= 0) return std::nullopt;
  const auto micros = [&](uint64_t ticks) { return ticks * 1'000'000 / static_cast<uint64_t>(ticks_per_second); };
  return MachineCpu{micros(user + nice + system + irq + softirq), micros(steal)};
}

uint64_t own_peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss);
}

}  // namespace partyline::loadgen
