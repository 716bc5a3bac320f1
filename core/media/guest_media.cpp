#include "core/media/guest_media.hpp"

#include <algorithm>

#include "rtp/packet/rtp_packet.hpp"

namespace partyline::core {

namespace {

// A leg's SSRC from the guest's seed and the stream's number (never 0).
uint32_t leg_ssrc(uint32_t seed, uint32_t number) {
  uint32_t mixed = (seed ^ (number * 0x9e3779b9u)) * 2654435761u;
  mixed ^= mixed >> 16;
  return mixed == 0 ? 1 : mixed;
}

}  // namespace

rtp::StreamFormat guest_audio_format() {
  rtp::StreamFormat format;
  format.kind = rtp::MediaKind::kAudio;
  format.codec_name = "opus";
  format.clock_rate = 48000;
  format.payload_type = kGuestAudioPayloadType;
  return format;
}

GuestMedia::GuestMedia(WorkerRouter& router, GuestMediaSink& sink, uint32_t seed)
    : router_(router), sink_(sink), seed_(seed) {}

GuestMedia::~GuestMedia() {
  for (const auto& leg : legs_) router_.remove_leg(&leg->leg);
  if (published_key_) router_.remove_source(*published_key_);
  for (const Listener& listener : listeners_) router_.remove_source(listener.key);
}

void GuestMedia::publish(StreamKey key, const rtp::StreamFormat& format) {
  if (published_key_) router_.remove_source(*published_key_);
  published_key_ = key;
  published_payload_type_ = format.payload_type;
  router_.add_source(key, this);
}

size_t GuestMedia::set_streams(const std::vector<LegRequest>& streams) {
  // Removed first, so a stream that moved (same publisher, new key) is
  // announced gone before its successor is announced.
  for (auto it = legs_.begin(); it != legs_.end();) {
    const bool kept = std::any_of(streams.begin(), streams.end(),
                                  [&](const LegRequest& request) { return request.key == (*it)->leg.key; });
    if (kept) {
      ++it;
      continue;
    }
    router_.remove_leg(&(*it)->leg);
    const uint32_t number = (*it)->stream.number;
    it = legs_.erase(it);
    sink_.on_stream_removed(number);
  }
  size_t failed = 0;
  std::vector<Leg*> added;
  for (const LegRequest& request : streams) {
    const bool known = std::any_of(legs_.begin(), legs_.end(), [&](const auto& leg) { return leg->leg.key == request.key; });
    if (known) continue;
    // The guest speaks the publisher's numbering: same payload types, no
    // header extensions (blanked), no RTX (a NACK is answered with the
    // packet itself).
    rtp::StreamFormat own = request.source_format;
    own.extmaps.clear();
    own.rtx_payload_type.reset();
    const uint32_t number = next_number_++;
    const uint32_t ssrc = leg_ssrc(seed_, number);
    auto config = rtp::make_leg_config(request.source_format, own, ssrc, std::nullopt, ssrc * 2654435761u);
    if (!config) {
      ++failed;
      continue;
    }
    legs_.push_back(std::make_unique<Leg>(*this, number, request, *config));
    added.push_back(legs_.back().get());
  }
  // Every new stream is announced before any leg joins the router, so no
  // packet of a publisher precedes the announcement of its other streams.
  for (Leg* leg : added) sink_.on_stream_added(leg->stream);
  for (Leg* leg : added) router_.add_leg(&leg->leg, leg->stream.format.kind == rtp::MediaKind::kVideo);
  return failed;
}

void GuestMedia::remove_all_streams() {
  std::vector<uint32_t> numbers;
  for (const auto& leg : legs_) {
    router_.remove_leg(&leg->leg);
    numbers.push_back(leg->stream.number);
  }
  legs_.clear();
  for (uint32_t number : numbers) sink_.on_stream_removed(number);
}

void GuestMedia::set_listeners(const std::vector<ListenerStream>& listeners) {
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    const bool kept = std::any_of(listeners.begin(), listeners.end(),
                                  [&](const ListenerStream& listener) { return listener.key == it->key; });
    if (kept) {
      ++it;
      continue;
    }
    router_.remove_source(it->key);
    const uint32_t number = it->told.number;
    it = listeners_.erase(it);
    sink_.on_listener_removed(number);
  }
  for (const ListenerStream& listener : listeners) {
    const bool known = std::any_of(listeners_.begin(), listeners_.end(),
                                   [&](const Listener& existing) { return existing.key == listener.key; });
    if (known) continue;
    listeners_.push_back(Listener{GuestListener{next_number_++, listener.occupant, listener.name}, listener.key});
    router_.add_source(listener.key, this);
    sink_.on_listener_added(listeners_.back().told);
  }
}

