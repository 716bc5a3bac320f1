// What forwarding one publisher's RTP packet to N subscribers costs, through
// core::WorkerRouter and rtp::ForwardingLeg, each leg ending in SRTP protect
// (AES_CM_128_HMAC_SHA1_80, nettle-backed crypto, one session per leg):
//
//   forward/srtp/{video,audio}/N       one worker, protect only
//   forward/srtp_udp/{video,audio}/N   + sendto on loopback (only when it works)
//   floor/protect_{libsrtp_default,libsrtp_nettle}/{1200,160}
//                                      SRTP protect alone of the same packet
//   threads/video/workers:W            1000 legs on 1 or 2 worker threads
//
// Every forwarding case reports time/fwd (per forwarded packet), fwd/s and
// allocs/fwd (heap allocations per forwarded packet in steady state: must be
// 0). `--check_zero_allocations` runs the allocation check alone and exits
// non-zero when the steady state allocates or a packet did not reach every
// leg. Any case that reports an error makes the program exit non-zero too.
// See bench/README.md.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bench/benchmark_errors.hpp"
#include "bench/forwarding_allocation_counter.hpp"
#include "bench/forwarding_ingress.hpp"
#include "bench/forwarding_line.hpp"
#include "bench/forwarding_plugin_sink.hpp"
#include "bench/forwarding_threads.hpp"
#include "rtp/srtp/srtp_fast_crypto.hpp"

