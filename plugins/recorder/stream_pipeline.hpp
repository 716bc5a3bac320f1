// One subscribed stream, from RTP packets to media units ready to mux:
// ReorderBuffer puts packets in order (asking for missing ones with NACKs),
// then a VP8 stream is joined into frames (Vp8Depacketizer) and held back
// until a keyframe (asked for at the first frame that is not one or at a
// loss, then every second until it comes), and an Opus stream passes packet by packet. Sans-I/O:
// arrival times come with the packets; requests to the publisher go out
// through a RequestSink.
#pragma once

#include <cstdint>
#include <span>

#include "media_item.hpp"
#include "reorder_buffer.hpp"
#include "time.hpp"
#include "vp8_depacketizer.hpp"

namespace recorder {

// Something to write: a whole VP8 frame or one Opus packet.
struct MediaUnit {
  uint32_t stream = 0;
  bool video = false;
  std::span<const uint8_t> data;  // valid during the call
  uint32_t rtp_timestamp = 0;
  Micros arrival{0};  // of the packet that completed it
  bool keyframe = false;
  uint16_t width = 0;  // of a VP8 keyframe
  uint16_t height = 0;
  uint32_t samples_48k = 0;  // an Opus packet's duration
};

class UnitSink {
 public:
  virtual ~UnitSink() = default;
  virtual void on_unit(const MediaUnit& unit) = 0;
};

// What the writer asks the publisher for; carried out on the media thread.
class RequestSink {
 public:
  virtual ~RequestSink() = default;
  virtual void request_keyframe(uint32_t stream) = 0;
  virtual void nack(uint32_t stream, std::span<const uint16_t> sequence_numbers) = 0;
};

struct StreamCounters {
  uint64_t packets = 0;
  uint64_t lost = 0;       // given up after the reorder window
  uint64_t late = 0;       // behind what was delivered, or duplicates
  uint64_t foreign = 0;    // not RTP, or another payload type
  uint64_t skipped_frames = 0;  // complete, but not decodable without the keyframe they wait for
  uint64_t keyframe_requests = 0;
};

class StreamPipeline : private ReorderSink {
 public:
  static constexpr Micros kReorderWindow{200'000};
  static constexpr Micros kKeyframeInterval{1'000'000};  // between requests while waiting for one
  static constexpr size_t kReorderSlots = 512;

  explicit StreamPipeline(const StreamInfo& info);

  // Whether its codec can be written to WebM (Opus or VP8).
  bool recordable() const { return recordable_; }
  bool video() const { return video_; }

  void on_packet(std::span<const uint8_t> packet, Micros arrival, UnitSink& units, RequestSink& requests);
  // Gives up on gaps older than the window, keeps asking for a keyframe.
  void advance(Micros now, UnitSink& units, RequestSink& requests);
  // The stream ended: everything held is delivered.
  void finish(UnitSink& units, RequestSink& requests);

  const StreamCounters& counters() const { return counters_; }
  uint64_t dropped_frames() const { return vp8_.dropped_frames(); }

 private:
  void on_packet(uint64_t sequence, std::span<const uint8_t> packet, Micros arrival) override;
  void on_lost(uint64_t first, uint64_t count) override;
  void maybe_request_keyframe(Micros now);

  uint32_t stream_;
  bool video_;
  bool recordable_;
  uint8_t payload_type_;
  ReorderBuffer reorder_;
  Vp8Depacketizer vp8_;
  bool waiting_for_keyframe_ = true;
  bool keyframe_requested_ = false;
  Micros last_keyframe_request_{0};
  Micros now_{0};  // of the call in progress
  StreamCounters counters_;
  // The sinks of the call in progress, for the ReorderSink callbacks.
  UnitSink* units_ = nullptr;
  RequestSink* requests_ = nullptr;
};

}  // namespace recorder
