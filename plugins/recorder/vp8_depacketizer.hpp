// Joins the RTP payloads of a VP8 stream into frames (RFC 7741). Sans-I/O:
// it is given the stream's packets in sequence order (after ReorderBuffer)
// and told where one is missing.
//
// A frame starts with the packet whose payload descriptor has S=1 and
// PartID=0 and ends with the RTP marker; a frame that lost a packet, or
// whose start or end never came, is dropped whole (counted): writing a
// partial frame would corrupt every frame that references it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace recorder {

struct Vp8Frame {
  std::span<const uint8_t> data;  // valid until the next call
  uint32_t timestamp = 0;         // RTP
  bool keyframe = false;
  // From a keyframe's header (RFC 6386 section 9.1), 0 otherwise.
  uint16_t width = 0;
  uint16_t height = 0;
};

// Where the VP8 payload starts after the descriptor, and whether this packet
// begins a frame. nullopt for a malformed descriptor.
struct Vp8Descriptor {
  size_t header_size = 0;
  bool frame_start = false;  // S=1 and PartID=0
};
std::optional<Vp8Descriptor> parse_vp8_descriptor(std::span<const uint8_t> payload);

class Vp8Depacketizer {
 public:
  // One RTP payload, in sequence order. Returns the frame it completes.
  std::optional<Vp8Frame> push(std::span<const uint8_t> payload, uint32_t timestamp, bool marker);
  // One or more packets in sequence are missing: the frame in progress
  // cannot complete.
  void lost();

  uint64_t frames() const { return frames_; }
  uint64_t dropped_frames() const { return dropped_; }

 private:
  void drop_in_progress();

  std::vector<uint8_t> frame_;  // reused: keeps its capacity
  bool in_frame_ = false;
  bool broken_ = false;
  uint32_t timestamp_ = 0;
  uint64_t frames_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace recorder
