#include "signaling/adapters/signalr_dtos.hpp"

#include <cstdlib>
#include <memory>

namespace partyline::signaling::signalr {

namespace {

const char* string_field(const json_t* object, const char* field) {
  const char* value = json_string_value(json_object_get(object, field));
  return value != nullptr ? value : "";
}

}  // namespace

int64_t numeric_id(std::string_view uuid) {
  int64_t value = 0;
  int digits = 0;
  for (char c : uuid) {
    if (digits == 13) break;  // 13 hex digits: 52 bits
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      continue;  // the dashes
    }
    value = value * 16 + digit;
    ++digits;
  }
  return value;
}

core::JsonPtr hub_connection(const HubParty& party) {
  return core::adopt_json(json_pack("{s:I, s:s, s:s, s:s, s:b, s:b}", "HubConnectionId",
                                    static_cast<json_int_t>(numeric_id(party.session)), "ConnectionGuid",
                                    party.session.c_str(), "Name", party.name.c_str(), "Email", party.email.c_str(),
                                    "IsConnected", 1, "IsDeleted", 0));
}

core::JsonPtr phone_line_connection(const std::string& line_id, const HubParty& party) {
  const auto connection_id = static_cast<json_int_t>(numeric_id(party.session));
  return core::adopt_json(json_pack("{s:I, s:I, s:s, s:I, s:n, s:b, s:o}", "PhoneLineConnectionId", connection_id,
                                    "PhoneLineId", static_cast<json_int_t>(numeric_id(line_id)), "PhoneLineGuid",
                                    line_id.c_str(), "HubConnectionId", connection_id, "Created", "IsDeleted", 0,
                                    "HubConnection", hub_connection(party).release()));
}

core::JsonPtr phone_line_without_connections(const std::string& line_id) {
  return core::adopt_json(json_pack("{s:I, s:s, s:n, s:b, s:[]}", "PhoneLineId",
                                    static_cast<json_int_t>(numeric_id(line_id)), "PhoneLineGuid", line_id.c_str(),
                                    "Created", "IsDeleted", 0, "PhoneLineConnections"));
}

core::JsonPtr phone_line(const json_t* line) {
  const std::string line_id = string_field(line, "line_id");
  core::JsonPtr result = phone_line_without_connections(line_id);
  json_t* connections = json_object_get(result.get(), "PhoneLineConnections");
  size_t index;
  json_t* occupant;
  json_array_foreach(json_object_get(line, "occupants"), index, occupant) {
    if (json_object_get(occupant, "plugin") != nullptr) continue;
    HubParty party{string_field(occupant, "session"), string_field(occupant, "name"), ""};
    json_array_append_new(connections, phone_line_connection(line_id, party).release());
  }
  return result;
}

core::JsonPtr call_type(const std::string& line_id, const HubParty& caller, const std::string& caller_user) {
  auto profile = [&] {
    return json_pack("{s:s, s:s, s:s}", "Username", caller_user.c_str(), "Name", caller.name.c_str(), "Email",
                     caller.email.c_str());
  };
  return core::adopt_json(json_pack("{s:s, s:s, s:o, s:[{s:s, s:o}]}", "RemoteGuid", caller.session.c_str(),
                                    "PhoneLineGuid", line_id.c_str(), "Profile", profile(), "Callers", "RemoteGuid",
                                    caller.session.c_str(), "Profile", profile()));
}

std::string http_response(int status, std::string_view content) {
  core::JsonPtr dto = core::adopt_json(json_pack("{s:i, s:i, s:s%}", "StatusCode", status, "ActionCode", 0, "Content",
                                                 content.data(), content.size()));
  return core::dump_json(dto.get());
}

std::string http_error(int status, std::string_view message) {
  core::JsonPtr messages = core::adopt_json(json_pack("[s%]", message.data(), message.size()));
  return http_response(status, core::dump_json(messages.get()));
}

std::string serialized(const json_t* value) {
  std::unique_ptr<char, decltype(&free)> text(json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY), &free);
  return text ? std::string(text.get()) : std::string("null");
}

}  // namespace partyline::signaling::signalr
