// The audio bridge's mixer (plugins/audiobridge RoomMixer): what one room
// frame costs (every participant's packet into its jitter buffer, then one
// mix(): N decodes, the talkers' sum, talkers + 1 encodes) for 5, 20, 50 and
// 100 participants with 1, 3 and all of them talking. Talkers send a tone,
// the others low background noise (below the talking threshold), as Opus
// encoded before the timed loop. Plus one Opus decode and one encode alone,
// to read the frame's cost as codec calls. Figures: bench/README.md.
#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "bench/benchmark_errors.hpp"
#include "room_mixer.hpp"

// Counts operator new calls (the mixer is C++: a vector growing or a
// container node would show here; libopus itself does not allocate while
// coding). Not malloc: that would need the interposer of
// forwarding_allocation_counter.cpp, which links libsrtp in.
namespace {
std::atomic<uint64_t> g_news{0};
}  // namespace

// GCC sees malloc'd memory reach free() through these and warns of a
// mismatch that is none: both sides are ours.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
  g_news.fetch_add(1, std::memory_order_relaxed);
  if (void* memory = std::malloc(size == 0 ? 1 : size)) return memory;
  throw std::bad_alloc();
}
void operator delete(void* memory) noexcept { std::free(memory); }
void operator delete(void* memory, std::size_t) noexcept { std::free(memory); }
#pragma GCC diagnostic pop

namespace {

using audiobridge::kFrameDuration;
using audiobridge::kFrameSamples;
using audiobridge::Micros;

constexpr size_t kLoopFrames = 50;  // one second of packets per sender, replayed
constexpr int kWarmupFrames = 10;   // prebuffer (2) and talking start, before timing

using Packets = std::vector<std::vector<uint8_t>>;

// kLoopFrames packets of a tone (amplitude > 0) or of low noise.
Packets encode_packets(double frequency, double amplitude, uint32_t seed) {
  auto encoder = audiobridge::OpusFrameEncoder::create(audiobridge::EncoderConfig());
  Packets packets;
  std::array<int16_t, kFrameSamples> pcm{};
  std::array<uint8_t, audiobridge::OpusFrameEncoder::kMaxPacket> out{};
  uint64_t sample = 0;
  for (size_t frame = 0; frame < kLoopFrames && encoder; ++frame) {
    for (auto& value : pcm) {
      seed = seed * 1664525u + 1013904223u;
      const double noise = static_cast<double>(static_cast<int32_t>(seed >> 16) % 41 - 20);  // about -67 dBov
      value = static_cast<int16_t>(amplitude > 0 ? amplitude * std::sin(2 * M_PI * frequency * sample / 48000.0) + noise
                                                 : noise);
      ++sample;
    }
    const int length = encoder->encode(pcm, out);
    packets.emplace_back(out.begin(), out.begin() + (length > 0 ? length : 0));
  }
  return packets;
}

class Room {
 public:
  Room(int participants, int talkers) : participants_(participants), talkers_(talkers) {
    audiobridge::MixerConfig config;
    config.max_participants = static_cast<size_t>(participants);
    mixer_ = std::make_unique<audiobridge::RoomMixer>(config);
    const Packets noise = encode_packets(0, 0, 7);
    for (int id = 0; id < participants; ++id) {
      mixer_->add_participant(static_cast<uint32_t>(id));
      packets_.push_back(id < talkers ? encode_packets(300 + 37 * id, 6000, static_cast<uint32_t>(id)) : noise);
    }
  }

  // One frame: every participant's packet in, then the mix.
  audiobridge::MixedFrame frame() {
    const Micros now = kFrameDuration * static_cast<int64_t>(frame_);
    for (int id = 0; id < participants_; ++id) {
      const auto& packet = packets_[id][frame_ % kLoopFrames];
      mixer_->receive(static_cast<uint32_t>(id), static_cast<uint16_t>(frame_), static_cast<uint32_t>(frame_ * 960),
                      packet, now);
    }
    ++frame_;
    return mixer_->mix(now);
  }

  int expected_encodes() const { return talkers_ + (talkers_ < participants_ ? 1 : 0); }

