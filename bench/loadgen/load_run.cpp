#include "bench/loadgen/load_run.hpp"

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <limits>

#include "bench/loadgen/loop_tuning.hpp"
#include "bench/loadgen/process_stats.hpp"

namespace partyline::loadgen {

namespace {

// Media is sent from one timer re-armed for the next packet due, so the loop
// wakes about 80 times a second for it (audio every 20 ms, video frames every
// 33 ms), not on a fixed tick; until a publisher is secure it looks every 20 ms.
constexpr std::chrono::milliseconds kMaxPacingDelay{20};
constexpr std::chrono::milliseconds kDrainTime{500};
constexpr std::chrono::milliseconds kCloseTime{300};  // close frames and close_notify go out

std::chrono::milliseconds milliseconds(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

double seconds_between(uint64_t from_ns, uint64_t to_ns) { return static_cast<double>(to_ns - from_ns) / 1e9; }

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm parts{};
  gmtime_r(&now, &parts);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return buffer;
}

ice::IceConfig client_ice_config(const WebSocketUrl& url) {
  ice::IceConfig config;
  // Gather on the address we reach the server on, and only pair with
  // candidates there: everything stays on loopback in a test namespace.
  config.local_addresses = {url.host};
  config.allowed_remote_networks = {url.host.rfind("127.", 0) == 0 ? std::string("127.0.0.0/8") : url.host + "/32"};
  config.controlling = true;  // the offerer, as a browser is
  return config;
}

}  // namespace

LoadRun::LoadRun(Options options, WebSocketUrl url, std::shared_ptr<const ice::Certificate> certificate) {
  run_.context = loop_.context();
  if (!install_epoll_poll(run_.context)) {
    std::fprintf(stderr, "loadgen: warning: no epoll, GLib's poll() stays (more CPU per packet)\n");
  }
  run_.options = std::move(options);
  run_.ice_config = client_ice_config(url);
  run_.url = std::move(url);
  run_.certificate = std::move(certificate);
  run_.observer = this;
  run_.publisher_sessions.resize(run_.publisher_count());
  run_.publisher_failed.resize(run_.publisher_count(), false);
  run_.publications = PublisherBoard(run_.publisher_count());
}

LoadRun::~LoadRun() { loop_.stop(); }

RunResult LoadRun::execute() {
  const Options& options = run_.options;
  result_.started_at = utc_now();
  loop_.start();
  loop_.post([this] { start(); });
  const auto limit = milliseconds(options.setup_timeout_seconds + ramp_seconds() + options.warmup_seconds +
                                  options.duration_seconds) +
                     std::chrono::seconds(15);
  std::future<void> done = done_.get_future();
  if (done.wait_for(limit) != std::future_status::ready) {
    std::fprintf(stderr, "loadgen: the run overran its own deadline (%lld s): giving up\n",
                 static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(limit).count()));
    std::_Exit(3);
  }
  // Destroyed on their thread; libnice then closes its sockets while the loop runs on.
  loop_.run_sync([this] {
    phase_timer_.cancel();
    participants_.clear();
  });
  loop_.run_sync([] {});
  loop_.stop();
  return result_;
}

void LoadRun::start() {
  start_ns_ = monotonic_ns();
  last_progress_ns_ = start_ns_;
  const size_t total = run_.publisher_count() + static_cast<size_t>(run_.options.subscribers);
  for (size_t index = 0; index < total; ++index) {
    const bool publisher = index < run_.publisher_count();
    participants_.push_back(std::make_unique<Participant>(run_, index, publisher));
    if (publisher) publishers_.push_back(participants_.back().get());
  }
  pacing_timer_.start(run_.context, kMaxPacingDelay, [this] {
    pace();
    return false;
  });
  progress_timer_.start(run_.context, std::chrono::seconds(1), [this] {
    print_progress();
    return true;
  });
  phase_timer_.start(run_.context, milliseconds(run_.options.setup_timeout_seconds + ramp_seconds()), [this] {
    on_setup_deadline();
    return false;
  });
  start_due_participants();
}

