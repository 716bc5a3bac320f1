// The lines protocol's framing and requests (lines_protocol.hpp): texts are
// JSON objects; requests carry `request`, `transaction` and a `line`; every
// one is answered by an `ack` or an error of the same shape.
#include "signaling/adapters/lines_protocol.hpp"

#include <algorithm>

#include "core/runtime/log.hpp"

namespace partyline::signaling {

namespace {

constexpr size_t kMaxNumberDigits = 15;  // E.164
constexpr size_t kMaxCallIdBytes = 128;
constexpr int64_t kLines = 2;            // the handshake's "lines": [null, null]

MessageError refused(int code, std::string reason, std::optional<std::string> transaction = std::nullopt,
                     std::optional<std::string> request = std::nullopt) {
  return MessageError{make_error(code, std::move(reason)), std::move(transaction), std::move(request)};
}

// The jsep object as the client sent it, checked for its type; the native
// request checks the rest (the sdp, its size).
Result<core::JsonPtr> jsep_of(const json_t* message, std::string_view type) {
  const json_t* jsep = json_object_get(message, "jsep");
  const json_t* jsep_type = json_is_object(jsep) ? json_object_get(jsep, "type") : nullptr;
  if (!json_is_string(jsep_type) || json_string_value(jsep_type) != type) {
    return make_error(error_code::kBadRequest, "field 'jsep' must be an object with type \"" + std::string(type) + "\"");
  }
  return core::adopt_json(json_pack("{s:s, s:O}", "type", std::string(type).c_str(), "sdp",
                                    json_object_get(jsep, "sdp") != nullptr ? json_object_get(jsep, "sdp") : json_null()));
}

}  // namespace

LinesProtocolFormat::LinesProtocolFormat(const Identity& identity)
    : registered_(is_number(identity.user)) {}

bool LinesProtocolFormat::is_number(std::string_view user) {
  return !user.empty() && user.size() <= kMaxNumberDigits &&
         std::all_of(user.begin(), user.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The seed's handshake state. A user id that is not a number cannot
// register: the state says "unregistered" and the registration's events
// follow, as the seed shows them for a registration in progress.
void LinesProtocolFormat::start(const HandshakeState& state, TextSink& out) {
  session_id_ = state.session_id;
  core::JsonPtr lines = core::adopt_json(json_array());
  for (int64_t i = 0; i < kLines; ++i) json_array_append_new(lines.get(), json_null());
  core::JsonPtr handshake = core::adopt_json(
      json_pack("{s:I, s:O, s:s, s:I, s:{s:s}}", "timestamp", static_cast<json_int_t>(state.timestamp_ms), "lines",
                lines.get(), "handshake", "state", "keepalive_interval",
                static_cast<json_int_t>(state.keepalive_interval_ms), "registration", "status",
                registered_ ? "registered" : "unregistered"));
  out.send_text(core::dump_json(handshake.get()));
  if (registered_) return;
  out.send_text(R"({"event":"registering"})");
  core::JsonPtr failed = core::adopt_json(json_pack("{s:s, s:i, s:s}", "event", "registration_failed", "code", 403,
                                                    "phrase", "forbidden: the user id is not a number"));
  out.send_text(core::dump_json(failed.get()));
}

DecodedText LinesProtocolFormat::decode(std::string_view text, TextSink&) {
  DecodedText decoded;
  auto message = core::parse_json_object(text);
  if (!message) {
    decoded.messages.push_back(refused(error_code::kBadRequest, message.error().message));
    return decoded;
  }
  const json_t* object = message->get();
  const json_t* transaction = json_object_get(object, "transaction");
  if (!json_is_string(transaction) || json_string_length(transaction) == 0 ||
      json_string_length(transaction) > kMaxTransactionBytes) {
    decoded.messages.push_back(refused(error_code::kBadRequest, "field 'transaction' must be a string of 1 to " +
                                                                    std::to_string(kMaxTransactionBytes) + " bytes"));
    return decoded;
  }
  const std::string id = json_string_value(transaction);
  if (const json_t* handshake = json_object_get(object, "handshake"); handshake != nullptr) {
    if (json_is_string(handshake) && std::string_view(json_string_value(handshake)) == "keepalive") {
      decoded.messages.push_back(KeepaliveMessage{id});
    } else {
      decoded.messages.push_back(refused(error_code::kBadRequest, "the only handshake a client sends is \"keepalive\"", id));
    }
    return decoded;
  }
  const json_t* name = json_object_get(object, "request");
  if (!json_is_string(name)) {
    decoded.messages.push_back(refused(error_code::kBadRequest, "field 'request' must be a string", id));
    return decoded;
  }
  std::optional<int64_t> line;
  if (const json_t* value = json_object_get(object, "line"); value != nullptr) {
    if (!json_is_integer(value) || json_integer_value(value) < 0 || json_integer_value(value) >= kLines) {
      decoded.messages.push_back(refused(error_code::kBadRequest, "field 'line' must be 0 or 1", id, json_string_value(name)));
      return decoded;
    }
    line = json_integer_value(value);
  }
  pending_[id] = Pending{json_string_value(name), line, 0, {}};
  decoded.messages.push_back(translate(object, id, line));
  return decoded;
}

ClientMessage LinesProtocolFormat::translate(const json_t* message, const std::string& transaction,
                                             std::optional<int64_t> line) {
  const std::string name = json_string_value(json_object_get(message, "request"));
  if (line == 1) {
    return refused(error_code::kNotImplemented,
                   "line 1 is not supported: a session has one call at a time (no hold), on line 0", transaction, name);
  }
  if (name == "outgoing_call") return outgoing_call(message, transaction);
  if (name == "accept") return accept(message, transaction);
  if (name == "hangup") return hangup(message, transaction);
  if (name == "ice_trickle") {
    const json_t* candidate = json_object_get(message, "candidate");
    core::JsonPtr fields = core::adopt_json(json_pack("{s:O}", "candidate", candidate != nullptr ? candidate : json_null()));
    return native("ice_trickle", transaction, std::move(fields), pending_[transaction]);
  }
  if (name == "register") {
    if (!registered_) return refused(error_code::kForbidden, "the user id is not a number: it cannot register", transaction, name);
    return native("ping", transaction, nullptr, pending_[transaction]);  // answered with the registration's events
  }
  return refused(error_code::kNotImplemented, "request '" + name + "' is not supported (docs/compat.md, seed 003)",
                 transaction, name);
}

ClientMessage LinesProtocolFormat::outgoing_call(const json_t* message, const std::string& transaction) {
  auto call_id = core::get_required_string(message, "call_id");
  if (!call_id || call_id->empty() || call_id->size() > kMaxCallIdBytes) {
    return refused(error_code::kBadRequest, "field 'call_id' must be a string of 1 to 128 bytes", transaction, "outgoing_call");
  }
  auto number = core::get_required_string(message, "number");
  if (!number || !is_number(*number)) {
    return refused(error_code::kBadRequest, "field 'number' must be a number of 1 to 15 digits", transaction,
                   "outgoing_call");
  }
  auto jsep = jsep_of(message, "offer");
  if (!jsep) return refused(jsep.error().code, jsep.error().message, transaction, "outgoing_call");
  if (call_) return refused(error_code::kConflict, "line 0 has a call; hang it up first", transaction, "outgoing_call");
  call_ = Call{};
  call_->client_call_id = *call_id;
  // Paired: the callee's media comes back on the caller's own m-lines,
  // since this client takes one answer and never renegotiates.
  core::JsonPtr fields = core::adopt_json(
      json_pack("{s:s, s:O, s:b}", "number", number->c_str(), "jsep", jsep->get(), "paired", 1));
  return native("outgoing_call", transaction, std::move(fields), pending_[transaction]);
}

ClientMessage LinesProtocolFormat::accept(const json_t* message, const std::string& transaction) {
  auto call_id = core::get_required_string(message, "call_id");
  if (!call_id) return refused(error_code::kBadRequest, call_id.error().message, transaction, "accept");
  if (!call_ || call_->outgoing || call_->client_call_id != *call_id || call_->answered) {
    return refused(error_code::kNotFound, "no incoming call " + *call_id + " rings on line 0", transaction, "accept");
  }
  auto jsep = jsep_of(message, "answer");
  if (!jsep) return refused(jsep.error().code, jsep.error().message, transaction, "accept");
  core::JsonPtr fields =
      core::adopt_json(json_pack("{s:s, s:O}", "call_id", call_->native_call_id.c_str(), "jsep", jsep->get()));
  return native("accept", transaction, std::move(fields), pending_[transaction]);
}

// The client's hangup ends its call at once, whatever the server answers:
// declining a call still ringing, cancelling one placed, or leaving the line.
ClientMessage LinesProtocolFormat::hangup(const json_t* message, const std::string& transaction) {
  auto call_id = core::get_optional_string(message, "call_id");
  if (!call_id) return refused(error_code::kBadRequest, call_id.error().message, transaction, "hangup");
  if (!call_ || (call_id->has_value() && **call_id != call_->client_call_id)) {
    return refused(error_code::kNotFound, "no call " + call_id->value_or("") + " on line 0", transaction, "hangup");
  }
  Pending& pending = pending_[transaction];
  pending.call_id = call_->client_call_id;  // the call the events name
  const Call call = *call_;
  call_.reset();
  if (!call.outgoing && !call.answered) {
    pending.hangup_code = 603;
    core::JsonPtr fields = core::adopt_json(json_pack("{s:s}", "call_id", call.native_call_id.c_str()));
    return native("decline", transaction, std::move(fields), pending);
  }
  pending.hangup_code = call.answered ? 200 : 487;
  return native("hangup", transaction, nullptr, pending);
}

Request LinesProtocolFormat::native(const std::string& name, const std::string& transaction, core::JsonPtr fields,
                                    Pending pending) {
  pending_[transaction] = std::move(pending);
  if (!fields) fields = core::adopt_json(json_object());
  json_object_set_new(fields.get(), "request", json_string(name.c_str()));
  json_object_set_new(fields.get(), "transaction", json_string(transaction.c_str()));
  return Request{name, transaction, std::move(fields)};
}

void LinesProtocolFormat::keepalive_ack(const std::string& transaction, TextSink& out) {
  core::JsonPtr ack = core::adopt_json(json_pack("{s:s, s:s}", "handshake", "keepalive", "transaction", transaction.c_str()));
  out.send_text(core::dump_json(ack.get()));
}

void LinesProtocolFormat::ack(const std::string& transaction, const std::optional<int64_t>& line, TextSink& out) {
  core::JsonPtr ack = core::adopt_json(json_object());
  if (line) json_object_set_new(ack.get(), "line", json_integer(*line));
  json_object_set_new(ack.get(), "response", json_string("ack"));
  json_object_set_new(ack.get(), "transaction", json_string(transaction.c_str()));
  out.send_text(core::dump_json(ack.get()));
}

void LinesProtocolFormat::success(const std::string& transaction, const std::string&, const json_t* fields,
                                  TextSink& out) {
  auto found = pending_.find(transaction);
  if (found == pending_.end()) return ack(transaction, std::nullopt, out);
  const Pending pending = std::move(found->second);
  pending_.erase(found);
  ack(transaction, pending.line, out);
  if (pending.request == "outgoing_call") {
    if (!call_ || !call_->outgoing) return;
    const json_t* call_id = json_object_get(fields, "call_id");
    const json_t* line_id = json_object_get(fields, "line_id");
    call_->native_call_id = json_is_string(call_id) ? json_string_value(call_id) : "";
    call_->line_id = json_is_string(line_id) ? json_string_value(line_id) : "";
    calling(out);
    // Delivered to nobody: no connected phone has the number. (A blocked
    // call has a call_id; its `declined` follows.)
    if (!json_is_string(call_id)) return call_ended(480, "Temporarily Unavailable", out);
    if (call_->ringing_seen) line_event("ringing", out);
    return answer_call(out);
  }
  if (pending.request == "accept") {
    if (call_ && !call_->outgoing) call_->answered = true;
    return;
  }
  if (pending.request == "hangup") return hung_up(pending, out);
  if (pending.request == "register") {
    out.send_text(R"({"event":"registering"})");
    out.send_text(R"({"event":"registered","phrase":"ok"})");
  }
}

void LinesProtocolFormat::hung_up(const Pending& pending, TextSink& out) {
  const std::string& call_id = pending.call_id;
  const int code = pending.hangup_code;
  const char* reason = code == 200 ? "to BYE" : code == 487 ? "to CANCEL" : "to Decline";
  core::JsonPtr hangingup = core::adopt_json(json_pack("{s:i, s:i, s:s, s:s}", "code", code, "line", 0, "event",
                                                       "hangingup", "call_id", call_id.c_str()));
  out.send_text(core::dump_json(hangingup.get()));
  core::JsonPtr hangup = core::adopt_json(json_pack("{s:i, s:i, s:s, s:s, s:s}", "code", code, "line", 0, "reason",
                                                    reason, "event", "hangup", "call_id", call_id.c_str()));
  out.send_text(core::dump_json(hangup.get()));
  // A declined call's offer had a PeerConnection waiting for an answer.
  if (code == 603) request_own("hangup", nullptr);
}

void LinesProtocolFormat::error(const std::optional<std::string>& transaction, const std::optional<std::string>& request,
                                const Error& error, TextSink& out) {
  std::optional<Pending> pending;
  if (transaction) {
    if (auto found = pending_.find(*transaction); found != pending_.end()) {
      pending = std::move(found->second);
      pending_.erase(found);
    }
  }
  // The call is gone from the client's line either way.
  if (pending && pending->request == "hangup" && transaction) {
    ack(*transaction, pending->line, out);
    return hung_up(*pending, out);
  }
  if (pending && pending.value().request == "outgoing_call" && call_ && call_->outgoing && call_->native_call_id.empty()) {
    call_.reset();  // it never started
  }
  core::JsonPtr text = core::adopt_json(json_object());
  if (pending && pending.value().line) json_object_set_new(text.get(), "line", json_integer(*pending.value().line));
  json_object_set_new(text.get(), "response", json_string("error"));
  if (transaction) json_object_set_new(text.get(), "transaction", json_string(transaction->c_str()));
  json_object_set_new(text.get(), "code", json_integer(error.code));
  json_object_set_new(text.get(), "reason", json_string(error.message.c_str()));
  out.send_text(core::dump_json(text.get()));
  if (request) {
    PL_LOG(kDebug, "lines") << "request '" << *request << "' refused: " << error.message;
  }
}

}  // namespace partyline::signaling
