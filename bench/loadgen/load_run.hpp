// One load run: every participant on one loop thread (libnice, DTLS, SRTP,
// WebSockets and the media pacing all on one GMainContext, so the client
// side costs one core at most and needs no locks), in phases:
//
//   set-up   connect, create the room, join, ICE/DTLS, answer the server's
//            offers; ends when everyone is up or failed, or at --setup-timeout
//   warm-up  --warmup seconds of media before measuring
//   window   --duration seconds: packets sent in it are the ones counted;
//            server and loadgen CPU are sampled at its two ends
//   drain    half a second for the window's last packets to arrive
//
// then it closes everything. execute() is bounded: if the loop thread ever
// stops making progress, the process exits (status 3) instead of hanging.
#pragma once

#include <future>
#include <memory>
#include <optional>
#include <vector>

#include "bench/loadgen/participant.hpp"
#include "bench/loadgen/process_stats.hpp"
#include "bench/loadgen/run_context.hpp"
#include "bench/loadgen/run_result.hpp"
#include "core/runtime/event_loop.hpp"

namespace partyline::loadgen {

class LoadRun final : private ParticipantObserver {
 public:
  LoadRun(Options options, WebSocketUrl url, std::shared_ptr<const ice::Certificate> certificate);
  ~LoadRun() override;
  LoadRun(const LoadRun&) = delete;
  LoadRun& operator=(const LoadRun&) = delete;

  // Runs the whole run on the loop thread; call from the main thread.
  RunResult execute();

 private:
  enum class Phase { kSetup, kWarmup, kWindow, kDrain, kClosing };

  // Loop thread.
  void start();
  void on_ready(Participant& participant) override;
  void on_failed(Participant& participant) override;
  void start_due_participants();
  double ramp_seconds() const;
  void check_settled();
  void on_setup_deadline();
  void start_window();
  void end_window();
  void finish();
  void pace();
  void print_progress();
  RunResult collect() const;
  uint64_t total_received() const;
  uint64_t total_sent() const;

  core::EventLoop loop_{"loadgen"};
  RunContext run_;
  std::vector<std::unique_ptr<Participant>> participants_;
  std::vector<Participant*> publishers_;
  Phase phase_ = Phase::kSetup;
  size_t ready_count_ = 0;
  size_t failed_count_ = 0;
  core::Timer pacing_timer_;
  core::Timer progress_timer_;
  core::Timer phase_timer_;
  core::Timer ramp_timer_;
  size_t started_ = 0;  // participants started so far (--ramp)
  uint64_t start_ns_ = 0;
  uint64_t setup_done_ns_ = 0;
  bool window_ran_ = false;
  std::optional<uint64_t> server_cpu_start_us_;
  std::optional<uint64_t> server_cpu_end_us_;
  uint64_t own_cpu_start_us_ = 0;
  uint64_t own_cpu_end_us_ = 0;
  std::optional<MachineCpu> machine_cpu_start_;
  std::optional<MachineCpu> machine_cpu_end_;
  // Progress: the totals at the previous line, for per-second rates.
  uint64_t last_sent_ = 0;
  uint64_t last_received_ = 0;
  std::optional<uint64_t> last_server_cpu_us_;
  uint64_t last_progress_ns_ = 0;
  RunResult result_;
  std::promise<void> done_;
};

}  // namespace partyline::loadgen
