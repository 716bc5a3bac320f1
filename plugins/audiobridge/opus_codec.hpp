// RAII owners of libopus's decoder and encoder, mono at 48 kHz, 20 ms frames.
// libopus allocates its state in *_create; each object here owns one state
// through a unique_ptr with the matching *_destroy, so no path leaks it and
// nothing else frees it. Creating one allocates (at join, on the signaling
// side of the plugin); decoding and encoding never do.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "media_time.hpp"

struct OpusDecoder;
struct OpusEncoder;

namespace audiobridge {

class OpusFrameDecoder {
 public:
  // nullopt when libopus refuses (out of memory).
  static std::optional<OpusFrameDecoder> create();

  // Each returns true with `pcm` (kFrameSamples) filled, false when libopus
  // could not produce a 20 ms frame (then `pcm` is left as it was).
  bool decode(std::span<const uint8_t> packet, std::span<int16_t, kFrameSamples> pcm);
  // Loss concealment (PLC) for one missing frame.
  bool conceal(std::span<int16_t, kFrameSamples> pcm);
  // The missing frame rebuilt from the in-band FEC of the packet after it;
  // libopus falls back to PLC when that packet carries none.
  bool recover(std::span<const uint8_t> next_packet, std::span<int16_t, kFrameSamples> pcm);

 private:
  struct Destroy {
    void operator()(OpusDecoder* decoder) const;
  };
  explicit OpusFrameDecoder(OpusDecoder* decoder) : decoder_(decoder) {}
  std::unique_ptr<OpusDecoder, Destroy> decoder_;
};

struct EncoderConfig {
  int bitrate = 32000;  // bits/s
  int complexity = 5;   // 0..10; libopus's default 10 costs about twice as much
  // > 0: in-band FEC (LBRR), sized for that loss rate: the receiver rebuilds
  // a lost frame from the packet after it. 0: none.
  int expected_loss_percent = 0;
};

class OpusFrameEncoder {
 public:
  static constexpr size_t kMaxPacket = 1276;  // one 20 ms Opus frame at most

  static std::optional<OpusFrameEncoder> create(const EncoderConfig& config);

  // The packet's length in `out`, or -1 on a libopus error.
  int encode(std::span<const int16_t, kFrameSamples> pcm, std::span<uint8_t> out);

 private:
  struct Destroy {
    void operator()(OpusEncoder* encoder) const;
  };
  explicit OpusFrameEncoder(OpusEncoder* encoder) : encoder_(encoder) {}
  std::unique_ptr<OpusEncoder, Destroy> encoder_;
};

}  // namespace audiobridge
