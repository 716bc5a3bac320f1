// Virtual-time simulation of SFU forwarding (after str0m's netem tests): one
// publisher, twenty subscribers, every hop a seeded link with 5 % loss. The SFU
// is only the sans-I/O units: per subscriber a SequenceRewriter and a
// RetransmissionBuffer; upstream a NackGenerator, ReceiveStatistics and one
// KeyframeRequester. RTCP crosses the links as real NACK and PLI bytes; time
// jumps from event to event, nothing sleeps.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "rtp/byte_io.hpp"
#include "rtp/forward/keyframe_requester.hpp"
#include "rtp/rtcp/nack_generator.hpp"
#include "rtp/rtcp/receive_statistics.hpp"
#include "rtp/forward/retransmission_buffer.hpp"
#include "rtp/rtcp/rtcp_feedback.hpp"
#include "rtp/packet/rtp_packet.hpp"
#include "rtp/forward/sequence_rewriter.hpp"
#include "tests/rtp/forwarding_simulation_figures.hpp"
#include "tests/rtp/simulated_link.hpp"

namespace partyline::rtp {
namespace {

using Bytes = std::vector<uint8_t>;
using Link = sim::SimulatedLink<Bytes>;
using sim::Figures;

constexpr int64_t kMs = 1000;
constexpr uint32_t kLossPer10000 = 500;  // 5 % on every hop, both directions
constexpr int kSubscribers = 20;
// Packets published before kMediaEnd are checked; the stream goes on until
// kSimulationEnd so that losses at the tail show up as gaps and get repaired.
constexpr int64_t kMediaEnd = 10'000 * kMs;
constexpr int64_t kSimulationEnd = kMediaEnd + 3'000 * kMs;
constexpr int64_t kFrameInterval = 33'333;  // 30 fps
constexpr int kPacketsPerFrame = 5;
constexpr int kPaddingEveryFrames = 10;  // a padding-only probe the SFU drops
constexpr int64_t kKeyframeInterval = 3'000 * kMs;
constexpr int64_t kMinKeyframeInterval = 300 * kMs;
constexpr int64_t kUpstreamDelay = 15 * kMs;
constexpr int64_t kDownstreamDelay = 25 * kMs;
constexpr int64_t kJitter = 3 * kMs;
constexpr uint32_t kPublisherSsrc = 0x50000001;
constexpr uint32_t kSfuSsrc = 0x5F000000;
constexpr size_t kPayloadSize = 1000;
// Payload: [0] 1 on a keyframe's first packet, [1..8] the publisher's number.

struct Publisher {
  Link to_sfu{1, kLossPer10000, kUpstreamDelay, kJitter};
  SequenceUnwrapper sequences;       // for finding NACKed packets in history
  uint16_t next_sequence = 65000;    // wraps after ~500 packets
  uint32_t timestamp = 0xFFFF0000u;  // wraps after ~0.7 s
  int64_t first_extended = 65000;
  std::vector<Bytes> history;          // every packet sent, by extended number
  std::vector<int64_t> media;          // extended numbers of media packets
  std::vector<int64_t> checked_media;  // those sent before kMediaEnd
  int64_t next_frame_us = 0;
  int64_t next_keyframe_us = 0;
  int frames = 0;
  std::vector<int64_t> requests_received_us;
};

struct Subscriber {
  explicit Subscriber(int index)
      : rewriter(0xA0000000u + index, 90000, static_cast<uint16_t>(64000 + index * 70),
                 0xFFFF0000u + 1000u * index),  // both wrap during the run
        down(100 + index, kLossPer10000, kDownstreamDelay, kJitter),
        up(200 + index, kLossPer10000, kDownstreamDelay, kJitter),
        join_us(index * 150 * kMs) {}
  // The SFU's leg.
  SequenceRewriter rewriter;
  RetransmissionBuffer sent{1024, 1500, 3'000 * kMs};
  Link down, up;
  int64_t join_us;
  bool joined = false;
  std::optional<int64_t> start;        // publisher number of the first packet forwarded
  std::set<int64_t> padding_received;  // unwrapped output numbers
  // The subscriber's endpoint.
  NackGenerator nacks{{.max_retries = 40,
                       .max_age_us = 3'000 * kMs,
                       .initial_rtt_us = 2 * (kDownstreamDelay + kJitter),
                       .reorder_delay_us = kJitter}};
  SequenceUnwrapper outputs;
  std::map<int64_t, int64_t> received;  // publisher number -> unwrapped output number
};

class ForwardingSimulation {
 public:
  Figures run() {
    subscribers_.reserve(kSubscribers);
    for (int i = 0; i < kSubscribers; ++i) subscribers_.emplace_back(i);
    int64_t now = 0;
    while (now <= kSimulationEnd) {
      step(now);
      now = std::max(now + 1, next_event());
    }
    return figures();
  }

