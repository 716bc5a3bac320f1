// One participant's jitter buffer: Opus packets in as they arrive (any order),
// one 20 ms frame out per mixing tick. Sans-I/O: arrival times and `now` are
// passed in.
//
// Playout follows the RTP sequence number: one packet is one 20 ms frame
// (the bridge asks clients for 20 ms packets). The first packet is held for
// `target_delay` before playout starts; that delay is also how late a
// reordered packet may be and still be played. A packet whose frame was
// already played (or concealed) is too late and dropped. When the frame due
// is missing, pop() says so and hands over the next packet if it is held, so
// the caller can run Opus FEC from it, else Opus PLC. When nothing is held
// for `max_conceal` ticks in a row the participant went quiet (DTX, a
// stall): playout stops and restarts, with a fresh prebuffer, at the next
// packet. A sequence jump larger than `reset_distance` either way is a
// stray packet, dropped; when the next packet follows it, the two are a new
// stream (a client restart), not a loss: the buffer resets to them.
//
// Sequence numbers are widened to 64 bits on the way in, so nothing after
// does wrap arithmetic. Storage is fixed at construction (capacity slots of
// kMaxPayload bytes): insert() and pop() never allocate, they run per packet
// and per tick on the media thread.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "media_time.hpp"

namespace audiobridge {

struct JitterConfig {
  Micros target_delay{40000};  // prebuffer before playout, also the reorder allowance
  size_t capacity = 16;        // frames held at most (320 ms)
  int max_conceal = 3;         // ticks concealed with nothing held before playout stops
  uint64_t reset_distance = 500;  // a sequence jump beyond this is a new stream
};

struct JitterCounters {
  uint64_t received = 0;    // packets accepted into the buffer
  uint64_t played = 0;      // frames popped with their packet
  uint64_t concealed = 0;   // frames popped as missing (PLC or FEC by the caller)
  uint64_t duplicates = 0;
  uint64_t late = 0;        // arrived after their frame was played or concealed
  uint64_t overflow = 0;    // held packets dropped to make room (sender ahead of us)
  uint64_t too_large = 0;   // payload over kMaxPayload
  uint64_t strays = 0;      // dropped: beyond reset_distance from the stream
  uint64_t resets = 0;      // two strays in sequence, taken as a new stream
  uint64_t rebuffers = 0;   // playout stopped after running dry, restarted later
};

class JitterBuffer {
 public:
  // One Opus frame of 20 ms is at most 1275 bytes plus its TOC byte.
  static constexpr size_t kMaxPayload = 1276;

  enum class Insert { kAccepted, kDuplicate, kLate, kTooLarge, kStray };

  struct Frame {
    enum class Kind {
      kIdle,     // no playout (not started, prebuffering, or quiet): no audio this tick
      kPacket,   // `payload` is this frame's packet
      kMissing,  // this frame is lost: conceal it; `next` is the following packet when held (FEC)
    };
    Kind kind = Kind::kIdle;
    std::span<const uint8_t> payload;  // kPacket
    std::span<const uint8_t> next;     // kMissing: empty unless the next frame's packet is held
    uint32_t timestamp = 0;            // kPacket: the packet's RTP timestamp
    int audio_level = -1;              // kPacket: RFC 6464 level sent with it, -1 when none
  };

  explicit JitterBuffer(const JitterConfig& config);

  // `audio_level`: the RFC 6464 level (0 loudest .. 127 silence) of the
  // packet's header extension, or -1.
  Insert insert(uint16_t sequence, uint32_t timestamp, std::span<const uint8_t> payload, Micros arrival,
                int audio_level = -1);

  // The frame due at this tick. Its spans stay valid until the next insert().
  Frame pop(Micros now);

  const JitterCounters& counters() const { return counters_; }
  // Packets held now (played ones excluded).
  size_t held() const;

 private:
  struct Slot {
    uint64_t sequence = 0;
    bool present = false;
    uint32_t timestamp = 0;
    int audio_level = -1;
    size_t size = 0;
  };

  void start_at(uint16_t sequence, Micros arrival);
  uint64_t widen(uint16_t sequence) const;
  size_t index(uint64_t sequence) const { return sequence % slots_.size(); }
  bool holds(uint64_t sequence) const;
  std::span<const uint8_t> bytes_of(uint64_t sequence) const;
  void make_room_for(uint64_t wide);

  JitterConfig config_;
  std::vector<Slot> slots_;
  std::vector<uint8_t> storage_;  // capacity * kMaxPayload, slot i at i * kMaxPayload
  bool started_ = false;   // a packet fixed the sequence origin
  bool playing_ = false;   // prebuffer done
  bool quiet_ = false;     // ran dry: playout stopped until the next packet
  Micros first_arrival_{0};
  uint64_t next_ = 0;      // the next frame to play
  uint64_t highest_ = 0;   // the highest sequence number held or played (next_ - 1 when none)
  int dry_ticks_ = 0;
  bool has_stray_ = false;  // the last packet was a stray: `stray_` may start a new stream
  uint16_t stray_ = 0;
  JitterCounters counters_;
};

}  // namespace audiobridge
