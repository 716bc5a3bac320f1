#include "room_mixer.hpp"

#include <algorithm>

namespace audiobridge {

namespace {

// Gain as a Q12 fixed-point factor: the mixing loop stays in integers.
constexpr int kUnityGain = 1 << 12;

int32_t contribution(int16_t sample, int gain_q12) { return (int32_t{sample} * gain_q12) >> 12; }

}  // namespace

struct RoomMixer::Participant {
  Participant(uint32_t id_in, const MixerConfig& config, OpusFrameDecoder decoder_in, OpusFrameEncoder encoder_in)
      : id(id_in),
        jitter(config.jitter),
        decoder(std::move(decoder_in)),
        encoder(std::move(encoder_in)),
        talk(config.talk) {}

  uint32_t id;
  JitterBuffer jitter;
  OpusFrameDecoder decoder;
  OpusFrameEncoder encoder;  // used only while talking: a listener gets the shared encode
  TalkDetector talk;
  int gain_q12 = kUnityGain;
  bool muted = false;
  // This frame's state, rewritten by every mix().
  bool has_audio = false;  // pcm holds a decoded or concealed frame
  bool mixed = false;      // pcm is in the talkers' sum
  std::array<int16_t, kFrameSamples> pcm{};
  std::array<uint8_t, OpusFrameEncoder::kMaxPacket> packet{};  // its own encode, while talking
};

RoomMixer::RoomMixer(const MixerConfig& config) : config_(config) {
  participants_.reserve(config.max_participants);
  outputs_.reserve(config.max_participants);
  events_.reserve(config.max_participants);
  shared_encoder_ = OpusFrameEncoder::create(config.encoder);
}

RoomMixer::~RoomMixer() = default;

RoomMixer::Participant* RoomMixer::find(uint32_t id) const {
  // A linear scan: at most a few hundred ids, compared without hashing.
  for (const auto& participant : participants_) {
    if (participant->id == id) return participant.get();
  }
  return nullptr;
}

RoomMixer::Join RoomMixer::add_participant(uint32_t id) {
  if (find(id) != nullptr) return Join::kDuplicate;
  if (participants_.size() >= config_.max_participants) return Join::kFull;
  auto decoder = OpusFrameDecoder::create();
  auto encoder = OpusFrameEncoder::create(config_.encoder);
  if (!decoder || !encoder) return Join::kCodecError;
  participants_.push_back(std::make_unique<Participant>(id, config_, std::move(*decoder), std::move(*encoder)));
  return Join::kOk;
}

bool RoomMixer::remove_participant(uint32_t id) {
  auto found = std::find_if(participants_.begin(), participants_.end(),
                            [id](const auto& participant) { return participant->id == id; });
  if (found == participants_.end()) return false;
  participants_.erase(found);
  return true;
}

bool RoomMixer::set_muted(uint32_t id, bool muted) {
  Participant* participant = find(id);
  if (participant == nullptr) return false;
  participant->muted = muted;
  return true;
}

bool RoomMixer::set_gain(uint32_t id, float gain) {
  Participant* participant = find(id);
  if (participant == nullptr) return false;
  const float bounded = gain == gain ? std::clamp(gain, 0.0f, 4.0f) : 1.0f;  // NaN: unchanged volume
  participant->gain_q12 = static_cast<int>(bounded * kUnityGain + 0.5f);
  return true;
}

std::optional<JitterBuffer::Insert> RoomMixer::receive(uint32_t id, uint16_t sequence, uint32_t timestamp,
                                                         std::span<const uint8_t> payload, Micros arrival,
                                                         int audio_level) {
  Participant* participant = find(id);
  if (participant == nullptr) {
    ++counters_.unknown_participant;
    return std::nullopt;
  }
  return participant->jitter.insert(sequence, timestamp, payload, arrival, audio_level);
}

const JitterCounters* RoomMixer::jitter_counters(uint32_t id) const {
  const Participant* participant = find(id);
  return participant == nullptr ? nullptr : &participant->jitter.counters();
}

bool RoomMixer::talking(uint32_t id) const {
  const Participant* participant = find(id);
  return participant != nullptr && participant->talk.talking();
}

void RoomMixer::decode_frame(Participant& participant, Micros now) {
  const JitterBuffer::Frame frame = participant.jitter.pop(now);
  bool decoded = false;
  int level = 127;
  switch (frame.kind) {
    case JitterBuffer::Frame::Kind::kIdle:
      break;
    case JitterBuffer::Frame::Kind::kPacket:
      decoded = participant.decoder.decode(frame.payload, participant.pcm);
      if (!decoded) {
        ++counters_.decode_errors;
        decoded = participant.decoder.conceal(participant.pcm);
      }
      // The client's own measure when it sends one: it saw the signal before
      // encoding, and it spares a pass over the samples.
      if (decoded) level = frame.audio_level >= 0 ? frame.audio_level : level_of(participant.pcm);
      break;
    case JitterBuffer::Frame::Kind::kMissing:
      if (!frame.next.empty()) {
        ++counters_.fec_attempts;
        decoded = participant.decoder.recover(frame.next, participant.pcm);
      } else {
        decoded = participant.decoder.conceal(participant.pcm);
      }
      if (decoded) level = level_of(participant.pcm);
      break;
  }
  participant.has_audio = decoded;
  // Muted: its decoder keeps running (no artefact at unmute), but it counts
  // as silent, so it stops talking after the hold time.
  if (participant.muted) level = 127;
  switch (participant.talk.update(level, now)) {
    case TalkDetector::Transition::kStarted:
      events_.push_back({participant.id, true});
      break;
    case TalkDetector::Transition::kStopped:
      events_.push_back({participant.id, false});
      break;
    case TalkDetector::Transition::kNone:
      break;
  }
  participant.mixed = decoded && !participant.muted && participant.talk.talking();
}

std::span<const uint8_t> RoomMixer::encode(OpusFrameEncoder* encoder, std::span<uint8_t> buffer) {
  ++counters_.encodes;
  const int length = encoder == nullptr ? -1 : encoder->encode(mix_pcm_, buffer);
  if (length < 0) {
    ++counters_.encode_errors;
    return {};
  }
  return buffer.first(static_cast<size_t>(length));
}

MixedFrame RoomMixer::mix(Micros now) {
  // outputs_ and events_ hold at most one entry per participant, within the
  // capacity reserved at construction: clear() and push_back() never allocate.
  outputs_.clear();
  events_.clear();
  talkers_sum_.fill(0);
  int talkers = 0;
  bool any_listener = false;
  for (const auto& participant : participants_) {
    decode_frame(*participant, now);
    if (!participant->mixed) {
      any_listener = true;
      continue;
    }
    ++talkers;
    for (int i = 0; i < kFrameSamples; ++i) talkers_sum_[i] += contribution(participant->pcm[i], participant->gain_q12);
  }

  int encodes = 0;
  std::span<const uint8_t> shared_payload;
  if (any_listener) {
    // Everyone not mixed hears every talker: one encode for all of them.
    for (int i = 0; i < kFrameSamples; ++i) mix_pcm_[i] = saturate16(talkers_sum_[i]);
    shared_payload = encode(shared_encoder_ ? &*shared_encoder_ : nullptr, shared_packet_);
    ++encodes;
  }
  for (const auto& participant : participants_) {
    if (!participant->mixed) {
      outputs_.push_back({participant->id, shared_payload, true});
      continue;
    }
    // A talker hears every talker but itself: its own contribution taken
    // back out of the unclipped sum, then clipped.
    for (int i = 0; i < kFrameSamples; ++i) {
      mix_pcm_[i] = saturate16(talkers_sum_[i] - contribution(participant->pcm[i], participant->gain_q12));
    }
    outputs_.push_back({participant->id, encode(&participant->encoder, participant->packet), false});
    ++encodes;
  }
  ++counters_.frames;
  return MixedFrame{outputs_, events_, talkers, encodes};
}

}  // namespace audiobridge