 private:
  void step(int64_t now) {
    from_sfu_.deliver(now, [&](const Bytes& rtcp) { publisher_on_rtcp(rtcp, now); });
    publisher_.to_sfu.deliver(now, [&](const Bytes& packet) { sfu_on_media(packet, now); });
    for (Subscriber& s : subscribers_) {
      s.down.deliver(now, [&](const Bytes& packet) { subscriber_on_media(s, packet, now); });
      s.up.deliver(now, [&](const Bytes& rtcp) { sfu_on_subscriber_rtcp(s, rtcp, now); });
      if (!s.joined && now >= s.join_us) {
        s.joined = true;
        keyframes_.request(KeyframeRequestReason::kNewSubscriber, now);
      }
      poll_subscriber(s, now);
    }
    poll_sfu(now);
    if (now >= publisher_.next_frame_us) publisher_send_frame(now);
  }

  int64_t next_event() const {
    int64_t next = INT64_MAX;
    const auto consider = [&](std::optional<int64_t> at) {
      if (at) next = std::min(next, *at);
    };
    consider(from_sfu_.next_delivery());
    consider(publisher_.to_sfu.next_delivery());
    consider(upstream_nacks_.next_wakeup());
    consider(keyframes_.next_wakeup());
    consider(publisher_.next_frame_us);
    for (const Subscriber& s : subscribers_) {
      consider(s.down.next_delivery());
      consider(s.up.next_delivery());
      consider(s.nacks.next_wakeup());
      if (!s.joined) consider(s.join_us);
    }
    return next;
  }

  void publisher_send_frame(int64_t now) {
    Publisher& p = publisher_;
    const bool keyframe = now >= p.next_keyframe_us;
    if (keyframe) {
      p.next_keyframe_us = now + kKeyframeInterval;
      ++keyframes_produced_;
    }
    for (int i = 0; i < kPacketsPerFrame; ++i) {
      std::array<uint8_t, kPayloadSize> payload{};
      payload[0] = (keyframe && i == 0) ? 1 : 0;
      write_u64(payload.data() + 1, static_cast<uint64_t>(p.first_extended + p.history.size()));
      p.media.push_back(p.first_extended + static_cast<int64_t>(p.history.size()));
      if (now < kMediaEnd) p.checked_media.push_back(p.media.back());
      publisher_emit(payload, 0, i == kPacketsPerFrame - 1, now);
    }
    if (++p.frames % kPaddingEveryFrames == 0) publisher_emit({}, 200, false, now);
    p.timestamp += 3000;
    p.next_frame_us += kFrameInterval;
  }

  void publisher_emit(std::span<const uint8_t> payload, uint8_t padding, bool marker, int64_t now) {
    Publisher& p = publisher_;
    RtpHeaderSpec header;
    header.marker = marker;
    header.payload_type = 96;
    header.sequence_number = p.next_sequence++;
    header.timestamp = p.timestamp;
    header.ssrc = kPublisherSsrc;
    header.padding_size = padding;
    Bytes packet(1500);
    const auto size = serialize_rtp_packet(header, payload, packet);
    ASSERT_TRUE(size.ok());
    packet.resize(*size);
    p.sequences.unwrap(header.sequence_number);
    p.history.push_back(packet);
    p.to_sfu.send(packet, now);
  }

