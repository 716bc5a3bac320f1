// Phone lines: creating, joining and leaving them, and the occupants' own
// flags (docs/protocol.md, "Phone lines"). What occupants see of each other
// is in line_occupancy.cpp; relays between them in relay_requests.cpp.
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
  for (const std::string& line_id : roster_.occupied_lines()) lines_.touch(line_id, now);
  for (const std::string& line_id : lines_.forget_idle_lines(now, options_.line_idle_timeout.count())) {
    line_changes_.forget(line_id);
    presence_changes_.forget(line_id);
    PL_LOG(kDebug, "line=" + line_id) << "forgotten after being idle";
    report("line_closed", core::adopt_json(json_pack("{s:s, s:s}", "line_id", line_id.c_str(), "reason", "idle")));
  }
}

bool CallHandler::admits(const core::LineRecord& line, const std::string& user) const {
  return line.open || lines_.is_member(line.line_id, user);
}

Status CallHandler::may_join(const std::string& line_id, const std::string& user) const {
  auto line = lines_.find_line(line_id);
  // The same answer for a line that does not exist: a refusal must not tell
  // an outsider which ids are lines.
  if (!line || !admits(*line, user)) return make_error(error_code::kForbidden, "not a member of line " + line_id);
  return {};
}

Status CallHandler::token_admits(const std::string& line_id, const std::string& token) const {
  auto line = lines_.find_line(line_id);
  if (!line || token.empty() || token != line->token) {
    return make_error(error_code::kForbidden, "the token does not admit to line " + line_id);
  }
  return {};
}

Status CallHandler::add_rooms(const std::vector<core::RoomSpec>& rooms) {
  for (const core::RoomSpec& room : rooms) {
    auto added = lines_.add_room(room, monotonic_ms());
    if (!added) return added.error();
    PL_LOG(kInfo, "line=" + room.id) << "room with " << room.members.size() << " members"
                                     << (room.open ? ", open" : "") << (room.token.empty() ? "" : ", with a token");
  }
  return {};
}

void CallHandler::join_line(SessionState& state, const std::string& line_id, const std::optional<std::string>& token,
                            std::optional<MediaStart> start, JoinDone done) {
  auto line = lines_.find_line(line_id);
  if (!line) return done(state, make_error(error_code::kNotFound, "no line " + line_id));
  const bool admitted = admits(*line, state.user);
  if (!admitted && (!token || *token != line->token)) {
    return done(state, make_error(error_code::kForbidden, "not a member of line " + line_id));
  }
  // Room before membership: a join refused because the line is full must
  // not leave the user a member (and take a place of max_members_per_line).
  if (auto room = roster_.check_room(line_id); !room) return done(state, room.error());
  if (!admitted) {  // by its token: a member from now on
    if (auto added = lines_.add_member(line_id, state.user); !added) return done(state, added.error());
    presence_changed(line_id);
  }
  if (!start) {
    become_occupant(state, line_id, nullptr);
    return done(state, std::optional<std::string>());
  }
  state.line_id = line_id;  // taken now, so a second join is refused while this one negotiates
  start_peer(state, std::move(*start), [this, line_id, done](SessionState& current, Result<core::Negotiation> result) {
    if (!result) {
      current.line_id.clear();
      return done(current, result.error());
    }
    if (!lines_.find_line(line_id) || !roster_.check_room(line_id)) {
      current.line_id.clear();
      close_peer(current);
      return done(current, make_error(error_code::kUnavailable, "line " + line_id + " is gone or full"));
    }
    become_occupant(current, line_id, &*result);
    // `accepted` goes out now; the occupants event that lists the newcomer
    // always comes later, from the loop.
    done(current, std::optional<std::string>(std::move(result->answer_sdp)));
  });
}

