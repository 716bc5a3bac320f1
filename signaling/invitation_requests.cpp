// Invitations: ringing another user into a line, and everything that ends a
// ringing call (docs/protocol.md, "invite" to "block and unblock").
#include <algorithm>

#include "core/runtime/log.hpp"
#include "signaling/call_handler.hpp"
#include "signaling/protocol_events.hpp"
#include "signaling/request_fields.hpp"

namespace partyline::signaling {

namespace {

core::JsonPtr with_reason(core::JsonPtr event, const std::string& reason) {
  json_object_set_new(event.get(), "reason", json_string(reason.c_str()));
  return event;
}

std::string log_context(const core::Invitation& call) { return "line=" + call.line_id + " call=" + call.call_id.substr(0, 8); }

}  // namespace

Result<core::JsonPtr> CallHandler::invite(SessionState& caller, const std::string& line_id, const std::string& callee) {
  if (!lines_.find_line(line_id)) return make_error(error_code::kNotFound, "no line " + line_id);
  if (!lines_.is_member(line_id, caller.user)) return make_error(error_code::kForbidden, "not a member of line " + line_id);
  if (callee == caller.user) return make_error(error_code::kBadRequest, "field 'user' names the caller itself");
  core::JsonPtr fields = core::adopt_json(json_object());
  auto callee_sessions = sessions_by_user_.find(callee);
  if (callee_sessions == sessions_by_user_.end()) {
    (void)lines_.add_member(line_id, callee);
    json_object_set_new(fields.get(), "delivered", json_false());
    return fields;
  }
  core::Invitation call{random_uuid_v4(), line_id, caller.user, caller.name, caller.id, callee,
                        monotonic_ms() + options_.ring_timeout.count()};
  const bool blocked = lines_.has_blocked(callee, caller.user);
  if (!blocked) {
    if (auto added = lines_.add_invitation(call); !added) return added.error();
  }
  (void)lines_.add_member(line_id, callee);
  json_object_set_new(fields.get(), "call_id", json_string(call.call_id.c_str()));
  json_object_set_new(fields.get(), "delivered", json_true());
  if (blocked) {
    // Declined at once and nothing rings: the callee never hears of it.
    loop_.post([this, call] { send_event(call.caller_session, with_reason(events::call_event("declined", call), "blocked")); });
    PL_LOG(kInfo, log_context(call)) << call.caller << " -> " << callee << ": declined (blocked)";
    return fields;
  }
  for (const std::string& session_id : callee_sessions->second) {
    core::JsonPtr incoming = events::call_event("incoming_call", call);
    json_object_set_new(incoming.get(), "caller", events::user(call.caller, call.caller_name).release());
    send_event(session_id, std::move(incoming));
  }
  auto timer = std::make_unique<core::Timer>();
  timer->start(loop_.context(), options_.ring_timeout, [this, call_id = call.call_id] {
    on_ring_timeout(call_id);
    return false;
  });
  ring_timers_[call.call_id] = std::move(timer);
  // After the response (posted), so the caller knows the call id first.
  loop_.post([this, call] {
    core::JsonPtr ringing = events::call_event("ringing", call);
    json_object_set_new(ringing.get(), "user", json_string(call.callee.c_str()));
    send_event(call.caller_session, std::move(ringing));
  });
  PL_LOG(kInfo, log_context(call)) << call.caller << " -> " << callee << ": ringing on "
                                   << callee_sessions->second.size() << " session(s)";
  return fields;
}

void CallHandler::end_call(const core::Invitation& call, core::JsonPtr caller_event, const std::string& callee_reason,
                           const std::string& answering_session) {
  ring_timers_.erase(call.call_id);
  if (caller_event) send_event(call.caller_session, std::move(caller_event));
  auto callee_sessions = sessions_by_user_.find(call.callee);
  if (callee_sessions == sessions_by_user_.end()) return;
  for (const std::string& session_id : callee_sessions->second) {
    if (session_id == answering_session) continue;
    if (!answering_session.empty()) {
      core::JsonPtr elsewhere = events::event("answered_elsewhere");
      json_object_set_new(elsewhere.get(), "call_id", json_string(call.call_id.c_str()));
      send_event(session_id, std::move(elsewhere));
    } else {
      send_event(session_id, with_reason(events::call_event("cancelled", call), callee_reason));
    }
  }
}

void CallHandler::on_ring_timeout(const std::string& call_id) {
  auto call = lines_.take_invitation(call_id);
  if (!call) return;
  PL_LOG(kInfo, log_context(*call)) << "nobody answered";
  end_call(*call, events::call_event("timeout", *call), "timeout");
}

// A closing session stops ringing the calls it placed; a callee whose last
// session closes declines with "offline".
void CallHandler::end_calls_of_closed_session(const SessionState& state) {
  for (const auto& call : lines_.invitations_from_session(state.id)) {
    if (!lines_.take_invitation(call.call_id)) continue;
    end_call(call, nullptr, "caller_left");
  }
  if (sessions_by_user_.count(state.user) > 0) return;
  for (const auto& call : lines_.invitations_for(state.user)) {
    if (!lines_.take_invitation(call.call_id)) continue;
    end_call(call, with_reason(events::call_event("declined", call), "offline"), "offline");
  }
}

void CallHandler::handle_invite(SessionState& state, const Request& request) {
  auto line_id = required_string(request.message.get(), "line_id");
  if (!line_id) return respond(state, request, line_id.error());
  auto callee = required_string(request.message.get(), "user", 128);
  if (!callee) return respond(state, request, callee.error());
  respond(state, request, invite(state, *line_id, *callee));
}

void CallHandler::handle_accept(SessionState& state, const Request& request) {
  auto call_id = required_string(request.message.get(), "call_id");
  if (!call_id) return respond(state, request, call_id.error());
  auto offer = optional_jsep(request.message.get(), "offer");
  if (!offer) return respond(state, request, offer.error());
  auto pending = lines_.find_invitation(*call_id);
  if (!pending) return respond(state, request, make_error(error_code::kNotFound, "no ringing call " + *call_id));
  if (pending->callee != state.user) {
    return respond(state, request, make_error(error_code::kForbidden, "only the callee may accept call " + *call_id));
  }
  if (offer->has_value() && (!state.line_id.empty() || (state.peer && !state.peer_finished))) {
    return respond(state, request, make_error(error_code::kConflict, "this session is busy; leave first"));
  }
  core::Invitation call = *lines_.take_invitation(*call_id);
  core::JsonPtr accepted = events::call_event("accepted", call);
  json_object_set_new(accepted.get(), "user", events::user(state.user, state.name).release());
  end_call(call, std::move(accepted), "", state.id);
  PL_LOG(kInfo, log_context(call)) << call.callee << " accepted";
  core::JsonPtr fields = core::adopt_json(json_object());
  json_object_set_new(fields.get(), "call_id", json_string(call.call_id.c_str()));
  json_object_set_new(fields.get(), "line_id", json_string(call.line_id.c_str()));
  respond(state, request, std::move(fields));
  if (!offer->has_value()) return;
  join_line(state, call.line_id, std::nullopt, std::move(**offer),
            [this, line_id = call.line_id](SessionState& current, Result<std::string> answer) {
              if (!answer) return send_event(current.id, events::error(answer.error()));
              core::JsonPtr joined = events::event("accepted");
              json_object_set_new(joined.get(), "line_id", json_string(line_id.c_str()));
              json_object_set_new(joined.get(), "jsep", events::jsep("answer", *answer).release());
              send_event(current.id, std::move(joined));
            });
}

void CallHandler::handle_decline(SessionState& state, const Request& request) {
  auto call_id = required_string(request.message.get(), "call_id");
  if (!call_id) return respond(state, request, call_id.error());
  auto reason = optional_string(request.message.get(), "reason");
  if (!reason) return respond(state, request, reason.error());
  const std::string why = reason->value_or("declined");
  if (why != "declined" && why != "busy" && why != "blocked") {
    return respond(state, request,
                   make_error(error_code::kBadRequest, "field 'reason' must be \"declined\", \"busy\" or \"blocked\""));
  }
  auto pending = lines_.find_invitation(*call_id);
  if (!pending) return respond(state, request, make_error(error_code::kNotFound, "no ringing call " + *call_id));
  if (pending->callee != state.user) {
    return respond(state, request, make_error(error_code::kForbidden, "only the callee may decline call " + *call_id));
  }
  core::Invitation call = *lines_.take_invitation(*call_id);
  core::JsonPtr caller_event =
      why == "busy" ? events::call_event("busy", call) : with_reason(events::call_event("declined", call), why);
  end_call(call, std::move(caller_event), "", state.id);
  PL_LOG(kInfo, log_context(call)) << call.callee << " declined (" << why << ")";
  respond(state, request, core::JsonPtr());
}

void CallHandler::handle_cancel(SessionState& state, const Request& request) {
  auto call_id = required_string(request.message.get(), "call_id");
  if (!call_id) return respond(state, request, call_id.error());
  auto pending = lines_.find_invitation(*call_id);
  if (!pending) return respond(state, request, make_error(error_code::kNotFound, "no ringing call " + *call_id));
  if (pending->caller != state.user) {
    return respond(state, request, make_error(error_code::kForbidden, "only the caller may cancel call " + *call_id));
  }
  core::Invitation call = *lines_.take_invitation(*call_id);
  respond(state, request, core::JsonPtr());
  end_call(call, events::call_event("cancelled", call), "cancelled");
  PL_LOG(kInfo, log_context(call)) << call.caller << " cancelled";
}

void CallHandler::handle_outgoing_call(SessionState& state, const Request& request) {
  auto number = required_string(request.message.get(), "number", 128);
  if (!number) return respond(state, request, number.error());
  auto offer = required_jsep(request.message.get(), "offer");
  if (!offer) return respond(state, request, offer.error());
  if (!state.line_id.empty() || (state.peer && !state.peer_finished)) {
    return respond(state, request, make_error(error_code::kConflict, "this session is busy; leave first"));
  }
  auto line = lines_.create_line(state.user, monotonic_ms());
  if (!line) return respond(state, request, line.error());
  auto invited = invite(state, line->line_id, *number);
  if (!invited) return respond(state, request, invited.error());
  core::JsonPtr fields = std::move(invited.value());
  json_object_set_new(fields.get(), "line_id", json_string(line->line_id.c_str()));
  json_object_set_new(fields.get(), "token", json_string(line->token.c_str()));
  respond(state, request, std::move(fields));
  join_line(state, line->line_id, std::nullopt, std::move(offer.value()),
            [this, line_id = line->line_id](SessionState& current, Result<std::string> answer) {
              if (!answer) {
                // Without the caller in the line the call makes no sense.
                for (const auto& call : lines_.invitations_from_session(current.id)) {
                  if (call.line_id == line_id && lines_.take_invitation(call.call_id)) {
                    end_call(call, events::call_event("cancelled", call), "cancelled");
                  }
                }
                return send_event(current.id, events::error(answer.error()));
              }
              core::JsonPtr joined = events::event("accepted");
              json_object_set_new(joined.get(), "line_id", json_string(line_id.c_str()));
              json_object_set_new(joined.get(), "jsep", events::jsep("answer", *answer).release());
              send_event(current.id, std::move(joined));
            });
}

void CallHandler::handle_block(SessionState& state, const Request& request) {
  auto user = required_string(request.message.get(), "user", 128);
  if (!user) return respond(state, request, user.error());
  lines_.block(state.user, *user);
  respond(state, request, core::JsonPtr());
}

void CallHandler::handle_unblock(SessionState& state, const Request& request) {
  auto user = required_string(request.message.get(), "user", 128);
  if (!user) return respond(state, request, user.error());
  lines_.unblock(state.user, *user);
  respond(state, request, core::JsonPtr());
}

}  // namespace partyline::signaling
