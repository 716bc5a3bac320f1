#include "opus_codec.hpp"

#include <opus.h>

#include <climits>

namespace audiobridge {

namespace {

int length_of(std::span<const uint8_t> bytes) {
  return bytes.size() > static_cast<size_t>(INT_MAX) ? INT_MAX : static_cast<int>(bytes.size());
}

}  // namespace

void OpusFrameDecoder::Destroy::operator()(OpusDecoder* decoder) const { opus_decoder_destroy(decoder); }
void OpusFrameEncoder::Destroy::operator()(OpusEncoder* encoder) const { opus_encoder_destroy(encoder); }

std::optional<OpusFrameDecoder> OpusFrameDecoder::create() {
  int error = OPUS_OK;
  // Mono: libopus downmixes a stereo packet itself.
  OpusDecoder* decoder = opus_decoder_create(kSampleRate, 1, &error);
  if (error != OPUS_OK || decoder == nullptr) return std::nullopt;
  return OpusFrameDecoder(decoder);
}

bool OpusFrameDecoder::decode(std::span<const uint8_t> packet, std::span<int16_t, kFrameSamples> pcm) {
  // A packet of another duration than 20 ms decodes to another sample count
  // (or fails for longer ones): refused, the caller conceals instead.
  if (packet.empty()) return false;
  return opus_decode(decoder_.get(), packet.data(), length_of(packet), pcm.data(), kFrameSamples, 0) ==
         kFrameSamples;
}

bool OpusFrameDecoder::conceal(std::span<int16_t, kFrameSamples> pcm) {
  return opus_decode(decoder_.get(), nullptr, 0, pcm.data(), kFrameSamples, 0) == kFrameSamples;
}

bool OpusFrameDecoder::recover(std::span<const uint8_t> next_packet, std::span<int16_t, kFrameSamples> pcm) {
  if (next_packet.empty()) return conceal(pcm);
  return opus_decode(decoder_.get(), next_packet.data(), length_of(next_packet), pcm.data(), kFrameSamples, 1) ==
         kFrameSamples;
}

std::optional<OpusFrameEncoder> OpusFrameEncoder::create(const EncoderConfig& config) {
  int error = OPUS_OK;
  OpusEncoder* encoder = opus_encoder_create(kSampleRate, 1, OPUS_APPLICATION_VOIP, &error);
  if (error != OPUS_OK || encoder == nullptr) return std::nullopt;
  OpusFrameEncoder owned(encoder);  // owns it from here, whatever fails next
  if (opus_encoder_ctl(encoder, OPUS_SET_BITRATE(config.bitrate)) != OPUS_OK ||
      opus_encoder_ctl(encoder, OPUS_SET_COMPLEXITY(config.complexity)) != OPUS_OK ||
      opus_encoder_ctl(encoder, OPUS_SET_INBAND_FEC(config.expected_loss_percent > 0 ? 1 : 0)) != OPUS_OK ||
      opus_encoder_ctl(encoder, OPUS_SET_PACKET_LOSS_PERC(config.expected_loss_percent)) != OPUS_OK) {
    return std::nullopt;
  }
  return owned;
}

int OpusFrameEncoder::encode(std::span<const int16_t, kFrameSamples> pcm, std::span<uint8_t> out) {
  const auto capacity = static_cast<opus_int32>(out.size() > kMaxPacket ? kMaxPacket : out.size());
  const opus_int32 length = opus_encode(encoder_.get(), pcm.data(), kFrameSamples, out.data(), capacity);
  return length < 0 ? -1 : static_cast<int>(length);
}

}  // namespace audiobridge
