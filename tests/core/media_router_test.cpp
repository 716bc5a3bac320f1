// The forwarding plane: WorkerRouter and MediaFabric. Most tests run on one
// thread with a fabric without poster or waker (control tasks run inline,
// rings are drained by hand); the last one runs real worker threads.
#include "core/media/media_router.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <utility>
#include <vector>

#include "core/runtime/event_loop.hpp"
#include "rtp/packet/rtp_packet.hpp"
#include "rtp/srtp/srtp_session.hpp"

namespace partyline::core {
namespace {

using Bytes = std::vector<uint8_t>;
using rtp::KeyframeRequestReason;

constexpr StreamKey kKey = 7;
constexpr StreamKey kOtherKey = 8;
constexpr uint32_t kPublisherSsrc = 0x5EED0001;
constexpr uint8_t kPublisherPt = 96;
constexpr uint8_t kLegPt = 100;
constexpr uint8_t kLegRtxPt = 101;
constexpr uint16_t kFirstLegSequence = 1000;
constexpr uint16_t kFirstRtxSequence = 500;
constexpr uint16_t kFirstSourceSequence = 200;
constexpr int64_t kNow = 1'000'000;

// Records what a subscriber's transport would have sent.
class RecordingSink : public LegSink {
 public:
  ice::SendResult send_leg_rtp(std::span<uint8_t> buffer, size_t length) override {
    room_for_trailer = room_for_trailer && buffer.size() >= length + rtp::kSrtpMaxTrailer;
    if (result != ice::SendResult::kSent) return result;
    packets.emplace_back(buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(length));
    return ice::SendResult::kSent;
  }
  std::vector<uint16_t> sequence_numbers() const {
    std::vector<uint16_t> numbers;
    for (const Bytes& packet : packets) numbers.push_back(rtp::parse_rtp_packet(packet)->sequence_number);
    return numbers;
  }

