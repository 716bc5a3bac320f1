// The ASP.NET Core SignalR JSON hub protocol as partyline's SignalR hub
// adapter speaks it (docs/compat.md): records ended by 0x1E (several may
// share one WebSocket text), the handshake, the messages a client sends,
// and the ones the server writes. Pure: no sockets, no clocks.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/runtime/json.hpp"
#include "rtp/result.hpp"

namespace partyline::signaling::signalr {

inline constexpr char kRecordSeparator = '\x1e';
// An invocation id or a target longer than this is refused: the ids become
// part of what the server sends back, the targets are short method names.
inline constexpr size_t kMaxInvocationIdBytes = 128;
inline constexpr size_t kMaxTargetBytes = 64;

enum class MessageType : int {
  kInvocation = 1,
  kStreamItem = 2,
  kCompletion = 3,
  kStreamInvocation = 4,
  kCancelInvocation = 5,
  kPing = 6,
  kClose = 7,
  kAck = 8,
  kSequence = 9,
};

// The records of one text, without their separators. 400 when the text does
// not end with a separator or holds an empty record.
Result<std::vector<std::string_view>> split_records(std::string_view text);

// {"protocol":"json","version":1}: anything else is refused with a reason
// the handshake response carries.
Status check_handshake_request(std::string_view record);

// A message from the client. For invocations (type 1, and 4 for streams):
// `target`, `arguments` (an array) and `invocation_id` (absent for a
// non-blocking invocation, which expects no completion).
struct ClientMessage {
  MessageType type = MessageType::kPing;
  std::optional<std::string> invocation_id;
  std::string target;
  core::JsonPtr arguments;
};

// 400 with the reason: not a JSON object, no integer `type`, an
// invocation without a string `target` or an array `arguments`, ids or
// targets over their limits. Unknown types pass (the caller ignores them).
Result<ClientMessage> parse_client_message(std::string_view record);

// What the server writes, each ended by the separator.
std::string handshake_response(const std::optional<std::string>& error);
std::string invocation(std::string_view target, const json_t* arguments);
std::string completion_result(std::string_view invocation_id, const json_t* result);
std::string completion_error(std::string_view invocation_id, std::string_view error);
std::string ping();
std::string close_message(const std::optional<std::string>& error);

// The body of `POST {hub}/negotiate?negotiateVersion=1`: the WebSocket
// transport only (no separator: plain JSON).
std::string negotiate_response(std::string_view connection_id, std::string_view connection_token);

}  // namespace partyline::signaling::signalr
