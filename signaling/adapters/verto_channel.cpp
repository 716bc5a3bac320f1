// Seed 004's verto channel client (verto_channel.hpp). Every client text is
// a JSON-RPC 2.0 object; every request the client makes becomes one
// ClientMessage (a native request, or a refusal) so the session's rate
// limits count it, even those the format answers itself (`echo` and
// `verto.subscribe` ride on the native `ping`).
#include "signaling/adapters/verto_channel.hpp"

#include <algorithm>

#include "core/runtime/config.hpp"
#include "core/runtime/log.hpp"
#include "signaling/websocket_connection.hpp"

namespace partyline::signaling {

namespace {

// JSON-RPC 2.0's codes, and mod_verto's for logins.
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kInternalError = -32603;
constexpr int kAuthenticationRequired = -32000;
constexpr int kAuthenticationFailure = -32001;

constexpr size_t kMaxClientIdBytes = 27;
constexpr size_t kMaxChannelIdBytes = 36;

core::JsonPtr copy_or_null(const json_t* value) {
  return core::adopt_json(value != nullptr ? json_deep_copy(value) : json_null());
}

}  // namespace

bool VertoChannelFormat::is_client_id(std::string_view id) {
  return !id.empty() && id.size() <= kMaxClientIdBytes && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

// verto says nothing before the client does.
void VertoChannelFormat::start(const HandshakeState&, TextSink&) {}

void VertoChannelFormat::result(const json_t* id, core::JsonPtr result, TextSink& out) {
  core::JsonPtr message = core::adopt_json(
      json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id != nullptr ? id : json_null(), "result", result.release()));
  out.send_text(core::dump_json(message.get()));
}

void VertoChannelFormat::rpc_error(const json_t* id, int code, const std::string& text, TextSink& out) {
  core::JsonPtr message = core::adopt_json(json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id",
                                                     id != nullptr ? id : json_null(), "error", "code", code,
                                                     "message", text.c_str()));
  out.send_text(core::dump_json(message.get()));
}

void VertoChannelFormat::server_request(const char* method, core::JsonPtr params, TextSink& out) {
  core::JsonPtr message = core::adopt_json(json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id",
                                                     static_cast<json_int_t>(++server_ids_), "method", method,
                                                     "params", params.release()));
  out.send_text(core::dump_json(message.get()));
}

DecodedText VertoChannelFormat::decode(std::string_view text, TextSink&) {
  DecodedText decoded;
  decoded.alive = true;
  if (auto message = translate(text, decoded)) decoded.messages.push_back(std::move(*message));
  return decoded;
}

ClientMessage VertoChannelFormat::refusal(const json_t* id, int http_code, int rpc_code, const std::string& reason) {
  const std::string transaction = "v-" + std::to_string(++counter_);
  pending_[transaction] = Pending{copy_or_null(id), "", rpc_code, nullptr, ""};
  return MessageError{make_error(http_code, reason), transaction, std::nullopt};
}

ClientMessage VertoChannelFormat::native(const char* name, core::JsonPtr fields, Pending pending) {
  const std::string transaction = "v-" + std::to_string(++counter_);
  if (!fields) fields = core::adopt_json(json_object());
  json_object_set_new(fields.get(), "request", json_string(name));
  json_object_set_new(fields.get(), "transaction", json_string(transaction.c_str()));
  pending_[transaction] = std::move(pending);
  return Request{name, transaction, std::move(fields)};
}

