// What the occupants of a line see of each other: the `occupants` event
// (docs/protocol.md), sent after a line changes, coalesced per line
// (core::ChangeSchedule) and serialized once for all its recipients.
#include "core/runtime/log.hpp"
#include "signaling/call_handler.hpp"
#include "signaling/protocol_events.hpp"

namespace partyline::signaling {

namespace {

core::JsonPtr flags(bool audio, bool video) {
  core::JsonPtr object = core::adopt_json(json_object());
  json_object_set_new(object.get(), "audio", json_boolean(audio));
  json_object_set_new(object.get(), "video", json_boolean(video));
  return object;
}

}  // namespace

core::JsonPtr CallHandler::line_json(const std::string& line_id) const {
  core::JsonPtr line = core::adopt_json(json_object());
  json_object_set_new(line.get(), "line_id", json_string(line_id.c_str()));
  json_t* occupants = json_array();
  for (const core::Occupant& occupant : roster_.occupants(line_id)) {
    core::JsonPtr entry = events::user(occupant.user, occupant.name);
    json_object_set_new(entry.get(), "session", json_string(occupant.session.c_str()));
    if (occupant.media == core::OccupantMedia::kPlugin) {
      json_object_set_new(entry.get(), "plugin", json_string(occupant.plugin.c_str()));
    }
    json_object_set_new(entry.get(), "publishing",
                        flags(occupant.publishes(rtp::MediaKind::kAudio), occupant.publishes(rtp::MediaKind::kVideo))
                            .release());
    json_object_set_new(entry.get(), "muted", flags(occupant.muted_audio, occupant.muted_video).release());
    json_object_set_new(entry.get(), "state", json_string(occupant.connected ? "connected" : "connecting"));
    json_array_append_new(occupants, entry.release());
  }
  json_object_set_new(line.get(), "occupants", occupants);
  return line;
}

void CallHandler::line_changed(const std::string& line_id) { wake_by(line_changes_.mark(line_id, monotonic_ms())); }

void CallHandler::publish_line_change(const std::string& line_id) {
  if (!roster_.occupied(line_id)) {
    line_changes_.forget(line_id);  // emptied meanwhile: nobody to tell
    return;
  }
  // The list first, then the offers: an `update` carrying a newcomer's
  // streams never precedes the `occupants` event that lists it (the offers
  // are built on the workers and come back later).
  broadcast_occupants(line_id);
  refresh_media(line_id);
}

void CallHandler::broadcast_occupants(const std::string& line_id) {
  core::JsonPtr event = events::event("occupants");
  json_object_set_new(event.get(), "line", line_json(line_id).release());
  auto text = format_event(event.get());
  if (!text) {
    PL_LOG(kError, "line=" + line_id) << "occupants not sent: " << text.error().message;
    return;
  }
  std::vector<std::string> recipients;
  for (const core::Occupant& occupant : roster_.occupants(line_id)) recipients.push_back(occupant.session);
  send_text(recipients, *text);
}

// A new session learns who is in each of its user's lines (seed 002's
// connected peers).
void CallHandler::send_member_lines(SessionState& state) {
  for (const std::string& line_id : lines_.lines_of(state.user)) {
    if (!roster_.occupied(line_id)) continue;
    core::JsonPtr event = events::event("occupants");
    json_object_set_new(event.get(), "line", line_json(line_id).release());
    send_event(state.id, std::move(event));
  }
}

}  // namespace partyline::signaling
