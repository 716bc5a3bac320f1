#include "bench/forwarding_threads.hpp"

#include <pthread.h>
#include <time.h>

#include <chrono>
#include <stdexcept>

namespace partyline::bench {

namespace {

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

// About a millisecond of pause instructions: a worker that was woken for
// every push should never get this far with packets waiting.
constexpr uint32_t kIdleSpinsBeforePolling = 20'000;

// Worker 1 serves a packet in microseconds: waiting this long for it means
// it stopped serving (or packets were lost on the way), a bug to report
// rather than spin on forever.
constexpr auto kStallLimit = std::chrono::seconds(10);

// Spins until `done` holds; false when kStallLimit passed first. The clock is
// read only every 1024 spins, so a short wait costs what it did.
template <class Done>
bool spin_until(Done done) {
  if (done()) return true;
  const auto deadline = std::chrono::steady_clock::now() + kStallLimit;
  for (uint32_t spins = 1; !done(); ++spins) {
    if (spins % 1024 == 0 && std::chrono::steady_clock::now() > deadline) return false;
    cpu_relax();
  }
  return true;
}

}  // namespace

CrossWorkerLine::CrossWorkerLine(LineSpec spec, int warm_up_packets) : two_workers_(spec.workers == 2) {
  if (spec.workers != 1 && spec.workers != 2) throw std::invalid_argument("CrossWorkerLine: 1 or 2 workers");
  spec.waker = [this](size_t) { wake_.value.store(true, std::memory_order_release); };
  line_ = std::make_unique<ForwardingLine>(spec);
  for (int i = 0; i < warm_up_packets; ++i) {
    line_->publish_next();
    if (two_workers_) line_->fabric().router(1).drain(line_->stream().now_us());
  }
  now_us_.store(line_->stream().now_us(), std::memory_order_relaxed);
  wake_.value.store(false, std::memory_order_relaxed);
  if (two_workers_) worker_ = std::thread([this] { serve(); });
}

CrossWorkerLine::~CrossWorkerLine() { stop(); }

bool CrossWorkerLine::publish() {
  if (two_workers_) {
    if (!spin_until([this] { return published_ - served_.value.load(std::memory_order_acquire) < kMaxInFlight; })) {
      return false;
    }
    ++published_;
  }
  line_->publish_next();
  now_us_.store(line_->stream().now_us(), std::memory_order_relaxed);
  return true;
}

bool CrossWorkerLine::wait_until_served() {
  return spin_until([this] { return served_.value.load(std::memory_order_acquire) >= published_; });
}

void CrossWorkerLine::stop() {
  if (!worker_.joinable()) return;
  stop_.value.store(true, std::memory_order_release);
  worker_.join();
}

double CrossWorkerLine::worker_cpu_seconds(size_t worker) {
  clockid_t clock = CLOCK_THREAD_CPUTIME_ID;
  if (worker == 1) {
    if (!worker_.joinable() || pthread_getcpuclockid(worker_.native_handle(), &clock) != 0) return 0;
  }
  timespec time{};
  if (clock_gettime(clock, &time) != 0) return 0;
  return static_cast<double>(time.tv_sec) + static_cast<double>(time.tv_nsec) * 1e-9;
}

void CrossWorkerLine::serve() {
  core::WorkerRouter& router = line_->fabric().router(1);
  uint32_t idle_spins = 0;
  auto drain = [&] {
    const size_t served = router.drain(now_us_.load(std::memory_order_relaxed));
    if (served > 0) served_.value.fetch_add(served, std::memory_order_release);
    return served;
  };
  while (!stop_.value.load(std::memory_order_acquire)) {
    if (wake_.value.load(std::memory_order_relaxed) && wake_.value.exchange(false, std::memory_order_acquire)) {
      drain();
      idle_spins = 0;
    } else if (++idle_spins >= kIdleSpinsBeforePolling) {
      idle_spins = 0;
      if (drain() > 0) unwoken_finds_.fetch_add(1, std::memory_order_relaxed);
    } else {
      cpu_relax();
    }
  }
  while (drain() > 0) {
  }
}

}  // namespace partyline::bench
