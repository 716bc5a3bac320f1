#include "bench/forwarding_ingress.hpp"

#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <vector>

#include "bench/forwarding_allocation_counter.hpp"
#include "rtp/packet/audio_level.hpp"
#include "rtp/packet/rtp_header_extensions.hpp"
#include "rtp/packet/rtp_packet.hpp"
#include "rtp/rtcp/rtcp_packet.hpp"
#include "rtp/rtcp/transport_cc_recorder.hpp"

namespace partyline::bench {
namespace {

constexpr uint8_t kMidId = 1, kAbsSendTimeId = 3, kTransportCcId = 5, kAudioLevelId = 6;
constexpr int64_t kVideoPacketIntervalUs = 1'000'000 / 150;  // 30 fps, 5 packets a frame
constexpr int64_t kAudioPacketIntervalUs = 20'000;

// A packet as Chromium sends it: mid, abs-send-time and the transport-wide
// sequence number (video), or mid and the audio level (audio), one-byte form.
struct IngressPacket {
  std::vector<uint8_t> bytes;
  size_t transport_sequence_offset = 0;  // of the 2 value bytes, video only
};

IngressPacket make_packet(bool video) {
  std::array<uint8_t, 32> block{};
  rtp::HeaderExtensionBuilder extensions(rtp::ExtensionForm::kOneByte, block);
  const uint8_t mid[] = {'1'};
  (void)extensions.add(kMidId, mid);
  if (video) {
    const uint8_t abs_send_time[] = {0x12, 0x34, 0x56};
    const uint8_t transport_sequence[] = {0, 0};
    (void)extensions.add(kAbsSendTimeId, abs_send_time);
    (void)extensions.add(kTransportCcId, transport_sequence);
  } else {
    const uint8_t level[] = {0x80 | 30};
    (void)extensions.add(kAudioLevelId, level);
  }
  rtp::RtpHeaderSpec header;
  header.payload_type = video ? 96 : 111;
  header.ssrc = 0x5EED0001;
  header.has_extension = true;
  header.extension_profile = extensions.profile();
  header.extension_data = extensions.data();
  std::vector<uint8_t> payload(video ? 1200 : 160, 0x5A);
  IngressPacket packet;
  packet.bytes.resize(1500);
  auto size = rtp::serialize_rtp_packet(header, payload, packet.bytes);
  packet.bytes.resize(size.ok() ? *size : 0);
  // The value follows "mid (2 bytes), abs-send-time (4 bytes), its own id byte".
  packet.transport_sequence_offset = 12 + 4 + 2 + 4 + 1;
  return packet;
}

// LineMedia::record_transport_sequence and send_transport_feedback, per packet.
void transport_cc_record(benchmark::State& state) {
  IngressPacket packet = make_packet(true);
  rtp::TransportCcRecorder recorder;
  std::array<uint8_t, 1500> feedback{};
  uint16_t sequence = 0;
  int64_t now_us = 1'000'000;
  uint64_t feedbacks = 0, recorded = 0;
  const AllocationCounts before = allocation_counts();
  for (auto _ : state) {
    packet.bytes[packet.transport_sequence_offset] = static_cast<uint8_t>(sequence >> 8);
    packet.bytes[packet.transport_sequence_offset + 1] = static_cast<uint8_t>(sequence);
    ++sequence;
    now_us += kVideoPacketIntervalUs;
    auto parsed = rtp::parse_rtp_packet(packet.bytes);
    if (!parsed) continue;
    auto value = rtp::find_header_extension(parsed->extension_profile, parsed->extension_data, kTransportCcId);
    if (!value || value->size() != 2) continue;
    const auto read = static_cast<uint16_t>(((*value)[0] << 8) | (*value)[1]);
    recorder.on_packet(read, now_us);
    if (read == static_cast<uint16_t>(sequence - 1)) ++recorded;
    if (auto due = recorder.next_wakeup(); due && now_us >= *due) {
      rtp::RtcpWriter writer(feedback);
      while (recorder.write_feedback(writer, 1, parsed->ssrc, now_us)) {
        ++feedbacks;
        writer = rtp::RtcpWriter(feedback);
      }
    }
  }
  const AllocationCounts allocations = allocation_counts() - before;
  if (recorded != static_cast<uint64_t>(state.iterations())) {
    state.SkipWithError("a packet's transport-wide sequence number was not read");
    return;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["feedbacks"] = static_cast<double>(feedbacks);
  state.counters["allocs/pkt"] =
      benchmark::Counter(static_cast<double>(allocations.total()), benchmark::Counter::kAvgIterations);
}

// The floor both add to: parsing the packet, which LineMedia::on_rtp does anyway.
void parse_only(benchmark::State& state) {
  IngressPacket packet = make_packet(true);
  uint64_t parsed_packets = 0;
  for (auto _ : state) {
    auto parsed = rtp::parse_rtp_packet(packet.bytes);
    benchmark::DoNotOptimize(parsed);
    if (parsed) ++parsed_packets;
  }
  if (parsed_packets != static_cast<uint64_t>(state.iterations())) {
    state.SkipWithError("the packet did not parse");
    return;
  }
  state.SetItemsProcessed(state.iterations());
}

// LineMedia::on_rtp's audio-level read and AudioLevelMeter, per packet, with
// the meter taken every 200 ms as LineMedia::report_audio_level does.
void audio_level_read(benchmark::State& state) {
  IngressPacket packet = make_packet(false);
  rtp::AudioLevelMeter meter;
  int64_t now_us = 0, next_take_us = 200'000;
  uint64_t levels = 0, sum = 0;
  for (auto _ : state) {
    now_us += kAudioPacketIntervalUs;
    auto parsed = rtp::parse_rtp_packet(packet.bytes);
    if (!parsed) continue;
    if (auto level = rtp::read_audio_level(*parsed, kAudioLevelId)) {
      meter.add(level->level);
      ++levels;
    }
    if (now_us >= next_take_us) {
      sum += meter.take();
      next_take_us += 200'000;
    }
  }
  benchmark::DoNotOptimize(sum);
  if (levels != static_cast<uint64_t>(state.iterations())) {
    state.SkipWithError("a packet's audio level was not read");
    return;
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

void register_ingress_benchmarks() {
  benchmark::RegisterBenchmark("ingress/parse/video", parse_only);
  benchmark::RegisterBenchmark("ingress/parse_and_transport_cc/video", transport_cc_record);
  benchmark::RegisterBenchmark("ingress/parse_and_audio_level/audio", audio_level_read);
}

}  // namespace partyline::bench