std::optional<ClientMessage> VertoChannelFormat::translate(std::string_view text, DecodedText& decoded) {
  auto parsed = core::parse_json_object(text);
  if (!parsed) {
    const bool not_json = parsed.error().message.rfind("malformed", 0) == 0;
    return not_json ? refusal(nullptr, error_code::kBadRequest, kParseError, "Parse error: " + parsed.error().message)
                    : refusal(nullptr, error_code::kBadRequest, kInvalidRequest, "Invalid Request: not an object");
  }
  const json_t* message = parsed->get();
  const json_t* method = json_object_get(message, "method");
  if (method == nullptr && (json_object_get(message, "result") != nullptr || json_object_get(message, "error") != nullptr)) {
    return std::nullopt;  // the client's answer to one of the server's requests: nothing to do
  }
  const json_t* id = json_object_get(message, "id");
  if (!json_is_string(method)) return refusal(id, error_code::kBadRequest, kInvalidRequest, "Invalid Request: no method");
  core::JsonPtr no_params = core::adopt_json(json_object());
  const json_t* params = json_object_get(message, "params");
  if (params == nullptr) params = no_params.get();
  if (!json_is_object(params)) return refusal(id, error_code::kBadRequest, kInvalidParams, "Invalid params: not an object");
  const std::string name = json_string_value(method);
  if (name == "echo") return native("ping", nullptr, Pending{copy_or_null(id), name, 0, copy_or_null(params), ""});
  if (name == "verto.ping") return native("ping", nullptr, Pending{copy_or_null(id), name, 0, nullptr, ""});
  if (name == "login") return login(id, params, decoded);
  if (!logged_in_) return refusal(id, error_code::kForbidden, kAuthenticationRequired, "Authentication Required");
  if (name == "verto.subscribe" || name == "verto.unsubscribe") {
    return native("ping", nullptr, Pending{copy_or_null(id), name, 0, copy_or_null(json_object_get(params, "eventChannel")), ""});
  }
  if (name == "verto.broadcast") return broadcast(id, params);
  if (name == "verto.info") return info(id, params);
  return refusal(id, error_code::kNotFound, kMethodNotFound, "Method not found");
}

// "<client>@<channel>" and the channel's password; the server checks them
// (SignalingServer::login) and answers in login_result().
ClientMessage VertoChannelFormat::login(const json_t* id, const json_t* params, DecodedText& decoded) {
  const json_t* credentials = json_object_get(params, "login");
  const json_t* password = json_object_get(params, "passwd");
  // mod_verto's answer to a login without credentials: the seed's client
  // sends one first and logs in on this code.
  if (!json_is_string(credentials) || !json_is_string(password)) {
    return refusal(id, error_code::kForbidden, kAuthenticationRequired, "Authentication Required");
  }
  if (logged_in_ || login_) return refusal(id, error_code::kConflict, kInvalidRequest, "logged in already");
  const std::string_view text = json_string_value(credentials);
  const size_t at = text.find('@');
  const std::string client(text.substr(0, at));
  const std::string channel(at == std::string_view::npos ? std::string_view() : text.substr(at + 1));
  if (!is_client_id(client) || channel.size() > kMaxChannelIdBytes || !core::is_room_id(channel)) {
    return refusal(id, error_code::kForbidden, kAuthenticationFailure, "Authentication Failure");
  }
  const json_t* sessid = json_object_get(params, "sessid");
  login_ = Login{copy_or_null(id), client, channel, json_string_value(password),
                 json_is_string(sessid) ? json_string_value(sessid) : ""};
  decoded.login = InBandLogin{client + "@" + channel, client, channel, login_->password};
  // A ping rides along so the login costs a request of the session's
  // budgets; its answer says nothing.
  return native("ping", nullptr, Pending{nullptr, "login", 0, nullptr, ""});
}

ClientMessage VertoChannelFormat::broadcast(const json_t* id, const json_t* params) {
  const json_t* channel = json_object_get(params, "eventChannel");
  if (!json_is_string(channel) || login_->channel != json_string_value(channel)) {
    return refusal(id, error_code::kForbidden, kInvalidParams, "Invalid params: eventChannel must be the login's channel");
  }
  core::JsonPtr data = core::adopt_json(json_pack("{s:s, s:O, s:s}", "verto", "event", "eventData",
                                                  json_object_get(params, "eventData") != nullptr
                                                      ? json_object_get(params, "eventData")
                                                      : json_null(),
                                                  "sessid", login_->sessid.c_str()));
  core::JsonPtr fields = core::adopt_json(json_pack("{s:s, s:O}", "line_id", login_->channel.c_str(), "data", data.get()));
  return native("message", std::move(fields), Pending{copy_or_null(id), "verto.broadcast", 0, std::move(data), ""});
}

