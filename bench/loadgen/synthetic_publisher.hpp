// The media one publishing participant sends: Opus-sized audio (50 packets/s
// of ~100 bytes) and VP8-looking video at a given bitrate, 30 frames/s, in
// RTP packets of at most 1200 bytes, each ending with a PayloadTrailer.
// A keyframe request (PLI/FIR) makes the next frame a keyframe; a NACK is
// answered from a short history as RTX (RFC 4588).
//
// Sans-I/O: poll() takes the time and hands finished packets to a sink.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "bench/loadgen/payload.hpp"
#include "bench/loadgen/stream_reception.hpp"
#include "rtp/srtp/srtp_session.hpp"

namespace partyline::loadgen {

struct PublisherSettings {
  uint16_t index = 0;  // the participant's publisher index (in every trailer)
  bool audio = true;
  uint32_t video_kbps = 1000;  // RTP payload bitrate; 0 sends no video
  uint32_t audio_ssrc = 0;
  uint32_t video_ssrc = 0;
  uint32_t video_rtx_ssrc = 0;
  uint8_t audio_payload_type = 111;
  uint8_t video_payload_type = 96;
  uint8_t rtx_payload_type = 97;
  // Stamps each packet's send time; tests substitute a fake clock.
  uint64_t (*clock)() = &monotonic_ns;
};

struct PublisherCounters {
  std::array<uint64_t, kStreamKinds> sent{};            // fresh packets, all the time
  std::array<uint64_t, kStreamKinds> sent_in_window{};  // fresh packets sent inside the window
  uint64_t send_failures = 0;
  uint64_t keyframes = 0;
  uint64_t keyframe_requests = 0;  // PLI and FIR received
  uint64_t nacked_packets = 0;     // sequence numbers asked for
  uint64_t retransmissions = 0;    // RTX sent
  uint64_t skipped_late = 0;       // packets not sent because the loop was stalled too long
};

// Where packets go: `buffer` holds `length` bytes of RTP and room for the
// SRTP trailer after them; it may be modified. Returns false when not sent.
class PacketSink {
 public:
  virtual ~PacketSink() = default;
  virtual bool send_rtp(std::span<uint8_t> buffer, size_t length) = 0;
};

class SyntheticPublisher {
 public:
  static constexpr size_t kMaxPacketSize = 1200;  // RTP header + payload
  static constexpr uint64_t kAudioPeriodNs = 20'000'000;
  static constexpr uint32_t kFramesPerSecond = 30;

  explicit SyntheticPublisher(const PublisherSettings& settings);

  // Starts the clock: the first audio packet and video frame are due at
  // `now_ns` + `phase_ns` (spreading publishers over the period).
  void start(uint64_t now_ns, uint64_t phase_ns);
  bool started() const { return started_; }
  // Sends everything due by `now_ns`.
  void poll(uint64_t now_ns, const MeasurementWindow& window, PacketSink& sink);

  // When poll() next has something to send (max when not started).
  uint64_t next_due_ns() const;

  void request_keyframe();
  // A NACK for the video SSRC: resends what the history still has, as RTX.
  void on_nack(std::span<const uint16_t> sequence_numbers, PacketSink& sink);

  const PublisherSettings& settings() const { return settings_; }
  const PublisherCounters& counters() const { return counters_; }
  // Video packets per frame and their payload size, from the bitrate.
  size_t packets_per_frame() const { return packets_per_frame_; }

 private:
  struct SentPacket {
    uint16_t sequence_number = 0;
    uint16_t length = 0;  // 0: empty slot
    std::array<uint8_t, kMaxPacketSize> bytes{};
  };
  static constexpr size_t kHistorySize = 512;  // ~4 s of 1 Mbps video

  void send_audio(const MeasurementWindow& window, PacketSink& sink);
  void send_frame(const MeasurementWindow& window, PacketSink& sink);
  void send_packet(size_t length, StreamKind kind, bool keyframe, const MeasurementWindow& window, PacketSink& sink);
  // Writes the RTP header; returns its size.
  size_t write_header(uint8_t payload_type, bool marker, uint16_t sequence_number, uint32_t timestamp, uint32_t ssrc);

  PublisherSettings settings_;
  PublisherCounters counters_;
  bool started_ = false;
  uint64_t start_ns_ = 0;
  uint64_t audio_packets_due_ = 0;  // audio packets scheduled so far
  uint64_t frames_due_ = 0;         // video frames scheduled so far
  uint16_t audio_sequence_ = 0;
  uint16_t video_sequence_ = 0;
  uint16_t rtx_sequence_ = 0;
  uint32_t audio_timestamp_ = 0;
  uint32_t video_timestamp_ = 0;
  std::array<uint32_t, kStreamKinds> stream_sequence_{};  // the trailer's
  uint16_t picture_id_ = 0;
  bool keyframe_pending_ = true;  // the first frame is a keyframe
  size_t frame_bytes_ = 0;        // VP8 payload bytes per frame
  size_t packets_per_frame_ = 0;
  std::array<uint8_t, kMaxPacketSize + 2 + rtp::kSrtpMaxTrailer> buffer_{};
  std::vector<SentPacket> history_;
};

}  // namespace partyline::loadgen
