#include "signaling/call_handler.hpp"

#include <algorithm>

#include "core/runtime/log.hpp"
#include "signaling/protocol_events.hpp"
#include "signaling/request_fields.hpp"

namespace partyline::signaling {

int64_t monotonic_ms() { return g_get_monotonic_time() / 1000; }

CallHandler::CallHandler(core::EventLoop& signaling_loop, core::WorkerPool& workers,
                         core::PeerConnectionSettings settings, core::LineStore& lines, Options options)
    : loop_(signaling_loop),
      workers_(workers),
      settings_(std::move(settings)),
      lines_(lines),
      options_(options),
      handlers_{
          {"echo", &CallHandler::handle_echo},
          {"ice_trickle", &CallHandler::handle_ice_trickle},
          {"hangup", &CallHandler::handle_hangup},
          {"create_line", &CallHandler::handle_create_line},
          {"get_line", &CallHandler::handle_get_line},
          {"join", &CallHandler::handle_join},
          {"leave", &CallHandler::handle_leave},
          {"mute", &CallHandler::handle_mute},
          {"message", &CallHandler::handle_message},
          {"signal", &CallHandler::handle_signal},
          {"ready", &CallHandler::handle_ready},
          {"ping", &CallHandler::handle_ping},
          {"update", &CallHandler::handle_update},
          {"configure", &CallHandler::handle_configure},
          {"invite", &CallHandler::handle_invite},
          {"accept", &CallHandler::handle_accept},
          {"decline", &CallHandler::handle_decline},
          {"cancel", &CallHandler::handle_cancel},
          {"outgoing_call", &CallHandler::handle_outgoing_call},
          {"media_offer", &CallHandler::handle_media_offer},
          {"block", &CallHandler::handle_block},
          {"unblock", &CallHandler::handle_unblock},
      },
      roster_(options.max_occupants_per_line, options.speakers),
      invitations_(lines, options.ring_timeout.count(), random_uuid_v4),
      line_changes_(options.occupants_interval.count()),
      presence_changes_(options.occupants_interval.count()) {
  // Timers belong to the loop's context; arm the sweep from the loop thread.
  loop_.post([this] {
    const auto period = std::max(std::chrono::milliseconds(1000), options_.line_idle_timeout / 4);
    idle_sweep_.start(loop_.context(), period, [this] {
      sweep_idle_lines();
      return true;
    });
  });
}

CallHandler::~CallHandler() = default;

CallHandler::SessionState* CallHandler::state_of(const std::string& session_id) {
  auto it = sessions_.find(session_id);
  return it == sessions_.end() ? nullptr : &it->second;
}

const core::Occupant* CallHandler::occupant_of(const SessionState& state) const {
  return state.line_id.empty() ? nullptr : roster_.find(state.line_id, state.id);
}

core::Occupant* CallHandler::occupant_of(const SessionState& state) {
  return state.line_id.empty() ? nullptr : roster_.find(state.line_id, state.id);
}

void CallHandler::respond(SessionState& state, const Request& request, Result<core::JsonPtr> result) {
  auto session = state.session.lock();
  if (!session) return;
  if (!result) {
    session->respond_error(request.transaction, request.name, result.error());
  } else {
    session->respond_success(request.transaction, request.name, std::move(result.value()));
  }
}

void CallHandler::send_event(const std::string& session_id, core::JsonPtr event) {
  SessionState* state = state_of(session_id);
  if (state == nullptr) return;
  if (auto session = state->session.lock()) session->send_event(std::move(event));
}

void CallHandler::send_text(const std::vector<std::string>& session_ids, const std::string& text) {
  for (const std::string& session_id : session_ids) {
    const SessionState* state = state_of(session_id);
    if (state == nullptr) continue;
    if (auto session = state->session.lock()) session->send_event_text(text);
  }
}

void CallHandler::report(std::string_view type, core::JsonPtr fields) {
  if (events_ != nullptr) events_->on_call_event(type, std::move(fields));
}

void CallHandler::wake_by(int64_t due_ms) {
  if (wakeup_at_ms_ && *wakeup_at_ms_ <= due_ms) return;  // it wakes early enough already
  wakeup_at_ms_ = due_ms;
  // A change due now still waits for the loop's next iteration, so the
  // changes made by one request share one event.
  const auto delay = std::chrono::milliseconds(std::max<int64_t>(0, due_ms - monotonic_ms()));
  wakeup_.start(loop_.context(), delay, [this] {
    wakeup_at_ms_.reset();
    on_wakeup();
    return false;
  });
}

void CallHandler::on_wakeup() {
  const int64_t now = monotonic_ms();
  tell_call_ends(invitations_.expire(now));
  for (const std::string& line_id : line_changes_.take_due(now)) publish_line_change(line_id);
  for (const std::string& line_id : presence_changes_.take_due(now)) broadcast_presence(line_id);
  // Whatever is still scheduled (or was scheduled by the flushes) later.
  for (std::optional<int64_t> due :
       {line_changes_.next_wakeup(), presence_changes_.next_wakeup(), invitations_.next_wakeup()}) {
    if (due) wake_by(*due);
  }
}

void CallHandler::on_session_open(const std::shared_ptr<ClientSession>& session) {
  const Identity& identity = session->identity();
  SessionState& state = sessions_[session->id()];
  state.session = session;
  state.id = session->id();
  state.user = identity.user;
  state.name = identity.name;
  state.email = identity.email;
  state.anonymous = identity.anonymous;
  auto& user_sessions = sessions_by_user_[state.user];
  user_sessions.push_back(state.id);
  PL_LOG(kInfo, session->log_context()) << "connected from " << session->remote_address();
  report("session_up", core::adopt_json(json_pack("{s:s, s:s, s:s, s:s}", "session", state.id.c_str(), "user",
                                                  state.user.c_str(), "name", state.name.c_str(), "remote_address",
                                                  session->remote_address().c_str())));
  send_member_lines(state);
  if (user_sessions.size() == 1) user_presence_changed(state.user);  // the user came online
}

void CallHandler::on_session_closed(const std::shared_ptr<ClientSession>& session) {
  SessionState* state = state_of(session->id());
  if (state == nullptr) return;
  leave_line(*state);
  if (state->peer) state->peer->close();
  auto& user_sessions = sessions_by_user_[state->user];
  user_sessions.erase(std::remove(user_sessions.begin(), user_sessions.end(), state->id), user_sessions.end());
  const bool still_online = !user_sessions.empty();
  if (!still_online) sessions_by_user_.erase(state->user);
  tell_call_ends(invitations_.session_closed(state->id, state->user, still_online));
  const std::string user = state->user;
  // A guest's name is anyone's once its last session is gone: so is its block list.
  if (!still_online && state->anonymous) lines_.forget_blocks(user);
  sessions_.erase(session->id());
  if (!still_online) user_presence_changed(user);
  PL_LOG(kInfo, session->log_context()) << "disconnected";
  report("session_down",
         core::adopt_json(json_pack("{s:s, s:s}", "session", session->id().c_str(), "user", user.c_str())));
}

void CallHandler::on_request(const std::shared_ptr<ClientSession>& session, Request request) {
  SessionState* state = state_of(session->id());
  auto handler = handlers_.find(request.name);
  if (state == nullptr || handler == handlers_.end()) {
    session->respond_error(request.transaction, request.name,
                           make_error(error_code::kNotFound, "unknown request '" + request.name + "'"));
    return;
  }
  (this->*handler->second)(*state, request);
}

void CallHandler::close_all() {
  for (auto& [id, state] : sessions_) {
    if (state.peer) state.peer->close();
  }
}

core::PeerConnectionHandle::Events CallHandler::peer_events(const std::string& session_id) {
  core::PeerConnectionHandle::Events events;
  events.on_local_candidate = [this, session_id](std::string candidate) {
    if (SessionState* state = state_of(session_id)) {
      send_event(session_id, events::ice_candidate(&candidate, state->candidate_mid));
    }
  };
  events.on_end_of_candidates = [this, session_id] { send_event(session_id, events::ice_candidate(nullptr, "")); };
  events.on_state = [this, session_id](ice::TransportState state, std::optional<Error> error) {
    on_peer_state(session_id, state, error);
  };
  events.on_audio_level = [this, session_id](uint8_t level) { on_audio_level(session_id, level); };
  return events;
}

void CallHandler::on_peer_state(const std::string& session_id, ice::TransportState transport_state,
                                const std::optional<Error>& error) {
  SessionState* state = state_of(session_id);
  const char* name = events::webrtc_state_name(transport_state);
  if (state == nullptr || name == nullptr) return;
  state->peer_state = name;
  send_event(session_id, events::webrtc_state(name, error ? &*error : nullptr));
  if (transport_state == ice::TransportState::kFailed && error) {
    send_event(session_id, events::error(*error));
    report("media_failed", core::adopt_json(json_pack(
                               "{s:s, s:s, s:o, s:i, s:s}", "session", session_id.c_str(), "user", state->user.c_str(),
                               "line_id", state->line_id.empty() ? json_null() : json_string(state->line_id.c_str()),
                               "code", error->code, "reason", error->message.c_str())));
  }
  if (transport_state == ice::TransportState::kSecure) {
    if (core::Occupant* occupant = occupant_of(*state)) {
      occupant->connected = true;  // "connecting" becomes "connected"
      line_changed(state->line_id);
    }
  } else if (transport_state == ice::TransportState::kFailed || transport_state == ice::TransportState::kClosed) {
    state->peer_finished = true;
    leave_line(*state);  // a participant whose media is gone is no longer in the line
  }
}

void CallHandler::wait_for_answer(SessionState& state, const Request& request) {
  state.abandon_waiting = [this, session_id = state.id, request = share_request(request)](const Error& error) {
    if (SessionState* current = state_of(session_id)) respond(*current, *request, error);
  };
}

void CallHandler::abandon_waiting(SessionState& state) {
  if (!state.abandon_waiting) return;
  auto abandon = std::move(state.abandon_waiting);
  state.abandon_waiting = nullptr;
  abandon(make_error(error_code::kConflict, "left before the answer was ready"));
}

void CallHandler::create_peer(SessionState& state) {
  if (state.peer) state.peer->close();
  state.peer_finished = false;
  state.peer_state = "new";
  state.first_offer_out = false;
  std::string log_context = "session=" + state.id.substr(0, 8) + " user=" + state.user + " pc=line";
  state.worker_index = workers_.pick_index();
  state.peer = core::PeerConnectionHandle::create(workers_.worker(state.worker_index), state.worker_index, loop_,
                                                  settings_, std::move(log_context), peer_events(state.id));
  state.renegotiation.reset();
  state.offered_keys.clear();
  state.video_from.reset();  // a new PeerConnection receives everyone's until told otherwise
  state.negotiation = ++negotiation_counter_;
}

bool CallHandler::busy_for_join(const SessionState& state, const std::optional<MediaStart>& start) const {
  if (!state.line_id.empty() || !state.echo_handle.empty()) return true;
  if (!state.peer || state.peer_finished) return false;
  return !(start && start->answer && state.first_offer_out);
}

void CallHandler::start_peer(SessionState& state, MediaStart start,
                             std::function<void(SessionState&, Result<core::Negotiation>)> done) {
  auto finish = [this, session_id = state.id, done](uint64_t negotiation, Result<core::Negotiation> result) {
    SessionState* current = state_of(session_id);
    if (current == nullptr || current->negotiation != negotiation || !current->peer) return;
    current->abandon_waiting = nullptr;  // answered now, by `done`
    if (!result) close_peer(*current);
    done(*current, std::move(result));
  };
  if (start.answer) {
    if (!state.peer || !state.first_offer_out) {
      return done(state, make_error(error_code::kConflict, "no media_offer awaits an answer"));
    }
    state.first_offer_out = false;
    state.peer->accept_first_answer(std::move(start.sdp), [finish, negotiation = state.negotiation](
                                                              Result<core::Negotiation> result) {
      finish(negotiation, std::move(result));
    });
    return;
  }
  create_peer(state);
  state.paired = start.paired;
  state.candidate_mid = events::first_mid(start.sdp).value_or("0");
  state.peer->negotiate(std::move(start.sdp),
                        start.paired ? core::MediaRole::kPairedLineParticipant : core::MediaRole::kLineParticipant,
                        [finish, negotiation = state.negotiation](Result<core::Negotiation> result) {
                          finish(negotiation, std::move(result));
                        });
  // Candidates that came before the offer follow it on the worker's queue.
  for (auto& candidate : state.early_candidates) state.peer->add_remote_candidate(std::move(candidate), nullptr);
  state.early_candidates.clear();
  if (state.early_end_of_candidates) state.peer->end_of_remote_candidates();
  state.early_end_of_candidates = false;
}

void CallHandler::handle_media_offer(SessionState& state, const Request& request) {
  auto audio = optional_bool(request.message.get(), "audio");
  if (!audio) return respond(state, request, audio.error());
  auto video = optional_bool(request.message.get(), "video");
  if (!video) return respond(state, request, video.error());
  std::vector<rtp::MediaKind> kinds;
  if (audio->value_or(true)) kinds.push_back(rtp::MediaKind::kAudio);
  if (video->value_or(true)) kinds.push_back(rtp::MediaKind::kVideo);
  if (kinds.empty()) return respond(state, request, make_error(error_code::kBadRequest, "an offer needs audio or video"));
  // One still unanswered is replaced; anything else is in use.
  if (!state.line_id.empty() || !state.echo_handle.empty() ||
      (state.peer && !state.peer_finished && !state.first_offer_out)) {
    return respond(state, request, make_error(error_code::kConflict, "this session is busy; hang up first"));
  }
  close_peer(state);
  create_peer(state);
  state.paired = true;
  state.candidate_mid = "0";
  wait_for_answer(state, request);
  state.peer->offer_first(
      std::move(kinds), [this, session_id = state.id, negotiation = state.negotiation,
                         request = share_request(request)](Result<std::string> offer) {
        SessionState* current = state_of(session_id);
        if (current == nullptr || current->negotiation != negotiation || !current->peer) return;
        current->abandon_waiting = nullptr;
        if (!offer) {
          close_peer(*current);
          return respond(*current, *request, offer.error());
        }
        current->first_offer_out = true;
        core::JsonPtr fields = core::adopt_json(json_object());
        json_object_set_new(fields.get(), "jsep", events::jsep("offer", *offer).release());
        respond(*current, *request, std::move(fields));
      });
}

void CallHandler::close_peer(SessionState& state) {
  abandon_waiting(state);
  if (!state.peer) return;
  state.peer->close();
  state.peer.reset();
  state.peer_finished = false;
  state.first_offer_out = false;
  state.paired = false;
  state.renegotiation.reset();
  ++state.negotiation;  // an answer still on its way is for nobody now
}

void CallHandler::end_line_call(SessionState& state) {
  leave_line(state);
  const bool had_peer = state.peer != nullptr;
  close_peer(state);
  if (had_peer) send_event(state.id, events::webrtc_state("closed", nullptr));
}

void CallHandler::handle_ice_trickle(SessionState& state, const Request& request) {
  auto candidate = read_trickled_candidate(request.message.get());
  if (!candidate) return respond(state, request, candidate.error());
  if (!state.echo_handle.empty()) return trickle_to_echo(state, request, std::move(candidate.value()));
  if (!state.peer || state.peer_finished) {
    if (candidate->end_of_candidates) {
      state.early_end_of_candidates = true;
    } else if (state.early_candidates.size() >= kMaxEarlyCandidates) {
      return respond(state, request, make_error(error_code::kTooLarge, "too many candidates before the offer"));
    } else {
      state.early_candidates.push_back(std::move(candidate->line));
    }
    return respond(state, request, core::JsonPtr());
  }
  if (candidate->end_of_candidates) {
    state.peer->end_of_remote_candidates();
    return respond(state, request, core::JsonPtr());
  }
  state.peer->add_remote_candidate(
      std::move(candidate->line), [this, session_id = state.id, request = share_request(request)](Result<bool> added) {
        SessionState* current = state_of(session_id);
        if (current == nullptr) return;
        if (!added) return respond(*current, *request, added.error());
        core::JsonPtr fields;
        if (!added.value()) {
          fields = core::adopt_json(json_object());
          json_object_set_new(fields.get(), "ignored", json_true());
        }
        respond(*current, *request, std::move(fields));
      });
}

void CallHandler::handle_hangup(SessionState& state, const Request& request) {
  auto line_id = optional_string(request.message.get(), "line_id");
  if (!line_id) return respond(state, request, line_id.error());
  if (line_id->has_value() && **line_id != state.line_id) {
    return respond(state, request, make_error(error_code::kNotFound, "this session is not in line " + **line_id));
  }
  if (!state.echo_handle.empty() && !line_id->has_value()) {
    abandon_waiting(state);  // an echo still negotiating is answered first
    respond(state, request, core::JsonPtr());
    end_echo(state);
    return send_event(state.id, events::webrtc_state("closed", nullptr));
  }
  if (!state.peer && state.line_id.empty()) {
    return respond(state, request, make_error(error_code::kNotFound, "there is no PeerConnection to hang up"));
  }
  // Calls this session is placing on its line end with it.
  if (!state.line_id.empty()) tell_call_ends(invitations_.caller_left_line(state.id, state.line_id));
  abandon_waiting(state);  // a join still negotiating is answered first
  respond(state, request, core::JsonPtr());
  end_line_call(state);
}

}  // namespace partyline::signaling
