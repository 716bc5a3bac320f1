// Seed 001's chat-room endpoint (chat_realtime.hpp). The seed's document
// contradicts itself in places (its example handler reads a packet type
// "signaling" and PascalCase sender fields, its "Enforced Message Format"
// says "webrtc.signal" and camelCase); partyline sends the format the
// document states, and takes the three shapes a client may send: the full
// packet, and the example code's `{type, <fields>}` with or without `data`.
#include "signaling/adapters/chat_realtime.hpp"

#include <algorithm>
#include <ctime>

#include "core/runtime/log.hpp"

namespace partyline::signaling {

namespace {

constexpr size_t kMaxTypeBytes = 64;
constexpr size_t kMaxAccountIdBytes = 128;

MessageError refused(int code, std::string reason, std::optional<std::string> transaction = std::nullopt) {
  return MessageError{make_error(code, std::move(reason)), std::move(transaction), std::nullopt};
}

void send_json(const json_t* message, TextSink& out) { out.send_text(core::dump_json(message)); }

// The seed's senderInfo of an account partyline knows by its token: no
// profile and no updatedAt (it keeps no account records).
core::JsonPtr account_json(const std::string& id, const std::string& nick) {
  return core::adopt_json(
      json_pack("{s:s, s:s, s:s, s:{}}", "id", id.c_str(), "name", id.c_str(), "nick", nick.c_str(), "profile"));
}

// A string member no longer than `max`, or none; an error for anything else.
Result<std::optional<std::string>> optional_text(const json_t* object, const char* field, size_t max) {
  const json_t* value = json_object_get(object, field);
  if (value == nullptr || json_is_null(value)) return std::optional<std::string>();
  if (!json_is_string(value) || json_string_length(value) == 0 || json_string_length(value) > max) {
    return make_error(error_code::kBadRequest,
                      "field '" + std::string(field) + "' must be a string of 1 to " + std::to_string(max) + " bytes");
  }
  return std::optional<std::string>(json_string_value(value));
}

}  // namespace

ChatRealtimeFormat::ChatRealtimeFormat(std::string chat_id, size_t max_signal_bytes,
                                       std::function<int64_t()> wall_clock_ms)
    : chat_id_(std::move(chat_id)), max_signal_bytes_(max_signal_bytes), wall_clock_ms_(std::move(wall_clock_ms)) {}

std::string ChatRealtimeFormat::timestamp() const {
  const int64_t ms = wall_clock_ms_();
  const time_t seconds = static_cast<time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];
  std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(ms % 1000));
  return text;
}

// Nothing before the welcome: it needs the line's occupants, which the
// join's first `occupants` event brings.
void ChatRealtimeFormat::start(const HandshakeState& state, TextSink&) {
  session_id_ = state.session_id;
  request_own("join", core::adopt_json(json_pack("{s:s}", "line_id", chat_id_.c_str())));
}

void ChatRealtimeFormat::own_response(const std::string&, const std::string& request, const json_t*,
                                      const Error* error, TextSink& out) {
  if (error == nullptr || request != "join") return;
  // Admitted at the upgrade, refused now: membership changed in between,
  // or the line is full. The client hears why, then the connection closes.
  core::JsonPtr packet = core::adopt_json(
      json_pack("{s:s, s:{s:i, s:s}}", "type", "error", "data", "code", error->code, "message", error->message.c_str()));
  send_json(packet.get(), out);
  close_session(4003, "cannot join chat " + chat_id_ + ": " + error->message);
}

