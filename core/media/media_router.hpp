// The SFU's forwarding plane: one WorkerRouter per media worker, and the
// MediaFabric that joins them with lock-free packet rings.
//
// A published stream (one occupant's audio or video) has a StreamKey, given
// by the control plane. Its packets enter the router of the worker that owns
// the publisher's transport (on_source_rtp). That router copies each packet
// into the ring of every other worker that has legs for the stream, wakes
// those workers once per batch, and serves its own legs. Every worker then
// serves its legs: rewrite for the leg (rtp::ForwardingLeg), then the leg's
// sink (the subscriber's transport: SRTP protect and send).
//
// Each router's tables belong to its worker thread alone. They change only
// through calls on that thread; a change another worker must know of (a
// worker starts or stops wanting a stream, a keyframe request, a NACK the
// cache cannot answer) travels as a task posted to that worker's loop. So the
// per-packet path takes no lock, allocates nothing, logs nothing: every
// packet not sent is counted in drops() by reason.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "core/media/packet_ring.hpp"
#include "ice/send_result.hpp"
#include "rtp/forward/forwarding_leg.hpp"
#include "rtp/forward/keyframe_requester.hpp"
#include "rtp/forward/layer_selector.hpp"
#include "rtp/packet/codec_keyframe.hpp"
#include "rtp/forward/retransmission_buffer.hpp"
#include "rtp/packet/rtp_packet.hpp"
#include "rtp/srtp/srtp_session.hpp"

namespace partyline::core {

// Names one published stream across the process.
using StreamKey = uint32_t;

// A key no other stream of the process had before (never 0). Taken when a
// stream starts being published, on any thread (an atomic counter), never
// per packet; it wraps after 2^32 streams, long after the first ones ended.
StreamKey next_stream_key();

// Where a leg's packets go: the subscriber's transport, or a benchmark's.
class LegSink {
 public:
  virtual ~LegSink() = default;
  // `buffer` holds `length` bytes of clear RTP and has rtp::kSrtpMaxTrailer
  // bytes of room after them (for protection in place).
  virtual ice::SendResult send_leg_rtp(std::span<uint8_t> buffer, size_t length) = 0;
};

// The publisher's side of a stream: what subscribers ask of it.
class SourceOwner {
 public:
  virtual ~SourceOwner() = default;
  virtual void on_keyframe_request(StreamKey key, rtp::KeyframeRequestReason reason) = 0;
  // Source sequence numbers that subscribers miss and no cache holds.
  virtual void on_retransmission_request(StreamKey key, std::span<const uint16_t> sequence_numbers) = 0;
};

// One subscriber's leg of one stream. Owned by the subscriber's side, which
// registers it with its worker's router and removes it before destroying it.
//
// A simulcast stream has a key per layer (`layers`, in the publisher's
// order; `key` is the first): the leg receives every layer's packets and
// forwards one, chosen by its rtp::LayerSelector and switched at a keyframe
// of the new layer (its codec says what a keyframe is). Keyframe requests
// and NACK misses then go to the layer forwarded now (`current`).
struct SubscriberLeg {
  SubscriberLeg(StreamKey key, size_t source_worker, const rtp::LegConfig& config, LegSink* sink,
                std::span<const StreamKey> layers = {}, rtp::VideoCodec codec = rtp::VideoCodec::kOther)
      : key(key),
        current(key),
        source_worker(source_worker),
        leg(config),
        sink(sink),
        layer_count(layers.size() > 1 ? std::min(layers.size(), rtp::LayerSelector::kMaxLayers) : 0),
        selector(layer_count),
        codec(codec) {
    for (size_t i = 0; i < layer_count; ++i) this->layers[i] = layers[i];
  }
  StreamKey key;      // the stream (for simulcast, its first layer)
  StreamKey current;  // the layer forwarded now (key when not simulcast)
  size_t source_worker;  // the worker of the publisher's transport
  rtp::ForwardingLeg leg;
  LegSink* sink;
  std::array<StreamKey, rtp::LayerSelector::kMaxLayers> layers{};
  size_t layer_count;  // 0: one layer (key)
  rtp::LayerSelector selector;
  rtp::VideoCodec codec;
  // The keys the leg receives: its layers, or its one key.
  std::span<const StreamKey> keys() const {
    return layer_count > 0 ? std::span<const StreamKey>(layers.data(), layer_count) : std::span<const StreamKey>(&key, 1);
  }
};

enum class RouterDrop : uint8_t {
  kMalformedRtp,          // a ring packet that does not parse (never expected)
  kRingFull,              // the ring to another worker was full
  kLegUnknownPayloadType,
  kLegBadExtensions,
  kLegTooOld,
  kLegTooLarge,
  kSendFailed,            // the socket refused it: buffer full, unreachable
  kSinkNotReady,          // the subscriber's transport has no path or is not secure yet, or is closing
  kProtectFailed,         // SRTP protection refused it
  kNotCached,             // a NACKed packet no longer in the cache (asked upstream)
  kPaddingOnly,           // nothing to forward (bandwidth probing); takes no leg number
  kCount,
};
std::string_view to_string(RouterDrop drop);

struct RouterOptions {
  size_t ring_packets = 2048;        // per ordered pair of workers (~3 MB each)
  size_t cache_packets = 512;        // per video stream per worker, for NACKs
  int64_t cache_max_age_us = 2'000'000;
  size_t drain_batch = 64;           // packets popped per ring per round
};

class MediaFabric;

class WorkerRouter {
 public:
  WorkerRouter(MediaFabric& fabric, size_t index);
  WorkerRouter(const WorkerRouter&) = delete;
  WorkerRouter& operator=(const WorkerRouter&) = delete;

