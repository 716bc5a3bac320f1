#include "signaling/auth.hpp"

#include <jwt.h>
#include <nettle/base64.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string_view>

#include "core/runtime/json.hpp"

namespace partyline::signaling {

namespace {

struct JwtDeleter {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtDeleter>;

struct MallocDeleter {
  void operator()(char* text) const { std::free(text); }
};

Error unauthorized(std::string reason) { return make_error(close_code::kUnauthorized, std::move(reason)); }

// jwt_decode with `key` checks the signature; without, only the form.
JwtPtr decode(const std::string& token, const std::string* key) {
  jwt_t* raw = nullptr;
  int failed = key != nullptr ? jwt_decode(&raw, token.c_str(), reinterpret_cast<const unsigned char*>(key->data()),
                                           static_cast<int>(key->size()))
                              : jwt_decode(&raw, token.c_str(), nullptr, 0);
  JwtPtr jwt(raw);
  if (failed != 0) jwt.reset();
  return jwt;
}

// Exactly "HS256" in the header (RFC 7515 names are case-sensitive; libjwt
// is not). Read from the header, as without a key libjwt reports "none".
bool header_says_hs256(jwt_t* jwt) {
  const char* algorithm = jwt_get_header(jwt, "alg");
  return algorithm != nullptr && std::string_view(algorithm) == "HS256";
}

// libjwt says only "EINVAL" for every failure; decoding again without the
// key tells a malformed token from one signed with something else.
Error explain_rejected_token(const std::string& token) {
  JwtPtr unverified = decode(token, nullptr);
  if (!unverified) return unauthorized("token is malformed");
  if (!header_says_hs256(unverified.get())) return unauthorized("token algorithm must be HS256");
  return unauthorized("token signature does not verify");
}

// The claims as one JSON object (libjwt keeps them in jansson already).
Result<core::JsonPtr> claims_of(jwt_t* jwt) {
  std::unique_ptr<char, MallocDeleter> text(jwt_get_grants_json(jwt, nullptr));
  if (!text) return unauthorized("token has no claims");
  auto parsed = core::parse_json_object(text.get());
  if (!parsed) return unauthorized("token claims are not a JSON object");
  return std::move(*parsed);
}

// A string claim: nullopt when absent, an error when of another type.
Result<std::optional<std::string>> string_claim(const json_t* claims, const char* claim) {
  json_t* value = json_object_get(claims, claim);
  if (value == nullptr) return std::optional<std::string>();
  if (!json_is_string(value)) return unauthorized(std::string("token claim '") + claim + "' must be a string");
  return std::optional<std::string>(std::string(json_string_value(value), json_string_length(value)));
}

// exp and nbf are NumericDate: seconds since the epoch, possibly fractional.
Result<std::optional<double>> time_claim(const json_t* claims, const char* claim) {
  json_t* value = json_object_get(claims, claim);
  if (value == nullptr) return std::optional<double>();
  if (!json_is_number(value)) return unauthorized(std::string("token claim '") + claim + "' must be a number");
  return std::optional<double>(json_number_value(value));
}

Status check_validity(const json_t* claims, const AuthOptions& options, int64_t now) {
  auto expires = time_claim(claims, "exp");
  if (!expires) return expires.error();
  // RFC 7519 4.1.4: the token must not be accepted on or after `exp`.
  if (*expires && static_cast<double>(now) >= **expires) return unauthorized("token expired");
  auto not_before = time_claim(claims, "nbf");
  if (!not_before) return not_before.error();
  if (*not_before && static_cast<double>(now) < **not_before) return unauthorized("token not valid yet");
  if (!options.jwt_issuer.empty()) {
    auto issuer = string_claim(claims, "iss");
    if (!issuer) return issuer.error();
    if (!*issuer) return unauthorized("token has no 'iss' claim");
    if (**issuer != options.jwt_issuer) return unauthorized("token issuer does not match");
  }
  return {};
}

// RFC 4648 section 5, without padding (RFC 7515 section 2); nullopt for
// anything else, '=' included. Decoded by nettle, which wants the padding a
// JWT leaves out.
std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.find('=') != std::string_view::npos || text.size() % 4 == 1) return std::nullopt;
  std::string padded(text);
  padded.append((4 - padded.size() % 4) % 4, '=');
  base64_decode_ctx context;
  base64url_decode_init(&context);
  std::string decoded(BASE64_DECODE_LENGTH(padded.size()), '\0');
  size_t length = decoded.size();
  if (!base64_decode_update(&context, &length, reinterpret_cast<uint8_t*>(decoded.data()), padded.size(),
                            padded.data()) ||
      !base64_decode_final(&context)) {
    return std::nullopt;
  }
  decoded.resize(length);
  return decoded;
}

// One segment of the token as a JSON object, duplicate members refused.
Result<core::JsonPtr> segment_object(std::string_view segment, const char* duplicate_reason) {
  auto text = base64url_decode(segment);
  if (!text) return unauthorized("token is malformed");
  json_error_t error;
  core::JsonPtr value = core::adopt_json(json_loadb(text->data(), text->size(), JSON_REJECT_DUPLICATES, &error));
  if (!value && json_error_code(&error) == json_error_duplicate_key) {
    return unauthorized(duplicate_reason);
  }
  if (!value || !json_is_object(value.get())) return unauthorized("token is malformed");
  return value;
}

Result<Identity> identity_from_claims(const json_t* claims) {
  auto subject = string_claim(claims, "sub");
  if (!subject) return subject.error();
  if (!*subject) return unauthorized("token has no 'sub' claim");
  if ((*subject)->empty()) return unauthorized("token claim 'sub' is empty");
  if ((*subject)->size() > kMaxUserIdBytes) {
    return unauthorized("token claim 'sub' is longer than " + std::to_string(kMaxUserIdBytes) + " bytes");
  }
  for (std::string_view reserved : {kGuestIdPrefix, kPluginIdPrefix, kVertoIdPrefix}) {
    if ((*subject)->starts_with(reserved)) {
      return unauthorized("token claim 'sub' may not start with '" + std::string(reserved) +
                          "': those user ids are the server's");
    }
  }
  auto name = string_claim(claims, "name");
  if (!name) return name.error();
  auto email = string_claim(claims, "email");
  if (!email) return email.error();
  Identity identity;
  identity.user = **subject;
  identity.name = *name && !(*name)->empty() ? **name : identity.user;
  identity.email = email->value_or("");
  identity.anonymous = false;
  return identity;
}

Result<Identity> verify_token(const std::string& token, const AuthOptions& options, int64_t now) {
  if (options.jwt_secret.empty()) return unauthorized("tokens are not accepted: no secret configured");
  if (token.size() > kMaxTokenBytes) {
    return unauthorized("token is longer than " + std::to_string(kMaxTokenBytes) + " bytes");
  }
  if (token.find('\0') != std::string::npos) return unauthorized("token is malformed");
  JwtPtr jwt = decode(token, &options.jwt_secret);
  if (!jwt) return explain_rejected_token(token);
  // A token signed with the secret under another HMAC (HS384, HS512) verifies
  // too; the contract is HS256 only.
  if (jwt_get_alg(jwt.get()) != JWT_ALG_HS256 || !header_says_hs256(jwt.get())) {
    return unauthorized("token algorithm must be HS256");
  }
  if (Status form = check_token_json(token); !form) return form.error();
  auto claims = claims_of(jwt.get());
  if (!claims) return claims.error();
  if (Status valid = check_validity(claims->get(), options, now); !valid) return valid.error();
  return identity_from_claims(claims->get());
}

bool is_anonymous_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-' || c == '@';
}

