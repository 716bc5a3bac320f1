#include "vp8_depacketizer.hpp"

namespace recorder {

std::optional<Vp8Descriptor> parse_vp8_descriptor(std::span<const uint8_t> payload) {
  // |X|R|N|S|R| PID | then, with X: |I|L|T|K| RSV |, then I: PictureID (7 or
  // 15 bits, M says which), L: TL0PICIDX, T or K: |TID|Y| KEYIDX |.
  if (payload.empty()) return std::nullopt;
  const uint8_t first = payload[0];
  size_t size = 1;
  if ((first & 0x80) != 0) {
    if (payload.size() < 2) return std::nullopt;
    const uint8_t extensions = payload[1];
    size = 2;
    if ((extensions & 0x80) != 0) {  // I
      if (payload.size() < size + 1) return std::nullopt;
      size += (payload[size] & 0x80) != 0 ? 2 : 1;
    }
    if ((extensions & 0x40) != 0) size += 1;  // L
    if ((extensions & 0x30) != 0) size += 1;  // T or K
  }
  if (size > payload.size()) return std::nullopt;
  return Vp8Descriptor{size, (first & 0x10) != 0 && (first & 0x07) == 0};
}

namespace {

// A keyframe's frame tag (3 bytes), start code 9d 01 2a, then 14-bit width
// and height, each with 2 scaling bits on top.
void read_dimensions(Vp8Frame& frame) {
  const auto& d = frame.data;
  if (d.size() < 10 || d[3] != 0x9d || d[4] != 0x01 || d[5] != 0x2a) return;
  frame.width = static_cast<uint16_t>((d[6] | d[7] << 8) & 0x3fff);
  frame.height = static_cast<uint16_t>((d[8] | d[9] << 8) & 0x3fff);
}

}  // namespace

std::optional<Vp8Frame> Vp8Depacketizer::push(std::span<const uint8_t> payload, uint32_t timestamp, bool marker) {
  const auto descriptor = parse_vp8_descriptor(payload);
  if (!descriptor) {
    lost();  // unreadable: as if it had not come
    return std::nullopt;
  }
  if (descriptor->frame_start) {
    if (in_frame_) drop_in_progress();  // the previous frame's end never came
    frame_.clear();
    in_frame_ = true;
    broken_ = false;
    timestamp_ = timestamp;
  } else if (!in_frame_) {
    return std::nullopt;  // the rest of a frame whose start was lost (already counted)
  } else if (timestamp != timestamp_) {
    broken_ = true;  // another frame's packet without its start: ours ended unseen
  }
  const auto data = payload.subspan(descriptor->header_size);
  frame_.insert(frame_.end(), data.begin(), data.end());
  if (!marker) return std::nullopt;
  if (broken_ || frame_.empty()) {
    drop_in_progress();
    return std::nullopt;
  }
  in_frame_ = false;
  ++frames_;
  Vp8Frame frame;
  frame.data = frame_;
  frame.timestamp = timestamp_;
  frame.keyframe = (frame_[0] & 0x01) == 0;  // the P bit of the frame tag: 0 for a keyframe
  if (frame.keyframe) read_dimensions(frame);
  return frame;
}

void Vp8Depacketizer::lost() {
  if (in_frame_) {
    broken_ = true;
  } else {
    // The missing packets began (or were) the next frame: what follows
    // without a start is skipped. Counted as one frame, at least one was.
    ++dropped_;
  }
}

void Vp8Depacketizer::drop_in_progress() {
  in_frame_ = false;
  broken_ = false;
  ++dropped_;
}

}  // namespace recorder
