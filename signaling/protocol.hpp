// The JSON message layer of docs/protocol.md: parsing what a client sends
// into a keepalive or a request, and formatting what the server sends.
// Pure: no sockets, no clocks (the caller passes the timestamp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/runtime/json.hpp"
#include "rtp/result.hpp"

namespace partyline::signaling {

inline constexpr size_t kMaxTransactionBytes = 128;
// Request names are short words; a longer one is refused (413) without being
// echoed, so a client cannot make the server send back what it sent.
inline constexpr size_t kMaxRequestNameBytes = 64;

// {"handshake":"keepalive","transaction":"k-7"}
struct KeepaliveMessage {
  std::string transaction;
};

// {"request":"echo","transaction":"t-1",...}; `message` is the whole object.
struct Request {
  std::string name;
  std::string transaction;
  core::JsonPtr message;
};

// A message that was refused, with whatever could still be read from it so
// the error response can echo it (null when it could not be read).
struct MessageError {
  Error error;
  std::optional<std::string> transaction;
  std::optional<std::string> request;
};

using ClientMessage = std::variant<KeepaliveMessage, Request, MessageError>;

// Never throws: malformed input becomes a MessageError with code 400 (the
// reason gives line and column, or names the field) or 413 (transaction over
// kMaxTransactionBytes).
ClientMessage parse_client_message(std::string_view text);

struct HandshakeState {
  std::string session_id;
  int64_t keepalive_interval_ms = 0;
  int64_t timestamp_ms = 0;  // wall clock, ms since the Unix epoch
  std::string server_name;
  std::string server_version;
  // The authenticated user ("user": {"user": ..., "name": ...}); braces
  // keep older positional initializers free of warnings.
  std::string user_id{};
  std::string user_name{};
  bool user_guest{};  // anonymous: "guest": true
  // Resuming (docs/protocol.md): the token (omitted when empty) and how long
  // a lost connection's session waits for it; `resumed` on a resume.
  std::string resume_token{};
  int64_t resume_grace_ms{};
  bool resumed{};
};

std::string format_handshake_state(const HandshakeState& state);
std::string format_keepalive_ack(std::string_view transaction);
// `extra_fields` (an object, or null for none) is merged in; it cannot
// override "response", "transaction" or "request".
std::string format_success(std::string_view transaction, std::string_view request, const json_t* extra_fields);
std::string format_error(const std::optional<std::string>& transaction, const std::optional<std::string>& request,
                         const Error& error);
// `event` must be an object with a string "event" field and no "transaction".
Result<std::string> format_event(const json_t* event);

}  // namespace partyline::signaling