Result<Identity> anonymous_identity(const std::string& name, const AuthOptions& options) {
  if (!options.allow_anonymous) return unauthorized("anonymous access is off");
  if (name.empty()) return unauthorized("name is empty");
  if (name.size() > kMaxAnonymousNameChars) {
    return unauthorized("name is longer than " + std::to_string(kMaxAnonymousNameChars) + " characters");
  }
  for (char c : name) {
    if (!is_anonymous_name_char(c)) {
      return unauthorized("name may only contain letters, digits, '.', '_', '-' and '@'");
    }
  }
  return Identity{guest_user_id(name, options), name, "", true};
}

// A guest's `email` (docs/protocol.md, "Identity"): as unproven as its name,
// so demo-grade like it; seed 000's clients address users by email.
Status set_guest_email(Identity& identity, const std::string& email) {
  const size_t at = email.find('@');
  if (email.size() > kMaxUserIdBytes || at == std::string::npos || at == 0 || at + 1 == email.size() ||
      email.find('@', at + 1) != std::string::npos ||
      !std::all_of(email.begin(), email.end(), is_anonymous_name_char)) {
    return unauthorized("email must be one address (letters, digits, '.', '_', '-', one '@'), at most " +
                        std::to_string(kMaxUserIdBytes) + " characters");
  }
  identity.email = email;
  return {};
}

}  // namespace

std::string guest_user_id(const std::string& name, const AuthOptions& options) {
  return options.jwt_secret.empty() ? name : std::string(kGuestIdPrefix) + name;
}

std::string plugin_user_id(const std::string& plugin) { return std::string(kPluginIdPrefix) + plugin; }

std::string verto_user_id(const std::string& login) { return std::string(kVertoIdPrefix) + login; }

Status check_token_json(std::string_view token) {
  const size_t first_dot = token.find('.');
  const size_t second_dot = first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos || token.find('.', second_dot + 1) != std::string_view::npos) {
    return unauthorized("token is malformed");
  }
  auto header = segment_object(token.substr(0, first_dot), "token header repeats a member");
  if (!header) return header.error();
  // RFC 7515 section 4.1.11: an extension named in `crit` must be understood,
  // and this server understands none.
  if (json_object_get(header->get(), "crit") != nullptr) {
    return unauthorized("token header has 'crit': no header extension is supported");
  }
  auto claims = segment_object(token.substr(first_dot + 1, second_dot - first_dot - 1), "token claims repeat a member");
  if (!claims) return claims.error();
  return {};
}

Result<Identity> authenticate(const QueryParameters& query, const AuthOptions& options, int64_t now_unix_seconds) {
  if (auto token = query.find("token"); token != query.end()) {
    return verify_token(token->second, options, now_unix_seconds);
  }
  if (auto name = query.find("name"); name != query.end()) {
    auto identity = anonymous_identity(name->second, options);
    if (!identity) return identity;
    if (auto email = query.find("email"); email != query.end()) {
      if (Status set = set_guest_email(*identity, email->second); !set) return set.error();
    }
    return identity;
  }
  return unauthorized(options.allow_anonymous ? "a token or a name is required" : "a token is required");
}

}  // namespace partyline::signaling
