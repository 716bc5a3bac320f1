// One room on its media thread: the mixer, each participant's outgoing RTP
// (sequence numbers and timestamps of the stream of its mix), the room's
// clock, and the talking events. A seat is a participant id: in a room of
// the bridge each seat has a handle of its own, in a mixed phone line
// (LineMix) every seat is a listener of the one handle mixing the line. Every method runs on the room's media
// thread (all its participants' handles share that thread: API 1.3
// use_media_thread), so nothing here is locked; the signaling thread
// reaches it only through tasks it queues there (run_on_media_thread).
//
// The clock is one participant handle's timer: the room mixes a frame every
// 20 ms of the steady clock, whatever the timer's drift (it fires every
// 10 ms and a frame is due by a deadline), and when the clock's handle
// leaves (no seat uses it any more), another seat's handle's timer takes
// over.
#pragma once

#include <partyline/plugin.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "media_time.hpp"
#include "opus_codec.hpp"
#include "room_mixer.hpp"
#include "plugin_rtp.hpp"

namespace audiobridge {

using plugin_rtp::kRtpHeaderBytes;
using plugin_rtp::parse_rtp;
using plugin_rtp::write_rtp_header;

struct SeatConfig;

// What the room asks of the host, about one seat or its handle.
class MediaPort {
 public:
  virtual ~MediaPort() = default;
  // One packet of the seat's mix (a bridge participant: send_rtp on its
  // handle and m-line; a line's listener: line_send_rtp_to).
  virtual void send_rtp(const SeatConfig& seat, std::span<const uint8_t> packet) = 0;
  virtual void start_clock(pl_handle* handle, uint32_t period_ms) = 0;
  virtual void stop_clock(pl_handle* handle) = 0;
  virtual void push_event(pl_handle* handle, const std::string& json) = 0;
};

// A participant as its media thread knows it (a bridge participant: from
// its negotiated answer).
struct SeatConfig {
  pl_handle* handle = nullptr;  // whose timer can be the clock; seats may share one
  uint32_t id = 0;              // the seat: unique in the room
  std::string display;
  uint32_t mline = 0;          // its audio m-line
  uint8_t payload_type = 111;  // the Opus payload type written on the stream sent to it
  uint8_t incoming_payload_type = 111;  // the one its own packets carry (others are malformed)
  uint32_t ssrc = 0;           // written on the stream sent to it; 0 leaves it to the host
  int level_id = 0;            // the RFC 6464 extension's id, 0 when not negotiated
  bool muted = false;
  float gain = 1.0f;
  // Where the room keeps the signaling thread's view of "talking" current
  // (listparticipants reads it there); may be null.
  std::atomic<bool>* talking = nullptr;
};

class RoomMedia {
 public:
  static constexpr uint32_t kClockPeriodMs = 10;

  RoomMedia(std::string room, const MixerConfig& config, MediaPort& port);

  // False when the mixer refused the participant (room full, codec error);
  // true for an id seated already (unchanged).
  bool attach(const SeatConfig& seat);
  // Forgets the seat (a no-op for an id not here); when no seat left uses
  // the clock's handle, hands the clock on.
  void detach(uint32_t id);
  void configure(uint32_t id, bool muted, float gain, const std::string& display);
  // What the seat's own packets carry from now on (a line's stream came).
  void set_incoming_payload_type(uint32_t id, uint8_t payload_type);
  // One RTP packet the seat sent.
  void receive(uint32_t id, std::span<const uint8_t> packet, Micros now);
  // The clock's timer fired on `handle`: mixes and sends the frames due.
  void tick(pl_handle* handle, Micros now);

  const RoomMixer& mixer() const { return mixer_; }
  size_t seats() const { return seats_.size(); }
  uint64_t packets_sent() const { return packets_sent_; }
  uint64_t packets_malformed() const { return packets_malformed_; }

 private:
  struct Seat {
    SeatConfig config;
    uint16_t sequence = 0;
    uint32_t timestamp = 0;
    bool started = false;  // its first packet carries the marker bit
  };
  // `hint`: where the seat probably is (the mixer's outputs come in seat order).
  Seat* find(uint32_t id, size_t hint = SIZE_MAX);
  bool uses(const pl_handle* handle) const;
  void mix_frame(Micros now);
  void announce(const char* kind, const Seat& talker);

  std::string room_;
  MediaPort& port_;
  RoomMixer mixer_;
  std::vector<Seat> seats_;  // in join order, as the mixer's outputs
  pl_handle* clock_ = nullptr;
  Micros next_frame_{0};
  std::array<uint8_t, kRtpHeaderBytes + OpusFrameEncoder::kMaxPacket> packet_{};
  uint64_t packets_sent_ = 0;
  uint64_t packets_malformed_ = 0;
};

}  // namespace audiobridge
