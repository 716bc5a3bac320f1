// Relays between the sessions of a line (docs/protocol.md: `message`,
// `signal`, `ready`). Every relayed event names its sender as the server
// authenticated it (`from`), whatever the relayed data says; none crosses
// into another line.
#include <cstdlib>
#include <cstring>

#include "core/runtime/log.hpp"
#include "signaling/call_handler.hpp"
#include "signaling/protocol_events.hpp"
#include "signaling/request_fields.hpp"

namespace partyline::signaling {

namespace {

constexpr size_t kMaxReadyReasonBytes = 256;

}  // namespace

void CallHandler::handle_message(SessionState& state, const Request& request) {
  auto line_id = required_string(request.message.get(), "line_id");
  if (!line_id) return respond(state, request, line_id.error());
  auto to = optional_string(request.message.get(), "to");
  if (!to) return respond(state, request, to.error());
  const json_t* data = json_object_get(request.message.get(), "data");
  if (data == nullptr) return respond(state, request, make_error(error_code::kBadRequest, "field 'data' is missing"));
  if (state.line_id != *line_id || roster_.find(*line_id, state.id) == nullptr) {
    return respond(state, request, make_error(error_code::kForbidden, "this session is not in line " + *line_id));
  }
  std::vector<std::string> recipients;
  for (const core::Occupant& occupant : roster_.occupants(*line_id)) {
    if (occupant.session == state.id || occupant.media == core::OccupantMedia::kPlugin) continue;  // guests take no messages
    if (!to->has_value() || occupant.user == **to) recipients.push_back(occupant.session);
  }
  if (to->has_value() && recipients.empty()) {
    return respond(state, request, make_error(error_code::kNotFound, "user '" + **to + "' is not in line " + *line_id));
  }
  core::JsonPtr event = events::event("message");
  json_object_set_new(event.get(), "line_id", json_string(line_id->c_str()));
  json_object_set_new(event.get(), "from", events::party(state.user, state.name, state.id).release());
  json_object_set(event.get(), "data", const_cast<json_t*>(data));
  // One text for every recipient: a message to the whole line is serialized
  // once, not once per occupant.
  auto text = format_event(event.get());
  if (!text) return respond(state, request, text.error());
  send_text(recipients, *text);
  core::JsonPtr fields = core::adopt_json(json_object());
  json_object_set_new(fields.get(), "delivered", json_integer(static_cast<json_int_t>(recipients.size())));
  respond(state, request, std::move(fields));
}

void CallHandler::handle_signal(SessionState& state, const Request& request) {
  // Without line_id: the line the session occupies (seed 000's sendSDP names
  // only the recipient).
  auto named_line = optional_string(request.message.get(), "line_id");
  if (!named_line) return respond(state, request, named_line.error());
  if (!named_line->has_value() && state.line_id.empty()) {
    return respond(state, request, make_error(error_code::kForbidden, "this session is not in a line"));
  }
  const std::string* line_id = named_line->has_value() ? &**named_line : &state.line_id;
  auto to_session = required_string(request.message.get(), "to_session");
  if (!to_session) return respond(state, request, to_session.error());
  const json_t* data = json_object_get(request.message.get(), "data");
  if (data == nullptr) return respond(state, request, make_error(error_code::kBadRequest, "field 'data' is missing"));
  if (*to_session == state.id) {
    return respond(state, request, make_error(error_code::kBadRequest, "field 'to_session' names the sender itself"));
  }
  if (state.line_id != *line_id || roster_.find(*line_id, state.id) == nullptr) {
    return respond(state, request, make_error(error_code::kForbidden, "this session is not in line " + *line_id));
  }
  const core::Occupant* recipient = roster_.find(*line_id, *to_session);
  if (recipient == nullptr || recipient->media == core::OccupantMedia::kPlugin) {
    return respond(state, request, make_error(error_code::kNotFound, "session '" + *to_session +
                                                                         "' is not a client occupant of line " + *line_id));
  }
  // Measured as the recipient will get it: a limit on what one request
  // makes the server send, whatever the framing limit allows.
  char* serialized = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);
  const size_t size = serialized != nullptr ? std::strlen(serialized) : 0;
  std::free(serialized);
  if (size > options_.max_signal_bytes) {
    return respond(state, request, make_error(error_code::kTooLarge, "field 'data' is " + std::to_string(size) +
                                                                         " bytes; at most " +
                                                                         std::to_string(options_.max_signal_bytes)));
  }
  core::JsonPtr event = events::event("signal");
  json_object_set_new(event.get(), "line_id", json_string(line_id->c_str()));
  json_object_set_new(event.get(), "from", events::party(state.user, state.name, state.id).release());
  json_object_set(event.get(), "data", const_cast<json_t*>(data));
  core::JsonPtr fields = core::adopt_json(json_object());
  json_object_set_new(fields.get(), "to", events::party(recipient->user, recipient->name, recipient->session).release());
  send_event(*to_session, std::move(event));
  respond(state, request, std::move(fields));
}

void CallHandler::handle_ready(SessionState& state, const Request& request) {
  auto call_id = required_string(request.message.get(), "call_id");
  if (!call_id) return respond(state, request, call_id.error());
  auto ready = required_bool(request.message.get(), "ready");
  if (!ready) return respond(state, request, ready.error());
  auto reason = optional_string(request.message.get(), "reason", kMaxReadyReasonBytes);
  if (!reason) return respond(state, request, reason.error());
  auto answered = invitations_.answered_by(*call_id, state.id);
  if (!answered) return respond(state, request, answered.error());
  if (state_of(answered->call.caller_session) == nullptr) {
    return respond(state, request, make_error(error_code::kNotFound, "the caller of call " + *call_id + " is gone"));
  }
  core::JsonPtr event = events::call_event("ready", answered->call);
  json_object_set_new(event.get(), "from", events::party(state.user, state.name, state.id).release());
  json_object_set_new(event.get(), "ready", json_boolean(*ready));
  if (reason->has_value()) json_object_set_new(event.get(), "reason", json_string((*reason)->c_str()));
  send_event(answered->call.caller_session, std::move(event));
  respond(state, request, core::JsonPtr());
}

}  // namespace partyline::signaling