  void publisher_on_rtcp(const Bytes& rtcp, int64_t now) {
    RtcpCompoundReader reader(rtcp);
    RtcpPacketView packet;
    while (reader.next(packet)) {
      if (const auto nack = parse_nack(packet); nack.ok()) {
        nack->for_each_lost([&](uint16_t sequence) {
          const int64_t index = publisher_.sequences.peek(sequence) - publisher_.first_extended;
          if (index < 0 || index >= static_cast<int64_t>(publisher_.history.size())) return;
          ++publisher_resent_;
          publisher_.to_sfu.send(publisher_.history[static_cast<size_t>(index)], now);
        });
      } else if (parse_pli(packet).ok()) {
        publisher_.requests_received_us.push_back(now);
        publisher_.next_keyframe_us = now;  // the next frame is a keyframe
      }
    }
  }

  void sfu_on_media(const Bytes& bytes, int64_t now) {
    const auto packet = parse_rtp_packet(bytes);
    ASSERT_TRUE(packet.ok());
    const PacketArrival arrival = upstream_nacks_.on_packet(packet->sequence_number, now);
    // Late and repeated packets say nothing about the path's jitter.
    upstream_stats_.on_packet(packet->sequence_number, packet->timestamp, now,
                              arrival != PacketArrival::kNew);
    const SourcePacket source{packet->ssrc, packet->sequence_number, packet->timestamp};
    const bool padding_only = packet->payload.empty();
    const bool keyframe_start = !padding_only && packet->payload[0] == 1;
    if (keyframe_start && arrival == PacketArrival::kNew) keyframes_.on_keyframe(now);
    for (Subscriber& s : subscribers_) {
      // A video leg starts at a keyframe.
      if (!s.start && !(s.joined && keyframe_start && arrival == PacketArrival::kNew)) continue;
      if (!s.start) s.start = static_cast<int64_t>(read_u64(packet->payload.data() + 1));
      // Padding is not forwarded, unless it came late and its number is
      // taken: then it fills that number instead of leaving a hole.
      if (padding_only && s.rewriter.drop(source, now)) continue;
      const RewriteResult result = s.rewriter.rewrite(source, now);
      if (result.outcome != RewriteOutcome::kForward) continue;  // repeats go by NACK
      if (padding_only) ++late_padding_forwarded_;
      Bytes out = bytes;
      ASSERT_TRUE(apply_rewrite(out, result.header));
      ASSERT_EQ(s.sent.store(result.header.sequence_number, out, now), StoreOutcome::kStored);
      ++forwarded_;
      s.down.send(std::move(out), now);
    }
  }

  void sfu_on_subscriber_rtcp(Subscriber& s, const Bytes& rtcp, int64_t now) {
    RtcpCompoundReader reader(rtcp);
    RtcpPacketView packet;
    while (reader.next(packet)) {
      if (const auto nack = parse_nack(packet); nack.ok()) {
        nack->for_each_lost([&](uint16_t sequence) {
          const auto copy = s.sent.find(sequence, now);
          if (!copy) {
            ++cache_misses_;  // lost upstream: upstream_nacks_ is already after it
            return;
          }
          ++cache_hits_;
          s.down.send(sim::copy_of(*copy), now);
        });
      } else if (parse_pli(packet).ok()) {
        ++requests_from_subscribers_;
        keyframes_.request(KeyframeRequestReason::kLoss, now);
      }
    }
  }