  size_t index() const { return index_; }

  // Publisher side, on this worker. `cacheable` streams (video) are kept
  // for NACKs by every worker that serves them.
  void add_source(StreamKey key, SourceOwner* owner);
  void remove_source(StreamKey key);
  // A clear RTP packet of stream `key` (parsed as `packet`) from its publisher.
  void on_source_rtp(StreamKey key, const rtp::RtpPacketView& packet, int64_t now_us);

  // Subscriber side, on this worker. add_leg also asks the publisher for a
  // keyframe (a new subscriber must start on one).
  void add_leg(SubscriberLeg* leg, bool cacheable);
  void remove_leg(SubscriberLeg* leg);
  // The subscriber asked for a keyframe (PLI/FIR) of its leg's stream, or
  // (kNewSubscriber) its transport just became able to receive one.
  void request_keyframe(const SubscriberLeg& leg,
                        rtp::KeyframeRequestReason reason = rtp::KeyframeRequestReason::kLoss);
  // The subscriber NACKed these of the leg's sequence numbers: answered from
  // this worker's cache of the stream, the misses asked of the publisher.
  void on_leg_nack(SubscriberLeg& leg, std::span<const uint16_t> sequence_numbers, int64_t now_us);

  // Serves the packets other workers queued for this one; returns how many.
  size_t drain(int64_t now_us);

  uint64_t forwarded() const { return forwarded_; }
  uint64_t retransmitted() const { return retransmitted_; }
  uint64_t drops(RouterDrop reason) const { return drops_[static_cast<size_t>(reason)]; }
  size_t leg_count() const { return leg_count_; }

 private:
  friend class MediaFabric;
  struct Source {
    SourceOwner* owner = nullptr;          // null until the publisher is here
    uint64_t remote_workers = 0;           // bit w: worker w has legs for it
  };
  struct Subscription {
    std::vector<SubscriberLeg*> legs;
    std::optional<rtp::RetransmissionBuffer> cache;
  };

