// What the admin API (signaling/admin/, docs/admin-api.md) reads of and does
// to live sessions and lines. Runs on the signaling loop like the rest of
// the CallHandler; the admin listener hops here for every call.
#include <algorithm>

#include "core/plugins/plugin_host.hpp"
#include "core/runtime/log.hpp"
#include "signaling/call_handler.hpp"
#include "signaling/protocol_events.hpp"

namespace partyline::signaling {

namespace {

json_t* flags(bool audio, bool video) { return json_pack("{s:b, s:b}", "audio", audio, "video", video); }

const char* kind_name(rtp::MediaKind kind) { return kind == rtp::MediaKind::kAudio ? "audio" : "video"; }

// {"event": "hangup", "reason": ..., "line_id": ...}: the server ended the
// session's call (docs/protocol.md, `hangup` event).
core::JsonPtr hangup_event(const char* reason, const std::string& line_id) {
  core::JsonPtr event = events::event("hangup");
  json_object_set_new(event.get(), "reason", json_string(reason));
  if (!line_id.empty()) json_object_set_new(event.get(), "line_id", json_string(line_id.c_str()));
  return event;
}

}  // namespace

core::JsonPtr CallHandler::admin_session_json(const SessionState& state) const {
  static const core::Occupant kNotInALine;
  const core::Occupant* found = occupant_of(state);
  const core::Occupant& occupant = found != nullptr ? *found : kNotInALine;
  core::JsonPtr entry = events::user(state.user, state.name);
  json_object_set_new(entry.get(), "session", json_string(state.id.c_str()));
  if (state.guest != nullptr) json_object_set_new(entry.get(), "plugin", json_string(occupant.plugin.c_str()));
  auto session = state.session.lock();
  json_object_set_new(entry.get(), "remote_address",
                      session ? json_string(session->remote_address().c_str()) : json_null());
  if (state.guest == nullptr) {
    json_object_set_new(entry.get(), "detached", json_boolean(session && session->is_detached()));
  }
  json_object_set_new(entry.get(), "line_id", state.line_id.empty() ? json_null() : json_string(state.line_id.c_str()));
  const std::optional<size_t> echo_worker =
      state.echo_handle.empty() || plugins_ == nullptr ? std::nullopt : plugins_->worker_of(state.echo_handle);
  if (state.peer || echo_worker) {
    json_t* peer = json_object();
    json_object_set_new(peer, "role", json_string(state.peer ? "line" : "echo"));
    json_object_set_new(peer, "state", json_string(state.peer_state));
    json_object_set_new(peer, "worker",
                        json_integer(static_cast<json_int_t>(state.peer ? state.worker_index : *echo_worker)));
    if (!state.peer) json_object_set_new(peer, "handle", json_string(state.echo_handle.c_str()));
    json_object_set_new(entry.get(), "peer_connection", peer);
  } else {
    json_object_set_new(entry.get(), "peer_connection", json_null());
  }
  json_object_set_new(entry.get(), "publishing", flags(occupant.publishes(rtp::MediaKind::kAudio),
                                                      occupant.publishes(rtp::MediaKind::kVideo)));
  json_object_set_new(entry.get(), "muted", flags(occupant.muted_audio, occupant.muted_video));
  json_object_set_new(entry.get(), "forced_mute", flags(occupant.forced_mute_audio, occupant.forced_mute_video));
  json_t* streams = json_array();
  for (const core::PublishedStream& stream : occupant.published) {
    json_array_append_new(streams, json_pack("{s:I, s:s, s:s, s:i}", "key", static_cast<json_int_t>(stream.key),
                                             "kind", kind_name(stream.format.kind), "codec",
                                             stream.format.codec_name.c_str(), "payload_type",
                                             static_cast<int>(stream.format.payload_type)));
  }
  json_object_set_new(entry.get(), "published_streams", streams);
  return entry;
}

core::JsonPtr CallHandler::admin_sessions() const {
  core::JsonPtr list = core::adopt_json(json_array());
  std::vector<const SessionState*> ordered;
  for (const auto& [id, state] : sessions_) ordered.push_back(&state);
  std::sort(ordered.begin(), ordered.end(), [](auto* a, auto* b) { return a->id < b->id; });
  for (const SessionState* state : ordered) json_array_append_new(list.get(), admin_session_json(*state).release());
  return list;
}

core::JsonPtr CallHandler::admin_session(const std::string& session_id) const {
  auto it = sessions_.find(session_id);
  return it == sessions_.end() ? core::JsonPtr() : admin_session_json(it->second);
}

core::JsonPtr CallHandler::admin_line(const std::string& line_id) const {
  auto record = lines_.find_line(line_id);
  const bool occupied = roster_.occupied(line_id);
  if (!record && !occupied) return {};
  core::JsonPtr line = line_json(line_id);  // line_id and occupants, as clients see them
  if (record) {
    json_object_set_new(line.get(), "creator", json_string(record->creator.c_str()));
    json_t* members = json_array();
    for (const std::string& member : record->members) json_array_append_new(members, json_string(member.c_str()));
    json_object_set_new(line.get(), "members", members);
  }
  // Who publishes what: each occupant's streams as the forwarding plane has them.
  json_t* occupants = json_object_get(line.get(), "occupants");
  size_t index;
  json_t* occupant;
  json_array_foreach(occupants, index, occupant) {
    const SessionState& state = sessions_.at(json_string_value(json_object_get(occupant, "session")));
    core::JsonPtr detail = admin_session_json(state);
    json_object_set(occupant, "published_streams", json_object_get(detail.get(), "published_streams"));
    json_object_set_new(occupant, "worker", json_integer(static_cast<json_int_t>(state.worker_index)));
  }
  return line;
}

core::JsonPtr CallHandler::admin_lines() const {
  // Lines in use on this node: those with occupants. An empty line is still
  // found by id (admin_line).
  std::vector<std::string> ids = roster_.occupied_lines();
  std::sort(ids.begin(), ids.end());
  core::JsonPtr list = core::adopt_json(json_array());
  for (const std::string& id : ids) json_array_append_new(list.get(), admin_line(id).release());
  return list;
}

CallHandler::AdminCounts CallHandler::admin_counts() const {
  AdminCounts counts;
  for (const auto& [id, state] : sessions_) {
    if (state.guest != nullptr) continue;  // client sessions, not plugin guests
    ++counts.sessions;
    auto session = state.session.lock();
    if (session && session->is_detached()) ++counts.detached;
  }
  counts.lines = lines_.line_count();
  counts.occupants = roster_.occupant_count();
  return counts;
}

std::vector<size_t> CallHandler::admin_peers_per_worker() const {
  std::vector<size_t> peers(workers_.size(), 0);
  for (const auto& [id, state] : sessions_) {
    if (state.peer && !state.peer_finished && state.worker_index < peers.size()) ++peers[state.worker_index];
    if (!state.echo_handle.empty() && plugins_ != nullptr) {
      const std::optional<size_t> worker = plugins_->worker_of(state.echo_handle);
      if (worker && *worker < peers.size()) ++peers[*worker];
    }
  }
  return peers;
}

std::shared_ptr<core::PeerConnectionHandle> CallHandler::admin_peer(const std::string& session_id) const {
  auto it = sessions_.find(session_id);
  return it == sessions_.end() ? nullptr : it->second.peer;
}

Result<core::JsonPtr> CallHandler::admin_mute(const std::string& session_id, std::optional<bool> audio,
                                              std::optional<bool> video) {
  SessionState* state = state_of(session_id);
  if (state == nullptr) return make_error(error_code::kNotFound, "no session " + session_id);
  core::Occupant* occupant = occupant_of(*state);
  if (occupant == nullptr || !state->peer || state->guest != nullptr) {
    return make_error(error_code::kConflict, "session " + session_id + " publishes nothing in a line");
  }
  auto apply = [&](std::optional<bool> mute, rtp::MediaKind kind, bool& forced, bool& muted) {
    if (!mute) return;
    forced = *mute;
    muted = *mute;  // lifting leaves it unmuted: the client may mute itself again
    state->peer->set_forwarding(kind, !*mute);
  };
  apply(audio, rtp::MediaKind::kAudio, occupant->forced_mute_audio, occupant->muted_audio);
  apply(video, rtp::MediaKind::kVideo, occupant->forced_mute_video, occupant->muted_video);
  PL_LOG(kInfo, "line=" + state->line_id) << "session " << session_id.substr(0, 8) << " force-muted by an operator: audio "
                                          << occupant->forced_mute_audio << ", video " << occupant->forced_mute_video;
  line_changed(state->line_id);
  return admin_session_json(*state);
}

void CallHandler::announce_shutdown() {
  for (auto& [id, state] : sessions_) {
    auto session = state.session.lock();
    if (!session || (state.line_id.empty() && !state.peer && state.echo_handle.empty())) continue;
    session->send_event(hangup_event("shutdown", state.line_id));
  }
}

bool CallHandler::admin_kick(const std::string& session_id) {
  SessionState* state = state_of(session_id);
  if (state == nullptr) return false;
  if (state->guest != nullptr) {  // a plugin handle in a line: out of it, the handle stays
    PL_LOG(kInfo, "line=" + state->line_id) << "plugin guest " << session_id << " kicked by an operator";
    report("kicked", core::adopt_json(json_pack("{s:s, s:s, s:s}", "session", session_id.c_str(), "user",
                                                state->user.c_str(), "line_id", state->line_id.c_str())));
    remove_guest(session_id, "kicked");
    return true;
  }
  auto session = state->session.lock();
  if (!session) return false;
  PL_LOG(kInfo, session->log_context()) << "kicked by an operator";
  report("kicked", core::adopt_json(json_pack(
                       "{s:s, s:s, s:o}", "session", session_id.c_str(), "user", state->user.c_str(), "line_id",
                       state->line_id.empty() ? json_null() : json_string(state->line_id.c_str()))));
  session->send_event(hangup_event("kicked", state->line_id));
  // Out of the line now, so the others' `occupants` do not wait for the
  // closing handshake; the rest goes when the socket is closed.
  leave_line(*state);
  close_peer(*state);
  session->close(close_code::kKicked, "kicked by an operator");
  return true;
}

std::optional<std::vector<std::string>> CallHandler::admin_close_line(const std::string& line_id) {
  if (!lines_.find_line(line_id) && !roster_.occupied(line_id)) return std::nullopt;
  std::vector<std::string> hung_up;  // a copy: leave_line changes the roster
  for (const core::Occupant& occupant : roster_.occupants(line_id)) hung_up.push_back(occupant.session);
  PL_LOG(kInfo, "line=" + line_id) << "closed by an operator: " << hung_up.size() << " occupants hung up";
  for (const std::string& session_id : hung_up) {
    SessionState* state = state_of(session_id);
    if (state == nullptr) continue;
    if (state->guest != nullptr) {
      remove_guest(session_id, "line_closed");
      continue;
    }
    send_event(session_id, hangup_event("line_closed", line_id));
    // Invitations this occupant is placing on the line end with it, as
    // with a `hangup` request.
    tell_call_ends(invitations_.caller_left_line(state->id, line_id));
    end_line_call(*state);
  }
  // After the occupants' `left`: a receiver sees the line empty, then closed.
  report("line_closed", core::adopt_json(json_pack("{s:s, s:s}", "line_id", line_id.c_str(), "reason", "operator")));
  return hung_up;
}

}  // namespace partyline::signaling