void CallHandler::become_occupant(SessionState& state, const std::string& line_id,
                                  const core::Negotiation* negotiation) {
  core::Occupant occupant;
  occupant.session = state.id;
  occupant.user = state.user;
  occupant.name = state.name;
  occupant.media = negotiation != nullptr ? core::OccupantMedia::kServer : core::OccupantMedia::kNone;
  occupant.connected = negotiation == nullptr;  // signaling only: nothing to connect
  if (negotiation != nullptr) occupant.published = negotiation->published;
  occupant.worker_index = state.worker_index;
  roster_.add(line_id, std::move(occupant), line_audio(line_id));
  state.line_id = line_id;
  lines_.touch(line_id, monotonic_ms());
  report("joined", core::adopt_json(json_pack("{s:s, s:s, s:s, s:s}", "line_id", line_id.c_str(), "session",
                                              state.id.c_str(), "user", state.user.c_str(), "name",
                                              state.name.c_str())));
  PL_LOG(kInfo, "line=" + line_id) << "user " << state.user << " joined (session " << state.id.substr(0, 8)
                                   << (negotiation == nullptr ? ", signaling only)" : ")");
  line_changed(line_id);
  presence_changed(line_id);
}

void CallHandler::leave_line(SessionState& state) {
  if (state.line_id.empty()) return;
  const std::string line_id = std::move(state.line_id);
  state.line_id.clear();
  state.told_speaker.clear();
  invitations_.left_line(state.id, line_id);
  const core::Occupant* occupant = roster_.find(line_id, state.id);
  if (occupant == nullptr) return;  // was still negotiating
  const bool mixer = occupant->mixer;
  roster_.remove(line_id, state.id);
  lines_.touch(line_id, monotonic_ms());
  PL_LOG(kInfo, "line=" + line_id) << (mixer ? "the audio mixer" : "user " + state.user) << " left (session "
                                   << state.id.substr(0, 8) << ")";
  if (!mixer) {
    report("left", core::adopt_json(json_pack("{s:s, s:s, s:s}", "line_id", line_id.c_str(), "session",
                                              state.id.c_str(), "user", state.user.c_str())));
  }
  if (roster_.occupied(line_id)) {
    line_changed(line_id);
  } else {
    line_changes_.forget(line_id);  // nobody is left to tell
  }
  presence_changed(line_id);
}

void CallHandler::handle_create_line(SessionState& state, const Request& request) {
  auto audio_name = optional_string(request.message.get(), "audio", 16);
  if (!audio_name) return respond(state, request, audio_name.error());
  core::LineAudio audio = core::LineAudio::kForwarded;
  if (*audio_name && **audio_name == "mixed") {
    audio = core::LineAudio::kMixed;
    if (auto mixing = mixers_ != nullptr ? mixers_->can_mix()
                                         : Status(make_error(error_code::kNotImplemented, "this server mixes no audio"));
        !mixing) {
      return respond(state, request, mixing.error());
    }
  } else if (*audio_name && **audio_name != "forwarded") {
    return respond(state, request, make_error(error_code::kBadRequest, "field 'audio' must be \"forwarded\" or \"mixed\""));
  }
  auto line = lines_.create_line(state.user, monotonic_ms(), audio);
  if (!line) return respond(state, request, line.error());
  core::JsonPtr fields = core::adopt_json(json_object());
  json_object_set_new(fields.get(), "line_id", json_string(line->line_id.c_str()));
  json_object_set_new(fields.get(), "token", json_string(line->token.c_str()));
  if (audio == core::LineAudio::kMixed) json_object_set_new(fields.get(), "audio", json_string("mixed"));
  PL_LOG(kInfo, "line=" + line->line_id) << "created by " << state.user
                                         << (audio == core::LineAudio::kMixed ? ", audio mixed" : "");
  report("line_created", core::adopt_json(json_pack("{s:s, s:s}", "line_id", line->line_id.c_str(), "creator",
                                                    state.user.c_str())));
  respond(state, request, std::move(fields));
}

void CallHandler::handle_get_line(SessionState& state, const Request& request) {
  auto line_id = required_string(request.message.get(), "line_id");
  if (!line_id) return respond(state, request, line_id.error());
  auto line = lines_.find_line(*line_id);
  if (!line) return respond(state, request, make_error(error_code::kNotFound, "no line " + *line_id));
  if (!admits(*line, state.user)) {
    return respond(state, request, make_error(error_code::kForbidden, "not a member of line " + *line_id));
  }
  // A change not yet sent goes out first, so an occupant's last `occupants`
  // (and a member's last `presence`) is exactly what this response carries.
  const int64_t now = monotonic_ms();
  if (line_changes_.take(*line_id, now)) publish_line_change(*line_id);
  if (presence_changes_.take(*line_id, now)) broadcast_presence(*line_id);
  core::JsonPtr fields = core::adopt_json(json_object());
  json_object_set_new(fields.get(), "line", line_json(*line_id).release());
  json_object_set_new(fields.get(), "members", members_json(*line_id).release());
  respond(state, request, std::move(fields));
}

