#include "tone_tools.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cmath>

namespace audiobridge::test {

double tone_amplitude(std::span<const int16_t> pcm, double frequency) {
  const double coefficient = 2.0 * std::cos(2.0 * M_PI * frequency / kSampleRate);
  double previous = 0.0;
  double before = 0.0;
  for (int16_t sample : pcm) {
    const double current = sample + coefficient * previous - before;
    before = previous;
    previous = current;
  }
  const double power = previous * previous + before * before - coefficient * previous * before;
  return pcm.empty() ? 0.0 : 2.0 * std::sqrt(std::max(power, 0.0)) / static_cast<double>(pcm.size());
}

std::vector<double> window_rms(std::span<const int16_t> pcm, size_t window) {
  std::vector<double> out;
  for (size_t start = 0; start + window <= pcm.size(); start += window) {
    double energy = 0.0;
    for (size_t i = start; i < start + window; ++i) energy += static_cast<double>(pcm[i]) * pcm[i];
    out.push_back(std::sqrt(energy / static_cast<double>(window)));
  }
  return out;
}

namespace {

OpusFrameEncoder make_encoder() {
  EncoderConfig config;
  config.bitrate = 32000;
  auto encoder = OpusFrameEncoder::create(config);
  if (!encoder) throw std::runtime_error("opus encoder");
  return std::move(*encoder);
}

OpusFrameDecoder make_decoder() {
  auto decoder = OpusFrameDecoder::create();
  if (!decoder) throw std::runtime_error("opus decoder");
  return std::move(*decoder);
}

}  // namespace

ToneSender::ToneSender(double frequency, double amplitude)
    : frequency_(frequency), amplitude_(amplitude), encoder_(make_encoder()), packet_(OpusFrameEncoder::kMaxPacket) {}

std::span<const uint8_t> ToneSender::next_packet(bool on) {
  std::array<int16_t, kFrameSamples> pcm{};
  for (int i = 0; i < kFrameSamples; ++i, ++sample_) {
    const double phase = 2.0 * M_PI * frequency_ * static_cast<double>(sample_) / kSampleRate;
    pcm[i] = on ? static_cast<int16_t>(std::lround(amplitude_ * std::sin(phase))) : 0;
  }
  ++sequence_;
  timestamp_ += kFrameSamples;
  const int length = encoder_.encode(pcm, packet_);
  EXPECT_GT(length, 0);
  return std::span<const uint8_t>(packet_).first(length > 0 ? static_cast<size_t>(length) : 0);
}

Listener::Listener() : decoder_(make_decoder()) {}

void Listener::receive(std::span<const uint8_t> payload) {
  std::array<int16_t, kFrameSamples> pcm{};
  const bool ok = payload.empty() ? decoder_.conceal(pcm) : decoder_.decode(payload, pcm);
  EXPECT_TRUE(ok);
  pcm_.insert(pcm_.end(), pcm.begin(), pcm.end());
}

std::span<const int16_t> Listener::frames(size_t first, size_t end) const {
  const size_t from = std::min(first * kFrameSamples, pcm_.size());
  const size_t to = std::min(end * kFrameSamples, pcm_.size());
  return std::span<const int16_t>(pcm_).subspan(from, to - from);
}

}  // namespace audiobridge::test