  void deliver(StreamKey key, const rtp::RtpPacketView& packet, int64_t now_us);
  // What a simulcast leg decides by: whether the packet starts a keyframe,
  // and the picture height it declares (VP8).
  struct LayerPacket {
    bool keyframe = false;
    std::optional<uint32_t> height;
  };
  static LayerPacket read_layer_packet(rtp::VideoCodec codec, const rtp::RtpPacketView& packet);
  // A simulcast leg's choice for a packet of layer `key`: whether to forward
  // it (and asks for the keyframe a switch waits for).
  bool selects(SubscriberLeg& leg, StreamKey key, const LayerPacket& packet, size_t bytes, int64_t now_us);
  void post_keyframe_request(StreamKey key, size_t source_worker, rtp::KeyframeRequestReason reason);
  void send(SubscriberLeg& leg, rtp::LegPacket written, bool retransmission);
  void count(RouterDrop reason) { ++drops_[static_cast<size_t>(reason)]; }
  // Control messages from other workers (run on this worker).
  void set_remote_interest(StreamKey key, size_t worker, bool wanted);
  void keyframe_request(StreamKey key, rtp::KeyframeRequestReason reason);
  void retransmission_request(StreamKey key, std::vector<uint16_t> sequence_numbers);

  MediaFabric& fabric_;
  size_t index_;
  std::unordered_map<StreamKey, Source> sources_;
  std::unordered_map<StreamKey, Subscription> subscriptions_;
  size_t leg_count_ = 0;
  uint64_t forwarded_ = 0;
  uint64_t retransmitted_ = 0;
  std::array<uint64_t, static_cast<size_t>(RouterDrop::kCount)> drops_{};
  // One leg's packet at a time: an MTU plus RTX's 2 bytes plus the SRTP trailer.
  std::array<uint8_t, PacketRing::kSlotBytes + 2 + rtp::kSrtpMaxTrailer> scratch_{};
  std::vector<uint16_t> nack_misses_;  // reused
};

class MediaFabric {
 public:
  // Runs `task` on worker `worker`'s thread (EventLoop::post in the server).
  using Poster = std::function<void(size_t worker, std::function<void()> task)>;
  // Makes worker `worker` call drain() soon (from any thread).
  using Waker = std::function<void(size_t worker)>;

  // Without a poster, tasks run at once on the calling thread, and without a
  // waker nothing is woken: right for one thread that drains itself (tests,
  // benchmarks).
  MediaFabric(size_t workers, RouterOptions options = {}, Poster poster = nullptr, Waker waker = nullptr);
  MediaFabric(const MediaFabric&) = delete;
  MediaFabric& operator=(const MediaFabric&) = delete;

  size_t size() const { return routers_.size(); }
  WorkerRouter& router(size_t worker) { return *routers_[worker]; }
  const WorkerRouter& router(size_t worker) const { return *routers_[worker]; }
  const RouterOptions& options() const { return options_; }

  static constexpr size_t kMaxWorkers = 64;  // a bit per worker in Source

  // Packets other workers queued for `worker` that it has not drained yet.
  size_t queued_for(size_t worker) const;

 private:
  friend class WorkerRouter;
  PacketRing& ring(size_t from, size_t to) { return *rings_[from * routers_.size() + to]; }
  void post(size_t worker, std::function<void()> task);
  // Producer side: wakes `worker` unless a wake-up is already pending.
  void wake(size_t worker);
  // Consumer side, before draining: later pushes wake again.
  // A read-modify-write, not a plain store: it reads the producer's
  // exchange(true), so that push happens-before the pops that follow; with a
  // store, the ring's tail could be read before the clear is visible and a
  // packet pushed meanwhile would wait for the next wake-up.
  void clear_wake(size_t worker) { (void)wake_pending_[worker].flag.exchange(false, std::memory_order_acq_rel); }

  struct alignas(64) WakeFlag {
    std::atomic<bool> flag{false};
  };

  RouterOptions options_;
  Poster poster_;
  Waker waker_;
  std::vector<std::unique_ptr<WorkerRouter>> routers_;
  std::vector<std::unique_ptr<PacketRing>> rings_;  // [from * size + to]; null on the diagonal
  std::unique_ptr<WakeFlag[]> wake_pending_;
};

}  // namespace partyline::core
