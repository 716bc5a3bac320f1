#include "room_media.hpp"

#include <algorithm>
#include <cstring>

#include "bridge_json.hpp"

namespace audiobridge {

namespace {

// Frames mixed in one tick at most when the timer fell behind; further
// behind than that, the clock restarts from now instead of bursting.
constexpr int kMaxCatchUpFrames = 3;

}  // namespace

RoomMedia::RoomMedia(std::string room, const MixerConfig& config, MediaPort& port)
    : room_(std::move(room)), port_(port), mixer_(config) {
  seats_.reserve(config.max_participants);
}

bool RoomMedia::attach(const SeatConfig& config) {
  if (find(config.id) != nullptr) return true;
  if (mixer_.add_participant(config.id) != RoomMixer::Join::kOk) return false;
  mixer_.set_muted(config.id, config.muted);
  mixer_.set_gain(config.id, config.gain);
  Seat seat;
  seat.config = config;
  seats_.push_back(std::move(seat));
  if (clock_ == nullptr) {
    clock_ = config.handle;
    next_frame_ = Micros{0};
    port_.start_clock(clock_, kClockPeriodMs);
  }
  return true;
}

void RoomMedia::detach(uint32_t id) {
  auto found = std::find_if(seats_.begin(), seats_.end(), [id](const Seat& seat) { return seat.config.id == id; });
  if (found == seats_.end()) return;
  pl_handle* handle = found->config.handle;
  mixer_.remove_participant(id);
  seats_.erase(found);
  if (clock_ != handle || uses(handle)) return;
  port_.stop_clock(handle);
  clock_ = seats_.empty() ? nullptr : seats_.front().config.handle;
  if (clock_ != nullptr) port_.start_clock(clock_, kClockPeriodMs);
}

void RoomMedia::configure(uint32_t id, bool muted, float gain, const std::string& display) {
  Seat* seat = find(id);
  if (seat == nullptr) return;
  seat->config.muted = muted;
  seat->config.gain = gain;
  seat->config.display = display;
  mixer_.set_muted(seat->config.id, muted);
  mixer_.set_gain(seat->config.id, gain);
}

void RoomMedia::set_incoming_payload_type(uint32_t id, uint8_t payload_type) {
  if (Seat* seat = find(id)) seat->config.incoming_payload_type = payload_type;
}

void RoomMedia::receive(uint32_t id, std::span<const uint8_t> packet, Micros now) {
  Seat* seat = find(id);
  if (seat == nullptr) return;
  auto rtp = parse_rtp(packet, seat->config.level_id);
  if (!rtp || rtp->payload_type != seat->config.incoming_payload_type) {
    ++packets_malformed_;
    return;
  }
  (void)mixer_.receive(seat->config.id, rtp->sequence, rtp->timestamp, rtp->payload, now, rtp->audio_level);
}

void RoomMedia::tick(pl_handle* handle, Micros now) {
  if (handle != clock_) return;  // a timer being handed over
  if (next_frame_ != Micros{0} && now - next_frame_ > kMaxCatchUpFrames * kFrameDuration) {
    // Too far behind to catch up: the frames not mixed still pass on each
    // stream's clock, so clients see a gap, not late packets.
    const auto skipped = static_cast<uint32_t>((now - next_frame_) / kFrameDuration);
    for (Seat& seat : seats_) seat.timestamp += skipped * kFrameSamples;
    next_frame_ = now;
  }
  if (next_frame_ == Micros{0}) next_frame_ = now;
  for (int frames = 0; now >= next_frame_ && frames < kMaxCatchUpFrames; ++frames) {
    mix_frame(now);
    next_frame_ += kFrameDuration;
  }
}

void RoomMedia::mix_frame(Micros now) {
  const MixedFrame frame = mixer_.mix(now);
  for (size_t i = 0; i < frame.outputs.size(); ++i) {
    const MixOutput& output = frame.outputs[i];
    Seat* seat = find(output.participant, i);
    if (seat == nullptr) continue;
    // The stream's clock advances every frame, sent or not, so a gap reads
    // as a loss to the client rather than as time standing still.
    const uint32_t timestamp = seat->timestamp;
    seat->timestamp += kFrameSamples;
    if (output.payload.empty()) continue;
    write_rtp_header(packet_, seat->config.payload_type, !seat->started, seat->sequence++, timestamp, seat->config.ssrc);
    std::memcpy(packet_.data() + kRtpHeaderBytes, output.payload.data(), output.payload.size());
    port_.send_rtp(seat->config, std::span<const uint8_t>(packet_.data(), kRtpHeaderBytes + output.payload.size()));
    seat->started = true;
    ++packets_sent_;
  }
  for (const TalkEvent& event : frame.events) {
    const Seat* talker = find(event.participant);
    if (talker == nullptr) continue;
    if (talker->config.talking != nullptr) talker->config.talking->store(event.started, std::memory_order_relaxed);
    announce(event.started ? "talking" : "stopped-talking", *talker);
  }
}

void RoomMedia::announce(const char* kind, const Seat& talker) {
  const std::string json = participant_event(kind, room_, ParticipantView(talker.config.id, talker.config.display));
  for (const Seat& seat : seats_) port_.push_event(seat.config.handle, json);
}

RoomMedia::Seat* RoomMedia::find(uint32_t id, size_t hint) {
  if (hint < seats_.size() && seats_[hint].config.id == id) return &seats_[hint];
  for (Seat& seat : seats_) {
    if (seat.config.id == id) return &seat;
  }
  return nullptr;
}

bool RoomMedia::uses(const pl_handle* handle) const {
  return std::any_of(seats_.begin(), seats_.end(), [handle](const Seat& seat) { return seat.config.handle == handle; });
}

}  // namespace audiobridge