namespace {

using namespace partyline::bench;
using partyline::core::RouterDrop;
using partyline::rtp::SrtpSession;

constexpr int kWarmUpPackets = 8;
constexpr size_t kThreadedSubscribers = 1000;
// Datagrams sent between two drains of the UDP receiver, at most; fewer when
// its receive buffer is small (4 KiB per datagram is the kernel's worst case).
constexpr uint64_t kMaxDatagramsBetweenDrains = 4096;

const std::vector<int64_t> kSubscriberCounts = {1, 10, 100, 1000};

void set_forwarding_counters(benchmark::State& state, uint64_t forwarded, const AllocationCounts& allocations) {
  const double forwarded_packets = static_cast<double>(forwarded);
  state.counters["fwd/s"] = benchmark::Counter(forwarded_packets, benchmark::Counter::kIsRate);
  state.counters["time/fwd"] =
      benchmark::Counter(forwarded_packets, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["fwd/iter"] = benchmark::Counter(forwarded_packets, benchmark::Counter::kAvgIterations);
  state.counters["allocs/fwd"] =
      forwarded == 0 ? 0.0 : static_cast<double>(allocations.total()) / forwarded_packets;
}

// ---- 1 and 2: one worker, fan-out to N legs ----

void forward_fanout(benchmark::State& state, MediaProfile profile, SinkKind sink, size_t layers = 1) {
  const auto subscribers = static_cast<size_t>(state.range(0));
  std::optional<UdpReceiver> receiver;
  std::optional<ForwardingLine> line;
  try {
    LineSpec spec{profile, subscribers, 1, sink, 0, nullptr, layers};
    if (sink == SinkKind::kSrtpUdp) spec.udp_port = receiver.emplace().port();
    line.emplace(spec);
  } catch (const std::exception& error) {
    state.SkipWithError(error.what());
    return;
  }
  for (int i = 0; i < kWarmUpPackets; ++i) line->publish_next();
  uint64_t drain_every = 1;
  if (receiver) {
    receiver->drain();
    const uint64_t datagrams = std::min<uint64_t>(kMaxDatagramsBetweenDrains, receiver->receive_buffer_bytes() / 4096);
    drain_every = std::max<uint64_t>(1, datagrams / subscribers);
  }
  const uint64_t forwarded_before = line->forwarded();
  const uint64_t drops_before = line->drops();
  const uint64_t send_failed_before = line->drops(RouterDrop::kSendFailed);
  uint64_t received = 0;
  uint64_t since_drain = 0;
  const AllocationCounts allocations_before = allocation_counts();

  for (auto _ : state) {
    line->publish_next();
    if (receiver && ++since_drain == drain_every) {
      state.PauseTiming();
      received += receiver->drain();
      since_drain = 0;
      state.ResumeTiming();
    }
  }

  const AllocationCounts allocations = allocation_counts() - allocations_before;
  const uint64_t forwarded = line->forwarded() - forwarded_before;
  const uint64_t send_failed = line->drops(RouterDrop::kSendFailed) - send_failed_before;
  const uint64_t other_drops = line->drops() - drops_before - send_failed;
  if (other_drops > 0 || (sink == SinkKind::kSrtp && send_failed > 0)) {
    state.SkipWithError(("packets not forwarded: " + line->drop_summary()).c_str());
    return;
  }
  set_forwarding_counters(state, forwarded, allocations);
  state.SetBytesProcessed(static_cast<int64_t>(forwarded * packet_size(profile)));
  if (receiver) {
    received += receiver->drain();
    state.counters["eagain"] = static_cast<double>(line->udp_would_block());
    state.counters["send_err"] = static_cast<double>(line->udp_send_errors());
    state.counters["rx_lost"] = static_cast<double>(forwarded > received ? forwarded - received : 0);
  }
}

// ---- 1b: one worker, fan-out to N plugin sinks (GuestMedia) ----

void forward_to_plugin_sinks(benchmark::State& state, MediaProfile profile) {
  const auto sinks = static_cast<size_t>(state.range(0));
  PluginSinkLine line(profile, sinks);
  for (int i = 0; i < kWarmUpPackets; ++i) line.publish_next();
  const uint64_t forwarded_before = line.forwarded();
  const uint64_t delivered_before = line.delivered();
  const AllocationCounts allocations_before = allocation_counts();
  for (auto _ : state) line.publish_next();
  const AllocationCounts allocations = allocation_counts() - allocations_before;
  const uint64_t forwarded = line.forwarded() - forwarded_before;
  if (line.delivered() - delivered_before != forwarded || line.legs() != sinks) {
    state.SkipWithError("a plugin sink missed packets");
    return;
  }
  set_forwarding_counters(state, forwarded, allocations);
  state.SetBytesProcessed(static_cast<int64_t>(forwarded * packet_size(profile)));
}

// ---- 3: the floor, SRTP protect alone ----

// An outbound session and the next sequence number it protects. Numbers carry
// on across runs: libsrtp refuses an index it has protected before.
struct FloorSender {
  SrtpSession session;
  uint16_t next_sequence = 0;
};

void protect_floor(benchmark::State& state, FloorSender& sender, MediaProfile profile) {
  PublisherStream stream(profile);
  const std::span<const uint8_t> packet = stream.next();
  std::vector<uint8_t> buffer(packet.begin(), packet.end());
  buffer.resize(packet.size() + partyline::rtp::kSrtpMaxTrailer);
  const AllocationCounts allocations_before = allocation_counts();
  for (auto _ : state) {
    (void)partyline::rtp::set_rtp_sequence_number(buffer, sender.next_sequence++);
    if (!sender.session.protect_rtp(buffer, packet.size()).ok()) {
      state.SkipWithError("SRTP protect failed");
      break;
    }
    benchmark::DoNotOptimize(buffer.data());
    benchmark::ClobberMemory();
  }
  const AllocationCounts allocations = allocation_counts() - allocations_before;
  const auto iterations = static_cast<double>(state.iterations());
  state.counters["pkt/s"] = benchmark::Counter(iterations, benchmark::Counter::kIsRate);
  state.counters["allocs/pkt"] = iterations == 0 ? 0.0 : static_cast<double>(allocations.total()) / iterations;
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(packet.size()));
}

// ---- 4: 1 vs 2 worker threads ----

void forward_across_workers(benchmark::State& state, MediaProfile profile) {
  const auto workers = static_cast<size_t>(state.range(0));
  std::optional<CrossWorkerLine> run;
  try {
    run.emplace(LineSpec{profile, kThreadedSubscribers, workers, SinkKind::kSrtp, 0, nullptr}, kWarmUpPackets);
  } catch (const std::exception& error) {
    state.SkipWithError(error.what());
    return;
  }
  // Read before worker 1 starts touching its router: the constructor's
  // warm-up ran on this thread, and starting the thread orders it.
  const uint64_t forwarded_before = run->line().forwarded();
  const uint64_t drops_before = run->line().drops();
  const AllocationCounts allocations_before = allocation_counts();
  const double cpu0_before = run->worker_cpu_seconds(0);
  const double cpu1_before = run->worker_cpu_seconds(1);
  const auto wall_before = std::chrono::steady_clock::now();
  int64_t done = 0;
  bool stalled = false;
  for (auto _ : state) {
    // The last iteration waits for worker 1 inside the timed region.
    if (!run->publish() || (++done == state.max_iterations && !run->wait_until_served())) {
      state.SkipWithError("worker 1 stopped serving");  // before leaving the loop, as the library requires
      stalled = true;
      break;
    }
  }
  if (stalled) {
    run->stop();
    return;
  }
  const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - wall_before;
  const double cpu0 = run->worker_cpu_seconds(0) - cpu0_before;
  const double cpu1 = run->worker_cpu_seconds(1) - cpu1_before;
  const AllocationCounts allocations = allocation_counts() - allocations_before;
  run->stop();
  const uint64_t forwarded = run->line().forwarded() - forwarded_before;
  if (run->line().drops() != drops_before) {
    state.SkipWithError(("packets not forwarded: " + run->line().drop_summary()).c_str());
    return;
  }
  set_forwarding_counters(state, forwarded, allocations);
  state.counters["ring_full"] = static_cast<double>(run->line().drops(RouterDrop::kRingFull));
  state.counters["unwoken"] = static_cast<double>(run->unwoken_finds());
  // Each worker thread's share of the wall time on a CPU: below ~0.95 another
  // process took it, and the case measured the machine's load, not the code.
  state.counters["oncpu0"] = cpu0 / wall.count();
  if (workers == 2) state.counters["oncpu1"] = cpu1 / wall.count();
}

// Prints the scaling of the threads/ cases once everything has run: the
// median of the repetitions when there are several, else the one run.
class ScalingReporter : public benchmark::ConsoleReporter {
 public:
  using ConsoleReporter::ConsoleReporter;