void CallHandler::handle_join(SessionState& state, const Request& request) {
  auto line_id = required_string(request.message.get(), "line_id");
  if (!line_id) return respond(state, request, line_id.error());
  auto token = optional_string(request.message.get(), "token");
  if (!token) return respond(state, request, token.error());
  auto offer = optional_media_start(request.message.get());
  if (!offer) return respond(state, request, offer.error());
  // Joining again, without an offer, the line one occupies changes nothing
  // and says so (seed 000's requestNewPhoneLineConnection gets "the existing
  // or a new" connection).
  if (const core::Occupant* occupant = state.line_id == *line_id ? roster_.find(*line_id, state.id) : nullptr;
      occupant != nullptr && !offer->has_value()) {
    core::JsonPtr fields = core::adopt_json(json_object());
    json_object_set_new(fields.get(), "line_id", json_string(line_id->c_str()));
    json_object_set_new(fields.get(), "media",
                        json_string(occupant->media == core::OccupantMedia::kNone ? "none" : "server"));
    return respond(state, request, std::move(fields));
  }
  if (busy_for_join(state, *offer)) {
    return respond(state, request,
                   make_error(error_code::kConflict,
                              !state.line_id.empty()     ? "already in line " + state.line_id
                              : !state.echo_handle.empty() ? std::string("an echo test is running; hang up first")
                                                           : std::string("the session's media_offer awaits its answer "
                                                                         "(a jsep of type answer); or hang up first")));
  }
  if (offer->has_value()) wait_for_answer(state, request);
  join_line(state, *line_id, *token, std::move(offer.value()),
            [this, request = share_request(request)](SessionState& current,
                                                     Result<std::optional<std::string>> answer) {
              if (!answer) return respond(current, *request, answer.error());
              core::JsonPtr fields = core::adopt_json(json_object());
              json_object_set_new(fields.get(), "line_id", json_string(current.line_id.c_str()));
              if (!answer->has_value()) {
                json_object_set_new(fields.get(), "media", json_string("none"));
                return respond(current, *request, std::move(fields));
              }
              respond(current, *request, std::move(fields));
              core::JsonPtr accepted = events::event("accepted");
              json_object_set_new(accepted.get(), "line_id", json_string(current.line_id.c_str()));
              // An answer to the session's media_offer needs no answer back.
              if (!(*answer)->empty()) {
                json_object_set_new(accepted.get(), "jsep", events::jsep("answer", **answer).release());
              }
              send_event(current.id, std::move(accepted));
            });
}

void CallHandler::handle_leave(SessionState& state, const Request& request) {
  auto line_id = required_string(request.message.get(), "line_id");
  if (!line_id) return respond(state, request, line_id.error());
  if (state.line_id != *line_id) {
    return respond(state, request, make_error(error_code::kNotFound, "this session is not in line " + *line_id));
  }
  abandon_waiting(state);  // a join still negotiating is answered first
  respond(state, request, core::JsonPtr());
  end_line_call(state);
}

void CallHandler::handle_mute(SessionState& state, const Request& request) {
  auto audio = optional_bool(request.message.get(), "audio");
  if (!audio) return respond(state, request, audio.error());
  auto video = optional_bool(request.message.get(), "video");
  if (!video) return respond(state, request, video.error());
  if (!audio->has_value() && !video->has_value()) {
    return respond(state, request, make_error(error_code::kBadRequest, "field 'audio' or 'video' is needed"));
  }
  if (auto muted = roster_.mute(state.line_id, state.id, *audio, *video); !muted) {
    return respond(state, request, muted.error());
  }
  respond(state, request, core::JsonPtr());
  line_changed(state.line_id);
}

void CallHandler::handle_ping(SessionState& state, const Request& request) {
  core::JsonPtr fields = core::adopt_json(json_object());
  json_object_set_new(fields.get(), "timestamp", json_integer(wall_clock_ms()));
  respond(state, request, std::move(fields));
}

}  // namespace partyline::signaling