// A message to every connection of one client of the channel, found among
// the occupants by the name the server gave it at its login.
ClientMessage VertoChannelFormat::info(const json_t* id, const json_t* params) {
  const json_t* msg = json_object_get(params, "msg");
  const json_t* to = json_object_get(msg, "to");
  if (!json_is_object(msg) || !json_is_string(to)) {
    return refusal(id, error_code::kBadRequest, kInvalidParams, "Invalid params: msg.to must be a client id");
  }
  const std::string client = json_string_value(to);
  auto member = std::find_if(members_.begin(), members_.end(), [&](const Member& m) { return m.client == client; });
  if (member == members_.end()) {
    return refusal(id, error_code::kNotFound, kInvalidParams,
                   "client " + client + " is not in channel " + login_->channel);
  }
  const json_t* body = json_object_get(msg, "body");
  core::JsonPtr fields = core::adopt_json(
      json_pack("{s:s, s:s, s:{s:s, s:s, s:O}}", "line_id", login_->channel.c_str(), "to", member->user.c_str(), "data",
                "verto", "info", "to", client.c_str(), "body", body != nullptr ? body : json_null()));
  return native("message", std::move(fields), Pending{copy_or_null(id), "verto.info", 0, nullptr, client});
}

void VertoChannelFormat::login_result(const Status& outcome, TextSink& out) {
  if (!login_) return;
  if (!outcome) {
    PL_LOG(kDebug, "server") << "verto login refused: " << outcome.error().message;
    rpc_error(login_->id.get(), kAuthenticationFailure, "Authentication Failure", out);
    login_.reset();
    return;
  }
  // The session is the client's now: it joins the channel (the password
  // admits it again there, and makes it a member).
  request_own("join", core::adopt_json(json_pack("{s:s, s:s}", "line_id", login_->channel.c_str(), "token",
                                                 login_->password.c_str())));
}

void VertoChannelFormat::own_response(const std::string&, const std::string& request, const json_t*,
                                      const Error* error, TextSink& out) {
  if (request != "join" || !login_) return;
  if (error != nullptr) {
    // Admitted a moment ago, refused now (the channel is full).
    rpc_error(login_->id.get(), kAuthenticationFailure, "Authentication Failure: " + error->message, out);
    close_session(4003, "cannot join channel " + login_->channel + ": " + error->message);
    return;
  }
  logged_in_ = true;
  result(login_->id.get(),
         core::adopt_json(json_pack("{s:s, s:s}", "message", "logged in", "sessid", login_->sessid.c_str())), out);
  server_request("verto.clientReady", core::adopt_json(json_pack("{s:[]}", "reattached_sessions")), out);
}

void VertoChannelFormat::keepalive_ack(const std::string&, TextSink&) {}

void VertoChannelFormat::subscription_result(const Pending& pending, bool subscribe, TextSink& out) {
  // The login's channel, asked for alone or in a list; every other one is
  // unauthorized (the seed's clients may send messages within one channel).
  core::JsonPtr granted = core::adopt_json(json_array());
  core::JsonPtr refused_channels = core::adopt_json(json_array());
  auto sort = [&](const json_t* channel) {
    if (json_is_string(channel) && login_->channel == json_string_value(channel)) {
      json_array_append(granted.get(), const_cast<json_t*>(channel));
    } else if (json_is_string(channel)) {
      json_array_append(refused_channels.get(), const_cast<json_t*>(channel));
    }
  };
  if (json_is_array(pending.params.get())) {
    size_t index;
    const json_t* channel;
    json_array_foreach(pending.params.get(), index, channel) sort(channel);
  } else {
    sort(pending.params.get());
  }
  if (json_array_size(granted.get()) > 0) subscribed_ = subscribe;
  core::JsonPtr answer = core::adopt_json(json_pack("{s:s}", "sessid", login_->sessid.c_str()));
  if (json_array_size(granted.get()) > 0) {
    json_object_set(answer.get(), subscribe ? "subscribedChannels" : "unsubscribedChannels", granted.get());
  }
  if (json_array_size(refused_channels.get()) > 0) {
    json_object_set(answer.get(), "unauthorizedChannels", refused_channels.get());
  }
  result(pending.id.get(), std::move(answer), out);
}

void VertoChannelFormat::success(const std::string& transaction, const std::string&, const json_t*, TextSink& out) {
  auto found = pending_.find(transaction);
  if (found == pending_.end()) return;
  Pending pending = std::move(found->second);
  pending_.erase(found);
  const std::string& method = pending.method;
  if (method == "echo") {
    result(pending.id.get(), std::move(pending.params), out);
  } else if (method == "verto.ping") {
    result(pending.id.get(), core::adopt_json(json_object()), out);
  } else if (method == "verto.subscribe" || method == "verto.unsubscribe") {
    subscription_result(pending, method == "verto.subscribe", out);
  } else if (method == "verto.broadcast") {
    // The native message goes to the others; the sender's own event, as
    // mod_verto sends it back too (the seed's client skips its sessid).
    if (subscribed_) deliver_event(json_object_get(pending.params.get(), "eventData"), login_->client, login_->sessid, out);
    result(pending.id.get(), core::adopt_json(json_pack("{s:s}", "message", "broadcast sent")), out);
  } else if (method == "verto.info") {
    result(pending.id.get(),
           core::adopt_json(json_pack("{s:s, s:s}", "message", "MESSAGE SENT", "sessid", login_->sessid.c_str())), out);
  }
}