double LoadRun::ramp_seconds() const {
  const double total = static_cast<double>(run_.publisher_count()) + run_.options.subscribers;
  return run_.options.ramp_per_second > 0 ? total / run_.options.ramp_per_second : 0;
}

// All at once, or --ramp participants a second (publishers first).
void LoadRun::start_due_participants() {
  size_t due = participants_.size();
  if (run_.options.ramp_per_second > 0) {
    const double elapsed = seconds_between(start_ns_, monotonic_ns());
    due = std::min(due, static_cast<size_t>(elapsed * run_.options.ramp_per_second) + 1);
  }
  for (; started_ < due; ++started_) participants_[started_]->start();
  if (started_ < participants_.size()) {
    ramp_timer_.start(run_.context, std::chrono::milliseconds(10), [this] {
      start_due_participants();
      return false;
    });
    return;
  }
  check_settled();  // a start may have failed at once (nothing listening)
}

void LoadRun::pace() {
  const uint64_t now = monotonic_ns();
  uint64_t next_due = std::numeric_limits<uint64_t>::max();
  for (Participant* publisher : publishers_) {
    publisher->poll_media(now);
    next_due = std::min(next_due, publisher->next_media_due_ns());
  }
  // GLib timers count whole milliseconds: round up, never fire early.
  auto delay = kMaxPacingDelay;
  if (next_due > now && next_due - now < static_cast<uint64_t>(kMaxPacingDelay.count()) * 1'000'000) {
    delay = std::chrono::milliseconds((next_due - now + 999'999) / 1'000'000);
  } else if (next_due <= now) {
    delay = std::chrono::milliseconds(1);
  }
  pacing_timer_.start(run_.context, delay, [this] {
    pace();
    return false;
  });
}

void LoadRun::on_ready(Participant&) {
  ++ready_count_;
  check_settled();
}

void LoadRun::on_failed(Participant& participant) {
  ++failed_count_;
  if (participant.is_publisher()) {
    // Receivers stop waiting for its streams.
    run_.publisher_failed[participant.index()] = true;
    run_.publications.failed(participant.index());
    if (phase_ == Phase::kSetup) {
      for (auto& other : participants_) other->recheck();
    }
  }
  check_settled();
}

void LoadRun::check_settled() {
  if (phase_ != Phase::kSetup || started_ < participants_.size()) return;
  size_t settled = 0;
  for (const auto& participant : participants_) settled += participant->ready() || participant->failed() ? 1 : 0;
  if (settled < participants_.size()) return;
  setup_done_ns_ = monotonic_ns();
  size_t ready_publishers = 0;
  for (const Participant* publisher : publishers_) ready_publishers += publisher->ready() ? 1 : 0;
  // Something to measure: a publisher up, and someone else up to receive it.
  if (ready_publishers == 0 || ready_count_ < 2) {
    std::fprintf(stderr, "loadgen: set-up ended with %zu of %zu participants up: nothing to measure\n", ready_count_,
                 participants_.size());
    phase_timer_.start(run_.context, std::chrono::milliseconds(0), [this] {
      finish();
      return false;
    });
    return;
  }
  phase_ = Phase::kWarmup;
  // Every participant's sockets exist now (see loop_tuning.hpp).
  (void)let_sources_recurse(run_.context);
  phase_timer_.start(run_.context, milliseconds(run_.options.warmup_seconds), [this] {
    start_window();
    return false;
  });
}

void LoadRun::on_setup_deadline() {
  if (phase_ != Phase::kSetup) return;
  ramp_timer_.cancel();
  started_ = participants_.size();  // those never started fail below, at "connect"
  const std::string limit = std::to_string(static_cast<int>(run_.options.setup_timeout_seconds));
  for (auto& participant : participants_) {
    if (participant->ready() || participant->failed()) continue;
    const Step step = participant->step();
    participant->fail(step, "no progress past '" + std::string(to_string(step)) + "' within --setup-timeout " +
                                limit + " s");
  }
  check_settled();
}

void LoadRun::start_window() {
  phase_ = Phase::kWindow;
  window_ran_ = true;
  for (auto& participant : participants_) participant->set_measured(participant->ready() && !participant->failed());
  const uint64_t now = monotonic_ns();
  run_.window.start_ns = now;
  run_.window.end_ns = now + static_cast<uint64_t>(run_.options.duration_seconds * 1e9);
  if (run_.options.server_pid) server_cpu_start_us_ = process_cpu_us(*run_.options.server_pid);
  own_cpu_start_us_ = own_cpu_us();
  machine_cpu_start_ = machine_cpu_us();
  phase_timer_.start(run_.context, milliseconds(run_.options.duration_seconds), [this] {
    end_window();
    return false;
  });
}

void LoadRun::end_window() {
  if (run_.options.server_pid) server_cpu_end_us_ = process_cpu_us(*run_.options.server_pid);
  own_cpu_end_us_ = own_cpu_us();
  machine_cpu_end_ = machine_cpu_us();
  phase_ = Phase::kDrain;
  phase_timer_.start(run_.context, kDrainTime, [this] {
    finish();
    return false;
  });
}

void LoadRun::finish() {
  if (setup_done_ns_ == 0) setup_done_ns_ = monotonic_ns();
  phase_ = Phase::kClosing;
  ramp_timer_.cancel();
  pacing_timer_.cancel();
  if (run_.options.progress) print_progress();
  progress_timer_.cancel();
  result_ = collect();
  for (auto& participant : participants_) participant->close();
  phase_timer_.start(run_.context, kCloseTime, [this] {
    done_.set_value();
    return false;
  });
}

uint64_t LoadRun::total_received() const {
  uint64_t total = 0;
  for (const auto& participant : participants_) total += participant->received_packets();
  return total;
}

uint64_t LoadRun::total_sent() const {
  uint64_t total = 0;
  for (const Participant* publisher : publishers_) {
    for (uint64_t sent : publisher->publisher()->counters().sent) total += sent;
  }
  return total;
}

void LoadRun::print_progress() {
  if (!run_.options.progress) return;
  const uint64_t now = monotonic_ns();
  const double elapsed = seconds_between(last_progress_ns_, now);
  if (elapsed <= 0) return;
  const uint64_t sent = total_sent();
  const uint64_t received = total_received();
  static constexpr const char* kPhaseNames[] = {"set-up", "warm-up", "window", "drain", "closing"};
  std::string line = "loadgen " + std::to_string(static_cast<int>(seconds_between(start_ns_, now))) + "s " +
                     kPhaseNames[static_cast<int>(phase_)] + ": up " + std::to_string(ready_count_) + "/" +
                     std::to_string(participants_.size()) + ", failed " + std::to_string(failed_count_) + " | sent " +
                     std::to_string(static_cast<uint64_t>(static_cast<double>(sent - last_sent_) / elapsed)) +
                     " pkt/s, received " +
                     std::to_string(static_cast<uint64_t>(static_cast<double>(received - last_received_) / elapsed)) +
                     " pkt/s";
  if (run_.options.server_pid) {
    const auto cpu = process_cpu_us(*run_.options.server_pid);
    if (cpu && last_server_cpu_us_) {
      line += " | server CPU " +
              std::to_string(static_cast<int>(static_cast<double>(*cpu - *last_server_cpu_us_) / 1e4 / elapsed)) + " %";
    }
    last_server_cpu_us_ = cpu;
  }
  std::fprintf(stderr, "%s\n", line.c_str());
  last_sent_ = sent;
  last_received_ = received;
  last_progress_ns_ = now;
}

}  // namespace partyline::loadgen
