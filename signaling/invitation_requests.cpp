// Invitations: ringing another user into a line, and everything that ends a
// ringing call (docs/protocol.md, "invite" to "block and unblock"). The
// decisions are core::Invitations'; this file reads the requests and tells
// the parties.
#include <algorithm>
#include <cctype>
#include <string_view>

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

// Email addresses compared as people type them: ASCII case ignored.
bool same_email(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string log_context(const core::Invitation& call) { return "line=" + call.line_id + " call=" + call.call_id.substr(0, 8); }

const char* caller_event_name(core::CallEnd::CallerHears hears) {
  switch (hears) {
    case core::CallEnd::CallerHears::kAccepted: return "accepted";
    case core::CallEnd::CallerHears::kDeclined: return "declined";
    case core::CallEnd::CallerHears::kBusy: return "busy";
    case core::CallEnd::CallerHears::kCancelled: return "cancelled";
    case core::CallEnd::CallerHears::kTimeout: return "timeout";
    case core::CallEnd::CallerHears::kNothing: break;
  }
  return nullptr;
}

}  // namespace

void CallHandler::tell_call_end(const core::CallEnd& end) {
  const core::Invitation& call = end.call;
  if (const char* name = caller_event_name(end.caller_hears)) {
    core::JsonPtr event = events::call_event(name, call);
    if (end.caller_hears == core::CallEnd::CallerHears::kDeclined) event = with_reason(std::move(event), end.caller_reason);
    // Who answered: the callee and the session it answered on (seed 000
    // names the callee by that session).
    const bool answered = end.caller_hears == core::CallEnd::CallerHears::kAccepted ||
                          ((end.caller_hears == core::CallEnd::CallerHears::kDeclined ||
                            end.caller_hears == core::CallEnd::CallerHears::kBusy) &&
                           !end.answering_session.empty());
    if (answered) {
      const SessionState* answering = state_of(end.answering_session);
      json_object_set_new(
          event.get(), "user",
          events::party(call.callee, answering ? answering->name : call.callee, end.answering_session).release());
    }
    send_event(call.caller_session, std::move(event));
  }
  if (end.caller_hears == core::CallEnd::CallerHears::kTimeout) {
    PL_LOG(kInfo, log_context(call)) << "nobody answered";
  }
  auto callee_sessions = sessions_by_user_.find(call.callee);
  if (callee_sessions == sessions_by_user_.end() || end.callee_hears_nothing()) return;
  for (const std::string& session_id : callee_sessions->second) {
    if (session_id == end.answering_session) continue;
    core::JsonPtr event;
    if (!end.answering_session.empty()) {
      event = events::event("answered_elsewhere");
      json_object_set_new(event.get(), "call_id", json_string(call.call_id.c_str()));
    } else {
      event = with_reason(events::call_event("cancelled", call), end.callee_reason);
    }
    json_object_set_new(event.get(), "caller",
                        events::party(call.caller, call.caller_name, call.caller_session).release());
    send_event(session_id, std::move(event));
  }
}

void CallHandler::tell_call_ends(const std::vector<core::CallEnd>& ends) {
  for (const core::CallEnd& end : ends) tell_call_end(end);
}

Result<core::JsonPtr> CallHandler::invite(SessionState& caller, const std::string& line_id, const std::string& callee) {
  auto callee_sessions = sessions_by_user_.find(callee);
  const bool online = callee_sessions != sessions_by_user_.end();
  auto outcome = invitations_.invite({caller.user, caller.name, caller.id}, line_id, callee, online, monotonic_ms());
  if (!outcome) return outcome.error();
  presence_changed(line_id);  // the callee is a member now (no event if it was one)
  core::JsonPtr fields = core::adopt_json(json_object());
  if (!outcome->call) {
    json_object_set_new(fields.get(), "delivered", json_false());
    return fields;
  }
  const core::Invitation call = *outcome->call;
  json_object_set_new(fields.get(), "call_id", json_string(call.call_id.c_str()));
  json_object_set_new(fields.get(), "delivered", json_boolean(outcome->rings()));
  if (outcome->rings()) {
    json_t* rung = json_array();
    for (const std::string& session_id : callee_sessions->second) json_array_append_new(rung, json_string(session_id.c_str()));
    json_object_set_new(fields.get(), "sessions", rung);
  }
  if (outcome->declined_at_once) {
    // After the response (posted), so the caller knows the call id first.
    loop_.post([this, end = *outcome->declined_at_once] { tell_call_end(end); });
    PL_LOG(kInfo, log_context(call)) << call.caller << " -> " << callee << ": declined (blocked)";
    return fields;
  }
  wake_by(call.deadline_ms);  // its ring timeout
  for (const std::string& session_id : callee_sessions->second) {
    core::JsonPtr incoming = events::call_event("incoming_call", call);
    core::JsonPtr from = events::party(call.caller, call.caller_name, call.caller_session);
    // The address the callee may know the caller by (seed 000 blocks by it).
    if (!caller.email.empty()) json_object_set_new(from.get(), "email", json_string(caller.email.c_str()));
    json_object_set_new(incoming.get(), "caller", from.release());
    send_event(session_id, std::move(incoming));
  }
  loop_.post([this, call] {
    core::JsonPtr ringing = events::call_event("ringing", call);
    json_object_set_new(ringing.get(), "user", json_string(call.callee.c_str()));
    send_event(call.caller_session, std::move(ringing));
  });
  PL_LOG(kInfo, log_context(call)) << call.caller << " -> " << callee << ": ringing on "
                                   << callee_sessions->second.size() << " session(s)";
  return fields;
}

