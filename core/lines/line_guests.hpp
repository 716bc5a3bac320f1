// LineGuests: how an occupant that is not a WebRTC participant (a plugin
// handle, plugin API 1.2) takes part in a phone line. Who occupies which
// line is the control plane's business (signaling's CallHandler implements
// LineGuests); the plugin host (core/plugins) joins its handles through it
// and is told, as a LineGuest, which streams each should receive. Its media
// is a GuestMedia on the guest's worker. Both sides run on the signaling loop.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/media/guest_media.hpp"
#include "core/media/line_media.hpp"
#include "rtp/result.hpp"

namespace partyline::core {

// What the control plane tells a guest, on the signaling loop.
class LineGuest {
 public:
  virtual ~LineGuest() = default;
  // The streams it receives from now on (every other occupant's, in join
  // order; only for a guest that subscribes). Replaces the last set.
  virtual void receive_streams(std::vector<LegRequest> streams) = 0;
  // A line mixer's listeners from now on: every other occupant, each with
  // the stream of its mix. Replaces the last set.
  virtual void set_listeners(std::vector<ListenerStream> listeners) = 0;
  // It is no longer an occupant, not by its own leave_guest: the line was
  // closed ("line_closed") or an operator removed it ("kicked").
  virtual void removed(const std::string& line_id, const std::string& reason) = 0;
};

struct GuestJoin {
  std::string guest_id;       // unique among occupants (the plugin handle's id)
  std::string owner_session;  // the client session it joins for: its user must be a line member (empty: a mixer)
  std::string line_id;
  std::string plugin;         // shown as "plugin" in `occupants`
  std::string display_name;   // shown as the occupant's name
  size_t worker_index = 0;    // the worker of its GuestMedia
  bool subscribe = false;
  bool publish_audio = false;  // one Opus stream (core/media/guest_media.hpp guest_audio_format())
  // The line's audio mixer (the server's own, for a line of mixed audio):
  // receives every occupant's audio and sends each its mix (set_listeners).
  bool mixer = false;
  LineGuest* guest = nullptr;  // valid until leave_guest() or removed()
};

class LineGuests {
 public:
  virtual ~LineGuests() = default;
  // Makes the guest an occupant: what it publishes (its StreamKeys), or
  // 403 (the owner is not a member), 404 (no such line, or the owner is
  // gone), 409 (the guest occupies a line already), 503 (the line is full).
  virtual Result<std::vector<PublishedStream>> join_guest(GuestJoin join) = 0;
  // The guest leaves its line (nothing when it is in none).
  virtual void leave_guest(const std::string& guest_id) = 0;
};

// Who mixes the audio of lines created with "audio": "mixed" (the plugin
// host: a handle of the configured mixer plugin per line, plugin API 1.4).
// The control plane starts a line's mixer when the line has occupants and
// stops it when they are gone; the mixer joins through
// LineGuests::join_guest with `mixer` set, from inside start() or later.
class LineMixers {
 public:
  virtual ~LineMixers() = default;
  // 501 when no loaded plugin mixes lines.
  virtual Status can_mix() const = 0;
  virtual Status start(const std::string& line_id) = 0;
  // Nothing when the line has no mixer.
  virtual void stop(const std::string& line_id) = 0;
};

}  // namespace partyline::core
