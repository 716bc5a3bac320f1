#include "signaling/adapters/signalr_messages.hpp"


namespace partyline::signaling::signalr {

namespace {

std::string dump_record(const json_t* message) { return core::dump_json(message) + kRecordSeparator; }

Error bad(const std::string& message) { return make_error(error_code::kBadRequest, message); }

}  // namespace

Result<std::vector<std::string_view>> split_records(std::string_view text) {
  if (text.empty() || text.back() != kRecordSeparator) {
    return bad("a SignalR message must end with the record separator 0x1E");
  }
  std::vector<std::string_view> records;
  while (!text.empty()) {
    const size_t end = text.find(kRecordSeparator);
    if (end == 0) return bad("empty SignalR record");
    records.push_back(text.substr(0, end));
    text.remove_prefix(end + 1);
  }
  return records;
}

Status check_handshake_request(std::string_view record) {
  auto parsed = core::parse_json_object(record);
  if (!parsed) return bad("the handshake request is not a JSON object");
  const json_t* protocol = json_object_get(parsed->get(), "protocol");
  const json_t* version = json_object_get(parsed->get(), "version");
  if (!json_is_string(protocol) || !json_is_integer(version)) {
    return bad("the handshake request needs a string 'protocol' and an integer 'version'");
  }
  if (std::string_view(json_string_value(protocol)) != "json") {
    return bad("the protocol '" + std::string(json_string_value(protocol)).substr(0, 32) +
               "' is not supported: only 'json'");
  }
  if (json_integer_value(version) != 1) {
    return bad("the requested protocol version '" + std::to_string(json_integer_value(version)) +
               "' is not available");
  }
  return {};
}

Result<ClientMessage> parse_client_message(std::string_view record) {
  auto parsed = core::parse_json_object(record);
  if (!parsed) return bad("a SignalR message must be a JSON object: " + parsed.error().message);
  const json_t* object = parsed->get();
  const json_t* type = json_object_get(object, "type");
  if (!json_is_integer(type)) return bad("a SignalR message needs an integer 'type'");
  ClientMessage message;
  message.type = static_cast<MessageType>(json_integer_value(type));
  if (message.type != MessageType::kInvocation && message.type != MessageType::kStreamInvocation) return message;

  const json_t* id = json_object_get(object, "invocationId");
  if (id != nullptr && !json_is_null(id)) {
    if (!json_is_string(id)) return bad("'invocationId' must be a string");
    if (json_string_length(id) > kMaxInvocationIdBytes) {
      return bad("'invocationId' is longer than " + std::to_string(kMaxInvocationIdBytes) + " bytes");
    }
    message.invocation_id = std::string(json_string_value(id), json_string_length(id));
  }
  const json_t* target = json_object_get(object, "target");
  if (!json_is_string(target) || json_string_length(target) == 0) return bad("an invocation needs a string 'target'");
  if (json_string_length(target) > kMaxTargetBytes) {
    return bad("'target' is longer than " + std::to_string(kMaxTargetBytes) + " bytes");
  }
  message.target = std::string(json_string_value(target), json_string_length(target));
  const json_t* arguments = json_object_get(object, "arguments");
  if (!json_is_array(arguments)) return bad("an invocation needs an array 'arguments'");
  message.arguments = core::share_json(const_cast<json_t*>(arguments));
  return message;
}

std::string handshake_response(const std::optional<std::string>& error) {
  core::JsonPtr response = core::adopt_json(json_object());
  if (error) json_object_set_new(response.get(), "error", json_string(error->c_str()));
  return dump_record(response.get());
}

std::string invocation(std::string_view target, const json_t* arguments) {
  core::JsonPtr message = core::adopt_json(json_object());
  json_object_set_new(message.get(), "type", json_integer(static_cast<int>(MessageType::kInvocation)));
  json_object_set_new(message.get(), "target", json_stringn(target.data(), target.size()));
  json_object_set(message.get(), "arguments", const_cast<json_t*>(arguments));
  return dump_record(message.get());
}

namespace {

// A completion with `field` ("result" or "error") set to `value` (taken).
std::string completion(std::string_view invocation_id, const char* field, json_t* value) {
  core::JsonPtr message = core::adopt_json(json_object());
  json_object_set_new(message.get(), "type", json_integer(static_cast<int>(MessageType::kCompletion)));
  json_object_set_new(message.get(), "invocationId", json_stringn(invocation_id.data(), invocation_id.size()));
  json_object_set_new(message.get(), field, value);
  return dump_record(message.get());
}

}  // namespace

std::string completion_result(std::string_view invocation_id, const json_t* result) {
  return completion(invocation_id, "result", json_incref(const_cast<json_t*>(result)));
}

std::string completion_error(std::string_view invocation_id, std::string_view error) {
  return completion(invocation_id, "error", json_stringn(error.data(), error.size()));
}

std::string ping() { return std::string("{\"type\":6}") + kRecordSeparator; }

std::string close_message(const std::optional<std::string>& error) {
  core::JsonPtr message = core::adopt_json(json_object());
  json_object_set_new(message.get(), "type", json_integer(static_cast<int>(MessageType::kClose)));
  if (error) json_object_set_new(message.get(), "error", json_string(error->c_str()));
  // partyline keeps no state a reconnecting hub client could take over.
  json_object_set_new(message.get(), "allowReconnect", json_false());
  return dump_record(message.get());
}

std::string negotiate_response(std::string_view connection_id, std::string_view connection_token) {
  core::JsonPtr body = core::adopt_json(json_pack(
      "{s:i, s:s%, s:s%, s:[{s:s, s:[s, s]}]}", "negotiateVersion", 1, "connectionId", connection_id.data(),
      connection_id.size(), "connectionToken", connection_token.data(), connection_token.size(), "availableTransports",
      "transport", "WebSockets", "transferFormats", "Text", "Binary"));
  return core::dump_json(body.get());
}

}  // namespace partyline::signaling::signalr
