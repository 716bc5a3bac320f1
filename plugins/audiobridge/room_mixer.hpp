// One room's audio mix, one 20 ms frame (48 kHz, mono) per tick. Sans-I/O:
// Opus packets come in with their arrival time, mix(now) returns each
// participant's encoded Opus payload for this frame and the talking
// transitions; packetizing (RTP sequence numbers, timestamps, SSRC) and
// sending are the caller's.
//
// Each participant gets the mix of all the others, never its own voice.
// Only talkers are mixed (TalkDetector: a noise gate with a hold time), so
// every participant who is not talking hears the same thing: the mix of all
// talkers. That mix is encoded once and its payload shared; each talker gets
// an encode of its own (all talkers minus itself). Encodes per frame:
// talkers + 1 (talkers alone when everyone talks), not one per participant.
// Decoding is still one per participant with audio: the level that decides
// who talks comes from the decoded signal, unless the client sends RFC 6464.
//
// Everything per participant (decoder, encoder, jitter buffer, PCM and
// packet buffers) is allocated in add_participant(); receive() and mix()
// never allocate: they run per packet and per 20 ms tick on the media
// thread, where an allocation's latency (and lock) would hit every room the
// thread serves.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "jitter_buffer.hpp"
#include "media_time.hpp"
#include "opus_codec.hpp"
#include "talk_detector.hpp"

namespace audiobridge {

struct MixerConfig {
  size_t max_participants = 100;
  JitterConfig jitter;
  TalkConfig talk;
  EncoderConfig encoder;
};

// One participant's payload for this frame. `shared` when it is the
// listeners' common encode (the same bytes for each of them).
struct MixOutput {
  uint32_t participant = 0;
  std::span<const uint8_t> payload;  // valid until the next mix(); empty when the encode failed
  bool shared = false;
};

struct TalkEvent {
  uint32_t participant = 0;
  bool started = false;  // false: stopped
};

struct MixedFrame {
  std::span<const MixOutput> outputs;  // one per participant, in join order
  std::span<const TalkEvent> events;
  int talkers = 0;  // participants mixed into this frame
  int encodes = 0;  // Opus encoder calls made for it
};

struct MixerCounters {
  uint64_t frames = 0;
  uint64_t encodes = 0;
  uint64_t encode_errors = 0;
  uint64_t decode_errors = 0;  // corrupt or non-20 ms packets, concealed instead
  uint64_t fec_attempts = 0;   // missing frames decoded from the next packet's FEC (PLC when it has none)
  uint64_t unknown_participant = 0;  // packets for an id not in the room
};

class RoomMixer {
 public:
  enum class Join { kOk, kFull, kDuplicate, kCodecError };

  explicit RoomMixer(const MixerConfig& config);
  ~RoomMixer();
  RoomMixer(const RoomMixer&) = delete;
  RoomMixer& operator=(const RoomMixer&) = delete;

  Join add_participant(uint32_t id);
  bool remove_participant(uint32_t id);
  size_t size() const { return participants_.size(); }

  // Untrusted values are bounded: gain is clamped to 0..4 (x1 = unchanged).
  bool set_muted(uint32_t id, bool muted);
  bool set_gain(uint32_t id, float gain);

  // One Opus packet of participant `id`; `audio_level` as JitterBuffer::insert.
  // nullopt when `id` is not in the room (counted).
  std::optional<JitterBuffer::Insert> receive(uint32_t id, uint16_t sequence, uint32_t timestamp,
                                                std::span<const uint8_t> payload, Micros arrival, int audio_level = -1);

  // The frame due at `now`; call every 20 ms. Its spans stay valid until the next call.
  MixedFrame mix(Micros now);

  const MixerCounters& counters() const { return counters_; }
  // nullptr for an unknown id.
  const JitterCounters* jitter_counters(uint32_t id) const;
  bool talking(uint32_t id) const;

 private:
  struct Participant;

  Participant* find(uint32_t id) const;
  void decode_frame(Participant& participant, Micros now);
  std::span<const uint8_t> encode(OpusFrameEncoder* encoder, std::span<uint8_t> buffer);

  MixerConfig config_;
  // The mixer's own: every participant (stable addresses: unique_ptr), the
  // listeners' shared encoder and its buffers.
  std::vector<std::unique_ptr<Participant>> participants_;
  std::optional<OpusFrameEncoder> shared_encoder_;  // empty when libopus refused: listeners get nothing
  std::array<int32_t, kFrameSamples> talkers_sum_{};  // the sum of all talkers, gain applied, unclipped
  std::array<int16_t, kFrameSamples> mix_pcm_{};      // the clipped mix being encoded
  std::array<uint8_t, OpusFrameEncoder::kMaxPacket> shared_packet_{};
  // mix()'s results, reserved for max_participants.
  std::vector<MixOutput> outputs_;
  std::vector<TalkEvent> events_;
  MixerCounters counters_;
};

// Saturating int16 conversion of a sum of samples (the mix's clipping).
inline int16_t saturate16(int32_t sample) {
  return static_cast<int16_t>(sample > 32767 ? 32767 : (sample < -32768 ? -32768 : sample));
}

}  // namespace audiobridge