DecodedText ChatRealtimeFormat::decode(std::string_view text, TextSink& out) {
  DecodedText decoded;
  decoded.alive = true;
  auto message = core::parse_json_object(text);
  if (!message) {
    decoded.messages.push_back(refused(error_code::kBadRequest, message.error().message));
    return decoded;
  }
  const json_t* packet = message->get();
  auto type = optional_text(packet, "type", kMaxTypeBytes);
  if (!type || !type->has_value()) {
    decoded.messages.push_back(refused(error_code::kBadRequest, "field 'type' must be a string of 1 to " +
                                                                    std::to_string(kMaxTypeBytes) + " bytes"));
    return decoded;
  }
  if (**type == "ping") {
    out.send_text(R"({"type":"pong"})");
    return decoded;
  }
  // The signal: its type, its data and whom it is for.
  const json_t* signal = packet;
  std::string signal_type = **type;
  if (signal_type == "webrtc.signal") {
    signal = json_object_get(packet, "data");
    auto inner = json_is_object(signal) ? optional_text(signal, "type", kMaxTypeBytes)
                                        : Result<std::optional<std::string>>(std::optional<std::string>());
    if (!inner || !inner->has_value()) {
      decoded.messages.push_back(refused(error_code::kBadRequest,
                                         "a webrtc.signal packet's 'data' must be an object with a string 'type'"));
      return decoded;
    }
    signal_type = **inner;
  }
  auto to = optional_text(signal, "to", kMaxAccountIdBytes);
  if (!to) {
    decoded.messages.push_back(refused(to.error().code, to.error().message));
    return decoded;
  }
  // Its data: `data` as it is when the packet has one, else every member
  // but the envelope's. Sender fields a client wrote are dropped: the
  // server stamps its own.
  core::JsonPtr data;
  if (const json_t* inner = json_object_get(signal, "data"); inner != nullptr) {
    data = core::adopt_json(json_incref(const_cast<json_t*>(inner)));
  } else {
    data = core::adopt_json(json_deep_copy(signal));
    for (const char* envelope : {"type", "to", "senderAccountId", "senderInfo"}) json_object_del(data.get(), envelope);
  }
  core::JsonPtr relayed = core::adopt_json(json_pack("{s:s, s:O}", "type", signal_type.c_str(), "data", data.get()));
  if (to->has_value()) json_object_set_new(relayed.get(), "to", json_string((*to)->c_str()));
  if (core::dump_json(relayed.get()).size() > max_signal_bytes_) {
    decoded.messages.push_back(refused(error_code::kTooLarge, "the signal is longer than " +
                                                                  std::to_string(max_signal_bytes_) + " bytes"));
    return decoded;
  }
  const std::string transaction = "m-" + std::to_string(++counter_);
  core::JsonPtr request = core::adopt_json(json_pack("{s:s, s:s, s:s, s:o}", "request", "message", "transaction",
                                                     transaction.c_str(), "line_id", chat_id_.c_str(), "data",
                                                     relayed.release()));
  if (to->has_value()) json_object_set_new(request.get(), "to", json_string((*to)->c_str()));
  decoded.messages.push_back(Request{"message", transaction, std::move(request)});
  return decoded;
}

void ChatRealtimeFormat::keepalive_ack(const std::string&, TextSink&) {}

// A relayed packet is not acknowledged (the seed's clients expect nothing).
void ChatRealtimeFormat::success(const std::string&, const std::string&, const json_t*, TextSink&) {}

void ChatRealtimeFormat::error(const std::optional<std::string>&, const std::optional<std::string>&,
                               const Error& error, TextSink& out) {
  core::JsonPtr packet = core::adopt_json(
      json_pack("{s:s, s:{s:i, s:s}}", "type", "error", "data", "code", error.code, "message", error.message.c_str()));
  send_json(packet.get(), out);
}

core::JsonPtr ChatRealtimeFormat::participants_json() const {
  core::JsonPtr list = core::adopt_json(json_array());
  for (const Account& account : participants_) {
    json_array_append_new(list.get(), account_json(account.id, account.nick).release());
  }
  return list;
}

void ChatRealtimeFormat::send_room_packet(const std::string& user, const char* notice, const std::string& message,
                                          TextSink& out) {
  core::JsonPtr data = core::adopt_json(json_pack("{s:s, s:s, s:s, s:s}", "userId", user.c_str(), "roomId",
                                                  chat_id_.c_str(), "message", message.c_str(), "timestamp",
                                                  timestamp().c_str()));
  if (notice != nullptr) json_object_set_new(data.get(), "event", json_string(notice));
  json_object_set_new(data.get(), "participants", participants_json().release());
  core::JsonPtr packet = core::adopt_json(json_pack("{s:s, s:o}", "type", "webrtc", "data", data.release()));
  send_json(packet.get(), out);
}

