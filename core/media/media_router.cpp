#include "core/media/media_router.hpp"

#include <atomic>

#include <algorithm>
#include <bit>
#include <stdexcept>

namespace partyline::core {

StreamKey next_stream_key() {
  static std::atomic<StreamKey> last{0};
  StreamKey key = last.fetch_add(1, std::memory_order_relaxed) + 1;
  while (key == 0) key = last.fetch_add(1, std::memory_order_relaxed) + 1;
  return key;
}


namespace {

RouterDrop to_router_drop(rtp::LegDrop drop) {
  switch (drop) {
    case rtp::LegDrop::kUnknownPayloadType: return RouterDrop::kLegUnknownPayloadType;
    case rtp::LegDrop::kBadExtensions: return RouterDrop::kLegBadExtensions;
    case rtp::LegDrop::kTooLarge: return RouterDrop::kLegTooLarge;
    case rtp::LegDrop::kNotCached: return RouterDrop::kNotCached;
    case rtp::LegDrop::kPaddingOnly: return RouterDrop::kPaddingOnly;
    case rtp::LegDrop::kTooOld:
    case rtp::LegDrop::kNone:
    case rtp::LegDrop::kCount: break;
  }
  return RouterDrop::kLegTooOld;
}

}  // namespace

std::string_view to_string(RouterDrop drop) {
  switch (drop) {
    case RouterDrop::kMalformedRtp: return "malformed_rtp";
    case RouterDrop::kRingFull: return "ring_full";
    case RouterDrop::kLegUnknownPayloadType: return "unknown_payload_type";
    case RouterDrop::kLegBadExtensions: return "bad_extensions";
    case RouterDrop::kLegTooOld: return "too_old";
    case RouterDrop::kLegTooLarge: return "too_large";
    case RouterDrop::kSendFailed: return "send_failed";
    case RouterDrop::kSinkNotReady: return "transport_not_ready";
    case RouterDrop::kProtectFailed: return "protect_failed";
    case RouterDrop::kNotCached: return "not_cached";
    case RouterDrop::kPaddingOnly: return "padding_only";
    case RouterDrop::kCount: break;
  }
  return "unknown";
}

// ---- WorkerRouter: publisher side ----

WorkerRouter::WorkerRouter(MediaFabric& fabric, size_t index) : fabric_(fabric), index_(index) {}

void WorkerRouter::add_source(StreamKey key, SourceOwner* owner) { sources_[key].owner = owner; }

void WorkerRouter::remove_source(StreamKey key) {
  auto it = sources_.find(key);
  if (it == sources_.end()) return;
  // Interest outlives the publisher: a publisher that comes back with the
  // same key is forwarded at once.
  it->second.owner = nullptr;
  if (it->second.remote_workers == 0) sources_.erase(it);
}

void WorkerRouter::on_source_rtp(StreamKey key, const rtp::RtpPacketView& packet, int64_t now_us) {
  auto it = sources_.find(key);
  if (it != sources_.end() && it->second.remote_workers != 0 && packet.packet.size() > PacketRing::kSlotBytes) {
    count(RouterDrop::kLegTooLarge);  // no ring slot holds it; local legs may still take it
  } else if (it != sources_.end()) {
    for (uint64_t workers = it->second.remote_workers; workers != 0; workers &= workers - 1) {
      const size_t worker = static_cast<size_t>(std::countr_zero(workers));
      if (fabric_.ring(index_, worker).try_push(packet.packet, key)) {
        fabric_.wake(worker);
      } else {
        count(RouterDrop::kRingFull);
      }
    }
  }
  deliver(key, packet, now_us);
}

void WorkerRouter::set_remote_interest(StreamKey key, size_t worker, bool wanted) {
  Source& source = sources_[key];
  const uint64_t bit = uint64_t{1} << worker;
  source.remote_workers = wanted ? source.remote_workers | bit : source.remote_workers & ~bit;
  if (!source.owner && source.remote_workers == 0) sources_.erase(key);
}

void WorkerRouter::keyframe_request(StreamKey key, rtp::KeyframeRequestReason reason) {
  auto it = sources_.find(key);
  if (it != sources_.end() && it->second.owner) it->second.owner->on_keyframe_request(key, reason);
}

void WorkerRouter::retransmission_request(StreamKey key, std::vector<uint16_t> sequence_numbers) {
  auto it = sources_.find(key);
  if (it != sources_.end() && it->second.owner) it->second.owner->on_retransmission_request(key, sequence_numbers);
}

// ---- WorkerRouter: subscriber side ----

// A simulcast leg takes every layer: each layer key gets the leg, its
// interest and a keyframe request (the leg starts on a keyframe of the
// layer it picks, and a keyframe of each tells it the layers' heights).
void WorkerRouter::add_leg(SubscriberLeg* leg, bool cacheable) {
  for (const StreamKey key : leg->keys()) {
    Subscription& subscription = subscriptions_[key];
    const bool first = subscription.legs.empty();
    subscription.legs.push_back(leg);
    if (cacheable && !subscription.cache) {
      subscription.cache.emplace(fabric_.options().cache_packets, PacketRing::kSlotBytes,
                                 fabric_.options().cache_max_age_us);
    }
    const size_t source_worker = leg->source_worker;
    if (first && source_worker != index_) {
      const size_t me = index_;
      fabric_.post(source_worker, [&fabric = fabric_, source_worker, key, me] {
        fabric.router(source_worker).set_remote_interest(key, me, true);
      });
    }
    post_keyframe_request(key, source_worker, rtp::KeyframeRequestReason::kNewSubscriber);
  }
  ++leg_count_;
}

void WorkerRouter::remove_leg(SubscriberLeg* leg) {
  bool removed = false;
  for (const StreamKey key : leg->keys()) {
    auto it = subscriptions_.find(key);
    if (it == subscriptions_.end()) continue;
    auto& legs = it->second.legs;
    auto position = std::find(legs.begin(), legs.end(), leg);
    if (position == legs.end()) continue;
    legs.erase(position);
    removed = true;
    if (!legs.empty()) continue;
    subscriptions_.erase(it);
    const size_t source_worker = leg->source_worker;
    if (source_worker != index_) {
      const size_t me = index_;
      fabric_.post(source_worker, [&fabric = fabric_, source_worker, key, me] {
        fabric.router(source_worker).set_remote_interest(key, me, false);
      });
    }
  }
  if (removed) --leg_count_;
}

void WorkerRouter::post_keyframe_request(StreamKey key, size_t source_worker, rtp::KeyframeRequestReason reason) {
  fabric_.post(source_worker, [&fabric = fabric_, source_worker, key, reason] {
    fabric.router(source_worker).keyframe_request(key, reason);
  });
}

void WorkerRouter::request_keyframe(const SubscriberLeg& leg, rtp::KeyframeRequestReason reason) {
  post_keyframe_request(leg.current, leg.source_worker, reason);
}

void WorkerRouter::on_leg_nack(SubscriberLeg& leg, std::span<const uint16_t> sequence_numbers, int64_t now_us) {
  auto it = subscriptions_.find(leg.current);
  const rtp::RetransmissionBuffer* cache =
      it != subscriptions_.end() && it->second.cache ? &*it->second.cache : nullptr;
  nack_misses_.clear();
  for (uint16_t sequence_number : sequence_numbers) {
    auto source_sequence = leg.leg.source_sequence_number(sequence_number);
    if (!source_sequence) {
      count(RouterDrop::kNotCached);  // beyond the rewriter's window: nobody can help
      continue;
    }
    auto stored = cache ? cache->find(*source_sequence, now_us) : std::nullopt;
    if (!stored) {
      nack_misses_.push_back(*source_sequence);
      count(RouterDrop::kNotCached);
      continue;
    }
    auto parsed = rtp::parse_rtp_packet(*stored);
    if (!parsed) {
      count(RouterDrop::kMalformedRtp);
      continue;
    }
    send(leg, leg.leg.retransmit(*parsed, scratch_, now_us), true);
  }
  if (nack_misses_.empty()) return;
  const StreamKey key = leg.current;
  const size_t source_worker = leg.source_worker;
  fabric_.post(source_worker, [&fabric = fabric_, source_worker, key, misses = nack_misses_] {
    fabric.router(source_worker).retransmission_request(key, misses);
  });
}

// ---- WorkerRouter: the per-packet path ----

void WorkerRouter::send(SubscriberLeg& leg, rtp::LegPacket written, bool retransmission) {
  if (written.length == 0) {
    count(to_router_drop(written.drop));
    return;
  }
  switch (leg.sink->send_leg_rtp(scratch_, written.length)) {
    case ice::SendResult::kSent: break;
    case ice::SendResult::kNoPath:
    case ice::SendResult::kNotSecure: count(RouterDrop::kSinkNotReady); return;
    case ice::SendResult::kProtectFailed: count(RouterDrop::kProtectFailed); return;
    case ice::SendResult::kSocketRefused:
    case ice::SendResult::kCount: count(RouterDrop::kSendFailed); return;
  }
  ++(retransmission ? retransmitted_ : forwarded_);
}

void WorkerRouter::deliver(StreamKey key, const rtp::RtpPacketView& packet, int64_t now_us) {
  auto it = subscriptions_.find(key);
  if (it == subscriptions_.end()) return;
  Subscription& subscription = it->second;
  if (subscription.cache) (void)subscription.cache->store(packet.sequence_number, packet.packet, now_us);
  // What a simulcast leg's choice needs of the packet, read once for all its legs.
  std::optional<LayerPacket> layer_packet;
  for (SubscriberLeg* leg : subscription.legs) {
    if (leg->layer_count > 0) {
      if (!layer_packet) layer_packet = read_layer_packet(leg->codec, packet);
      if (!selects(*leg, key, *layer_packet, packet.payload.size(), now_us)) continue;
    }
    send(*leg, leg->leg.forward(packet, std::span(scratch_.data(), PacketRing::kSlotBytes + 2), now_us), false);
  }
}

WorkerRouter::LayerPacket WorkerRouter::read_layer_packet(rtp::VideoCodec codec, const rtp::RtpPacketView& packet) {
  LayerPacket read{rtp::is_keyframe_start(codec, packet.payload), std::nullopt};
  if (read.keyframe && codec == rtp::VideoCodec::kVp8) {
    if (auto size = rtp::vp8_keyframe_size(packet.payload)) read.height = size->height;
  }
  return read;
}

bool WorkerRouter::selects(SubscriberLeg& leg, StreamKey key, const LayerPacket& packet, size_t bytes,
                           int64_t now_us) {
  size_t layer = 0;
  while (layer < leg.layer_count && leg.layers[layer] != key) ++layer;
  const bool forward = leg.selector.on_packet(layer, now_us, packet.keyframe, packet.height, bytes);
  if (forward) leg.current = key;
  if (auto wanted = leg.selector.keyframe_wanted(now_us)) {
    post_keyframe_request(leg.layers[*wanted], leg.source_worker, rtp::KeyframeRequestReason::kNewSubscriber);
  }
  return forward;
}

size_t WorkerRouter::drain(int64_t now_us) {
  fabric_.clear_wake(index_);
  size_t total = 0;
  const size_t workers = fabric_.size();
  bool more = true;
  while (more) {
    more = false;
    for (size_t from = 0; from < workers; ++from) {
      if (from == index_) continue;
      const size_t popped =
          fabric_.ring(from, index_).pop_batch(fabric_.options().drain_batch, [&](std::span<const uint8_t> bytes, uint32_t key) {
            auto parsed = rtp::parse_rtp_packet(bytes);
            if (!parsed) {
              count(RouterDrop::kMalformedRtp);
              return;
            }
            deliver(key, *parsed, now_us);
          });
      total += popped;
      if (popped == fabric_.options().drain_batch) more = true;
    }
  }
  return total;
}

// ---- MediaFabric ----

MediaFabric::MediaFabric(size_t workers, RouterOptions options, Poster poster, Waker waker)
    : options_(options), poster_(std::move(poster)), waker_(std::move(waker)) {
  if (workers == 0 || workers > kMaxWorkers) throw std::invalid_argument("MediaFabric: 1 to 64 workers");
  for (size_t i = 0; i < workers; ++i) routers_.push_back(std::make_unique<WorkerRouter>(*this, i));
  rings_.resize(workers * workers);
  for (size_t from = 0; from < workers; ++from) {
    for (size_t to = 0; to < workers; ++to) {
      if (from != to) rings_[from * workers + to] = std::make_unique<PacketRing>(options_.ring_packets);
    }
  }
  wake_pending_ = std::make_unique<WakeFlag[]>(workers);
}

size_t MediaFabric::queued_for(size_t worker) const {
  size_t queued = 0;
  for (size_t from = 0; from < routers_.size(); ++from) {
    if (from != worker) queued += rings_[from * routers_.size() + worker]->depth();
  }
  return queued;
}

void MediaFabric::post(size_t worker, std::function<void()> task) {
  if (poster_) {
    poster_(worker, std::move(task));
  } else {
    task();
  }
}

void MediaFabric::wake(size_t worker) {
  if (!waker_) return;
  if (!wake_pending_[worker].flag.exchange(true, std::memory_order_acq_rel)) waker_(worker);
}

}  // namespace partyline::core
