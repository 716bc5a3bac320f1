// Test helpers for the mixer: a participant that sends a sine tone as Opus
// (encoded with libopus, as a client would), a listener that decodes what
// the mixer sends it, and a Goertzel filter to read one tone's amplitude.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "opus_codec.hpp"

// The host's handle is opaque to plugins (partyline/plugin.h declares it);
// the tests only need distinct addresses of it.
struct pl_handle {
  int n;
};

namespace audiobridge::test {

// The amplitude of the `frequency` component of `pcm` (a sine of amplitude A
// reads about A), by the Goertzel algorithm.
double tone_amplitude(std::span<const int16_t> pcm, double frequency);

// The RMS of each `window`-sample slice of `pcm`.
std::vector<double> window_rms(std::span<const int16_t> pcm, size_t window);

class ToneSender {
 public:
  ToneSender(double frequency, double amplitude);

  // The next 20 ms packet: the tone while `on`, else silence. Its sequence
  // number and timestamp advance whether the caller delivers it or not.
  std::span<const uint8_t> next_packet(bool on);
  uint16_t sequence() const { return sequence_; }
  uint32_t timestamp() const { return timestamp_; }

 private:
  double frequency_;
  double amplitude_;
  uint64_t sample_ = 0;
  uint16_t sequence_ = 65500;  // wraps during a long test
  uint32_t timestamp_ = 12345;
  OpusFrameEncoder encoder_;
  std::vector<uint8_t> packet_;
};

class Listener {
 public:
  Listener();
  // Decodes one payload the mixer sent (an empty one is concealed).
  void receive(std::span<const uint8_t> payload);
  const std::vector<int16_t>& pcm() const { return pcm_; }
  // The samples of frames [first, end) as decoded.
  std::span<const int16_t> frames(size_t first, size_t end) const;

 private:
  OpusFrameDecoder decoder_;
  std::vector<int16_t> pcm_;
};

}  // namespace audiobridge::test
