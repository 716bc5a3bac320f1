// The lines protocol's call events from the native ones (docs/compat.md,
// "Seed 003"): calling, ringing and accepted for the caller, incoming_call
// with the server's offer for the callee, and hangup with the SIP code of
// whatever ended the call.
#include <string_view>

#include "core/runtime/log.hpp"
#include "signaling/adapters/lines_protocol.hpp"

namespace partyline::signaling {

namespace {

std::string_view string_field(const json_t* object, const char* field) {
  const json_t* value = json_object_get(object, field);
  return json_is_string(value) ? std::string_view(json_string_value(value)) : std::string_view();
}

}  // namespace

void LinesProtocolFormat::line_event(const char* name, TextSink& out, core::JsonPtr fields) {
  if (!call_) return;
  if (!fields) fields = core::adopt_json(json_object());
  json_object_set_new(fields.get(), "event", json_string(name));
  json_object_set_new(fields.get(), "line", json_integer(0));
  json_object_set_new(fields.get(), "call_id", json_string(call_->client_call_id.c_str()));
  out.send_text(core::dump_json(fields.get()));
}

bool LinesProtocolFormat::is_our_call(const json_t* event) const {
  return call_ && !call_->native_call_id.empty() && string_field(event, "call_id") == call_->native_call_id;
}

void LinesProtocolFormat::calling(TextSink& out) { line_event("calling", out); }

// The seed's `accepted` carries the answer to the caller's offer, so it
// waits for both: the callee's accept and the server's answer.
void LinesProtocolFormat::answer_call(TextSink& out) {
  if (!call_ || !call_->outgoing || !call_->answered || !call_->held_answer || call_->native_call_id.empty()) return;
  core::JsonPtr fields =
      core::adopt_json(json_pack("{s:{s:s, s:s}}", "jsep", "type", "answer", "sdp", call_->held_answer->c_str()));
  call_->held_answer.reset();
  line_event("accepted", out, std::move(fields));
}

void LinesProtocolFormat::call_ended(int code, const std::string& reason, TextSink& out) {
  if (!call_) return;
  // An incoming call whose offer was not ready was never shown.
  if (call_->outgoing || call_->offer_transaction.empty()) {
    line_event("hangup", out, core::adopt_json(json_pack("{s:i, s:s}", "code", code, "reason", reason.c_str())));
  }
  call_.reset();
  // Out of the line (or the unanswered offer's PeerConnection closed); 404
  // when the session has neither any more, which is as good.
  request_own("hangup", nullptr);
}

void LinesProtocolFormat::show_incoming(const json_t* fields, TextSink& out) {
  const json_t* jsep = json_object_get(fields, "jsep");
  core::JsonPtr event = core::adopt_json(json_pack("{s:s, s:s, s:O}", "number", call_->number.c_str(), "display_name",
                                                   call_->display_name.c_str(), "jsep", jsep != nullptr ? jsep : json_null()));
  line_event("incoming_call", out, std::move(event));
}

// The other party leaving the line ends a call that was up.
void LinesProtocolFormat::show_occupants(const json_t* line, TextSink& out) {
  if (!call_ || call_->line_id.empty() || string_field(line, "line_id") != call_->line_id) return;
  size_t others = 0;
  size_t index = 0;
  const json_t* occupant = nullptr;
  json_array_foreach(json_object_get(line, "occupants"), index, occupant) {
    if (string_field(occupant, "session") != session_id_) ++others;
  }
  if (others > 0) {
    call_->other_seen = true;
  } else if (call_->other_seen) {
    call_ended(200, "BYE", out);
  }
}

void LinesProtocolFormat::event(const json_t* event, TextSink& out) {
  const std::string_view name = string_field(event, "event");
  if (name == "incoming_call") {
    const std::string call_id(string_field(event, "call_id"));
    if (call_) {
      // One call at a time: the caller hears busy (486), this phone nothing.
      request_own("decline", core::adopt_json(json_pack("{s:s, s:s}", "call_id", call_id.c_str(), "reason", "busy")));
      return;
    }
    const json_t* caller = json_object_get(event, "caller");
    call_ = Call{};
    call_->outgoing = false;
    call_->client_call_id = call_id;
    call_->native_call_id = call_id;
    call_->line_id = string_field(event, "line_id");
    call_->number = string_field(caller, "user");
    call_->display_name = string_field(caller, "name");
    // The seed's incoming_call carries the offer its client answers.
    call_->offer_transaction =
        request_own("media_offer", core::adopt_json(json_pack("{s:b, s:b}", "audio", 1, "video", 1)));
    return;
  }
  if (name == "ringing") {
    if (!call_ || !call_->outgoing) return;
    if (call_->native_call_id.empty()) {
      call_->ringing_seen = true;  // before the outgoing_call response: after its `calling`
    } else if (is_our_call(event)) {
      line_event("ringing", out);
    }
    return;
  }
  if (name == "accepted") {
    if (!call_ || !call_->outgoing) return;
    if (const json_t* jsep = json_object_get(event, "jsep"); jsep != nullptr && string_field(event, "call_id").empty()) {
      call_->held_answer = std::string(string_field(jsep, "sdp"));  // the caller's join
    } else if (is_our_call(event)) {
      call_->answered = true;  // the callee's accept
    }
    return answer_call(out);
  }
  if (name == "occupants") return show_occupants(json_object_get(event, "line"), out);
  if (name == "hangup") {  // the server ended it: kicked, line closed, shutdown
    if (!call_) return;
    line_event("hangup", out, core::adopt_json(json_pack("{s:i, s:s}", "code", string_field(event, "reason") == "shutdown" ? 503 : 200, "reason", "BYE")));
    call_.reset();
    return;
  }
  if (name == "error") {  // a join that failed after its response
    if (call_) call_ended(500, "Server Internal Error: " + std::string(string_field(event, "reason")), out);
    return;
  }
  if (!is_our_call(event)) return;
  if (name == "declined") {
    const bool offline = string_field(event, "reason") == "offline";
    call_ended(offline ? 480 : 603, offline ? "Temporarily Unavailable" : "Decline", out);
  } else if (name == "busy") {
    call_ended(486, "Busy Here", out);
  } else if (name == "timeout") {
    call_ended(408, "Request Timeout", out);
  } else if (name == "cancelled") {
    call_ended(487, "Request Terminated", out);
  } else if (name == "answered_elsewhere") {
    call_ended(487, "Call completed elsewhere", out);
  }
}

void LinesProtocolFormat::own_response(const std::string& transaction, const std::string& request,
                                       const json_t* fields, const Error* error, TextSink& out) {
  if (!call_ || call_->outgoing || transaction != call_->offer_transaction) {
    return WireFormat::own_response(transaction, request, fields, error, out);
  }
  call_->offer_transaction.clear();
  if (error != nullptr) {
    PL_LOG(kWarn, "lines") << "no offer for incoming call " << call_->native_call_id << ": " << error->message;
    request_own("decline", core::adopt_json(json_pack("{s:s}", "call_id", call_->native_call_id.c_str())));
    call_.reset();
    return;
  }
  show_incoming(fields, out);
}

}  // namespace partyline::signaling
