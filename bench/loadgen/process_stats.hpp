// CPU time and memory of a process, from /proc (the server) or getrusage
// (the load generator itself).
#pragma once

#include <cstdint>
#include <optional>

namespace partyline::loadgen {

// utime + stime of process `pid` in microseconds (clock-tick resolution,
// usually 10 ms); nullopt when /proc/PID/stat cannot be read.
std::optional<uint64_t> process_cpu_us(int pid);
// VmHWM (peak resident set) of process `pid` in KiB.
std::optional<uint64_t> process_peak_rss_kib(int pid);
// User + system CPU time of this process, in microseconds.
uint64_t own_cpu_us();
// This process's peak resident set, in KiB.
uint64_t own_peak_rss_kib();

// The whole machine's CPU time so far, over all CPUs (/proc/stat), in
// microseconds: busy (user, nice, system, irq, softirq) and steal (taken
// by the hypervisor for other guests).
struct MachineCpu {
  uint64_t busy_us = 0;
  uint64_t steal_us = 0;
};
std::optional<MachineCpu> machine_cpu_us();

}  // namespace partyline::loadgen