Result<std::optional<std::string>> CallHandler::named_user(const Request& request) const {
  auto user = optional_string(request.message.get(), "user", kMaxUserIdBytes);
  if (!user) return user.error();
  auto email = optional_string(request.message.get(), "email");
  if (!email) return email.error();
  if (user->has_value() == email->has_value()) {
    return make_error(error_code::kBadRequest, "give field 'user' or field 'email', one of them");
  }
  if (user->has_value()) return *user;
  for (const auto& [id, state] : sessions_) {
    if (!state.email.empty() && same_email(state.email, **email)) return std::optional<std::string>(state.user);
  }
  return std::optional<std::string>();
}

Result<std::string> CallHandler::incoming_call_named(const SessionState& callee, const Request& request) const {
  auto call_id = optional_string(request.message.get(), "call_id");
  if (!call_id) return call_id.error();
  auto caller_session = optional_string(request.message.get(), "caller_session");
  if (!caller_session) return caller_session.error();
  if (call_id->has_value() == caller_session->has_value()) {
    return make_error(error_code::kBadRequest, "give field 'call_id' or field 'caller_session', one of them");
  }
  if (call_id->has_value()) return **call_id;
  for (const core::Invitation& call : lines_.invitations_for(callee.user)) {
    if (call.caller_session == **caller_session) return call.call_id;
  }
  return make_error(error_code::kNotFound, "no call from that session rings for you");
}

Result<std::string> CallHandler::outgoing_call_named(const SessionState& caller, const Request& request) const {
  auto call_id = optional_string(request.message.get(), "call_id");
  if (!call_id) return call_id.error();
  if (call_id->has_value()) return **call_id;
  auto callee = named_user(request);
  if (!callee) {
    return make_error(error_code::kBadRequest, "give field 'call_id', 'user' or 'email', one of them");
  }
  if (callee->has_value()) {
    for (const core::Invitation& call : lines_.invitations_from_session(caller.id)) {
      if (call.callee == **callee) return call.call_id;
    }
  }
  return make_error(error_code::kNotFound, "no call of this session rings for that user");
}

void CallHandler::handle_invite(SessionState& state, const Request& request) {
  auto line_id = required_string(request.message.get(), "line_id");
  if (!line_id) return respond(state, request, line_id.error());
  auto callee = named_user(request);
  if (!callee) return respond(state, request, callee.error());
  if (!callee->has_value()) {
    // An address no connected user has: nobody to ring or to make a member.
    return respond(state, request, core::adopt_json(json_pack("{s:b}", "delivered", 0)));
  }
  respond(state, request, invite(state, *line_id, **callee));
}

