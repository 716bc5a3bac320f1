#include "bench/loadgen/synthetic_publisher.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#include "rtp/byte_io.hpp"
#include "rtp/packet/rtp_packet.hpp"

namespace partyline::loadgen {

namespace {

constexpr size_t kAudioPayloadSize = 100;
constexpr uint32_t kAudioTimestampStep = 960;  // 20 ms at 48 kHz
constexpr uint32_t kVideoTimestampStep = 90000 / SyntheticPublisher::kFramesPerSecond;
constexpr size_t kVp8DescriptorSize = 4;       // X, then I with a 15-bit picture id
constexpr size_t kVp8InterHeaderSize = 3;      // frame tag
constexpr size_t kVp8KeyHeaderSize = 10;       // frame tag, start code, width, height
constexpr size_t kMinVideoPayload = kVp8DescriptorSize + kVp8KeyHeaderSize + kPayloadTrailerSize;
// A loop stalled longer than this drops what it missed instead of bursting it.
constexpr uint64_t kMaxLatenessNs = 250'000'000;

void fill(uint8_t* data, size_t length, uint32_t seed) {
  for (size_t i = 0; i < length; ++i) data[i] = static_cast<uint8_t>((seed + i) * 151u);
}

}  // namespace

SyntheticPublisher::SyntheticPublisher(const PublisherSettings& settings) : settings_(settings) {
  if (settings_.video_kbps > 0) {
    constexpr size_t kMaxPayload = kMaxPacketSize - rtp::kRtpFixedHeaderSize;
    frame_bytes_ = size_t{settings_.video_kbps} * 1000 / 8 / kFramesPerSecond;
    packets_per_frame_ = std::max<size_t>(1, (frame_bytes_ + kMaxPayload - 1) / kMaxPayload);
    frame_bytes_ = std::max(frame_bytes_, packets_per_frame_ * kMinVideoPayload);
    history_.resize(kHistorySize);
  }
}

void SyntheticPublisher::start(uint64_t now_ns, uint64_t phase_ns) {
  started_ = true;
  start_ns_ = now_ns + phase_ns;
}

void SyntheticPublisher::poll(uint64_t now_ns, const MeasurementWindow& window, PacketSink& sink) {
  if (!started_) return;
  while (settings_.audio && start_ns_ + audio_packets_due_ * kAudioPeriodNs <= now_ns) {
    const uint64_t due_ns = start_ns_ + audio_packets_due_ * kAudioPeriodNs;
    ++audio_packets_due_;
    if (now_ns - due_ns > kMaxLatenessNs) {
      ++counters_.skipped_late;
      audio_timestamp_ += kAudioTimestampStep;
      continue;
    }
    send_audio(window, sink);
  }
  while (frame_bytes_ > 0 && start_ns_ + frames_due_ * 1'000'000'000 / kFramesPerSecond <= now_ns) {
    const uint64_t due_ns = start_ns_ + frames_due_ * 1'000'000'000 / kFramesPerSecond;
    ++frames_due_;
    if (now_ns - due_ns > kMaxLatenessNs) {
      counters_.skipped_late += packets_per_frame_;
      video_timestamp_ += kVideoTimestampStep;
      continue;
    }
    send_frame(window, sink);
  }
}

uint64_t SyntheticPublisher::next_due_ns() const {
  uint64_t due = std::numeric_limits<uint64_t>::max();
  if (!started_) return due;
  if (settings_.audio) due = start_ns_ + audio_packets_due_ * kAudioPeriodNs;
  if (frame_bytes_ > 0) due = std::min(due, start_ns_ + frames_due_ * 1'000'000'000 / kFramesPerSecond);
  return due;
}

void SyntheticPublisher::request_keyframe() {
  ++counters_.keyframe_requests;
  keyframe_pending_ = true;
}

size_t SyntheticPublisher::write_header(uint8_t payload_type, bool marker, uint16_t sequence_number,
                                        uint32_t timestamp, uint32_t ssrc) {
  uint8_t* out = buffer_.data();
  out[0] = 0x80;  // version 2, no padding, extension or CSRC
  out[1] = static_cast<uint8_t>((marker ? 0x80 : 0) | payload_type);
  rtp::write_u16(out + 2, sequence_number);
  rtp::write_u32(out + 4, timestamp);
  rtp::write_u32(out + 8, ssrc);
  return rtp::kRtpFixedHeaderSize;
}

void SyntheticPublisher::send_audio(const MeasurementWindow& window, PacketSink& sink) {
  const size_t header = write_header(settings_.audio_payload_type, false, audio_sequence_++, audio_timestamp_,
                                     settings_.audio_ssrc);
  audio_timestamp_ += kAudioTimestampStep;
  uint8_t* payload = buffer_.data() + header;
  payload[0] = 0x78;  // an Opus TOC byte: SILK-only wideband, 20 ms, one frame
  fill(payload + 1, kAudioPayloadSize - 1, audio_sequence_);
  send_packet(header + kAudioPayloadSize, StreamKind::kAudio, false, window, sink);
}

void SyntheticPublisher::send_frame(const MeasurementWindow& window, PacketSink& sink) {
  const bool keyframe = keyframe_pending_;
  keyframe_pending_ = false;
  if (keyframe) ++counters_.keyframes;
  const size_t share = frame_bytes_ / packets_per_frame_;
  for (size_t index = 0; index < packets_per_frame_; ++index) {
    const bool first = index == 0;
    const bool last = index + 1 == packets_per_frame_;
    const size_t payload_size = share + (first ? frame_bytes_ % packets_per_frame_ : 0);
    const size_t header = write_header(settings_.video_payload_type, last, video_sequence_++, video_timestamp_,
                                       settings_.video_ssrc);
    uint8_t* payload = buffer_.data() + header;
    payload[0] = static_cast<uint8_t>(0x80 | (first ? 0x10 : 0));  // X, S on the first packet, partition 0
    payload[1] = 0x80;                                              // I: a picture id follows
    payload[2] = static_cast<uint8_t>(0x80 | (picture_id_ >> 8));   // M: 15-bit picture id
    payload[3] = static_cast<uint8_t>(picture_id_);
    size_t used = kVp8DescriptorSize;
    if (first) {
      // VP8 frame tag: P (bit 0) is 0 on keyframes; show_frame set.
      static constexpr uint8_t kKeyHeader[kVp8KeyHeaderSize] = {0x10, 0, 0, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01};
      static constexpr uint8_t kInterHeader[kVp8InterHeaderSize] = {0x11, 0, 0};
      const uint8_t* tag = keyframe ? kKeyHeader : kInterHeader;
      const size_t tag_size = keyframe ? kVp8KeyHeaderSize : kVp8InterHeaderSize;
      std::memcpy(payload + used, tag, tag_size);
      used += tag_size;
    }
    fill(payload + used, payload_size - used, video_sequence_);
    send_packet(header + payload_size, StreamKind::kVideo, keyframe && first, window, sink);
  }
  video_timestamp_ += kVideoTimestampStep;
  picture_id_ = static_cast<uint16_t>((picture_id_ + 1) & 0x7fff);
}

void SyntheticPublisher::send_packet(size_t length, StreamKind kind, bool keyframe, const MeasurementWindow& window,
                                     PacketSink& sink) {
  const auto k = static_cast<size_t>(kind);
  PayloadTrailer trailer{settings_.index, kind, keyframe, stream_sequence_[k]++, settings_.clock()};
  const size_t header = rtp::kRtpFixedHeaderSize;
  write_trailer(trailer, std::span(buffer_.data() + header, length - header));
  if (kind == StreamKind::kVideo) {
    SentPacket& slot = history_[rtp::read_u16(buffer_.data() + 2) % kHistorySize];
    slot.sequence_number = rtp::read_u16(buffer_.data() + 2);
    slot.length = static_cast<uint16_t>(length);
    std::memcpy(slot.bytes.data(), buffer_.data(), length);
  }
  if (!sink.send_rtp(buffer_, length)) {
    ++counters_.send_failures;
    return;
  }
  ++counters_.sent[k];
  if (window.contains(trailer.send_time_ns)) ++counters_.sent_in_window[k];
}

void SyntheticPublisher::on_nack(std::span<const uint16_t> sequence_numbers, PacketSink& sink) {
  if (history_.empty()) return;
  for (uint16_t sequence_number : sequence_numbers) {
    ++counters_.nacked_packets;
    const SentPacket& slot = history_[sequence_number % kHistorySize];
    if (slot.length == 0 || slot.sequence_number != sequence_number) continue;
    const bool marker = (slot.bytes[1] & 0x80) != 0;
    const size_t header = write_header(settings_.rtx_payload_type, marker, rtx_sequence_++,
                                       rtp::read_u32(slot.bytes.data() + 4), settings_.video_rtx_ssrc);
    rtp::write_u16(buffer_.data() + header, sequence_number);  // RFC 4588: the original sequence number
    const size_t payload = slot.length - rtp::kRtpFixedHeaderSize;
    std::memcpy(buffer_.data() + header + 2, slot.bytes.data() + rtp::kRtpFixedHeaderSize, payload);
    if (sink.send_rtp(buffer_, header + 2 + payload)) {
      ++counters_.retransmissions;
    } else {
      ++counters_.send_failures;
    }
  }
}

}  // namespace partyline::loadgen