  void poll_sfu(int64_t now) {
    std::array<uint16_t, 256> lost{};
    const size_t count = upstream_nacks_.poll(now, lost);
    std::array<uint8_t, 1500> buffer{};
    RtcpWriter writer(buffer);
    if (count > 0) {
      ASSERT_TRUE(write_nack(writer, kSfuSsrc, kPublisherSsrc, std::span(lost).first(count)).ok());
    }
    if (keyframes_.poll(now)) {
      sent_requests_us_.push_back(now);
      ASSERT_TRUE(write_pli(writer, kSfuSsrc, kPublisherSsrc).ok());
    }
    if (writer.size() > 0) from_sfu_.send(sim::copy_of(writer.written()), now);
  }

  void subscriber_on_media(Subscriber& s, const Bytes& bytes, int64_t now) {
    const auto packet = parse_rtp_packet(bytes);
    ASSERT_TRUE(packet.ok());
    ASSERT_EQ(packet->ssrc, s.rewriter.output_ssrc());
    const size_t missing_before = s.nacks.missing_count();
    s.nacks.on_packet(packet->sequence_number, now);
    const int64_t output = s.outputs.unwrap(packet->sequence_number);
    if (packet->payload.empty()) {
      s.padding_received.insert(output);
    } else {
      ASSERT_EQ(packet->payload.size(), kPayloadSize);
      s.received.emplace(static_cast<int64_t>(read_u64(packet->payload.data() + 1)), output);
    }
    if (s.nacks.missing_count() > missing_before) {
      // Every subscriber asks for a keyframe on every loss: the worst case.
      std::array<uint8_t, 64> buffer{};
      RtcpWriter writer(buffer);
      ASSERT_TRUE(write_pli(writer, 0xB0000000u, s.rewriter.output_ssrc()).ok());
      s.up.send(sim::copy_of(writer.written()), now);
    }
  }

  void poll_subscriber(Subscriber& s, int64_t now) {
    std::array<uint16_t, 256> lost{};
    std::array<uint8_t, 1500> buffer{};
    const size_t count = s.nacks.poll(now, lost);
    if (count == 0) return;
    RtcpWriter writer(buffer);
    ASSERT_TRUE(
        write_nack(writer, 0xB0000000u, s.rewriter.output_ssrc(), std::span(lost).first(count))
            .ok());
    subscriber_nacked_ += count;
    s.up.send(sim::copy_of(writer.written()), now);
  }

  Figures figures();