void CallHandler::handle_accept(SessionState& state, const Request& request) {
  auto call_id = incoming_call_named(state, request);
  if (!call_id) return respond(state, request, call_id.error());
  auto offer = optional_media_start(request.message.get());
  if (!offer) return respond(state, request, offer.error());
  if (auto ringing = invitations_.ringing_for(*call_id, state.user); !ringing) {
    return respond(state, request, ringing.error());
  }
  if (offer->has_value() && busy_for_join(state, *offer)) {
    return respond(state, request, make_error(error_code::kConflict, "this session is busy; leave first"));
  }
  auto ended = invitations_.accept(*call_id, state.user, state.id);
  if (!ended) return respond(state, request, ended.error());
  const core::Invitation call = ended->call;
  tell_call_end(*ended);
  PL_LOG(kInfo, log_context(call)) << call.callee << " accepted";
  core::JsonPtr fields = core::adopt_json(json_object());
  json_object_set_new(fields.get(), "call_id", json_string(call.call_id.c_str()));
  json_object_set_new(fields.get(), "line_id", json_string(call.line_id.c_str()));
  respond(state, request, std::move(fields));
  if (!offer->has_value()) return;
  join_line(state, call.line_id, std::nullopt, std::move(**offer),
            [this, line_id = call.line_id](SessionState& current, Result<std::optional<std::string>> answer) {
              if (!answer) return send_event(current.id, events::error(answer.error()));
              core::JsonPtr joined = events::event("accepted");
              json_object_set_new(joined.get(), "line_id", json_string(line_id.c_str()));
              if (!answer->value_or("").empty()) {
                json_object_set_new(joined.get(), "jsep", events::jsep("answer", **answer).release());
              }
              send_event(current.id, std::move(joined));
            });
}

void CallHandler::handle_decline(SessionState& state, const Request& request) {
  auto call_id = incoming_call_named(state, request);
  if (!call_id) return respond(state, request, call_id.error());
  auto reason = optional_string(request.message.get(), "reason");
  if (!reason) return respond(state, request, reason.error());
  const std::string why = reason->value_or("declined");
  if (why != "declined" && why != "busy" && why != "blocked") {
    return respond(state, request,
                   make_error(error_code::kBadRequest, "field 'reason' must be \"declined\", \"busy\" or \"blocked\""));
  }
  auto ended = invitations_.decline(*call_id, state.user, state.id, why);
  if (!ended) return respond(state, request, ended.error());
  tell_call_end(*ended);
  PL_LOG(kInfo, log_context(ended->call)) << ended->call.callee << " declined (" << why << ")";
  respond(state, request, core::JsonPtr());
}

void CallHandler::handle_cancel(SessionState& state, const Request& request) {
  auto call_id = outgoing_call_named(state, request);
  if (!call_id) return respond(state, request, call_id.error());
  auto ended = invitations_.cancel(*call_id, state.user);
  if (!ended) return respond(state, request, ended.error());
  respond(state, request, core::JsonPtr());
  tell_call_end(*ended);
  PL_LOG(kInfo, log_context(ended->call)) << ended->call.caller << " cancelled";
}

void CallHandler::handle_outgoing_call(SessionState& state, const Request& request) {
  auto number = required_string(request.message.get(), "number", 128);
  if (!number) return respond(state, request, number.error());
  auto offer = optional_media_start(request.message.get());
  if (!offer) return respond(state, request, offer.error());
  if (!offer->has_value()) return respond(state, request, make_error(error_code::kBadRequest, "field 'jsep' is missing"));
  if (busy_for_join(state, *offer)) {
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
            [this, line_id = line->line_id](SessionState& current, Result<std::optional<std::string>> answer) {
              if (!answer) {
                // Without the caller in the line the call makes no sense.
                tell_call_ends(invitations_.caller_left_line(current.id, line_id));
                return send_event(current.id, events::error(answer.error()));
              }
              core::JsonPtr joined = events::event("accepted");
              json_object_set_new(joined.get(), "line_id", json_string(line_id.c_str()));
              if (!answer->value_or("").empty()) {
                json_object_set_new(joined.get(), "jsep", events::jsep("answer", **answer).release());
              }
              send_event(current.id, std::move(joined));
            });
}

void CallHandler::handle_block(SessionState& state, const Request& request) {
  auto user = named_user(request);
  if (!user) return respond(state, request, user.error());
  if (!user->has_value()) {
    return respond(state, request, make_error(error_code::kNotFound, "no connected user has that email"));
  }
  if (auto blocked = lines_.block(state.user, **user); !blocked) return respond(state, request, blocked.error());
  respond(state, request, core::JsonPtr());
}

void CallHandler::handle_unblock(SessionState& state, const Request& request) {
  auto user = named_user(request);
  if (!user) return respond(state, request, user.error());
  if (!user->has_value()) {
    return respond(state, request, make_error(error_code::kNotFound, "no connected user has that email"));
  }
  lines_.unblock(state.user, **user);
  respond(state, request, core::JsonPtr());
}

}  // namespace partyline::signaling
