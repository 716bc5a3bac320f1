#include "bridge_json.hpp"

#include <jansson.h>

#include <cmath>
#include <cstdlib>
#include <memory>

namespace audiobridge {

namespace {

struct JsonDeleter {
  void operator()(json_t* value) const { json_decref(value); }
};
using Json = std::unique_ptr<json_t, JsonDeleter>;

constexpr size_t kMaxRoomIdBytes = 64;
constexpr size_t kMaxDescriptionBytes = 256;
constexpr size_t kMaxDisplayBytes = 64;
constexpr size_t kMaxRoomsLimit = 10000;
constexpr json_int_t kMaxParticipantsLimit = 1000;

std::string dump(const Json& value) {
  std::unique_ptr<char, decltype(&free)> text(json_dumps(value.get(), JSON_COMPACT), &free);
  return text ? std::string(text.get()) : std::string("{}");
}

bool valid_room_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxRoomIdBytes) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Each reads one optional field: "" when absent or valid, else the reason.
std::string read_string(json_t* object, const char* key, size_t min_bytes, size_t max_bytes,
                        std::optional<std::string>& out) {
  json_t* value = json_object_get(object, key);
  if (value == nullptr) return "";
  if (!json_is_string(value)) return std::string("'") + key + "' must be a string";
  const size_t length = json_string_length(value);
  if (length < min_bytes || length > max_bytes) {
    return std::string("'") + key + "' must be " + std::to_string(min_bytes) + " to " + std::to_string(max_bytes) +
           " bytes";
  }
  out = std::string(json_string_value(value), length);
  return "";
}

std::string read_integer(json_t* object, const char* key, json_int_t min, json_int_t max, std::optional<json_int_t>& out) {
  json_t* value = json_object_get(object, key);
  if (value == nullptr) return "";
  if (!json_is_integer(value) || json_integer_value(value) < min || json_integer_value(value) > max) {
    return std::string("'") + key + "' must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
  }
  out = json_integer_value(value);
  return "";
}

std::string read_settings(json_t* object, RoomSettings& settings) {
  std::optional<std::string> description;
  std::optional<json_int_t> max_participants, threshold, hold;
  for (const std::string& error :
       {read_string(object, "description", 0, kMaxDescriptionBytes, description),
        read_integer(object, "max_participants", 1, kMaxParticipantsLimit, max_participants),
        read_integer(object, "talk_threshold", 0, 127, threshold),
        read_integer(object, "talk_hold_ms", 20, 10000, hold)}) {
    if (!error.empty()) return error;
  }
  if (description) settings.description = *description;
  if (max_participants) settings.max_participants = static_cast<size_t>(*max_participants);
  if (threshold) settings.talk_threshold = static_cast<int>(*threshold);
  if (hold) settings.talk_hold_ms = static_cast<int>(*hold);
  return "";
}

std::string read_room(json_t* object, std::optional<std::string>& room) {
  if (std::string error = read_string(object, "room", 1, kMaxRoomIdBytes, room); !error.empty()) return error;
  if (room && !valid_room_id(*room)) return "'room' may hold only letters, digits, '_', '.' and '-'";
  return "";
}

bool needs_room(std::string_view request) {
  return request == "destroy" || request == "join" || request == "listparticipants";
}

json_t* participant_json(const ParticipantView& view) {
  json_t* object = json_pack("{s:I, s:s}", "id", static_cast<json_int_t>(view.id), "display", view.display.c_str());
  if (view.muted) json_object_set_new(object, "muted", json_boolean(*view.muted));
  if (view.talking) json_object_set_new(object, "talking", json_boolean(*view.talking));
  if (view.gain) json_object_set_new(object, "gain", json_real(*view.gain));
  return object;
}

json_t* participants_json(const std::vector<ParticipantView>& participants) {
  json_t* array = json_array();
  for (const ParticipantView& view : participants) json_array_append_new(array, participant_json(view));
  return array;
}

Json base(std::string_view kind, std::string_view room) {
  return Json(json_pack("{s:s%, s:s%}", "audiobridge", kind.data(), kind.size(), "room", room.data(), room.size()));
}

}  // namespace

std::string parse_request(std::string_view body, const RoomSettings& defaults, BridgeRequest& out) {
  json_error_t error;
  Json root(json_loadb(body.data(), body.size(), 0, &error));
  if (!root || !json_is_object(root.get())) return "the body must be a JSON object";
  json_t* request = json_object_get(root.get(), "request");
  if (request == nullptr) return "missing 'request'";
  if (!json_is_string(request)) return "'request' must be a string";
  out = BridgeRequest{};
  out.request = json_string_value(request);
  static constexpr std::string_view kKnown[] = {"create", "destroy",   "join", "configure",
                                                "leave",  "list", "listparticipants"};
  bool known = false;
  for (std::string_view name : kKnown) known = known || out.request == name;
  if (!known) return "unknown request '" + out.request.substr(0, 64) + "'";
  if (std::string reason = read_room(root.get(), out.room); !reason.empty()) return reason;
  if (needs_room(out.request) && !out.room) return "missing 'room'";
  out.settings = defaults;
  if (out.request == "create") {
    if (std::string reason = read_settings(root.get(), out.settings); !reason.empty()) return reason;
  }
  if (std::string reason = read_string(root.get(), "display", 1, kMaxDisplayBytes, out.display); !reason.empty()) {
    return reason;
  }
  if (json_t* muted = json_object_get(root.get(), "muted")) {
    if (!json_is_boolean(muted)) return "'muted' must be true or false";
    out.muted = json_is_true(muted);
  }
  if (json_t* gain = json_object_get(root.get(), "gain")) {
    if (!json_is_number(gain) || !std::isfinite(json_number_value(gain)) || json_number_value(gain) < 0 ||
        json_number_value(gain) > 4) {
      return "'gain' must be a number from 0 to 4";
    }
    out.gain = json_number_value(gain);
  }
  return "";
}