  Publisher publisher_;
  Link from_sfu_{2, kLossPer10000, kUpstreamDelay, kJitter};
  NackGenerator upstream_nacks_{{.max_retries = 20,
                                 .max_age_us = 2'000 * kMs,
                                 .initial_rtt_us = 2 * (kUpstreamDelay + kJitter),
                                 .reorder_delay_us = kJitter}};
  ReceiveStatistics upstream_stats_{kPublisherSsrc, 90000};
  KeyframeRequester keyframes_{{.min_interval_us = kMinKeyframeInterval}};
  std::vector<Subscriber> subscribers_;
  std::vector<int64_t> sent_requests_us_;
  uint64_t keyframes_produced_ = 0, publisher_resent_ = 0, forwarded_ = 0;
  uint64_t cache_hits_ = 0, cache_misses_ = 0, subscriber_nacked_ = 0;
  uint64_t requests_from_subscribers_ = 0, late_padding_forwarded_ = 0;
};

// Counts what each subscriber missed, and checks that its output numbering
// follows the publisher's order without holes.
void add_subscriber_figures(const Publisher& publisher, const Subscriber& s, Figures& f) {
  EXPECT_TRUE(s.start.has_value() && !s.received.empty()) << "a subscriber never started";
  if (!s.start || s.received.empty()) return;
  for (const int64_t number : publisher.checked_media) {
    if (number < *s.start || s.received.contains(number)) continue;
    // A subscriber cannot know of packets lost before the first it receives.
    ++(number < s.received.begin()->first ? f.lost_before_first_received : f.residual_lost);
  }
  int64_t previous = INT64_MIN;
  for (const auto& [number, output] : s.received) {
    EXPECT_GT(output, previous) << "output order differs from input order at " << number;
    previous = output;
  }
  // No hole in the output numbering over the checked part (the tail may
  // still be in repair): dropped padding took no number, or filled its own.
  const int64_t last_checked = publisher.checked_media.back();
  const auto last = std::prev(s.received.upper_bound(last_checked));
  const int64_t first_output = s.received.begin()->second;
  const int64_t span = last->second - first_output + 1;
  const int64_t media = std::distance(s.received.begin(), last) + 1;
  const auto padding = static_cast<int64_t>(std::distance(
      s.padding_received.upper_bound(first_output), s.padding_received.lower_bound(last->second)));
  EXPECT_EQ(span - media - padding, 0) << "holes in the output numbering";
  f.output_holes += static_cast<uint64_t>(span - media - padding);
  f.downstream_lost += s.down.lost();
  f.subscriber_gave_up += s.nacks.stats().given_up;
}

Figures ForwardingSimulation::figures() {
  Figures f;
  f.media_packets = publisher_.media.size();
  f.padding_packets = publisher_.history.size() - publisher_.media.size();
  f.keyframes = keyframes_produced_;
  f.upstream_lost = publisher_.to_sfu.lost();
  f.upstream_nacked = upstream_nacks_.stats().nacked;
  f.upstream_recovered = upstream_nacks_.stats().recovered;
  f.publisher_resent = publisher_resent_;
  f.forwarded = forwarded_;
  f.subscriber_nacked = subscriber_nacked_;
  f.cache_hits = cache_hits_;
  f.cache_misses = cache_misses_;
  f.keyframe_requests_from_subscribers = requests_from_subscribers_;
  f.keyframe_requests_sent = sent_requests_us_.size();
  f.keyframe_requests_at_publisher = publisher_.requests_received_us.size();
  f.keyframe_requests_absorbed = keyframes_.stats().requests_absorbed;
  f.min_gap_sent_us = sim::smallest_gap(sent_requests_us_);
  f.min_gap_at_publisher_us = sim::smallest_gap(publisher_.requests_received_us);
  f.checked_packets = publisher_.checked_media.size() * kSubscribers;
  f.late_padding_forwarded = late_padding_forwarded_;
  f.upstream_report = upstream_stats_.report_block(kSimulationEnd);
  for (const Subscriber& s : subscribers_) add_subscriber_figures(publisher_, s, f);
  return f;
}

TEST(ForwardingSimulation, EverySubscriberRecoversEveryPacketAndKeyframeRequestsAreThrottled) {
  const Figures f = ForwardingSimulation().run();
  sim::print(f, kSubscribers, kMediaEnd, kSimulationEnd);
  EXPECT_EQ(f.residual_lost, 0u);
  EXPECT_EQ(f.output_holes, 0u);
  EXPECT_EQ(f.subscriber_gave_up, 0u);
  // Losses happened on every kind of hop, and NACKs repaired them.
  EXPECT_GT(f.upstream_lost, 50u);
  EXPECT_GT(f.downstream_lost, 1000u);
  EXPECT_GT(f.cache_hits, f.downstream_lost);
  EXPECT_GT(f.cache_misses, 0u);
  // Keyframe requests: many asked, at most one per min interval reached the publisher.
  EXPECT_GT(f.keyframe_requests_from_subscribers, 20 * f.keyframe_requests_sent);
  EXPECT_GE(f.min_gap_sent_us, kMinKeyframeInterval);
  EXPECT_GE(f.min_gap_at_publisher_us, kMinKeyframeInterval - kJitter);  // path jitter
  EXPECT_LE(f.lost_before_first_received, 2u);
  EXPECT_LE(f.keyframe_requests_sent, kSimulationEnd / kMinKeyframeInterval + 1);
  EXPECT_GT(f.keyframe_requests_at_publisher, 0u);
}

TEST(ForwardingSimulation, IsDeterministic) {
  EXPECT_EQ(ForwardingSimulation().run(), ForwardingSimulation().run());
}

}  // namespace
}  // namespace partyline::rtp
