// The audio bridge's JSON: requests parsed into checked values (a 400's
// reason names the field), room settings (from `create` and from the
// plugin's config section), and the replies and events it sends. jansson
// stays in this file; the rest of the plugin sees plain values and text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace audiobridge {

struct RoomSettings {
  std::string description;
  size_t max_participants = 100;
  int talk_threshold = 40;  // RFC 6464 level: talking while at or below it
  int talk_hold_ms = 500;
};

struct BridgeRequest {
  std::string request;  // create, destroy, join, configure, leave, list, listparticipants
  std::optional<std::string> room;
  RoomSettings settings;  // create: what it gave, over the defaults passed in
  std::optional<std::string> display;
  std::optional<bool> muted;
  std::optional<double> gain;
};

// Parses a `message` body. Returns "" on success, else the reason of a 400.
std::string parse_request(std::string_view body, const RoomSettings& defaults, BridgeRequest& out);

struct BridgeConfig {
  size_t max_rooms = 100;
  size_t line_max_listeners = 256;  // occupants a mixed phone line's mix reaches (mix_line)
  RoomSettings defaults;  // a mixed line's too: its talk_threshold and talk_hold_ms
  std::vector<std::pair<std::string, RoomSettings>> rooms;  // created at start
};

// The plugin's config section (plugins.config.audiobridge). "" or the reason.
std::string parse_config(std::string_view json, BridgeConfig& out);

// How a participant appears in replies and events; absent fields are left out.
struct ParticipantView {
  ParticipantView(uint32_t id_, std::string display_) : id(id_), display(std::move(display_)) {}
  uint32_t id = 0;
  std::string display;
  std::optional<bool> muted;
  std::optional<bool> talking;
  std::optional<double> gain;
};

struct RoomView {
  std::string room;
  std::string description;
  size_t participants = 0;
  size_t max_participants = 0;
};

// {"audiobridge": kind, "room": room} plus, when given, "id".
std::string room_reply(std::string_view kind, std::string_view room, std::optional<uint32_t> id = std::nullopt);
// {"audiobridge": kind, "room": room, "participant": {...}}: joined, left,
// talking, stopped-talking, muted as the others (and the talker) see them.
std::string participant_event(std::string_view kind, std::string_view room, const ParticipantView& participant);
// The joiner's own `joined`: its id and everyone else in the room.
std::string joined_event(std::string_view room, uint32_t id, const std::vector<ParticipantView>& others);
// `configured`: the participant's settings now.
std::string configured_reply(std::string_view room, const ParticipantView& participant);
std::string participants_reply(std::string_view room, const std::vector<ParticipantView>& participants);
std::string rooms_reply(const std::vector<RoomView>& rooms);
// A participant taken out of its room by the bridge (its media closed or
// failed): {"audiobridge":"left","room","id","reason"}.
std::string left_event(std::string_view room, uint32_t id, std::string_view reason);
// A join whose negotiation failed: {"audiobridge":"failed","room","code","reason"}.
std::string failed_event(std::string_view room, int code, std::string_view reason);

}  // namespace audiobridge
