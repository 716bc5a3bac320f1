// Who a WebSocket client is, decided once at connect from the URL's query
// (docs/protocol.md, "Identity"): an HS256 JWT in `token`, or, when
// anonymous access is on, a plain `name`. Pure: no sockets, no clocks (the
// caller passes the time).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "rtp/result.hpp"
#include "signaling/http_server.hpp"

namespace partyline::signaling {

namespace close_code {
// Also the Error::code of every authentication failure.
inline constexpr uint16_t kUnauthorized = 4001;
}  // namespace close_code

struct Identity {
  std::string user;   // the user id: the token's `sub`, or guest_user_id() of the anonymous name
  std::string name;   // display name
  std::string email;  // empty when unknown
  bool anonymous = false;  // a guest: shown with "guest": true
};

struct AuthOptions {
  std::string jwt_secret;  // HS256 key; empty: every token is refused
  std::string jwt_issuer;  // when set, a token's `iss` must equal it
  bool allow_anonymous = true;
};

inline constexpr size_t kMaxUserIdBytes = 128;
inline constexpr size_t kMaxAnonymousNameChars = 64;
// Far above any real token; keeps a hostile URL from reaching the decoder.
inline constexpr size_t kMaxTokenBytes = 8192;
// Every refusal's message fits a WebSocket close frame with room to spare.
inline constexpr size_t kMaxAuthReasonBytes = 120;

// The user id spaces (docs/protocol.md, "Identity"): the rule lives here and
// nowhere else. A token's `sub` is the user id as it is, except that ids
// starting with a reserved prefix belong to the server: a token claiming one
// is refused, so a token user never shares an id with a guest or a plugin.
inline constexpr std::string_view kGuestIdPrefix = "guest:";
inline constexpr std::string_view kPluginIdPrefix = "plugin:";
// Seed 004's verto clients, admitted by a channel's password alone: their
// ids must not be anyone else's (a guest named like one would inherit the
// channel membership its login made).
inline constexpr std::string_view kVertoIdPrefix = "verto:";

// The user id of an anonymous client named `name`: "guest:NAME" when the
// server accepts tokens too (a secret is set), so that it can never be the
// user of a token whose `sub` is NAME; NAME itself when the server accepts
// names only (no token user exists to collide with).
std::string guest_user_id(const std::string& name, const AuthOptions& options);
// The user id a plugin handle occupying a line is listed with.
std::string plugin_user_id(const std::string& plugin);
// The user id of a verto client that logged in as "<client>@<channel>".
std::string verto_user_id(const std::string& login);

// What libjwt lets through: a token whose header or claims repeat a member
// (jansson keeps one of the two values) or whose header has `crit` (no
// extension is understood here). Checks the raw base64url-decoded JSON of
// both; the error is a 4001 with the reason.
Status check_token_json(std::string_view token);

// `token` wins over `name` when both are given. Errors have code 4001 and a
// short message meant as the close reason ("token expired", "token signature
// does not verify", "anonymous access is off", ...); it never echoes the
// token or a claim value.
Result<Identity> authenticate(const QueryParameters& query, const AuthOptions& options, int64_t now_unix_seconds);

}  // namespace partyline::signaling
