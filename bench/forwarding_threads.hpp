// A line whose subscribers are spread over 1 or 2 media workers, each on its
// own thread, as in the server: the calling thread is worker 0 (it owns the
// publisher and the first half of the legs), a std::thread is worker 1.
//
// Packets for worker 1 cross through the fabric's PacketRing. The fabric's
// waker sets an atomic that worker 1 spins on; it then calls drain(). So the
// per-packet wake-up protocol of MediaFabric is exercised, not bypassed.
// Worker 1 also drains after a long idle spell without a wake-up, and counts
// the times that found packets (a wake-up that never came).
//
// The producer never overruns the ring: publish() waits while too many
// packets are still on their way to worker 1 (backpressure). kRingFull drops
// are still counted by the routers, and must stay 0.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "bench/forwarding_line.hpp"

namespace partyline::bench {

class CrossWorkerLine {
 public:
  // Packets published but not yet served by worker 1, at most.
  static constexpr uint64_t kMaxInFlight = 1024;

  // Builds the line (spec.waker is replaced), forwards `warm_up_packets`
  // on this thread alone (libsrtp creates each leg's stream on first use),
  // then starts worker 1's thread when spec.workers is 2.
  CrossWorkerLine(LineSpec spec, int warm_up_packets);
  ~CrossWorkerLine();
  CrossWorkerLine(const CrossWorkerLine&) = delete;
  CrossWorkerLine& operator=(const CrossWorkerLine&) = delete;

  // Worker 0: publishes the stream's next packet, after waiting for room.
  // False, publishing nothing, when worker 1 freed no room for 10 s.
  bool publish();
  // Worker 0: waits until worker 1 has served everything published; false
  // when it had not after 10 s (it stopped serving, or packets got lost).
  bool wait_until_served();
  // Stops and joins worker 1. Only after this may line() counters be read.
  void stop();

  // CPU time the thread of worker 0 (the caller) or worker 1 has had: next
  // to wall time, it shows whether other processes took the CPUs.
  double worker_cpu_seconds(size_t worker);

  ForwardingLine& line() { return *line_; }
  uint64_t published() const { return published_; }
  // Drains by worker 1 that found packets without having been woken.
  uint64_t unwoken_finds() const { return unwoken_finds_.load(std::memory_order_relaxed); }

 private:
  void serve();  // worker 1's thread

  struct alignas(64) Flag {
    std::atomic<bool> value{false};
  };
  struct alignas(64) Counter {
    std::atomic<uint64_t> value{0};
  };

  Flag wake_;
  Flag stop_;
  Counter served_;                         // packets worker 1 has drained
  std::atomic<uint64_t> unwoken_finds_{0};
  std::atomic<int64_t> now_us_{0};         // the publisher's clock, for worker 1
  uint64_t published_ = 0;                 // for worker 1 (0 with one worker)
  bool two_workers_ = false;
  std::unique_ptr<ForwardingLine> line_;
  std::thread worker_;
};

}  // namespace partyline::bench
