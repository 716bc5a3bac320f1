// The hub methods of seed 000 (docs/compat.md, "Seed 000"): each becomes
// one native request, and the native response becomes the method's
// HttpResponseDto. Methods the seed's client names that partyline does not
// serve get the seed's own error shape (StatusCode 501 and the reason).
#include <functional>
#include <string_view>

#include "signaling/adapters/signalr_hub.hpp"

namespace partyline::signaling {

namespace {

// What the reply's Content is made of.
enum class Reply {
  kEmpty,             // ""
  kArgument,          // the remoteGuid the method was given
  kNewPhoneLine,      // the PhoneLine just created (no connections yet)
  kPhoneLine,         // the PhoneLine get_line returned
  kOwnConnection,     // the caller's PhoneLineConnection in the line it joined
  kRungSession,       // the callee's connection the invitation rings on ("" when none)
  kRecipient,         // the HubConnection a relayed message went to
  kOwnHubConnection,  // the caller's HubConnection
};

struct Arguments {
  const json_t* array;
  Result<std::string> text(size_t index, const char* name) const {
    const json_t* value = json_array_get(array, index);
    if (!json_is_string(value)) {
      return make_error(error_code::kBadRequest,
                        "argument " + std::to_string(index + 1) + " (" + name + ") must be a string");
    }
    return std::string(json_string_value(value), json_string_length(value));
  }
  // The seed's client sends SDP and ICE as JSON strings; an object (or null,
  // the end of candidates) is taken as it is and serialized.
  std::string payload(size_t index) const {
    const json_t* value = json_array_get(array, index);
    if (json_is_string(value)) return std::string(json_string_value(value), json_string_length(value));
    return signalr::serialized(value);
  }
};

// Fills the native request's fields; `echo` is what a kArgument reply returns.
using Build = std::function<Status(const Arguments& arguments, json_t* fields, std::string& echo)>;

struct Method {
  std::string_view name;
  size_t arity;
  const char* native;
  Build build;
  Reply reply;
};

Status set_string(json_t* fields, const char* field, const Result<std::string>& value) {
  if (!value) return value.error();
  json_object_set_new(fields, field, json_stringn(value->data(), value->size()));
  return {};
}

Build nothing() {
  return [](const Arguments&, json_t*, std::string&) { return Status(); };
}

Build field_from(size_t index, const char* argument, const char* field) {
  return [=](const Arguments& arguments, json_t* fields, std::string& echo) {
    auto value = arguments.text(index, argument);
    if (value) echo = *value;
    return set_string(fields, field, value);
  };
}

Build answer_call(const char* reason) {
  return [=](const Arguments& arguments, json_t* fields, std::string& echo) {
    auto remote = arguments.text(0, "remoteGuid");
    if (!remote) return Status(remote.error());
    echo = *remote;
    if (reason != nullptr) json_object_set_new(fields, "reason", json_string(reason));
    return set_string(fields, "caller_session", remote);
  };
}

// A peer-to-peer message to the occupant `remoteGuid` names: a native
// `signal` whose data carries the hub method's name (the recipient's
// adapter turns it into the matching callback) and `payload_field`, if any.
Build relay(const char* method, size_t guid_index, const char* payload_field = nullptr, size_t payload_index = 0) {
  return [=](const Arguments& arguments, json_t* fields, std::string& echo) {
    auto remote = arguments.text(guid_index, "remoteGuid");
    if (!remote) return Status(remote.error());
    echo = *remote;
    json_t* data = json_pack("{s:s}", "signalr", method);
    if (payload_field != nullptr) {
      const std::string payload = arguments.payload(payload_index);
      json_object_set_new(data, payload_field, json_stringn(payload.data(), payload.size()));
    }
    json_object_set_new(fields, "data", data);
    return set_string(fields, "to_session", remote);
  };
}

const std::vector<Method>& methods() {
  static const std::vector<Method> table = {
      {"requestNewPhoneLine", 0, "create_line", nothing(), Reply::kNewPhoneLine},
      {"getPhoneLineByGuid", 1, "get_line", field_from(0, "phoneLineGuid", "line_id"), Reply::kPhoneLine},
      {"requestNewPhoneLineConnection", 1, "join", field_from(0, "phoneLineGuid", "line_id"), Reply::kOwnConnection},
      // callerName is not used: the server names the caller as it knows it.
      {"sendPhoneLineInvitation", 3, "invite",
       [](const Arguments& arguments, json_t* fields, std::string&) {
         if (Status line = set_string(fields, "line_id", arguments.text(0, "phoneLineGuid")); !line) return line;
         return set_string(fields, "email", arguments.text(1, "otherUserEmail"));
       },
       Reply::kRungSession},
      {"sendCancelInvitation", 1, "cancel", field_from(0, "email", "email"), Reply::kEmpty},
      {"sendNotAcceptCall", 1, "decline", answer_call("declined"), Reply::kArgument},
      {"sendBusyResponse", 1, "decline", answer_call("busy"), Reply::kArgument},
      {"sendAcceptPhoneLineInvitation", 1, "accept", answer_call(nullptr), Reply::kArgument},
      {"sendAreYouReadyForCall", 2, "signal", relay("sendAreYouReadyForCall", 1), Reply::kRecipient},
      {"sendReadyForCall", 1, "signal", relay("sendReadyForCall", 0), Reply::kArgument},
      {"sendNotReadyForCall", 2, "signal", relay("sendNotReadyForCall", 1, "message", 0), Reply::kArgument},
      {"sendSDP", 2, "signal", relay("sendSDP", 0, "sdp", 1), Reply::kEmpty},
      {"sendICE", 2, "signal", relay("sendICE", 0, "ice", 1), Reply::kEmpty},
      {"sendPing", 1, "signal", relay("sendPing", 0), Reply::kArgument},
      {"sendPingResponse", 1, "signal", relay("sendPingResponse", 0), Reply::kArgument},
      {"sendPutOnHold", 1, "signal", relay("sendPutOnHold", 0), Reply::kArgument},
      {"sendRemoveOnHold", 1, "signal", relay("sendRemoveOnHold", 0), Reply::kArgument},
      {"sendHangUpNotice", 1, "hangup", field_from(0, "phoneLineGuid", "line_id"), Reply::kEmpty},
      {"checkin", 1, "ping", nothing(), Reply::kOwnHubConnection},
      {"sendKeepAlive", 2, "ping", nothing(), Reply::kEmpty},
      // The seed blocks by email through its web API; the hub offers it here.
      {"blockEmail", 1, "block", field_from(0, "email", "email"), Reply::kEmpty},
      {"unblockEmail", 1, "unblock", field_from(0, "email", "email"), Reply::kEmpty},
  };
  return table;
}

struct Unsupported {
  std::string_view name;
  const char* reason;
};

// Named by the seed's client, not served (docs/compat.md lists each).
constexpr Unsupported kUnsupported[] = {
    {"getPhoneLineById", "phone lines are named by their guid here: use getPhoneLineByGuid"},
    {"getPhoneLineConnectionById", "connections are named by their guid here: see getPhoneLineByGuid"},
    {"deletePhoneLine", "a phone line is forgotten when it stays empty (lines.idle_timeout_ms)"},
    {"deletePhoneLineConnection", "a connection ends with sendHangUpNotice"},
    {"isOnline", "presence is told to a line's members only (the native presence event)"},
    {"requestNewGuid", "the connection's guid is its session id: see checkin"},
    {"requestGuid", "guids of other users are not given out by email"},
    {"checkout", "a connection ends when its WebSocket closes"},
    {"sendDisconnect", "a connection ends when its WebSocket closes"},
    {"sendRemoteGuidUpdate", "a connection keeps its guid for its lifetime"},
    {"broadcastDisconnected", "the others learn of a departure from receiveHangUpNotice"},
    {"sendPrivateSmsMessage", "text messages are not part of this hub"},
    {"sendGroupSmsMessage", "text messages are not part of this hub"},
    {"sendSystemMessage", "system messages are not part of this hub"},
    {"requestNetcast", "netcasts are not part of this hub"},
    {"requestPCOnly", "netcasts are not part of this hub"},
    {"requestPCStream", "netcasts are not part of this hub"},
    {"sendNetcastStub", "netcasts are not part of this hub"},
    {"sendRequestNetcastStub", "netcasts are not part of this hub"},
    {"sendRepHangUpNotice", "the PBX call queues are not part of this hub"},
    {"PbxRepCheckIn", "the PBX call queues are not part of this hub"},
    {"PbxRepCheckOut", "the PBX call queues are not part of this hub"},
    {"PbxOtherRepCheckIn", "the PBX call queues are not part of this hub"},
    {"PbxOtherRepCheckOut", "the PBX call queues are not part of this hub"},
    {"PbxCustomerCheckIn", "the PBX call queues are not part of this hub"},
    {"PbxCustomerCheckOut", "the PBX call queues are not part of this hub"},
    {"sendPbxCallQueueNotes", "the PBX call queues are not part of this hub"},
    {"sendPbxPhoneLineInvitation", "the PBX call queues are not part of this hub"},
};

std::string string_field(const json_t* object, const char* field) {
  const char* value = json_string_value(json_object_get(object, field));
  return value != nullptr ? value : "";
}

}  // namespace

std::string SignalrHubFormat::track(Pending pending) {
  std::string transaction = "signalr-" + std::to_string(next_transaction_++);
  pending_.emplace(transaction, std::move(pending));
  return transaction;
}

MessageError SignalrHubFormat::refusal(Pending pending, const std::optional<std::string>& request, Error error) {
  return MessageError{std::move(error), track(std::move(pending)), request};
}

ClientMessage SignalrHubFormat::translate(const signalr::ClientMessage& invocation) {
  Pending pending{invocation.invocation_id, invocation.target, ""};
  const Method* method = nullptr;
  for (const Method& candidate : methods()) {
    if (candidate.name == invocation.target) method = &candidate;
  }
  if (method == nullptr) {
    for (const Unsupported& unsupported : kUnsupported) {
      if (unsupported.name == invocation.target) {
        return refusal(std::move(pending), std::nullopt,
                       make_error(error_code::kNotImplemented,
                                  "'" + invocation.target + "' is not supported: " + unsupported.reason));
      }
    }
    // As ASP.NET Core answers an unknown method: a completion error. (Not
    // counted under the method's name: clients choose those.)
    pending.completion_error = true;
    return refusal(std::move(pending), std::nullopt,
                   make_error(error_code::kNotFound, "unknown hub method '" + invocation.target + "'"));
  }
  const size_t given = json_array_size(invocation.arguments.get());
  if (given != method->arity) {
    pending.completion_error = true;
    return refusal(std::move(pending), std::string(method->native),
                   make_error(error_code::kBadRequest, "hub method '" + invocation.target + "' takes " +
                                                           std::to_string(method->arity) + " argument(s), not " +
                                                           std::to_string(given)));
  }
  if ((method->name == "sendSDP" || method->name == "sendICE") && !own_line_.empty()) {
    const char* remote = json_string_value(json_array_get(invocation.arguments.get(), 0));
    if (remote != nullptr && remote == own_line_) return translate_for_server(invocation, std::move(pending));
  }
  core::JsonPtr message = core::adopt_json(json_object());
  if (Status built = method->build(Arguments{invocation.arguments.get()}, message.get(), pending.argument); !built) {
    return refusal(std::move(pending), std::string(method->native), built.error());
  }
  std::string transaction = track(std::move(pending));
  json_object_set_new(message.get(), "request", json_string(method->native));
  json_object_set_new(message.get(), "transaction", json_string(transaction.c_str()));
  return Request{method->native, std::move(transaction), std::move(message)};
}

ClientMessage SignalrHubFormat::translate_for_server(const signalr::ClientMessage& invocation, Pending pending) {
  const std::string payload = Arguments{invocation.arguments.get()}.payload(1);
  core::JsonPtr value = core::adopt_json(json_loadb(payload.data(), payload.size(), JSON_DECODE_ANY, nullptr));
  core::JsonPtr message = core::adopt_json(json_object());
  const char* native = nullptr;
  if (pending.method == "sendSDP") {
    // {type, sdp}: an offer (the client's media, added or changed) or the
    // answer to a server offer; native `update` takes either.
    native = "update";
    if (!json_is_object(value.get())) {
      return refusal(std::move(pending), std::string(native),
                     make_error(error_code::kBadRequest, "sdp must be a JSON session description"));
    }
    json_object_set(message.get(), "jsep", value.get());
  } else {
    // An RTCIceCandidate's JSON, or null for the end of candidates.
    native = "ice_trickle";
    json_object_set_new(message.get(), "candidate", value ? value.release() : json_null());
  }
  pending.method += "@server";
  std::string transaction = track(std::move(pending));
  json_object_set_new(message.get(), "request", json_string(native));
  json_object_set_new(message.get(), "transaction", json_string(transaction.c_str()));
  return Request{native, std::move(transaction), std::move(message)};
}

std::string SignalrHubFormat::reply_content(const Pending& pending, const json_t* fields) const {
  Reply reply = Reply::kEmpty;
  for (const Method& method : methods()) {
    if (method.name == pending.method) reply = method.reply;
  }
  switch (reply) {
    case Reply::kEmpty: return "";
    case Reply::kArgument: return pending.argument;
    case Reply::kNewPhoneLine:
      return signalr::serialized(signalr::phone_line_without_connections(string_field(fields, "line_id")).get());
    case Reply::kPhoneLine: return signalr::serialized(signalr::phone_line(json_object_get(fields, "line")).get());
    case Reply::kOwnConnection:
      return signalr::serialized(signalr::phone_line_connection(string_field(fields, "line_id"), self_).get());
    case Reply::kRungSession: {
      const char* session = json_string_value(json_array_get(json_object_get(fields, "sessions"), 0));
      return session != nullptr ? session : "";  // "": nobody to ring (the seed's "not available")
    }
    case Reply::kRecipient: {
      const json_t* to = json_object_get(fields, "to");
      return signalr::serialized(
          signalr::hub_connection({string_field(to, "session"), string_field(to, "name"), ""}).get());
    }
    case Reply::kOwnHubConnection: return signalr::serialized(signalr::hub_connection(self_).get());
  }
  return "";
}

}  // namespace partyline::signaling