void ChatRealtimeFormat::event(const json_t* event, TextSink& out) {
  const char* event_name = json_string_value(json_object_get(event, "event"));
  if (event_name == nullptr) return;
  const std::string_view name = event_name;
  if (name == "message" || name == "signal") return relay_to_client(event, out);
  if (name != "occupants") return;  // presence and the rest: nothing the seed shows
  const json_t* line = json_object_get(event, "line");
  const char* line_id = json_string_value(json_object_get(line, "line_id"));
  if (line_id == nullptr || chat_id_ != line_id) return;
  std::vector<Account> now;
  std::optional<std::string> self;  // our account, when this event lists our session
  size_t index;
  const json_t* occupant;
  json_array_foreach(json_object_get(line, "occupants"), index, occupant) {
    const char* session = json_string_value(json_object_get(occupant, "session"));
    const char* user = json_string_value(json_object_get(occupant, "user"));
    if (session == nullptr || user == nullptr || json_object_get(occupant, "plugin") != nullptr) continue;
    if (session_id_ == session) self = user;
    if (std::none_of(now.begin(), now.end(), [&](const Account& account) { return account.id == user; })) {
      const char* nick = json_string_value(json_object_get(occupant, "name"));
      now.push_back(Account{user, nick != nullptr ? nick : user});
    }
  }
  if (!welcomed_) {
    if (!self) return;  // from before this session joined
    welcomed_ = true;
    participants_ = std::move(now);
    send_room_packet(*self, nullptr, "Connected to call", out);
    return;
  }
  // Accounts that came and went since the last event, as notices: the
  // list they carry is the one after every change of this event.
  const std::vector<Account> before = std::exchange(participants_, std::move(now));
  auto has = [](const std::vector<Account>& accounts, const std::string& id) {
    return std::any_of(accounts.begin(), accounts.end(), [&](const Account& account) { return account.id == id; });
  };
  for (const Account& account : participants_) {
    if (!has(before, account.id)) send_room_packet(account.id, "joined", account.nick + " joined the call", out);
  }
  for (const Account& account : before) {
    if (!has(participants_, account.id)) send_room_packet(account.id, "left", account.nick + " left the call", out);
  }
}

// A native `message` (or `signal`) becomes the seed's webrtc.signal, its
// sender the server's. A packet from a seed client carries {type, data,
// to}; anything else a native client sent is shown as type "message".
void ChatRealtimeFormat::relay_to_client(const json_t* event, TextSink& out) {
  const json_t* from = json_object_get(event, "from");
  const char* user = json_string_value(json_object_get(from, "user"));
  if (user == nullptr) return;
  const char* nick = json_string_value(json_object_get(from, "name"));
  const json_t* data = json_object_get(event, "data");
  core::JsonPtr signal;
  if (json_is_object(data) && json_is_string(json_object_get(data, "type"))) {
    const json_t* inner = json_object_get(data, "data");
    signal = core::adopt_json(json_pack("{s:O, s:O}", "type", json_object_get(data, "type"), "data",
                                        inner != nullptr ? inner : json_null()));
    if (const json_t* to = json_object_get(data, "to"); json_is_string(to)) json_object_set(signal.get(), "to", const_cast<json_t*>(to));
  } else {
    signal = core::adopt_json(json_pack("{s:s, s:O}", "type", "message", "data", data != nullptr ? data : json_null()));
  }
  json_object_set_new(signal.get(), "senderAccountId", json_string(user));
  json_object_set_new(signal.get(), "senderInfo", account_json(user, nick != nullptr ? nick : user).release());
  core::JsonPtr packet = core::adopt_json(json_pack("{s:s, s:o}", "type", "webrtc.signal", "data", signal.release()));
  send_json(packet.get(), out);
}

}  // namespace partyline::signaling
