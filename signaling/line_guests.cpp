// Occupants that are plugin handles (plugin API 1.2, core::LineGuests): a
// guest is a SessionState without a client session or a PeerConnection. It
// is listed in `occupants` like anyone (with "plugin"), receives the line's
// streams through its core::LineGuest instead of `update` offers, and what
// it publishes is offered to the others like any occupant's streams.
#include "core/media/guest_media.hpp"
#include "core/runtime/log.hpp"
#include "signaling/auth.hpp"
#include "signaling/call_handler.hpp"

namespace partyline::signaling {

Result<std::vector<core::PublishedStream>> CallHandler::join_guest(core::GuestJoin join) {
  if (sessions_.count(join.guest_id) > 0) {
    return make_error(error_code::kConflict, "the handle occupies a line already");
  }
  if (!lines_.find_line(join.line_id)) return make_error(error_code::kNotFound, "no line " + join.line_id);
  if (join.mixer) {
    // The server's own handle: it acts for no user.
    if (line_audio(join.line_id) != core::LineAudio::kMixed) {
      return make_error(error_code::kConflict, "line " + join.line_id + " does not mix audio");
    }
    if (roster_.mixer(join.line_id) != nullptr) {
      return make_error(error_code::kConflict, "line " + join.line_id + " has a mixer");
    }
  } else {
    const SessionState* owner = state_of(join.owner_session);
    if (owner == nullptr || owner->guest != nullptr) {
      return make_error(error_code::kNotFound, "the client session of the handle is gone");
    }
    // The handle acts for its client: the client's identity, never the
    // plugin message's, decides.
    if (!lines_.is_member(join.line_id, owner->user)) {
      return make_error(error_code::kForbidden, "user " + owner->user + " is not a member of line " + join.line_id);
    }
    if (auto room = roster_.check_room(join.line_id); !room) return room.error();
  }
  SessionState& guest = sessions_[join.guest_id];
  guest.id = join.guest_id;
  guest.user = plugin_user_id(join.plugin);
  guest.name = join.display_name;
  guest.guest = join.guest;
  guest.guest_subscribes = join.subscribe || join.mixer;
  guest.line_id = join.line_id;
  guest.worker_index = join.worker_index;
  core::Occupant occupant;
  occupant.session = guest.id;
  occupant.user = guest.user;
  occupant.name = guest.name;
  occupant.media = core::OccupantMedia::kPlugin;
  occupant.plugin = join.plugin;
  occupant.mixer = join.mixer;
  occupant.connected = true;  // its media is in-process: nothing to connect
  occupant.worker_index = join.worker_index;
  if (join.publish_audio && !join.mixer) {
    occupant.published.push_back(core::PublishedStream{core::next_stream_key(), core::guest_audio_format(), "", ""});
  }
  const std::vector<core::PublishedStream> published =
      roster_.add(join.line_id, std::move(occupant), line_audio(join.line_id)).published;
  lines_.touch(join.line_id, monotonic_ms());
  PL_LOG(kInfo, "line=" + join.line_id) << "plugin " << join.plugin << " joined as '" << join.display_name
                                        << "' (handle " << join.guest_id << ", "
                                        << (join.mixer ? "the line's audio mixer" : "for a member") << ")";
  if (!join.mixer) {  // the line's machinery, not a participant: no webhook
    report("joined", core::adopt_json(json_pack("{s:s, s:s, s:s, s:s, s:s}", "line_id", join.line_id.c_str(),
                                                "session", guest.id.c_str(), "user", guest.user.c_str(), "name",
                                                guest.name.c_str(), "plugin", join.plugin.c_str())));
  }
  line_changed(join.line_id);
  return published;
}

void CallHandler::leave_guest(const std::string& guest_id) {
  SessionState* state = state_of(guest_id);
  if (state == nullptr || state->guest == nullptr) return;
  leave_line(*state);
  sessions_.erase(guest_id);
}

void CallHandler::remove_guest(const std::string& guest_id, const std::string& reason) {
  SessionState* state = state_of(guest_id);
  if (state == nullptr || state->guest == nullptr) return;
  core::LineGuest* guest = state->guest;
  const std::string line_id = state->line_id;
  leave_line(*state);
  sessions_.erase(guest_id);
  guest->removed(line_id, reason);  // last: it may join again from inside
}

}  // namespace partyline::signaling