void VertoChannelFormat::error(const std::optional<std::string>& transaction, const std::optional<std::string>&,
                               const Error& error, TextSink& out) {
  std::optional<Pending> pending;
  if (transaction) {
    if (auto found = pending_.find(*transaction); found != pending_.end()) {
      pending = std::move(found->second);
      pending_.erase(found);
    }
  }
  if (!pending) return rpc_error(nullptr, kInternalError, error.message, out);
  if (pending->method == "login") return;  // its answer is login_result()'s
  if (pending->rpc_code != 0) return rpc_error(pending->id.get(), pending->rpc_code, error.message, out);
  if (pending->method == "verto.info" && error.code == error_code::kNotFound) {
    return rpc_error(pending->id.get(), kInvalidParams,
                     "client " + pending->to + " is not in channel " + login_->channel, out);
  }
  rpc_error(pending->id.get(), kInternalError, error.message, out);
}

void VertoChannelFormat::deliver_event(const json_t* event_data, const std::string& client, const std::string& sessid,
                                       TextSink& out) {
  server_request("verto.event",
                 core::adopt_json(json_pack("{s:s, s:O, s:s, s:s}", "eventChannel", login_->channel.c_str(),
                                            "eventData", event_data != nullptr ? event_data : json_null(), "userid",
                                            (client + "@" + login_->channel).c_str(), "sessid", sessid.c_str())),
                 out);
}

void VertoChannelFormat::event(const json_t* event, TextSink& out) {
  const char* name = json_string_value(json_object_get(event, "event"));
  if (name == nullptr || !logged_in_) return;
  if (std::string_view(name) == "occupants") {
    const json_t* line = json_object_get(event, "line");
    const char* line_id = json_string_value(json_object_get(line, "line_id"));
    if (line_id == nullptr || login_->channel != line_id) return;
    members_.clear();
    size_t index;
    const json_t* occupant;
    json_array_foreach(json_object_get(line, "occupants"), index, occupant) {
      const char* session = json_string_value(json_object_get(occupant, "session"));
      const char* user = json_string_value(json_object_get(occupant, "user"));
      const char* client = json_string_value(json_object_get(occupant, "name"));
      if (session == nullptr || user == nullptr || client == nullptr || json_object_get(occupant, "plugin") != nullptr) {
        continue;
      }
      members_.push_back(Member{session, user, client});
    }
    return;
  }
  if (std::string_view(name) != "message") return;  // presence and the rest: verto clients publish their own
  // The sender as the server knows it: the name its login gave it.
  const char* from = json_string_value(json_object_get(json_object_get(event, "from"), "name"));
  const json_t* data = json_object_get(event, "data");
  const char* kind = json_string_value(json_object_get(data, "verto"));
  if (from == nullptr || kind == nullptr) return;  // a native client's message: nothing verto shows
  if (std::string_view(kind) == "event") {
    if (!subscribed_) return;
    const char* sessid = json_string_value(json_object_get(data, "sessid"));
    deliver_event(json_object_get(data, "eventData"), from, sessid != nullptr ? sessid : "", out);
  } else if (std::string_view(kind) == "info") {
    const char* to = json_string_value(json_object_get(data, "to"));
    const json_t* body = json_object_get(data, "body");
    server_request("verto.info",
                   core::adopt_json(json_pack("{s:{s:s, s:s, s:O}}", "msg", "from", from, "to", to != nullptr ? to : "",
                                              "body", body != nullptr ? body : json_null())),
                   out);
  }
}

// mod_verto punts a client whose credentials logged in elsewhere; partyline
// also punts one an operator kicked.
void VertoChannelFormat::closing(uint16_t code, std::string_view, TextSink& out) {
  if (code == close_code::kReplaced || code == close_code::kKicked) {
    server_request("verto.punt", core::adopt_json(json_object()), out);
  }
}

}  // namespace partyline::signaling