  void ReportRuns(const std::vector<Run>& reports) override {
    ConsoleReporter::ReportRuns(reports);
    for (const Run& run : reports) {
      const std::string name = run.run_name.str();
      if (run.error_occurred || name.rfind("threads/", 0) != 0) continue;
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if (run.run_type == Run::RT_Aggregate && !median) continue;
      auto counter = run.counters.find("fwd/s");
      if (counter == run.counters.end()) continue;
      Figure& figure = figures_[name];
      if (median || !figure.median) figure = {counter->second.value, lowest_on_cpu(run), median};
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    for (const char* profile : {"video", "audio"}) {
      auto one = figures_.find(std::string("threads/") + profile + "/workers:1/real_time");
      auto two = figures_.find(std::string("threads/") + profile + "/workers:2/real_time");
      if (one == figures_.end() || two == figures_.end() || one->second.rate <= 0) continue;
      std::fprintf(stdout,
                   "scaling %s, %zu subscribers: 1 worker %.0f fwd/s, 2 workers %.0f fwd/s: %.2fx"
                   " (lowest on-CPU share of a worker thread: %.2f)\n",
                   profile, kThreadedSubscribers, one->second.rate, two->second.rate,
                   two->second.rate / one->second.rate, std::min(one->second.on_cpu, two->second.on_cpu));
    }
    std::fflush(stdout);
  }

 private:
  struct Figure {
    double rate = 0;
    double on_cpu = 0;
    bool median = false;
  };
  static double lowest_on_cpu(const Run& run) {
    double lowest = 1;
    for (const char* name : {"oncpu0", "oncpu1"}) {
      if (auto it = run.counters.find(name); it != run.counters.end()) lowest = std::min(lowest, it->second.value);
    }
    return lowest;
  }

  std::map<std::string, Figure> figures_;
};

// ---- 5: the allocation check (ctest) ----

int check_zero_allocations() {
  if (!allocation_counter_sees_shared_libraries()) {
    std::fprintf(stderr, "FAIL: the counter does not see libsrtp2's allocations; a zero would mean nothing\n");
    return 1;
  }
  constexpr int kPackets = 2000;
  int failures = 0;
  // A zero count means something only for the path that was meant to run:
  // each worker's router must hold its share of the legs and have forwarded
  // every packet sent to each of them (a worker that forwarded nothing, or a
  // path that drops most packets, allocates nothing either).
  auto check = [&](const char* what, CrossWorkerLine& run, size_t legs, UdpReceiver* receiver) {
    partyline::core::MediaFabric& fabric = run.line().fabric();
    const size_t workers = fabric.size();
    std::vector<uint64_t> forwarded_before(workers);
    for (size_t w = 0; w < workers; ++w) forwarded_before[w] = fabric.router(w).forwarded();
    const AllocationCounts before = allocation_counts();
    bool served = true;
    for (int i = 0; i < kPackets && served; ++i) {
      served = run.publish();
      if (receiver && i % 64 == 63) receiver->drain();
    }
    served = served && run.wait_until_served();
    const AllocationCounts allocations = allocation_counts() - before;
    run.stop();
    if (!served) std::printf("FAIL %s: worker 1 stopped serving\n", what);
    bool ok = served && allocations.total() == 0;
    std::string forwarding;
    size_t legs_seen = 0;
    for (size_t w = 0; w < workers; ++w) {
      const uint64_t forwarded = fabric.router(w).forwarded() - forwarded_before[w];
      const uint64_t expected = static_cast<uint64_t>(kPackets) * fabric.router(w).leg_count();
      legs_seen += fabric.router(w).leg_count();
      ok = ok && forwarded == expected && (workers == 1 || expected > 0);
      forwarding += (w == 0 ? "" : ", ") + std::string("worker ") + std::to_string(w) + " forwarded " +
                    std::to_string(forwarded) + " of " + std::to_string(expected);
    }
    // The routers hold every leg the line was built with.
    ok = ok && legs_seen == legs;
    std::printf("%s %s: %s; %llu operator new, %llu malloc-family allocations%s%s\n", ok ? "ok  " : "FAIL", what,
                forwarding.c_str(), static_cast<unsigned long long>(allocations.operator_new),
                static_cast<unsigned long long>(allocations.malloc_family),
                run.line().drops() > 0 ? "; drops: " : "", run.line().drop_summary().c_str());
    if (!ok) ++failures;
  };
  try {
    for (MediaProfile profile : {MediaProfile::kVideo, MediaProfile::kAudio}) {
      CrossWorkerLine one_worker(LineSpec{profile, 100, 1, SinkKind::kSrtp, 0, nullptr}, kWarmUpPackets);
      check((std::string(profile_name(profile)) + ", 100 legs, 1 worker").c_str(), one_worker, 100, nullptr);
      CrossWorkerLine two_workers(LineSpec{profile, 100, 2, SinkKind::kSrtp, 0, nullptr}, kWarmUpPackets);
      check((std::string(profile_name(profile)) + ", 100 legs, 2 worker threads").c_str(), two_workers, 100,
            nullptr);
    }
    for (MediaProfile profile : {MediaProfile::kVideo, MediaProfile::kAudio}) {
      PluginSinkLine plugins(profile, 100);
      for (int i = 0; i < kWarmUpPackets; ++i) plugins.publish_next();
      const uint64_t forwarded_before = plugins.forwarded();
      const AllocationCounts before = allocation_counts();
      for (int i = 0; i < kPackets; ++i) plugins.publish_next();
      const AllocationCounts allocations = allocation_counts() - before;
      const uint64_t forwarded = plugins.forwarded() - forwarded_before;
      const bool ok = allocations.total() == 0 && forwarded == 100ull * kPackets &&
                      plugins.delivered() == plugins.forwarded();
      std::printf("%s %s, 100 plugin sinks, 1 worker: forwarded %llu of %llu; %llu operator new, %llu malloc-family "
                  "allocations\n",
                  ok ? "ok  " : "FAIL", profile_name(profile), static_cast<unsigned long long>(forwarded),
                  100ull * kPackets, static_cast<unsigned long long>(allocations.operator_new),
                  static_cast<unsigned long long>(allocations.malloc_family));
      if (!ok) ++failures;
    }
    if (loopback_usable()) {
      UdpReceiver receiver;
      CrossWorkerLine udp(LineSpec{MediaProfile::kVideo, 10, 1, SinkKind::kSrtpUdp, receiver.port(), nullptr},
                          kWarmUpPackets);
      check("video, 10 legs, 1 worker, UDP send", udp, 10, &receiver);
    } else {
      std::printf("skip UDP send: loopback is not usable here\n");
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "FAIL: %s\n", error.what());
    return 1;
  }
  std::printf("%s\n", failures == 0 ? "steady state allocates nothing" : "steady state allocates");
  return failures == 0 ? 0 : 1;
}

bool take_flag(int& argc, char** argv, const char* flag) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], flag) != 0) continue;
    for (int j = i; j + 1 < argc; ++j) argv[j] = argv[j + 1];
    --argc;
    return true;
  }
  return false;
}

