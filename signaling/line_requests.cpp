// Phone lines: creating, joining and leaving them, and the requests of their
// occupants (docs/protocol.md, "Phone lines"). What occupants see of each
// other is in line_occupancy.cpp.
#include <algorithm>
#include <chrono>

#include "core/runtime/log.hpp"
#include "signaling/call_handler.hpp"
#include "signaling/protocol_events.hpp"
#include "signaling/request_fields.hpp"

namespace partyline::signaling {

namespace {

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void CallHandler::sweep_idle_lines() {
  const int64_t now = monotonic_ms();
  for (const auto& [line_id, occupants] : occupants_) {
    if (!occupants.empty()) lines_.touch(line_id, now);
  }
  for (const std::string& line_id : lines_.forget_idle_lines(now, options_.line_idle_timeout.count())) {
    line_changes_.forget(line_id);
    PL_LOG(kDebug, "line=" + line_id) << "forgotten after being idle";
    report("line_closed", core::adopt_json(json_pack("{s:s, s:s}", "line_id", line_id.c_str(), "reason", "idle")));
  }
}

void CallHandler::join_line(SessionState& state, const std::string& line_id, const std::optional<std::string>& token,
                            std::string offer, std::function<void(SessionState&, Result<std::string>)> done) {
  auto line = lines_.find_line(line_id);
  if (!line) return done(state, make_error(error_code::kNotFound, "no line " + line_id));
  if (!lines_.is_member(line_id, state.user)) {
    if (!token || *token != line->token) {
      return done(state, make_error(error_code::kForbidden, "not a member of line " + line_id));
    }
    (void)lines_.add_member(line_id, state.user);
  }
  if (occupants_[line_id].size() >= options_.max_occupants_per_line) {
    return done(state, make_error(error_code::kUnavailable, "line " + line_id + " is full (" +
                                                                std::to_string(options_.max_occupants_per_line) +
                                                                " occupants)"));
  }
  state.line_id = line_id;  // taken now, so a second join is refused while this one negotiates
  start_peer(state, std::move(offer),
             [this, line_id, done](SessionState& current, Result<core::Negotiation> result) {
               if (!result) {
                 current.line_id.clear();
                 return done(current, result.error());
               }
               auto& occupants = occupants_[line_id];
               if (!lines_.find_line(line_id) || occupants.size() >= options_.max_occupants_per_line) {
                 current.line_id.clear();
                 close_peer(current);
                 return done(current, make_error(error_code::kUnavailable, "line " + line_id + " is gone or full"));
               }
               occupants.push_back(current.id);
               current.publishes_audio = result->publishes_audio;
               current.publishes_video = result->publishes_video;
               current.published = result->published;
               lines_.touch(line_id, monotonic_ms());
               report("joined", core::adopt_json(json_pack("{s:s, s:s, s:s, s:s}", "line_id", line_id.c_str(),
                                                           "session", current.id.c_str(), "user",
                                                           current.user.c_str(), "name", current.name.c_str())));
               PL_LOG(kInfo, "line=" + line_id) << "user " << current.user << " joined (session "
                                                << current.id.substr(0, 8) << ")";
               // `accepted` goes out now; the occupants event that lists
               // the newcomer always comes later, from the loop.
               done(current, std::move(result->answer_sdp));
               line_changed(line_id);
             });
}

void CallHandler::leave_line(SessionState& state) {
  if (state.line_id.empty()) return;
  const std::string line_id = std::move(state.line_id);
  state.line_id.clear();
  state.publishes_audio = state.publishes_video = false;
  state.muted_audio = state.muted_video = false;
  state.forced_mute_audio = state.forced_mute_video = false;
  auto it = occupants_.find(line_id);
  if (it == occupants_.end()) return;  // was still negotiating
  auto& occupants = it->second;
  const auto position = std::find(occupants.begin(), occupants.end(), state.id);
  if (position == occupants.end()) return;
  occupants.erase(position);
  lines_.touch(line_id, monotonic_ms());
  PL_LOG(kInfo, "line=" + line_id) << "user " << state.user << " left (session " << state.id.substr(0, 8) << ")";
  report("left", core::adopt_json(json_pack("{s:s, s:s, s:s}", "line_id", line_id.c_str(), "session",
                                            state.id.c_str(), "user", state.user.c_str())));
  if (occupants.empty()) {
    occupants_.erase(it);
    line_changes_.forget(line_id);  // nobody is left to tell
  } else {
    line_changed(line_id);
  }
}

void CallHandler::handle_create_line(SessionState& state, const Request& request) {
  auto line = lines_.create_line(state.user, monotonic_ms());
  if (!line) return respond(state, request, line.error());
  core::JsonPtr fields = core::adopt_json(json_object());
  json_object_set_new(fields.get(), "line_id", json_string(line->line_id.c_str()));
  json_object_set_new(fields.get(), "token", json_string(line->token.c_str()));
  PL_LOG(kInfo, "line=" + line->line_id) << "created by " << state.user;
  report("line_created", core::adopt_json(json_pack("{s:s, s:s}", "line_id", line->line_id.c_str(), "creator",
                                                    state.user.c_str())));
  respond(state, request, std::move(fields));
}

void CallHandler::handle_get_line(SessionState& state, const Request& request) {
  auto line_id = required_string(request.message.get(), "line_id");
  if (!line_id) return respond(state, request, line_id.error());
  if (!lines_.find_line(*line_id)) return respond(state, request, make_error(error_code::kNotFound, "no line " + *line_id));
  if (!lines_.is_member(*line_id, state.user)) {
    return respond(state, request, make_error(error_code::kForbidden, "not a member of line " + *line_id));
  }
  // A change not yet sent to the occupants goes out first, so an occupant's
  // last `occupants` event is exactly what this response carries.
  line_changes_.flush_now(*line_id);
  core::JsonPtr fields = core::adopt_json(json_object());
  json_object_set_new(fields.get(), "line", line_json(*line_id).release());
  respond(state, request, std::move(fields));
}

void CallHandler::handle_join(SessionState& state, const Request& request) {
  auto line_id = required_string(request.message.get(), "line_id");
  if (!line_id) return respond(state, request, line_id.error());
  auto token = optional_string(request.message.get(), "token");
  if (!token) return respond(state, request, token.error());
  auto offer = required_jsep(request.message.get(), "offer");
  if (!offer) return respond(state, request, offer.error());
  if (!state.line_id.empty() || (state.peer && !state.peer_finished) || !state.echo_handle.empty()) {
    return respond(state, request,
                   make_error(error_code::kConflict, state.line_id.empty() ? "an echo test is running; hang up first"
                                                                           : "already in line " + state.line_id));
  }
  join_line(state, *line_id, *token, std::move(offer.value()),
            [this, request = share_request(request)](SessionState& current, Result<std::string> answer) {
              if (!answer) return respond(current, *request, answer.error());
              core::JsonPtr fields = core::adopt_json(json_object());
              json_object_set_new(fields.get(), "line_id", json_string(current.line_id.c_str()));
              respond(current, *request, std::move(fields));
              core::JsonPtr accepted = events::event("accepted");
              json_object_set_new(accepted.get(), "line_id", json_string(current.line_id.c_str()));
              json_object_set_new(accepted.get(), "jsep", events::jsep("answer", *answer).release());
              send_event(current.id, std::move(accepted));
            });
}

void CallHandler::handle_leave(SessionState& state, const Request& request) {
  auto line_id = required_string(request.message.get(), "line_id");
  if (!line_id) return respond(state, request, line_id.error());
  if (state.line_id != *line_id) {
    return respond(state, request, make_error(error_code::kNotFound, "this session is not in line " + *line_id));
  }
  respond(state, request, core::JsonPtr());
  leave_line(state);
  const bool had_peer = state.peer != nullptr;
  close_peer(state);
  if (had_peer) send_event(state.id, events::webrtc_state("closed", nullptr));
}

void CallHandler::handle_mute(SessionState& state, const Request& request) {
  auto audio = optional_bool(request.message.get(), "audio");
  if (!audio) return respond(state, request, audio.error());
  auto video = optional_bool(request.message.get(), "video");
  if (!video) return respond(state, request, video.error());
  if (!audio->has_value() && !video->has_value()) {
    return respond(state, request, make_error(error_code::kBadRequest, "field 'audio' or 'video' is needed"));
  }
  if (state.line_id.empty() || occupants_.count(state.line_id) == 0) {
    return respond(state, request, make_error(error_code::kNotFound, "this session is not in a line"));
  }
  if ((state.forced_mute_audio && audio->has_value() && !**audio) ||
      (state.forced_mute_video && video->has_value() && !**video)) {
    return respond(state, request, make_error(error_code::kForbidden, "muted by an operator"));
  }
  state.muted_audio = audio->value_or(state.muted_audio);
  state.muted_video = video->value_or(state.muted_video);
  respond(state, request, core::JsonPtr());
  line_changed(state.line_id);
}

void CallHandler::handle_message(SessionState& state, const Request& request) {
  auto line_id = required_string(request.message.get(), "line_id");
  if (!line_id) return respond(state, request, line_id.error());
  auto to = optional_string(request.message.get(), "to");
  if (!to) return respond(state, request, to.error());
  const json_t* data = json_object_get(request.message.get(), "data");
  if (data == nullptr) return respond(state, request, make_error(error_code::kBadRequest, "field 'data' is missing"));
  auto occupants = occupants_.find(*line_id);
  if (state.line_id != *line_id || occupants == occupants_.end()) {
    return respond(state, request, make_error(error_code::kForbidden, "this session is not in line " + *line_id));
  }
  std::vector<std::string> recipients;
  for (const std::string& session_id : occupants->second) {
    const SessionState& occupant = sessions_.at(session_id);
    if (session_id == state.id || occupant.guest != nullptr) continue;  // guests take no messages
    if (!to->has_value() || occupant.user == **to) recipients.push_back(session_id);
  }
  if (to->has_value() && recipients.empty()) {
    return respond(state, request, make_error(error_code::kNotFound, "user '" + **to + "' is not in line " + *line_id));
  }
  // The sender is who the server authenticated, whatever `data` claims.
  core::JsonPtr from = events::user(state.user, state.name);
  json_object_set_new(from.get(), "session", json_string(state.id.c_str()));
  core::JsonPtr event = events::event("message");
  json_object_set_new(event.get(), "line_id", json_string(line_id->c_str()));
  json_object_set_new(event.get(), "from", from.release());
  json_object_set(event.get(), "data", const_cast<json_t*>(data));
  // One text for every recipient: a message to the whole line is serialized
  // once, not once per occupant.
  auto text = format_event(event.get());
  if (!text) return respond(state, request, text.error());
  for (const std::string& session_id : recipients) {
    if (auto session = sessions_.at(session_id).session.lock()) session->send_event_text(*text);
  }
  core::JsonPtr fields = core::adopt_json(json_object());
  json_object_set_new(fields.get(), "delivered", json_integer(static_cast<json_int_t>(recipients.size())));
  respond(state, request, std::move(fields));
}

void CallHandler::handle_ping(SessionState& state, const Request& request) {
  core::JsonPtr fields = core::adopt_json(json_object());
  json_object_set_new(fields.get(), "timestamp", json_integer(wall_clock_ms()));
  respond(state, request, std::move(fields));
}

void CallHandler::handle_update(SessionState& state, const Request& request) {
  const json_t* jsep = json_object_get(request.message.get(), "jsep");
  const char* type = json_is_object(jsep) ? json_string_value(json_object_get(jsep, "type")) : nullptr;
  if (type != nullptr && std::string_view(type) == "offer") {
    if (state.offer_in_flight) {
      return respond(state, request,
                     make_error(error_code::kConflict, "the server's offer awaits an answer; answer it first (glare)"));
    }
    return respond(state, request,
                   make_error(error_code::kNotImplemented, "offers from the client are not supported yet"));
  }
  auto answer = required_jsep(request.message.get(), "answer");
  if (!answer) return respond(state, request, answer.error());
  apply_update_answer(state, request, std::move(answer.value()));
}

}  // namespace partyline::signaling