std::string parse_config(std::string_view json, BridgeConfig& out) {
  json_error_t error;
  Json root(json_loadb(json.data(), json.size(), 0, &error));
  if (!root || !json_is_object(root.get())) return "the config must be a JSON object";
  std::optional<json_int_t> max_rooms;
  if (std::string reason = read_integer(root.get(), "max_rooms", 1, kMaxRoomsLimit, max_rooms); !reason.empty()) {
    return reason;
  }
  if (max_rooms) out.max_rooms = static_cast<size_t>(*max_rooms);
  std::optional<json_int_t> line_max_listeners;
  if (std::string reason = read_integer(root.get(), "line_max_listeners", 1, kMaxParticipantsLimit, line_max_listeners);
      !reason.empty()) {
    return reason;
  }
  if (line_max_listeners) out.line_max_listeners = static_cast<size_t>(*line_max_listeners);
  if (json_t* defaults = json_object_get(root.get(), "defaults")) {
    if (!json_is_object(defaults)) return "'defaults' must be an object";
    if (std::string reason = read_settings(defaults, out.defaults); !reason.empty()) return "defaults: " + reason;
  }
  json_t* rooms = json_object_get(root.get(), "rooms");
  if (rooms == nullptr) return "";
  if (!json_is_array(rooms)) return "'rooms' must be an array";
  size_t index = 0;
  json_t* entry = nullptr;
  json_array_foreach(rooms, index, entry) {
    const std::string where = "rooms[" + std::to_string(index) + "]: ";
    if (!json_is_object(entry)) return where + "must be an object";
    std::optional<std::string> room;
    if (std::string reason = read_room(entry, room); !reason.empty()) return where + reason;
    if (!room) return where + "missing 'room'";
    RoomSettings settings = out.defaults;
    if (std::string reason = read_settings(entry, settings); !reason.empty()) return where + reason;
    for (const auto& [listed, unused] : out.rooms) {
      if (listed == *room) return where + "room '" + *room + "' is listed twice";
    }
    out.rooms.emplace_back(*room, settings);
  }
  if (out.rooms.size() > out.max_rooms) return "more 'rooms' than 'max_rooms'";
  return "";
}

std::string room_reply(std::string_view kind, std::string_view room, std::optional<uint32_t> id) {
  Json reply = base(kind, room);
  if (id) json_object_set_new(reply.get(), "id", json_integer(*id));
  return dump(reply);
}

std::string participant_event(std::string_view kind, std::string_view room, const ParticipantView& participant) {
  Json event = base(kind, room);
  json_object_set_new(event.get(), "participant", participant_json(participant));
  return dump(event);
}

std::string joined_event(std::string_view room, uint32_t id, const std::vector<ParticipantView>& others) {
  Json event = base("joined", room);
  json_object_set_new(event.get(), "id", json_integer(id));
  json_object_set_new(event.get(), "participants", participants_json(others));
  return dump(event);
}

std::string configured_reply(std::string_view room, const ParticipantView& participant) {
  Json reply = base("configured", room);
  json_object_update(reply.get(), Json(participant_json(participant)).get());
  return dump(reply);
}

std::string participants_reply(std::string_view room, const std::vector<ParticipantView>& participants) {
  Json reply = base("participants", room);
  json_object_set_new(reply.get(), "participants", participants_json(participants));
  return dump(reply);
}

std::string rooms_reply(const std::vector<RoomView>& rooms) {
  json_t* array = json_array();
  for (const RoomView& room : rooms) {
    json_array_append_new(array, json_pack("{s:s, s:s, s:I, s:I}", "room", room.room.c_str(), "description",
                                           room.description.c_str(), "participants",
                                           static_cast<json_int_t>(room.participants), "max_participants",
                                           static_cast<json_int_t>(room.max_participants)));
  }
  Json reply(json_pack("{s:s, s:o}", "audiobridge", "rooms", "rooms", array));
  return dump(reply);
}

std::string left_event(std::string_view room, uint32_t id, std::string_view reason) {
  Json event = base("left", room);
  json_object_set_new(event.get(), "id", json_integer(id));
  json_object_set_new(event.get(), "reason", json_stringn(reason.data(), reason.size()));
  return dump(event);
}

std::string failed_event(std::string_view room, int code, std::string_view reason) {
  Json event = base("failed", room);
  json_object_set_new(event.get(), "code", json_integer(code));
  json_object_set_new(event.get(), "reason", json_stringn(reason.data(), reason.size()));
  return dump(event);
}

}  // namespace audiobridge
