// Native events as seed 000's client callbacks (docs/compat.md, "Seed
// 000"). Each callback takes one string: a guid, or a serialized object.
// Events the seed has no callback for are not sent.
#include <string_view>

#include "signaling/adapters/signalr_hub.hpp"

namespace partyline::signaling {

namespace {

std::string string_field(const json_t* object, const char* field) {
  const char* value = json_string_value(json_object_get(object, field));
  return value != nullptr ? value : "";
}

// {user, name, session} as the native events name a party.
signalr::HubParty party_of(const json_t* party) {
  return {string_field(party, "session"), string_field(party, "name"), string_field(party, "email")};
}

// A callback argument naming who sent it: {"<who_field>": who, "<field>": value}.
std::string pair_json(const char* who_field, const std::string& who, const char* field, const std::string& value) {
  return signalr::serialized(
      core::adopt_json(json_pack("{s:s, s:s%}", who_field, who.c_str(), field, value.data(), value.size())).get());
}

// Relayed hub methods and the callbacks their recipients get, with the
// argument's form.
enum class Carries { kSenderGuid, kSdp, kIce, kSenderConnection, kNotReady };
struct Relayed {
  std::string_view method;
  const char* callback;
  Carries carries;
};
constexpr Relayed kRelayed[] = {
    {"sendAreYouReadyForCall", "receiveAreYouReadyForCall", Carries::kSenderConnection},
    {"sendReadyForCall", "receiveReadyForCall", Carries::kSenderGuid},
    {"sendNotReadyForCall", "receiveNotReadyForCall", Carries::kNotReady},
    {"sendSDP", "receiveSDP", Carries::kSdp},
    {"sendICE", "receiveICE", Carries::kIce},
    {"sendPing", "receivePing", Carries::kSenderGuid},
    {"sendPingResponse", "receivePingResponse", Carries::kSenderGuid},
    {"sendPutOnHold", "receivePutOnHold", Carries::kSenderGuid},
    {"sendRemoveOnHold", "receiveRemoveOnHold", Carries::kSenderGuid},
};

}  // namespace

void SignalrHubFormat::callback(const char* target, const std::string& argument, TextSink& out) {
  core::JsonPtr arguments = core::adopt_json(json_pack("[s%]", argument.data(), argument.size()));
  send(signalr::invocation(target, arguments.get()), out);
}

void SignalrHubFormat::translate_event(const json_t* event, TextSink& out) {
  const std::string name = string_field(event, "event");
  const json_t* user = json_object_get(event, "user");
  if (name == "occupants") {
    show_occupants(json_object_get(event, "line"), out);
  } else if (name == "incoming_call") {
    const json_t* caller = json_object_get(event, "caller");
    callback("receivePhoneLineInvitation",
             signalr::serialized(
                 signalr::call_type(string_field(event, "line_id"), party_of(caller), string_field(caller, "user"))
                     .get()),
             out);
  } else if (name == "accepted" && json_is_object(user)) {
    // The callee accepted (an `accepted` carrying an SFU answer has no user).
    callback("receiveAcceptPhoneLineInvitation", string_field(user, "session"), out);
  } else if (name == "declined" || name == "timeout") {
    // Blocked, offline or unanswered calls have no answering connection: "".
    callback("receiveNotAcceptCall", string_field(user, "session"), out);
  } else if (name == "busy") {
    callback("receiveBusyResponse", string_field(user, "session"), out);
  } else if ((name == "cancelled" || name == "answered_elsewhere") && json_object_get(event, "caller") != nullptr) {
    // The callee's side: the invitation is gone (the caller's own `cancelled`
    // answers its sendCancelInvitation and has no caller).
    callback("receiveCancelInvitation", string_field(json_object_get(event, "caller"), "session"), out);
  } else if (name == "signal") {
    relay_signal(event, out);
  } else if (name == "update" && !own_line_.empty()) {
    server_description(json_object_get(event, "jsep"), out);
  } else if (name == "ice_candidate" && !own_line_.empty() && json_object_get(event, "handle") == nullptr) {
    server_candidate(json_object_get(event, "candidate"), out);
  }
}

void SignalrHubFormat::server_description(const json_t* jsep, TextSink& out) {
  callback("receiveSDP", pair_json("Sender", own_line_, "Sdp", signalr::serialized(jsep)), out);
}

void SignalrHubFormat::server_candidate(const json_t* candidate, TextSink& out) {
  callback("receiveICE", pair_json("Sender", own_line_, "Ice", signalr::serialized(candidate)), out);
}

void SignalrHubFormat::show_occupants(const json_t* line, TextSink& out) {
  const std::string line_id = string_field(line, "line_id");
  std::set<std::string> now;
  size_t index;
  json_t* occupant;
  json_array_foreach(json_object_get(line, "occupants"), index, occupant) {
    if (json_object_get(occupant, "plugin") == nullptr) now.insert(string_field(occupant, "session"));
  }
  if (line_id == shown_line_) {
    // The seed tells the others of each departure (receiveHangUpNotice with
    // the leaver's guid); the native event lists who is left.
    for (const std::string& session : shown_sessions_) {
      if (now.count(session) == 0 && session != self_.session) callback("receiveHangUpNotice", session, out);
    }
  }
  shown_line_ = line_id;
  shown_sessions_ = std::move(now);
  callback("receiveUpdatePhoneLineOccupants", signalr::serialized(signalr::phone_line(line).get()), out);
}

void SignalrHubFormat::relay_signal(const json_t* event, TextSink& out) {
  const json_t* from = json_object_get(event, "from");
  const json_t* data = json_object_get(event, "data");
  const std::string sender = string_field(from, "session");
  const std::string method = string_field(data, "signalr");
  // A native client's peer-to-peer offer, answer or candidate (docs/protocol.md,
  // `signal`) reaches a hub client as the seed's SDP or ICE.
  Carries carries = Carries::kSenderGuid;
  const char* target = nullptr;
  if (method.empty() && json_is_object(data)) {
    if (json_object_get(data, "sdp") != nullptr && json_object_get(data, "type") != nullptr) {
      target = "receiveSDP";
      carries = Carries::kSdp;
    } else if (json_object_get(data, "candidate") != nullptr) {
      target = "receiveICE";
      carries = Carries::kIce;
    }
  }
  for (const Relayed& relayed : kRelayed) {
    if (relayed.method == method) {
      target = relayed.callback;
      carries = relayed.carries;
    }
  }
  if (target == nullptr) return;  // application data of another kind
  // The payload as the sender's adapter stored it (a string), or a native
  // sender's object serialized.
  auto payload = [&](const char* field) {
    if (!method.empty()) return string_field(data, field);
    return signalr::serialized(field == std::string_view("ice") ? json_object_get(data, "candidate") : data);
  };
  switch (carries) {
    case Carries::kSenderGuid: return callback(target, sender, out);
    case Carries::kSdp: return callback(target, pair_json("Sender", sender, "Sdp", payload("sdp")), out);
    case Carries::kIce: return callback(target, pair_json("Sender", sender, "Ice", payload("ice")), out);
    case Carries::kSenderConnection:
      return callback(
          target, signalr::serialized(signalr::phone_line_connection(string_field(event, "line_id"), party_of(from)).get()),
          out);
    case Carries::kNotReady:
      return callback(target, pair_json("RemoteGuid", sender, "Message", string_field(data, "message")), out);
  }
}

}  // namespace partyline::signaling
