// authenticate() with a `token` (signaling/auth.hpp) on arbitrary input.
//
// Input: byte 0 chooses the options (bit 0: an issuer is required) and what
// the rest is (bit 1): the token as it is, or "HEADER\nCLAIMS", two JSON
// texts the target base64url-encodes and signs with HMAC-SHA256 under the
// test secret, so that what follows the signature check is reached too (a
// third segment of random bytes almost never verifies).
//
// Checks: an accepted token has a `sub` that is non-empty, at most
// kMaxUserIdBytes and in neither server space (guest:, plugin:), and its
// header and claims, read here, are JSON objects without repeated members
// whose header says exactly "alg":"HS256" and has no `crit`, whose `exp` (if
// any) is a number after now, `nbf` (if any) a number not after now, and
// `iss` the configured issuer when one is set; the identity is the token's
// `sub`, `name` and `email`. A refusal is 4001 with one of the reasons
// auth.hpp and docs/protocol.md name (kReasons below: fixed texts, so none
// repeats the token), at most kMaxAuthReasonBytes.
#include <gnutls/crypto.h>
#include <jansson.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "signaling/auth.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace partyline::signaling {
namespace {

const std::string kSecret = "partyline fuzz secret";
const std::string kIssuer = "partyline-fuzz";
constexpr int64_t kNow = 1700000000;

// Every refusal's reason, as documented; %s is a claim name.
constexpr std::string_view kReasons[] = {
    "tokens are not accepted: no secret configured",
    "token is longer than 8192 bytes",
    "token is malformed",
    "token algorithm must be HS256",
    "token signature does not verify",
    "token has no claims",
    "token claims are not a JSON object",
    "token header repeats a member",
    "token claims repeat a member",
    "token header has 'crit': no header extension is supported",
    "token expired",
    "token not valid yet",
    "token has no 'iss' claim",
    "token issuer does not match",
    "token has no 'sub' claim",
    "token claim 'sub' is empty",
    "token claim 'sub' is longer than 128 bytes",
    "token claim 'sub' may not start with 'guest:': those user ids are the server's",
    "token claim 'sub' may not start with 'plugin:': those user ids are the server's",
    "token claim 'sub' must be a string",
    "token claim 'name' must be a string",
    "token claim 'email' must be a string",
    "token claim 'iss' must be a string",
    "token claim 'exp' must be a number",
    "token claim 'nbf' must be a number",
};

bool documented(std::string_view reason) {
  for (std::string_view known : kReasons) {
    if (reason == known) return true;
  }
  return false;
}

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(std::string_view bytes) {
  std::string text;
  uint32_t bits = 0;
  int count = 0;
  for (unsigned char byte : bytes) {
    bits = (bits << 8) | byte;
    count += 8;
    while (count >= 6) {
      count -= 6;
      text += kAlphabet[(bits >> count) & 63];
    }
  }
  if (count > 0) text += kAlphabet[(bits << (6 - count)) & 63];
  return text;
}

// RFC 4648 section 5 without padding; nullopt for any other character or a
// length no encoding has.
std::optional<std::string> from_base64url(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string bytes;
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    const size_t value = kAlphabet.find(c);
    if (value == std::string_view::npos) return std::nullopt;
    bits = (bits << 6) | static_cast<uint32_t>(value);
    count += 6;
    if (count >= 8) {
      count -= 8;
      bytes += static_cast<char>((bits >> count) & 0xFF);
    }
  }
  return bytes;
}

std::string sign(const std::string& header, const std::string& claims) {
  const std::string input = base64url(header) + "." + base64url(claims);
  std::string mac(32, '\0');
  FUZZ_REQUIRE(gnutls_hmac_fast(GNUTLS_MAC_SHA256, kSecret.data(), kSecret.size(), input.data(), input.size(),
                                mac.data()) == 0);
  return input + "." + base64url(mac);
}

struct JsonDeleter {
  void operator()(json_t* json) const { json_decref(json); }
};
using Json = std::unique_ptr<json_t, JsonDeleter>;

// A segment of an accepted token: a JSON object without repeated members.
Json segment_object(std::string_view segment) {
  auto text = from_base64url(segment);
  FUZZ_REQUIRE(text.has_value());
  Json object(json_loadb(text->data(), text->size(), JSON_REJECT_DUPLICATES, nullptr));
  FUZZ_REQUIRE(object && json_is_object(object.get()));
  return object;
}

std::optional<std::string> string_member(json_t* object, const char* name) {
  json_t* value = json_object_get(object, name);
  if (value == nullptr) return std::nullopt;
  FUZZ_REQUIRE(json_is_string(value));
  return std::string(json_string_value(value), json_string_length(value));
}

void check_accepted(const std::string& token, const Identity& identity, const AuthOptions& options) {
  FUZZ_REQUIRE(!identity.user.empty() && identity.user.size() <= kMaxUserIdBytes);
  FUZZ_REQUIRE(!identity.user.starts_with(kGuestIdPrefix) && !identity.user.starts_with(kPluginIdPrefix));
  FUZZ_REQUIRE(!identity.anonymous && !identity.name.empty());

  const size_t first = token.find('.');
  FUZZ_REQUIRE(first != std::string::npos);
  const size_t second = token.find('.', first + 1);
  FUZZ_REQUIRE(second != std::string::npos && token.find('.', second + 1) == std::string::npos);
  Json header = segment_object(std::string_view(token).substr(0, first));
  Json claims = segment_object(std::string_view(token).substr(first + 1, second - first - 1));

  FUZZ_REQUIRE(string_member(header.get(), "alg") == "HS256");
  FUZZ_REQUIRE(json_object_get(header.get(), "crit") == nullptr);
  FUZZ_REQUIRE(string_member(claims.get(), "sub") == identity.user);
  const auto name = string_member(claims.get(), "name");
  FUZZ_REQUIRE(identity.name == (name && !name->empty() ? *name : identity.user));
  FUZZ_REQUIRE(identity.email == string_member(claims.get(), "email").value_or(""));
  if (json_t* exp = json_object_get(claims.get(), "exp")) {
    FUZZ_REQUIRE(json_is_number(exp) && static_cast<double>(kNow) < json_number_value(exp));
  }
  if (json_t* nbf = json_object_get(claims.get(), "nbf")) {
    FUZZ_REQUIRE(json_is_number(nbf) && json_number_value(nbf) <= static_cast<double>(kNow));
  }
  if (!options.jwt_issuer.empty()) FUZZ_REQUIRE(string_member(claims.get(), "iss") == options.jwt_issuer);
}

void check_refused(const Error& error) {
  if (!documented(error.message)) std::fprintf(stderr, "undocumented reason: %s\n", error.message.c_str());
  FUZZ_REQUIRE(error.code == close_code::kUnauthorized);
  FUZZ_REQUIRE(documented(error.message) && error.message.size() <= kMaxAuthReasonBytes);
}

}  // namespace
}  // namespace partyline::signaling

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace partyline::signaling;
  if (size == 0) return 0;
  const AuthOptions options{kSecret, (data[0] & 1) != 0 ? kIssuer : "", true};
  std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string token = rest;
  if ((data[0] & 2) != 0) {
    const size_t newline = rest.find('\n');
    if (newline == std::string::npos) return 0;
    token = sign(rest.substr(0, newline), rest.substr(newline + 1));
  }
  const QueryParameters query{{"token", token}, {"name", "ignored-when-a-token-is-given"}};
  auto result = authenticate(query, options, kNow);
  if (result) {
    check_accepted(token, *result, options);
  } else {
    check_refused(result.error());
  }
  return 0;
}