 private:
  int participants_;
  int talkers_;
  std::unique_ptr<audiobridge::RoomMixer> mixer_;
  std::vector<Packets> packets_;
  uint64_t frame_ = 0;
};

void room_frame(benchmark::State& state, int participants, int talkers) {
  Room room(participants, talkers);
  for (int i = 0; i < kWarmupFrames; ++i) room.frame();
  uint64_t encodes = 0;
  uint64_t news = 0;
  for (auto _ : state) {
    // Counted around the frame alone: the benchmark library allocates too.
    const uint64_t news_before = g_news.load(std::memory_order_relaxed);
    const audiobridge::MixedFrame mixed = room.frame();
    const uint64_t news_in_frame = g_news.load(std::memory_order_relaxed) - news_before;
    news += news_in_frame;
    if (news_in_frame != 0) {
      // The hot path must not allocate (plugins/audiobridge/room_mixer.hpp):
      // the smoke test fails on it.
      state.SkipWithError("a room frame allocated");
      break;
    }
    encodes += static_cast<uint64_t>(mixed.encodes);
    if (mixed.talkers != talkers || mixed.encodes != room.expected_encodes()) {
      state.SkipWithError(("talkers " + std::to_string(mixed.talkers) + ", encodes " +
                           std::to_string(mixed.encodes) + ": not the room's speakers")
                              .c_str());
      break;
    }
  }
  const auto frames = static_cast<double>(state.iterations());
  using benchmark::Counter;
  // Per participant-frame: the frame's time / N (decode + its share of mix and encodes).
  state.counters["per_participant"] = Counter(frames * participants, Counter::kIsRate | Counter::kInvert);
  state.counters["encodes/frame"] = Counter(static_cast<double>(encodes) / std::max(frames, 1.0));
  // Heap allocations (operator new) per room frame: 0 by design.
  state.counters["news/frame"] = Counter(static_cast<double>(news) / std::max(frames, 1.0));
}

void opus_decode_one(benchmark::State& state) {
  const Packets packets = encode_packets(440, 6000, 1);
  auto decoder = audiobridge::OpusFrameDecoder::create();
  std::array<int16_t, kFrameSamples> pcm{};
  size_t frame = 0;
  for (auto _ : state) {
    if (!decoder || !decoder->decode(packets[frame++ % kLoopFrames], pcm)) {
      state.SkipWithError("decode failed");
      break;
    }
    benchmark::DoNotOptimize(pcm.data());
  }
}

void opus_encode_one(benchmark::State& state) {
  auto encoder = audiobridge::OpusFrameEncoder::create(audiobridge::EncoderConfig());
  std::vector<std::array<int16_t, kFrameSamples>> frames(kLoopFrames);
  // A mix of two talkers, as a listener's shared encode would see.
  for (size_t f = 0; f < kLoopFrames; ++f) {
    for (int i = 0; i < kFrameSamples; ++i) {
      const double t = static_cast<double>(f * kFrameSamples + i) / 48000.0;
      frames[f][i] = static_cast<int16_t>(6000 * std::sin(2 * M_PI * 440 * t) + 4000 * std::sin(2 * M_PI * 660 * t));
    }
  }
  std::array<uint8_t, audiobridge::OpusFrameEncoder::kMaxPacket> out{};
  size_t frame = 0;
  for (auto _ : state) {
    if (!encoder || encoder->encode(frames[frame++ % kLoopFrames], out) <= 0) {
      state.SkipWithError("encode failed");
      break;
    }
    benchmark::DoNotOptimize(out.data());
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string format = partyline::bench::requested_format(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  {
    // A zero in news/frame means something only if the counter sees new.
    const uint64_t before = g_news.load();
    auto probe = std::make_unique<int>(1);
    benchmark::DoNotOptimize(probe.get());
    if (g_news.load() == before) {
      std::fprintf(stderr, "FAIL: the operator new counter sees nothing\n");
      return 1;
    }
  }
  for (int participants : {5, 20, 50, 100}) {
    for (int talkers : {1, 3, participants}) {
      const std::string talking = talkers == participants ? "all" : std::to_string(talkers);
      const std::string name = "room_frame/participants:" + std::to_string(participants) + "/talking:" + talking;
      benchmark::RegisterBenchmark(name.c_str(), [participants, talkers](benchmark::State& state) {
        room_frame(state, participants, talkers);
      })->Unit(benchmark::kMicrosecond);
    }
  }
  benchmark::RegisterBenchmark("opus/decode_20ms", opus_decode_one)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("opus/encode_20ms", opus_encode_one)->Unit(benchmark::kMicrosecond);
  return partyline::bench::run_benchmarks(format, partyline::bench::console_options(false));
}
