#include "signaling/protocol.hpp"

#include <utility>

namespace partyline::signaling {

namespace {

json_t* string_or_null(const std::optional<std::string>& value) {
  return value ? json_stringn(value->data(), value->size()) : json_null();
}

// Reads the transaction of an object: its value when it is a string within
// the limit, an error otherwise.
Result<std::string> read_transaction(const json_t* object) {
  auto transaction = core::get_required_string(object, "transaction");
  if (!transaction) return transaction.error();
  if (transaction->size() > kMaxTransactionBytes) {
    return make_error(error_code::kTooLarge, "field 'transaction' is longer than " +
                                                 std::to_string(kMaxTransactionBytes) + " bytes");
  }
  return transaction;
}

ClientMessage parse_keepalive(const json_t* object) {
  auto handshake = core::get_required_string(object, "handshake");
  auto transaction = read_transaction(object);
  std::optional<std::string> echo = transaction ? std::optional(*transaction) : std::nullopt;
  if (!handshake) return MessageError{handshake.error(), echo, std::nullopt};
  if (*handshake != "keepalive") {
    return MessageError{make_error(error_code::kBadRequest, "field 'handshake' must be \"keepalive\""), echo,
                        std::nullopt};
  }
  if (!transaction) return MessageError{transaction.error(), std::nullopt, std::nullopt};
  return KeepaliveMessage{std::move(*transaction)};
}

ClientMessage parse_request(core::JsonPtr object) {
  auto name = core::get_required_string(object.get(), "request");
  auto transaction = read_transaction(object.get());
  const bool name_too_long = name && name->size() > kMaxRequestNameBytes;
  std::optional<std::string> echo_name = name && !name_too_long ? std::optional(*name) : std::nullopt;
  if (!transaction) return MessageError{transaction.error(), std::nullopt, echo_name};
  if (!name) return MessageError{name.error(), *transaction, std::nullopt};
  if (name_too_long) {
    return MessageError{make_error(error_code::kTooLarge, "field 'request' is longer than " +
                                                              std::to_string(kMaxRequestNameBytes) + " bytes"),
                        *transaction, std::nullopt};
  }
  if (name->empty()) {
    return MessageError{make_error(error_code::kBadRequest, "field 'request' must not be empty"), *transaction,
                        std::nullopt};
  }
  return Request{std::move(*name), std::move(*transaction), std::move(object)};
}

}  // namespace

ClientMessage parse_client_message(std::string_view text) {
  auto parsed = core::parse_json_object(text);
  if (!parsed) return MessageError{parsed.error(), std::nullopt, std::nullopt};
  core::JsonPtr object = std::move(*parsed);
  if (json_object_get(object.get(), "handshake") != nullptr) return parse_keepalive(object.get());
  return parse_request(std::move(object));
}

std::string format_handshake_state(const HandshakeState& state) {
  core::JsonPtr server = core::adopt_json(json_object());
  json_object_set_new(server.get(), "name", json_string(state.server_name.c_str()));
  json_object_set_new(server.get(), "version", json_string(state.server_version.c_str()));
  core::JsonPtr message = core::adopt_json(json_object());
  json_object_set_new(message.get(), "handshake", json_string("state"));
  json_object_set_new(message.get(), "session", json_string(state.session_id.c_str()));
  json_object_set_new(message.get(), "keepalive_interval", json_integer(state.keepalive_interval_ms));
  json_object_set_new(message.get(), "timestamp", json_integer(state.timestamp_ms));
  json_object_set_new(message.get(), "server", server.release());
  core::JsonPtr user = core::adopt_json(json_object());
  json_object_set_new(user.get(), "user", json_stringn(state.user_id.data(), state.user_id.size()));
  json_object_set_new(user.get(), "name", json_stringn(state.user_name.data(), state.user_name.size()));
  if (state.user_guest) json_object_set_new(user.get(), "guest", json_true());
  json_object_set_new(message.get(), "user", user.release());
  if (!state.resume_token.empty()) {
    json_object_set_new(message.get(), "resume_token", json_string(state.resume_token.c_str()));
    json_object_set_new(message.get(), "resume_grace", json_integer(state.resume_grace_ms));
  }
  if (state.resumed) json_object_set_new(message.get(), "resumed", json_true());
  return core::dump_json(message.get());
}

std::string format_keepalive_ack(std::string_view transaction) {
  core::JsonPtr message = core::adopt_json(json_object());
  json_object_set_new(message.get(), "handshake", json_string("keepalive"));
  json_object_set_new(message.get(), "transaction", json_stringn(transaction.data(), transaction.size()));
  return core::dump_json(message.get());
}

std::string format_success(std::string_view transaction, std::string_view request, const json_t* extra_fields) {
  core::JsonPtr message = core::adopt_json(json_object());
  if (extra_fields != nullptr && json_is_object(extra_fields)) {
    // json_object_update only adds references; it never mutates `extra_fields`.
    json_object_update(message.get(), const_cast<json_t*>(extra_fields));
  }
  json_object_set_new(message.get(), "response", json_string("success"));
  json_object_set_new(message.get(), "transaction", json_stringn(transaction.data(), transaction.size()));
  json_object_set_new(message.get(), "request", json_stringn(request.data(), request.size()));
  return core::dump_json(message.get());
}

std::string format_error(const std::optional<std::string>& transaction, const std::optional<std::string>& request,
                         const Error& error) {
  core::JsonPtr message = core::adopt_json(json_object());
  json_object_set_new(message.get(), "response", json_string("error"));
  json_object_set_new(message.get(), "transaction", string_or_null(transaction));
  json_object_set_new(message.get(), "request", string_or_null(request));
  json_object_set_new(message.get(), "code", json_integer(error.code));
  json_object_set_new(message.get(), "reason", json_stringn(error.message.data(), error.message.size()));
  return core::dump_json(message.get());
}

Result<std::string> format_event(const json_t* event) {
  if (event == nullptr || !json_is_object(event)) {
    return make_error(error_code::kInternal, "an event must be a JSON object");
  }
  auto name = core::get_required_string(event, "event");
  if (!name) return name.error();
  if (json_object_get(event, "transaction") != nullptr) {
    return make_error(error_code::kInternal, "event '" + *name + "' must not carry a transaction");
  }
  return core::dump_json(event);
}

}  // namespace partyline::signaling
