// One phone line whose audio the bridge mixes (plugin API 1.4 mix_line), on
// the media thread of the host's handle that mixes it. Every occupant the
// host announces (line_listener_added) is a seat of a RoomMedia, whose id is
// the listener's number; an occupant's audio stream (line_stream_added, its
// `publisher` the occupant's id) feeds that seat, so each listener's mix
// holds everyone else's voice and never its own. A stream may be announced
// before or after its occupant's listener: whichever comes second binds
// them. An occupant that publishes nothing is a seat that only listens.
//
// The mix goes out through the MediaPort the caller gives (the plugin's:
// line_send_rtp_to, no events: the handle has no client), from the seats'
// shared clock, the handle's timer (tick), never from rtp(): the host
// refuses a send inside line_rtp. Every stream sent is the line's Opus
// payload type (PL_LINE_OPUS_PAYLOAD_TYPE), with an SSRC of its own; what
// comes in carries the publisher's payload type (pl_line_stream), and no
// header extension, so talking is read from the decoded audio.
//
// Not locked: every method runs on the handle's media thread.
#pragma once

#include <partyline/plugin.h>

#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "media_time.hpp"
#include "room_media.hpp"

namespace audiobridge {

struct LineCounters {
  uint64_t streams_refused = 0;    // announced but not Opus audio at 48 kHz: not mixed
  uint64_t listeners_refused = 0;  // the mixer refused them (line_max_listeners, libopus): they hear nothing
  uint64_t unknown_stream = 0;     // packets of a stream not announced, refused or removed
  uint64_t unbound = 0;            // packets of a stream with no seat: its listener not announced yet, or
                                   // a newer stream of its occupant took the seat
};

class LineMix {
 public:
  LineMix(std::string line_id, const MixerConfig& config, MediaPort& port, pl_handle* handle);

  void stream_added(const pl_line_stream& stream);
  void stream_removed(uint32_t stream);
  void rtp(uint32_t stream, std::span<const uint8_t> packet, Micros now);

  // False when the mixer refused the listener (counted): it is sent nothing.
  bool listener_added(uint32_t listener, std::string_view occupant, std::string_view display);
  void listener_removed(uint32_t listener);

  // The handle's timer fired: mixes and sends the frames due.
  void tick(Micros now);

  const RoomMedia& media() const { return media_; }
  const LineCounters& counters() const { return counters_; }
  size_t listeners() const { return seats_.size(); }

 private:
  struct Stream {
    std::string publisher;
    uint8_t payload_type = 0;
    uint64_t order = 0;  // announcement order: an occupant's newest stream takes its seat
    std::optional<uint32_t> seat;
  };
  struct Seat {
    std::string occupant;
    std::optional<uint32_t> stream;
  };

  void bind(uint32_t number, Stream& stream, uint32_t listener, Seat& seat);
  void bind_newest(uint32_t listener, Seat& seat);

  pl_handle* handle_;
  RoomMedia media_;
  // The line's audio streams by the host's number, and the seated listeners
  // by theirs (the seat's id in media_).
  std::unordered_map<uint32_t, Stream> streams_;
  std::unordered_map<uint32_t, Seat> seats_;
  uint64_t next_order_ = 0;
  std::minstd_rand ssrcs_;
  LineCounters counters_;
};

}  // namespace audiobridge