GuestSendResult GuestMedia::check_packet(std::span<const uint8_t> packet, uint8_t payload_type,
                                         std::optional<rtp::RtpPacketView>& parsed) const {
  if (delivering_) return GuestSendResult::kInsideDelivery;
  auto view = rtp::parse_rtp_packet(packet);
  if (!view || view->payload_type != payload_type || packet.size() > PacketRing::kSlotBytes) {
    return GuestSendResult::kBadPacket;
  }
  parsed = *view;
  return GuestSendResult::kSent;
}

GuestSendResult GuestMedia::send_rtp(std::span<const uint8_t> packet, int64_t now_us) {
  if (!published_key_) return GuestSendResult::kNotPublishing;
  std::optional<rtp::RtpPacketView> parsed;
  if (auto checked = check_packet(packet, published_payload_type_, parsed); checked != GuestSendResult::kSent) {
    return checked;
  }
  ++stats_.packets_published;
  router_.on_source_rtp(*published_key_, *parsed, now_us);
  return GuestSendResult::kSent;
}

GuestSendResult GuestMedia::send_rtp_to(uint32_t number, std::span<const uint8_t> packet, int64_t now_us) {
  if (listeners_.empty()) return GuestSendResult::kNotPublishing;
  // Numbers grow as listeners are appended and erasing keeps the order:
  // sorted, so a mixer sending to many listeners finds each in log time.
  auto listener = std::lower_bound(listeners_.begin(), listeners_.end(), number,
                                   [](const Listener& candidate, uint32_t wanted) { return candidate.told.number < wanted; });
  if (listener == listeners_.end() || listener->told.number != number) return GuestSendResult::kNoSuchListener;
  std::optional<rtp::RtpPacketView> parsed;
  if (auto checked = check_packet(packet, kGuestAudioPayloadType, parsed);
      checked != GuestSendResult::kSent) {
    return checked;
  }
  ++stats_.packets_published;
  router_.on_source_rtp(listener->key, *parsed, now_us);
  return GuestSendResult::kSent;
}

GuestMedia::Leg* GuestMedia::leg_by_number(uint32_t number) {
  for (const auto& leg : legs_) {
    if (leg->stream.number == number) return leg.get();
  }
  return nullptr;
}

bool GuestMedia::request_keyframe(uint32_t number) {
  Leg* leg = leg_by_number(number);
  if (leg == nullptr) return false;
  router_.request_keyframe(leg->leg, rtp::KeyframeRequestReason::kLoss);
  return true;
}

bool GuestMedia::nack(uint32_t number, std::span<const uint16_t> sequence_numbers, int64_t now_us) {
  Leg* leg = leg_by_number(number);
  if (leg == nullptr) return false;
  router_.on_leg_nack(leg->leg, sequence_numbers, now_us);
  return true;
}

void GuestMedia::on_keyframe_request(StreamKey, rtp::KeyframeRequestReason) {}

void GuestMedia::on_retransmission_request(StreamKey, std::span<const uint16_t> sequence_numbers) {
  stats_.retransmissions_unanswered += sequence_numbers.size();
}

ice::SendResult GuestMedia::Leg::send_leg_rtp(std::span<uint8_t> buffer, size_t length) {
  ++owner.stats_.packets_received;
  owner.delivering_ = true;
  owner.sink_.on_stream_rtp(stream.number, buffer.first(length));
  owner.delivering_ = false;
  return ice::SendResult::kSent;
}

}  // namespace partyline::core
