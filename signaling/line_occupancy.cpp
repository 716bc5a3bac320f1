// What the members of a line see of each other: the `occupants` event (who
// is in the call, docs/protocol.md) and the `presence` event (who of the
// members is online), each coalesced per line (core::ChangeSchedule) and
// serialized once for all its recipients.
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

const char* media_name(core::OccupantMedia media) { return media == core::OccupantMedia::kNone ? "none" : "server"; }

core::JsonPtr presence_event(const std::string& line_id, core::JsonPtr members) {
  core::JsonPtr event = events::event("presence");
  json_object_set_new(event.get(), "line_id", json_string(line_id.c_str()));
  json_object_set_new(event.get(), "members", members.release());
  return event;
}

}  // namespace

core::JsonPtr CallHandler::line_json(const std::string& line_id) const {
  core::JsonPtr line = core::adopt_json(json_object());
  json_object_set_new(line.get(), "line_id", json_string(line_id.c_str()));
  if (line_audio(line_id) == core::LineAudio::kMixed) json_object_set_new(line.get(), "audio", json_string("mixed"));
  json_t* occupants = json_array();
  for (const core::Occupant& occupant : roster_.occupants(line_id)) {
    if (occupant.mixer) continue;  // part of the line, not a participant
    core::JsonPtr entry = events::user(occupant.user, occupant.name);
    auto state = sessions_.find(occupant.session);
    if (state != sessions_.end() && state->second.anonymous) json_object_set_new(entry.get(), "guest", json_true());
    json_object_set_new(entry.get(), "session", json_string(occupant.session.c_str()));
    if (occupant.media == core::OccupantMedia::kPlugin) {
      json_object_set_new(entry.get(), "plugin", json_string(occupant.plugin.c_str()));
    }
    json_object_set_new(entry.get(), "media", json_string(media_name(occupant.media)));
    json_object_set_new(entry.get(), "publishing",
                        flags(occupant.publishes(rtp::MediaKind::kAudio), occupant.publishes(rtp::MediaKind::kVideo))
                            .release());
    json_object_set_new(entry.get(), "muted", flags(occupant.muted_audio, occupant.muted_video).release());
    json_object_set_new(entry.get(), "state", json_string(occupant.connected ? "connected" : "connecting"));
    if (!occupant.cannot_receive.empty()) {
      json_t* streams = json_array();
      for (const core::UnreceivableStream& stream : occupant.cannot_receive) {
        json_array_append_new(streams, json_pack("{s:s, s:s, s:s}", "session", stream.session.c_str(), "track",
                                                 stream.track.c_str(), "codec", stream.codec.c_str()));
      }
      json_object_set_new(entry.get(), "cannot_receive", streams);
    }
    json_array_append_new(occupants, entry.release());
  }
  json_object_set_new(line.get(), "occupants", occupants);
  return line;
}

core::JsonPtr CallHandler::members_json(const std::string& line_id) const {
  core::JsonPtr members = core::adopt_json(json_array());
  auto record = lines_.find_line(line_id);
  if (!record) return members;
  // An online member's first session: its name, and whether it is a guest.
  auto online_session = [this](const std::string& user) -> const SessionState* {
    auto it = sessions_by_user_.find(user);
    return it != sessions_by_user_.end() && !it->second.empty() ? &sessions_.at(it->second.front()) : nullptr;
  };
  const auto presence = roster_.presence(line_id, record->members, [&](const std::string& user) {
    const SessionState* state = online_session(user);
    return state != nullptr ? std::optional<std::string>(state->name) : std::nullopt;
  });
  for (const core::MemberPresence& member : presence) {
    json_t* entry = json_object();
    json_object_set_new(entry, "user", json_string(member.user.c_str()));
    if (member.name) json_object_set_new(entry, "name", json_string(member.name->c_str()));
    if (const SessionState* state = online_session(member.user); state != nullptr && state->anonymous) {
      json_object_set_new(entry, "guest", json_true());
    }
    json_object_set_new(entry, "online", json_boolean(member.online));
    json_object_set_new(entry, "in_line", json_boolean(member.in_line));
    json_array_append_new(members.get(), entry);
  }
  return members;
}

void CallHandler::line_changed(const std::string& line_id) { wake_by(line_changes_.mark(line_id, monotonic_ms())); }

void CallHandler::presence_changed(const std::string& line_id) {
  wake_by(presence_changes_.mark(line_id, monotonic_ms()));
}

void CallHandler::user_presence_changed(const std::string& user) {
  for (const std::string& line_id : lines_.lines_of(user)) presence_changed(line_id);
}

void CallHandler::publish_line_change(const std::string& line_id) {
  if (!roster_.occupied(line_id)) {
    line_changes_.forget(line_id);  // emptied meanwhile: nobody to tell
    return;
  }
  update_mixer(line_id);
  if (!roster_.occupied(line_id)) return;  // only its mixer was left
  // The list first, then the offers: an `update` carrying a newcomer's
  // streams never precedes the `occupants` event that lists it (the offers
  // are built on the workers and come back later).
  broadcast_occupants(line_id);
  announce_speaker(line_id);  // to a newcomer
  apply_last_n(line_id);      // before the offers, so a newcomer's legs start as chosen
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

void CallHandler::broadcast_presence(const std::string& line_id) {
  auto record = lines_.find_line(line_id);
  if (!record) {
    presence_changes_.forget(line_id);
    return;
  }
  core::JsonPtr event = presence_event(line_id, members_json(line_id));
  auto text = format_event(event.get());
  if (!text) {
    PL_LOG(kError, "line=" + line_id) << "presence not sent: " << text.error().message;
    return;
  }
  std::vector<std::string> recipients;
  for (const std::string& member : record->members) {
    auto it = sessions_by_user_.find(member);
    if (it != sessions_by_user_.end()) recipients.insert(recipients.end(), it->second.begin(), it->second.end());
  }
  send_text(recipients, *text);
}

// A new session learns who of each of its user's lines is around and who
// is in the call (seed 002's connected peers, seed 004's presence).
void CallHandler::send_member_lines(SessionState& state) {
  for (const std::string& line_id : lines_.lines_of(state.user)) {
    send_event(state.id, presence_event(line_id, members_json(line_id)));
    if (!roster_.occupied(line_id)) continue;
    core::JsonPtr event = events::event("occupants");
    json_object_set_new(event.get(), "line", line_json(line_id).release());
    send_event(state.id, std::move(event));
  }
}

}  // namespace partyline::signaling