std::optional<FloorSender> floor_sender() {
  try {
    return FloorSender{random_outbound_srtp_session()};
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s\n", error.what());
    return std::nullopt;
  }
}

void register_benchmarks(FloorSender& default_crypto, FloorSender& nettle_crypto) {
  for (MediaProfile profile : {MediaProfile::kVideo, MediaProfile::kAudio}) {
    const std::string size = std::to_string(packet_size(profile));
    benchmark::RegisterBenchmark(("floor/protect_libsrtp_default/" + size).c_str(), [&, profile](benchmark::State& s) {
      protect_floor(s, default_crypto, profile);
    });
    benchmark::RegisterBenchmark(("floor/protect_libsrtp_nettle/" + size).c_str(), [&, profile](benchmark::State& s) {
      protect_floor(s, nettle_crypto, profile);
    });
  }
  const bool loopback = loopback_usable();
  if (!loopback) std::fprintf(stderr, "forward/srtp_udp skipped: loopback is not usable here\n");
  for (MediaProfile profile : {MediaProfile::kVideo, MediaProfile::kAudio}) {
    const std::string name = profile_name(profile);
    benchmark::RegisterBenchmark(("forward/srtp/" + name).c_str(), [profile](benchmark::State& s) {
      forward_fanout(s, profile, SinkKind::kSrtp);
    })->ArgsProduct({kSubscriberCounts});
    if (loopback) {
      benchmark::RegisterBenchmark(("forward/srtp_udp/" + name).c_str(), [profile](benchmark::State& s) {
        forward_fanout(s, profile, SinkKind::kSrtpUdp);
      })->ArgsProduct({kSubscriberCounts});
    }
  }
  // Simulcast: three layers in, one forwarded per leg (issue 19).
  benchmark::RegisterBenchmark("forward/srtp_simulcast3/video", [](benchmark::State& s) {
    forward_fanout(s, MediaProfile::kVideo, SinkKind::kSrtp, 3);
  })->ArgsProduct({kSubscriberCounts});
  for (MediaProfile profile : {MediaProfile::kVideo, MediaProfile::kAudio}) {
    benchmark::RegisterBenchmark(("forward/plugin_sink/" + std::string(profile_name(profile))).c_str(),
                                 [profile](benchmark::State& s) { forward_to_plugin_sinks(s, profile); })
        ->ArgsProduct({kSubscriberCounts});
  }
  for (MediaProfile profile : {MediaProfile::kVideo, MediaProfile::kAudio}) {
    benchmark::RegisterBenchmark(("threads/" + std::string(profile_name(profile))).c_str(),
                                 [profile](benchmark::State& s) { forward_across_workers(s, profile); })
        ->ArgNames({"workers"})
        ->Arg(1)
        ->Arg(2)
        ->UseRealTime();
  }
}

}  // namespace

int main(int argc, char** argv) {
  const bool check_only = take_flag(argc, argv, "--check_zero_allocations");
  const std::string format = requested_format(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  // libsrtp binds a session to the crypto installed when the session is
  // created, and the swap is process-wide: the default-crypto floor session
  // must exist before install_fast_srtp_crypto(). Every other session
  // (each leg's) is created afterwards, inside the benchmarks.
  std::optional<FloorSender> default_crypto = floor_sender();
  if (!default_crypto || partyline::rtp::fast_srtp_crypto_installed()) return 1;
  if (auto status = partyline::rtp::install_fast_srtp_crypto(); !status.ok()) {
    std::fprintf(stderr, "install_fast_srtp_crypto failed: %s\n", status.error().message.c_str());
    return 1;
  }
  if (check_only) return check_zero_allocations();
  std::optional<FloorSender> nettle_crypto = floor_sender();
  if (!nettle_crypto) return 1;

  register_benchmarks(*default_crypto, *nettle_crypto);
  register_ingress_benchmarks();
  // Non-zero when a case reported an error (packets not forwarded, SRTP
  // protect failed): the ctest smoke test fails on it.
  return run_benchmarks<ScalingReporter>(format, console_options(true));
}
