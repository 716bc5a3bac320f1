// The seed 000 hub's data objects (docs/compat.md, "Seed 000"), built from
// the native protocol's views: PhoneLine, PhoneLineConnection,
// HubConnection, the invitation's CallType, and the HttpResponseDto every
// hub method returns. Property names are PascalCase, as the seed's server
// serializes them (its client reads them in any case). Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/runtime/json.hpp"

namespace partyline::signaling::signalr {

// The seed's numeric ids (PhoneLineId, PhoneLineConnectionId, ...) from
// partyline's UUIDs: their first 52 bits, a number JavaScript holds
// exactly, the same for the same UUID every time.
int64_t numeric_id(std::string_view uuid);

// A party as the native protocol shows it: a session id, a display name,
// an email where known.
struct HubParty {
  std::string session;
  std::string name;
  std::string email;
};

core::JsonPtr hub_connection(const HubParty& party);
core::JsonPtr phone_line_connection(const std::string& line_id, const HubParty& party);
// `line`: the native line object ({"line_id", "occupants": [...]}); its
// client occupants become PhoneLineConnections (plugin occupants have no
// hub connection and are left out).
core::JsonPtr phone_line(const json_t* line);
core::JsonPtr phone_line_without_connections(const std::string& line_id);
// receivePhoneLineInvitation's CallType: the caller's connection and profile.
core::JsonPtr call_type(const std::string& line_id, const HubParty& caller, const std::string& caller_user);

// The HttpResponseDto, serialized as the hub method's string result:
// {"StatusCode": status, "ActionCode": 0, "Content": content}. Errors carry
// a JSON list of messages as their Content, as the seed's client reads them.
std::string http_response(int status, std::string_view content);
std::string http_error(int status, std::string_view message);

// A JSON value serialized compactly (objects, arrays, strings, numbers).
std::string serialized(const json_t* value);

}  // namespace partyline::signaling::signalr