  std::vector<Bytes> packets;
  ice::SendResult result = ice::SendResult::kSent;  // what the transport says
  bool room_for_trailer = true;
};

class RecordingOwner : public SourceOwner {
 public:
  void on_keyframe_request(StreamKey key, KeyframeRequestReason reason) override {
    keyframe_requests.emplace_back(key, reason);
  }
  void on_retransmission_request(StreamKey key, std::span<const uint16_t> sequence_numbers) override {
    retransmission_requests.emplace_back(key, std::vector<uint16_t>(sequence_numbers.begin(), sequence_numbers.end()));
  }
  std::vector<std::pair<StreamKey, KeyframeRequestReason>> keyframe_requests;
  std::vector<std::pair<StreamKey, std::vector<uint16_t>>> retransmission_requests;
};

Bytes payload_for(uint16_t sequence_number) {
  Bytes payload(100);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(sequence_number + 3 * i);
  return payload;
}

Bytes source_packet(uint16_t sequence_number, uint8_t payload_type = kPublisherPt) {
  rtp::RtpHeaderSpec header;
  header.payload_type = payload_type;
  header.sequence_number = sequence_number;
  header.timestamp = 3000u * sequence_number;
  header.ssrc = kPublisherSsrc;
  Bytes out(200);
  const auto size = rtp::serialize_rtp_packet(header, payload_for(sequence_number), out);
  out.resize(*size);
  return out;
}

// The publisher sends source sequence numbers first, first + 1, ...
void publish(WorkerRouter& router, uint16_t first, size_t count, int64_t now_us = kNow) {
  for (size_t i = 0; i < count; ++i) {
    const Bytes packet = source_packet(static_cast<uint16_t>(first + i));
    router.on_source_rtp(kKey, *rtp::parse_rtp_packet(packet), now_us);
  }
}

rtp::LegConfig leg_config(uint32_t ssrc, bool rtx = false) {
  rtp::LegConfig config;
  config.ssrc = ssrc;
  config.clock_rate = 90'000;
  config.payload_types.fill(rtp::LegConfig::kNoPayloadType);
  config.payload_types[kPublisherPt] = kLegPt;
  if (rtx) {
    config.rtx_ssrc = ssrc + 1;
    config.rtx_payload_type = kLegRtxPt;
  }
  config.first_sequence_number = kFirstLegSequence;
  config.first_rtx_sequence_number = kFirstRtxSequence;
  return config;
}

// A subscriber's leg and where its packets land.
struct TestLeg {
  TestLeg(size_t source_worker, uint32_t ssrc, bool rtx = false, StreamKey key = kKey)
      : leg(key, source_worker, leg_config(ssrc, rtx), &sink) {}
  RecordingSink sink;
  SubscriberLeg leg;
};

std::vector<uint16_t> consecutive(uint16_t first, size_t count) {
  std::vector<uint16_t> numbers;
  for (size_t i = 0; i < count; ++i) numbers.push_back(static_cast<uint16_t>(first + i));
  return numbers;
}

TEST(MediaRouterTest, EveryLocalLegGetsEveryPacket) {
  MediaFabric fabric(1);
  WorkerRouter& router = fabric.router(0);
  RecordingOwner owner;
  router.add_source(kKey, &owner);
  std::vector<std::unique_ptr<TestLeg>> legs;
  for (uint32_t i = 0; i < 3; ++i) {
    legs.push_back(std::make_unique<TestLeg>(0, 0xA000 + 16 * i));
    router.add_leg(&legs.back()->leg, false);
  }
  EXPECT_EQ(router.leg_count(), 3u);
  publish(router, kFirstSourceSequence, 20);
  for (const auto& leg : legs) {
    ASSERT_EQ(leg->sink.packets.size(), 20u);
    EXPECT_EQ(leg->sink.sequence_numbers(), consecutive(kFirstLegSequence, 20));
    for (size_t i = 0; i < 20; ++i) {
      const auto view = rtp::parse_rtp_packet(leg->sink.packets[i]);
      EXPECT_EQ(view->ssrc, leg->leg.leg.ssrc());
      EXPECT_EQ(view->payload_type, kLegPt);
      EXPECT_EQ(Bytes(view->payload.begin(), view->payload.end()),
                payload_for(static_cast<uint16_t>(kFirstSourceSequence + i)));
    }
    EXPECT_TRUE(leg->sink.room_for_trailer);
  }
  EXPECT_EQ(router.forwarded(), 60u);
  for (size_t reason = 0; reason < static_cast<size_t>(RouterDrop::kCount); ++reason) {
    EXPECT_EQ(router.drops(static_cast<RouterDrop>(reason)), 0u) << to_string(static_cast<RouterDrop>(reason));
  }
}

TEST(MediaRouterTest, RemoteLegsGetPacketsOnlyAfterTheirWorkerDrains) {
  MediaFabric fabric(3);
  RecordingOwner owner;
  fabric.router(0).add_source(kKey, &owner);
  TestLeg local(0, 0xA0);
  TestLeg remote_a(0, 0xB0);
  TestLeg remote_b(0, 0xC0);
  TestLeg third_worker(0, 0xD0);
  fabric.router(0).add_leg(&local.leg, false);
  fabric.router(1).add_leg(&remote_a.leg, false);
  fabric.router(1).add_leg(&remote_b.leg, false);
  fabric.router(2).add_leg(&third_worker.leg, false);

  // More than one drain batch (64), so drain must go round again.
  constexpr size_t kPackets = 150;
  publish(fabric.router(0), kFirstSourceSequence, kPackets);
  EXPECT_EQ(local.sink.packets.size(), kPackets);
  EXPECT_TRUE(remote_a.sink.packets.empty());
  EXPECT_TRUE(remote_b.sink.packets.empty());
  EXPECT_TRUE(third_worker.sink.packets.empty());

  // One ring copy per worker, however many legs it serves.
  EXPECT_EQ(fabric.router(1).drain(kNow), kPackets);
  EXPECT_EQ(remote_a.sink.sequence_numbers(), consecutive(kFirstLegSequence, kPackets));
  EXPECT_EQ(remote_b.sink.sequence_numbers(), consecutive(kFirstLegSequence, kPackets));
  EXPECT_TRUE(third_worker.sink.packets.empty());
  EXPECT_EQ(fabric.router(2).drain(kNow), kPackets);
  EXPECT_EQ(third_worker.sink.sequence_numbers(), consecutive(kFirstLegSequence, kPackets));
  EXPECT_EQ(fabric.router(1).drain(kNow), 0u);

  EXPECT_EQ(fabric.router(0).forwarded(), kPackets);
  EXPECT_EQ(fabric.router(1).forwarded(), 2 * kPackets);
  EXPECT_EQ(fabric.router(2).forwarded(), kPackets);
}

TEST(MediaRouterTest, PacketsStopEnteringTheRingWithTheLastRemoteLeg) {
  MediaFabric fabric(2);
  RecordingOwner owner;
  fabric.router(0).add_source(kKey, &owner);
  TestLeg first(0, 0xA0);
  TestLeg second(0, 0xB0);
  WorkerRouter& subscriber_worker = fabric.router(1);
  subscriber_worker.add_leg(&first.leg, false);
  subscriber_worker.add_leg(&second.leg, false);

  publish(fabric.router(0), 10, 1);
  EXPECT_EQ(subscriber_worker.drain(kNow), 1u);
  subscriber_worker.remove_leg(&first.leg);
  publish(fabric.router(0), 11, 1);
  EXPECT_EQ(subscriber_worker.drain(kNow), 1u) << "the second leg still wants the stream";
  EXPECT_EQ(first.sink.packets.size(), 1u);
  EXPECT_EQ(second.sink.packets.size(), 2u);

  subscriber_worker.remove_leg(&second.leg);
  EXPECT_EQ(subscriber_worker.leg_count(), 0u);
  subscriber_worker.remove_leg(&second.leg);  // twice: harmless
  EXPECT_EQ(subscriber_worker.leg_count(), 0u);
  publish(fabric.router(0), 12, 5);
  EXPECT_EQ(subscriber_worker.drain(kNow), 0u) << "no worker wants the stream: nothing queued";

  subscriber_worker.add_leg(&first.leg, false);
  publish(fabric.router(0), 17, 1);
  EXPECT_EQ(subscriber_worker.drain(kNow), 1u);
  EXPECT_EQ(first.sink.packets.size(), 2u);
  EXPECT_EQ(fabric.router(0).drops(RouterDrop::kRingFull), 0u);
}

TEST(MediaRouterTest, SubscriberBeforePublisherReceivesOnceItSends) {
  MediaFabric fabric(2);
  TestLeg local(0, 0xA0);
  TestLeg remote(0, 0xB0);
  fabric.router(0).add_leg(&local.leg, false);
  fabric.router(1).add_leg(&remote.leg, false);

  RecordingOwner owner;
  fabric.router(0).add_source(kKey, &owner);
  publish(fabric.router(0), kFirstSourceSequence, 3);
  EXPECT_EQ(local.sink.sequence_numbers(), consecutive(kFirstLegSequence, 3));
  EXPECT_EQ(fabric.router(1).drain(kNow), 3u);
  EXPECT_EQ(remote.sink.sequence_numbers(), consecutive(kFirstLegSequence, 3));

  // The publisher leaves and comes back under the same key: still wanted.
  fabric.router(0).remove_source(kKey);
  fabric.router(0).add_source(kKey, &owner);
  publish(fabric.router(0), kFirstSourceSequence + 3, 2);
  EXPECT_EQ(fabric.router(1).drain(kNow), 2u);
  EXPECT_EQ(remote.sink.sequence_numbers(), consecutive(kFirstLegSequence, 5));
  fabric.router(1).request_keyframe(remote.leg);
  EXPECT_EQ(owner.keyframe_requests.back(), std::make_pair(kKey, KeyframeRequestReason::kLoss));
}

TEST(MediaRouterTest, KeyframeRequestsReachTheSourceOwner) {
  MediaFabric fabric(2);
  RecordingOwner owner;
  fabric.router(0).add_source(kKey, &owner);
  TestLeg local(0, 0xA0);
  TestLeg remote(0, 0xB0);
  TestLeg unpublished(0, 0xC0, false, kOtherKey);

  fabric.router(0).add_leg(&local.leg, false);
  fabric.router(1).add_leg(&remote.leg, false);
  fabric.router(1).add_leg(&unpublished.leg, false);  // nobody publishes kOtherKey: nobody asked
  using Request = std::pair<StreamKey, KeyframeRequestReason>;
  EXPECT_EQ(owner.keyframe_requests, (std::vector<Request>{{kKey, KeyframeRequestReason::kNewSubscriber},
                                                           {kKey, KeyframeRequestReason::kNewSubscriber}}));
  fabric.router(1).request_keyframe(remote.leg);
  fabric.router(0).request_keyframe(local.leg);
  fabric.router(1).request_keyframe(unpublished.leg);
  EXPECT_EQ(owner.keyframe_requests,
            (std::vector<Request>{{kKey, KeyframeRequestReason::kNewSubscriber},
                                  {kKey, KeyframeRequestReason::kNewSubscriber},
                                  {kKey, KeyframeRequestReason::kLoss},
                                  {kKey, KeyframeRequestReason::kLoss}}));

  // The subscriber's transport became able to receive: asked as a new subscriber.
  fabric.router(1).request_keyframe(remote.leg, KeyframeRequestReason::kNewSubscriber);
  EXPECT_EQ(owner.keyframe_requests.back(), (Request{kKey, KeyframeRequestReason::kNewSubscriber}));

  // A publisher that left is no longer asked.
  fabric.router(0).remove_source(kKey);
  fabric.router(1).request_keyframe(remote.leg);
  EXPECT_EQ(owner.keyframe_requests.size(), 5u);
}

TEST(MediaRouterTest, NackIsAnsweredFromTheCacheAsRtx) {
  MediaFabric fabric(2);
  RecordingOwner owner;
  fabric.router(0).add_source(kKey, &owner);
  TestLeg remote(0, 0xB0, true);
  WorkerRouter& subscriber_worker = fabric.router(1);
  subscriber_worker.add_leg(&remote.leg, true);
  publish(fabric.router(0), kFirstSourceSequence, 10);
  ASSERT_EQ(subscriber_worker.drain(kNow), 10u);

  const std::vector<uint16_t> nacked = {kFirstLegSequence + 3, kFirstLegSequence + 7};
  subscriber_worker.on_leg_nack(remote.leg, nacked, kNow + 50'000);
  ASSERT_EQ(remote.sink.packets.size(), 12u);
  for (size_t i = 0; i < nacked.size(); ++i) {
    const auto rtx = rtp::parse_rtp_packet(remote.sink.packets[10 + i]);
    const auto original = rtp::parse_rtp_packet(remote.sink.packets[nacked[i] - kFirstLegSequence]);
    EXPECT_EQ(rtx->ssrc, 0xB0u + 1);
    EXPECT_EQ(rtx->payload_type, kLegRtxPt);
    EXPECT_EQ(rtx->sequence_number, kFirstRtxSequence + i);
    EXPECT_EQ(rtx->timestamp, original->timestamp);
    ASSERT_EQ(rtx->payload.size(), original->payload.size() + 2);
    EXPECT_EQ((rtx->payload[0] << 8) | rtx->payload[1], nacked[i]);
    EXPECT_EQ(Bytes(rtx->payload.begin() + 2, rtx->payload.end()),
              Bytes(original->payload.begin(), original->payload.end()));
  }
  EXPECT_EQ(subscriber_worker.retransmitted(), 2u);
  EXPECT_EQ(subscriber_worker.forwarded(), 10u);
  EXPECT_TRUE(owner.retransmission_requests.empty());
  EXPECT_EQ(subscriber_worker.drops(RouterDrop::kNotCached), 0u);
}

TEST(MediaRouterTest, NackMissesAskThePublisherWithSourceNumbers) {
  MediaFabric fabric(2);
  RecordingOwner owner;
  fabric.router(0).add_source(kKey, &owner);
  TestLeg audio(0, 0xA0);       // not cacheable: every NACK is a miss
  TestLeg video(0, 0xB0, true);  // cacheable, but the cache ages out
  WorkerRouter& subscriber_worker = fabric.router(1);
  subscriber_worker.add_leg(&audio.leg, false);
  publish(fabric.router(0), kFirstSourceSequence, 10);
  ASSERT_EQ(subscriber_worker.drain(kNow), 10u);

  const std::vector<uint16_t> nacked = {kFirstLegSequence + 2, kFirstLegSequence + 5};
  subscriber_worker.on_leg_nack(audio.leg, nacked, kNow);
  using Request = std::pair<StreamKey, std::vector<uint16_t>>;
  EXPECT_EQ(owner.retransmission_requests,
            (std::vector<Request>{{kKey, {kFirstSourceSequence + 2, kFirstSourceSequence + 5}}}));
  EXPECT_EQ(subscriber_worker.drops(RouterDrop::kNotCached), 2u);
  EXPECT_EQ(audio.sink.packets.size(), 10u);

  // A packet lost on the way from the publisher: asked for by its own number.
  publish(fabric.router(0), kFirstSourceSequence + 11, 1);  // + 10 lost
  ASSERT_EQ(subscriber_worker.drain(kNow), 1u);
  ASSERT_EQ(audio.sink.sequence_numbers().back(), kFirstLegSequence + 11);
  const std::vector<uint16_t> lost_upstream = {kFirstLegSequence + 10};
  subscriber_worker.on_leg_nack(audio.leg, lost_upstream, kNow);
  ASSERT_EQ(owner.retransmission_requests.size(), 2u);
  EXPECT_EQ(owner.retransmission_requests[1], (Request{kKey, {kFirstSourceSequence + 10}}));
  EXPECT_EQ(subscriber_worker.drops(RouterDrop::kNotCached), 3u);

  // A number the leg never sent: nobody can help, nobody is asked.
  const std::vector<uint16_t> never_sent = {kFirstLegSequence + 40};
  subscriber_worker.on_leg_nack(audio.leg, never_sent, kNow);
  EXPECT_EQ(owner.retransmission_requests.size(), 2u);
  EXPECT_EQ(subscriber_worker.drops(RouterDrop::kNotCached), 4u);

  subscriber_worker.add_leg(&video.leg, true);
  publish(fabric.router(0), kFirstSourceSequence + 12, 4);
  ASSERT_EQ(subscriber_worker.drain(kNow), 4u);
  const std::vector<uint16_t> nacked_late = {kFirstLegSequence + 1};
  const int64_t too_late = kNow + fabric.options().cache_max_age_us + 1;
  subscriber_worker.on_leg_nack(video.leg, nacked_late, too_late);
  ASSERT_EQ(owner.retransmission_requests.size(), 3u);
  EXPECT_EQ(owner.retransmission_requests[2], (Request{kKey, {kFirstSourceSequence + 13}}));
  EXPECT_EQ(subscriber_worker.retransmitted(), 0u);
}

TEST(MediaRouterTest, FullRingIsCounted) {
  RouterOptions options;
  options.ring_packets = 4;
  MediaFabric fabric(2, options);
  RecordingOwner owner;
  fabric.router(0).add_source(kKey, &owner);
  TestLeg remote(0, 0xB0);
  fabric.router(1).add_leg(&remote.leg, false);
  publish(fabric.router(0), kFirstSourceSequence, 10);
  EXPECT_EQ(fabric.router(0).drops(RouterDrop::kRingFull), 6u);
  EXPECT_EQ(fabric.router(1).drain(kNow), 4u);
  EXPECT_EQ(remote.sink.sequence_numbers(), consecutive(kFirstLegSequence, 4));
  publish(fabric.router(0), kFirstSourceSequence + 10, 1);
  EXPECT_EQ(fabric.router(1).drain(kNow), 1u) << "room again after the drain";
}

TEST(MediaRouterTest, RefusedSendsAndUnknownPayloadTypesAreCounted) {
  MediaFabric fabric(1);
  WorkerRouter& router = fabric.router(0);
  RecordingOwner owner;
  router.add_source(kKey, &owner);
  TestLeg leg(0, 0xA0);
  router.add_leg(&leg.leg, false);
  leg.sink.result = ice::SendResult::kSocketRefused;
  publish(router, kFirstSourceSequence, 5);
  EXPECT_EQ(router.drops(RouterDrop::kSendFailed), 5u);
  EXPECT_EQ(router.forwarded(), 0u);
  EXPECT_TRUE(leg.sink.room_for_trailer);
  // A transport not secure yet (or closing) is counted apart from a refusal.
  leg.sink.result = ice::SendResult::kNotSecure;
  publish(router, kFirstSourceSequence + 5, 3);
  EXPECT_EQ(router.drops(RouterDrop::kSinkNotReady), 3u);
  EXPECT_EQ(router.drops(RouterDrop::kSendFailed), 5u);
  EXPECT_EQ(to_string(RouterDrop::kSinkNotReady), "transport_not_ready");
  // So is a packet SRTP would not protect.
  leg.sink.result = ice::SendResult::kProtectFailed;
  publish(router, kFirstSourceSequence + 8, 2);
  EXPECT_EQ(router.drops(RouterDrop::kProtectFailed), 2u);
  EXPECT_EQ(router.drops(RouterDrop::kSendFailed), 5u);

  leg.sink.result = ice::SendResult::kSent;
  const Bytes other_codec = source_packet(kFirstSourceSequence + 10, 98);
  router.on_source_rtp(kKey, *rtp::parse_rtp_packet(other_codec), kNow);
  EXPECT_EQ(router.drops(RouterDrop::kLegUnknownPayloadType), 1u);
  publish(router, kFirstSourceSequence + 11, 1);
  EXPECT_EQ(router.forwarded(), 1u);
  EXPECT_EQ(to_string(RouterDrop::kRingFull), "ring_full");
}

// Two real worker threads: the publisher's packets cross from worker 0 to
// worker 1 through the ring, woken by the waker, every one in order.
TEST(MediaRouterTest, PacketsCrossWorkerThreadsInOrder) {
  constexpr size_t kBursts = 40;
  constexpr size_t kPacketsPerBurst = 100;
  constexpr size_t kPackets = kBursts * kPacketsPerBurst;
  std::vector<std::unique_ptr<EventLoop>> loops;
  loops.push_back(std::make_unique<EventLoop>("worker-0"));
  loops.push_back(std::make_unique<EventLoop>("worker-1"));
  RouterOptions options;
  options.ring_packets = kPackets;  // no drop, however the threads are scheduled
  std::unique_ptr<MediaFabric> fabric;
  fabric = std::make_unique<MediaFabric>(
      2, options, [&loops](size_t worker, std::function<void()> task) { loops[worker]->post(std::move(task)); },
      [&loops, &fabric](size_t worker) {
        loops[worker]->post([&fabric, worker] { fabric->router(worker).drain(kNow); });
      });
  for (auto& loop : loops) loop->start();

  RecordingOwner owner;
  TestLeg remote(0, 0xB0);
  std::promise<void> all_arrived;
  class CountingSink : public RecordingSink {
   public:
    explicit CountingSink(std::promise<void>& done) : done_(done) {}
    ice::SendResult send_leg_rtp(std::span<uint8_t> buffer, size_t length) override {
      on_worker_1 = on_worker_1 && worker_1->on_loop_thread();
      const ice::SendResult sent = RecordingSink::send_leg_rtp(buffer, length);
      if (packets.size() == kPackets) done_.set_value();
      return sent;
    }
    EventLoop* worker_1 = nullptr;
    bool on_worker_1 = true;

   private:
    std::promise<void>& done_;
  } sink(all_arrived);
  sink.worker_1 = loops[1].get();
  remote.leg.sink = &sink;

  loops[0]->run_sync([&] { fabric->router(0).add_source(kKey, &owner); });
  // add_leg posts the interest to worker 0; a task posted after it runs after it.
  loops[1]->run_sync([&] { fabric->router(1).add_leg(&remote.leg, false); });
  loops[0]->run_sync([&] {
    EXPECT_EQ(owner.keyframe_requests.size(), 1u);
  });
  for (size_t burst = 0; burst < kBursts; ++burst) {
    loops[0]->post([&fabric, burst] {
      publish(fabric->router(0), static_cast<uint16_t>(kFirstSourceSequence + burst * kPacketsPerBurst),
              kPacketsPerBurst);
    });
  }

  auto arrived = all_arrived.get_future();
  const bool in_time = arrived.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
  EXPECT_TRUE(in_time) << "packets waited in the ring without a wake-up";
  if (!in_time) loops[1]->run_sync([&] { fabric->router(1).drain(kNow); });

  loops[1]->run_sync([&] {
    EXPECT_TRUE(sink.on_worker_1);
    EXPECT_EQ(sink.sequence_numbers(), consecutive(kFirstLegSequence, kPackets));
    for (size_t i = 0; i < sink.packets.size(); i += 997) {
      const auto view = rtp::parse_rtp_packet(sink.packets[i]);
      EXPECT_EQ(Bytes(view->payload.begin(), view->payload.end()),
                payload_for(static_cast<uint16_t>(kFirstSourceSequence + i)));
    }
    EXPECT_EQ(fabric->router(1).forwarded(), kPackets);
    fabric->router(1).remove_leg(&remote.leg);
  });
  loops[0]->run_sync([&] { EXPECT_EQ(fabric->router(0).drops(RouterDrop::kRingFull), 0u); });
  // Stop the threads before the fabric their tasks point into goes away.
  for (auto& loop : loops) loop->stop();
}

}  // namespace
}  // namespace partyline::core
