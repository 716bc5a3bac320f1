// Seed 002's connected-peers relay (peers_relay.hpp). Client messages are
// JSON objects told apart by `action`, server messages by `type`; the seed
// shows no errors, so partyline's are `{"type": "error", ...}` with the
// action and peer id they concern (docs/compat.md).
#include "signaling/adapters/peers_relay.hpp"

#include <array>

#include "core/runtime/log.hpp"

namespace partyline::signaling {

namespace {

// What each forward carries, under which member, and what the peer gets.
struct ForwardKind {
  std::string_view action;  // the client's
  std::string_view type;    // the peer's message type
  const char* payload;      // the member carrying it, in both
};
constexpr std::array<ForwardKind, 3> kForwards{{
    {"forward-offer", "offer", "offer"},
    {"forward-answer", "answer", "answer"},
    {"forward-icecandidate", "icecandidate", "candidate"},
}};

const ForwardKind* forward_kind_by_action(std::string_view action) {
  for (const ForwardKind& kind : kForwards) {
    if (kind.action == action) return &kind;
  }
  return nullptr;
}

const ForwardKind* forward_kind_by_type(std::string_view type) {
  for (const ForwardKind& kind : kForwards) {
    if (kind.type == type) return &kind;
  }
  return nullptr;
}

MessageError refused(int code, std::string reason, std::optional<std::string> transaction = std::nullopt,
                     std::optional<std::string> action = std::nullopt) {
  return MessageError{make_error(code, std::move(reason)), std::move(transaction), std::move(action)};
}

void send_json(const json_t* message, TextSink& out) { out.send_text(core::dump_json(message)); }

}  // namespace

PeersRelayFormat::PeersRelayFormat(std::string room) : room_(std::move(room)) {}

// Nothing is sent before the room's occupants are known: the first message
// is connected-peers.
void PeersRelayFormat::start(const HandshakeState& state, TextSink&) {
  session_id_ = state.session_id;
  request_own("join", core::adopt_json(json_pack("{s:s}", "line_id", room_.c_str())));
}

void PeersRelayFormat::own_response(const std::string&, const std::string& request, const json_t*,
                                    const Error* error, TextSink& out) {
  if (error == nullptr || request != "join") return;
  // The room is full (limits.max_occupants_per_line) or gone: the client
  // hears why, then the connection closes (4003: a documented close).
  core::JsonPtr message =
      core::adopt_json(json_pack("{s:s, s:s}", "type", "error", "message", error->message.c_str()));
  send_json(message.get(), out);
  close_session(4003, "cannot join the peers' room: " + error->message);
}

DecodedText PeersRelayFormat::decode(std::string_view text, TextSink&) {
  DecodedText decoded;
  decoded.alive = true;
  auto message = core::parse_json_object(text);
  if (!message) {
    decoded.messages.push_back(refused(error_code::kBadRequest, message.error().message));
    return decoded;
  }
  const json_t* object = message->get();
  const json_t* action = json_object_get(object, "action");
  if (!json_is_string(action)) {
    decoded.messages.push_back(refused(error_code::kBadRequest, "field 'action' must be a string"));
    return decoded;
  }
  const std::string action_name = json_string_value(action);
  // An own transaction per message, so the error can name its action and peer.
  const std::string transaction = "f-" + std::to_string(++counter_);
  const ForwardKind* kind = forward_kind_by_action(action_name);
  if (kind == nullptr) {
    decoded.messages.push_back(refused(error_code::kBadRequest,
                                       "unknown action (forward-offer, forward-answer, forward-icecandidate)",
                                       transaction, action_name));
    return decoded;
  }
  const json_t* to_peer = json_object_get(object, "toPeerId");
  if (!json_is_string(to_peer) || json_string_length(to_peer) == 0) {
    decoded.messages.push_back(
        refused(error_code::kBadRequest, "field 'toPeerId' must be a peer id", transaction, action_name));
    return decoded;
  }
  const json_t* payload = json_object_get(object, kind->payload);
  if (payload == nullptr || json_is_null(payload)) {
    decoded.messages.push_back(refused(error_code::kBadRequest,
                                       "field '" + std::string(kind->payload) + "' is missing", transaction,
                                       action_name));
    return decoded;
  }
  forwards_[transaction] = Forward{action_name, json_string_value(to_peer)};
  // The native signal's data: the peer's message without the sender, which
  // the server adds (a fromPeerId the client wrote is not copied).
  core::JsonPtr data = core::adopt_json(json_pack("{s:s, s:O}", "type", std::string(kind->type).c_str(),
                                                  kind->payload, payload));
  core::JsonPtr request = core::adopt_json(json_pack("{s:s, s:s, s:s, s:s, s:o}", "request", "signal", "transaction",
                                                     transaction.c_str(), "line_id", room_.c_str(), "to_session",
                                                     json_string_value(to_peer), "data", data.release()));
  decoded.messages.push_back(Request{"signal", transaction, std::move(request)});
  return decoded;
}

void PeersRelayFormat::keepalive_ack(const std::string&, TextSink&) {}

// The seed answers a forward with nothing (its handler's 204).
void PeersRelayFormat::success(const std::string& transaction, const std::string&, const json_t*, TextSink&) {
  forwards_.erase(transaction);
}

void PeersRelayFormat::error(const std::optional<std::string>& transaction, const std::optional<std::string>& request,
                             const Error& error, TextSink& out) {
  core::JsonPtr message = core::adopt_json(json_pack("{s:s}", "type", "error"));
  std::optional<Forward> forward;
  if (transaction) {
    if (auto found = forwards_.find(*transaction); found != forwards_.end()) {
      forward = std::move(found->second);
      forwards_.erase(found);
    }
  }
  if (forward) {
    json_object_set_new(message.get(), "action", json_string(forward->action.c_str()));
    json_object_set_new(message.get(), "toPeerId", json_string(forward->to_peer.c_str()));
  } else if (request) {
    // The client's action as it wrote it (jansson refuses invalid UTF-8, which is then left out).
    if (json_t* action = json_string(request->c_str()); action != nullptr) {
      json_object_set_new(message.get(), "action", action);
    }
  }
  // A peer that is not (or no longer) in the room: the native 404. The seed's
  // assertPeerIsConnected names it so.
  const std::string text = forward && error.code == error_code::kNotFound
                               ? "peer " + forward->to_peer + " is not connected"
                               : error.message;
  json_object_set_new(message.get(), "message", json_string(text.c_str()));
  send_json(message.get(), out);
}

void PeersRelayFormat::event(const json_t* event, TextSink& out) {
  const char* event_name = json_string_value(json_object_get(event, "event"));
  if (event_name == nullptr) return;
  const std::string_view name = event_name;
  if (name == "occupants" && !peers_sent_) {
    const json_t* occupants = json_object_get(json_object_get(event, "line"), "occupants");
    core::JsonPtr peers = core::adopt_json(json_array());
    size_t index;
    const json_t* occupant;
    bool listed_self = false;
    json_array_foreach(occupants, index, occupant) {
      const char* session = json_string_value(json_object_get(occupant, "session"));
      if (session == nullptr || json_object_get(occupant, "plugin") != nullptr) continue;
      if (session_id_ == session) {
        listed_self = true;
        continue;
      }
      json_array_append_new(peers.get(), json_string(session));
    }
    if (!listed_self) return;  // an event from before this session joined
    peers_sent_ = true;
    core::JsonPtr message =
        core::adopt_json(json_pack("{s:s, s:o}", "type", "connected-peers", "peerIds", peers.release()));
    send_json(message.get(), out);
    return;
  }
  if (name != "signal") return;  // the seed has no other server messages
  const json_t* data = json_object_get(event, "data");
  const json_t* type = json_object_get(data, "type");
  const ForwardKind* kind = json_is_string(type) ? forward_kind_by_type(json_string_value(type)) : nullptr;
  const char* from = json_string_value(json_object_get(json_object_get(event, "from"), "session"));
  if (kind == nullptr || from == nullptr) {
    // A native occupant's signal of another kind: nothing a seed 002 client knows.
    PL_LOG(kDebug, "server") << "peers relay: a signal of no forward kind not shown";
    return;
  }
  const json_t* payload = json_object_get(data, kind->payload);
  core::JsonPtr message = core::adopt_json(json_pack("{s:s, s:O, s:s}", "type", std::string(kind->type).c_str(),
                                                     kind->payload, payload != nullptr ? payload : json_null(),
                                                     "fromPeerId", from));
  send_json(message.get(), out);
}

}  // namespace partyline::signaling
