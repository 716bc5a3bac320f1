// authenticate(): every rule of docs/protocol.md "Identity", with tokens made
// by libjwt here (and alg "none" tokens crafted by hand, as an attacker would).
#include "signaling/auth.hpp"

#include <glib.h>
#include <gnutls/crypto.h>
#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "tests/signaling/test_clients.hpp"

namespace partyline::signaling {
namespace {

using testing::make_token;

constexpr int64_t kNow = 1763780000;
const std::string kSecret = "correct horse battery staple";

std::string base64url(const std::string& data) {
  gchar* encoded = g_base64_encode(reinterpret_cast<const guchar*>(data.data()), data.size());
  std::string text(encoded);
  g_free(encoded);
  for (auto& c : text) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!text.empty() && text.back() == '=') text.pop_back();
  return text;
}

// What libjwt would never sign for us: header {"alg":"none"}, `signature` appended as is.
std::string unsigned_token(const std::string& claims, const std::string& signature = "") {
  return base64url(R"({"alg":"none","typ":"JWT"})") + "." + base64url(claims) + "." + signature;
}

// Signed with HMAC-SHA256 and the secret whatever `header` claims, as libjwt
// would not do for an "alg" it spells differently.
std::string hmac_token(const std::string& header, const std::string& claims) {
  std::string signing_input = base64url(header) + "." + base64url(claims);
  std::string mac(32, '\0');
  if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, kSecret.data(), kSecret.size(), signing_input.data(), signing_input.size(),
                       mac.data()) != 0) {
    return "";
  }
  return signing_input + "." + base64url(mac);
}

std::string signed_token(const std::string& claims) { return make_token(claims, JWT_ALG_HS256, kSecret); }

// The payload of one valid token under the signature of another.
std::string tampered_token() {
  std::string genuine = signed_token(R"({"sub":"alice"})");
  std::string forged = signed_token(R"({"sub":"admin"})");
  size_t first_dot = genuine.find('.');
  size_t second_dot = genuine.find('.', first_dot + 1);
  size_t forged_first = forged.find('.');
  size_t forged_second = forged.find('.', forged_first + 1);
  return genuine.substr(0, first_dot + 1) + forged.substr(forged_first + 1, forged_second - forged_first - 1) +
         genuine.substr(second_dot);
}

AuthOptions with_secret(std::string issuer = "", bool anonymous = true) {
  return AuthOptions{kSecret, std::move(issuer), anonymous};
}

struct AuthCase {
  std::string label;
  QueryParameters query;
  AuthOptions options;
  // Success: the identity expected. Failure: a part of the reason.
  std::optional<Identity> identity;
  std::string reason;
};

// Test names instead of gtest's byte dump.
void PrintTo(const AuthCase& test, std::ostream* out) { *out << test.label; }

AuthCase accepted(std::string label, QueryParameters query, AuthOptions options, Identity identity) {
  return AuthCase{std::move(label), std::move(query), std::move(options), std::move(identity), ""};
}
AuthCase refused(std::string label, QueryParameters query, AuthOptions options, std::string reason) {
  return AuthCase{std::move(label), std::move(query), std::move(options), std::nullopt, std::move(reason)};
}

QueryParameters token(const std::string& value) { return {{"token", value}}; }
QueryParameters name(const std::string& value) { return {{"name", value}}; }

std::vector<AuthCase> token_cases() {
  const std::string expiry = std::to_string(kNow);
  return {
      accepted("valid_token", token(signed_token(R"({"sub":"alice","name":"Alice","email":"alice@example.org"})")),
               with_secret(), Identity{"alice", "Alice", "alice@example.org", false}),
      accepted("name_defaults_to_sub", token(signed_token(R"({"sub":"bob"})")), with_secret(),
               Identity{"bob", "bob", "", false}),
      accepted("sub_of_128_bytes", token(signed_token(R"({"sub":")" + std::string(128, 'u') + R"("})")),
               with_secret(), Identity{std::string(128, 'u'), std::string(128, 'u'), "", false}),
      accepted("exp_in_the_future", token(signed_token(R"({"sub":"alice","exp":)" + std::to_string(kNow + 1) + "}")),
               with_secret(), Identity{"alice", "alice", "", false}),
      accepted("nbf_now", token(signed_token(R"({"sub":"alice","nbf":)" + expiry + "}")), with_secret(),
               Identity{"alice", "alice", "", false}),
      accepted("issuer_matches", token(signed_token(R"({"sub":"alice","iss":"https://login.example.org"})")),
               with_secret("https://login.example.org"), Identity{"alice", "alice", "", false}),
      accepted("token_wins_over_name", {{"token", signed_token(R"({"sub":"alice"})")}, {"name", "mallory"}},
               with_secret(), Identity{"alice", "alice", "", false}),
      accepted("token_without_anonymous_access", token(signed_token(R"({"sub":"alice"})")),
               with_secret("", false), Identity{"alice", "alice", "", false}),

      refused("wrong_secret", token(make_token(R"({"sub":"alice"})", JWT_ALG_HS256, "another secret")),
              with_secret(), "token signature does not verify"),
      refused("tampered_payload", token(tampered_token()), with_secret(), "token signature does not verify"),
      refused("expired", token(signed_token(R"({"sub":"alice","exp":)" + std::to_string(kNow - 1) + "}")),
              with_secret(), "token expired"),
      refused("expires_now", token(signed_token(R"({"sub":"alice","exp":)" + expiry + "}")), with_secret(),
              "token expired"),
      refused("not_yet_valid", token(signed_token(R"({"sub":"alice","nbf":)" + std::to_string(kNow + 60) + "}")),
              with_secret(), "token not valid yet"),
      refused("exp_not_a_number", token(signed_token(R"({"sub":"alice","exp":"tomorrow"})")), with_secret(),
              "token claim 'exp' must be a number"),
      refused("alg_none", token(unsigned_token(R"({"sub":"alice"})")), with_secret(),
              "token algorithm must be HS256"),
      refused("alg_none_with_a_signature", token(unsigned_token(R"({"sub":"alice"})", "c2lnbmF0dXJl")),
              with_secret(), "token algorithm must be HS256"),
      accepted("hand_made_hs256", token(hmac_token(R"({"alg":"HS256"})", R"({"sub":"carol"})")), with_secret(),
               Identity{"carol", "carol", "", false}),
      refused("alg_hs256_in_lowercase_signed", token(hmac_token(R"({"alg":"hs256"})", R"({"sub":"carol"})")),
              with_secret(), "token algorithm must be HS256"),
      refused("alg_hs256_in_lowercase", token(base64url(R"({"alg":"hs256"})") + "." + base64url(R"({"sub":"a"})") + "."),
              with_secret(), "token algorithm must be HS256"),
      refused("hs512_with_the_secret", token(make_token(R"({"sub":"alice"})", JWT_ALG_HS512, kSecret)),
              with_secret(), "token algorithm must be HS256"),
      refused("hs384_with_the_secret", token(make_token(R"({"sub":"alice"})", JWT_ALG_HS384, kSecret)),
              with_secret(), "token algorithm must be HS256"),
      refused("missing_sub", token(signed_token(R"({"name":"Alice"})")), with_secret(), "token has no 'sub' claim"),
      refused("sub_not_a_string", token(signed_token(R"({"sub":42})")), with_secret(),
              "token claim 'sub' must be a string"),
      refused("sub_empty", token(signed_token(R"({"sub":""})")), with_secret(), "token claim 'sub' is empty"),
      refused("sub_over_128_bytes", token(signed_token(R"({"sub":")" + std::string(129, 'u') + R"("})")),
              with_secret(), "token claim 'sub' is longer than 128 bytes"),
      refused("name_not_a_string", token(signed_token(R"({"sub":"alice","name":["A"]})")), with_secret(),
              "token claim 'name' must be a string"),
      refused("issuer_mismatch", token(signed_token(R"({"sub":"alice","iss":"https://evil.example"})")),
              with_secret("https://login.example.org"), "token issuer does not match"),
      refused("issuer_missing", token(signed_token(R"({"sub":"alice"})")), with_secret("https://login.example.org"),
              "token has no 'iss' claim"),
      refused("no_secret_configured", token(signed_token(R"({"sub":"alice"})")), AuthOptions{},
              "tokens are not accepted: no secret configured"),
      refused("malformed", token("not-a-token"), with_secret(), "token is malformed"),
      refused("empty_token", token(""), with_secret(), "token is malformed"),
      refused("garbage_parts", token("a.b.c"), with_secret(), "token is malformed"),
      refused("token_too_long", token(std::string(kMaxTokenBytes + 1, 'a')), with_secret(),
              "token is longer than 8192 bytes"),
      refused("bad_token_with_a_good_name", {{"token", "not-a-token"}, {"name", "alice"}}, with_secret(),
              "token is malformed"),

      // The guests', plugins' and verto clients' id spaces are the server's: no token enters them.
      refused("sub_in_the_guest_space", token(signed_token(R"({"sub":"guest:alice"})")), with_secret(),
              "token claim 'sub' may not start with 'guest:'"),
      refused("sub_in_the_plugin_space", token(signed_token(R"({"sub":"plugin:recorder"})")), with_secret(),
              "token claim 'sub' may not start with 'plugin:'"),
      refused("sub_in_the_verto_space", token(signed_token(R"({"sub":"verto:ann@chan-1"})")), with_secret(),
              "token claim 'sub' may not start with 'verto:'"),
      accepted("sub_guest_without_the_colon", token(signed_token(R"({"sub":"guestbook"})")), with_secret(),
               Identity{"guestbook", "guestbook", "", false}),
      accepted("sub_with_guest_inside", token(signed_token(R"({"sub":"a:guest:b"})")), with_secret(),
               Identity{"a:guest:b", "a:guest:b", "", false}),

      // What libjwt lets through (check_token_json), signed with the secret.
      refused("sub_twice", token(hmac_token(R"({"alg":"HS256"})", R"({"sub":"alice","sub":"bob"})")), with_secret(),
              "token claims repeat a member"),
      refused("same_sub_twice", token(hmac_token(R"({"alg":"HS256"})", R"({"sub":"alice","sub":"alice"})")),
              with_secret(), "token claims repeat a member"),
      refused("alg_twice", token(hmac_token(R"({"alg":"HS256","alg":"HS256"})", R"({"sub":"alice"})")), with_secret(),
              "token header repeats a member"),
      refused("crit_naming_an_extension", token(hmac_token(R"({"alg":"HS256","crit":["b64"],"b64":false})",
                                                           R"({"sub":"alice"})")),
              with_secret(), "token header has 'crit'"),
      refused("crit_empty", token(hmac_token(R"({"alg":"HS256","crit":[]})", R"({"sub":"alice"})")), with_secret(),
              "token header has 'crit'"),
  };
}

std::vector<AuthCase> anonymous_cases() {
  return {
      accepted("anonymous_name", name("alice"), AuthOptions{}, Identity{"alice", "alice", "", true}),
      accepted("anonymous_all_allowed_characters", name("A.b_c-9@x"), AuthOptions{},
               Identity{"A.b_c-9@x", "A.b_c-9@x", "", true}),
      accepted("anonymous_64_characters", name(std::string(64, 'n')), AuthOptions{},
               Identity{std::string(64, 'n'), std::string(64, 'n'), "", true}),
      refused("anonymous_off", name("alice"), with_secret("", false), "anonymous access is off"),
      refused("anonymous_empty", name(""), AuthOptions{}, "name is empty"),
      refused("anonymous_65_characters", name(std::string(65, 'n')), AuthOptions{},
              "name is longer than 64 characters"),
      refused("anonymous_space", name("al ice"), AuthOptions{}, "name may only contain"),
      refused("anonymous_slash", name("al/ice"), AuthOptions{}, "name may only contain"),
      refused("anonymous_non_ascii", name("\xc3\xa9lan"), AuthOptions{}, "name may only contain"),
      refused("neither", {}, AuthOptions{}, "a token or a name is required"),
      refused("neither_anonymous_off", {{"other", "x"}}, with_secret("", false), "a token is required"),

      // With a secret, tokens may name any user: the guests get their own space.
      accepted("anonymous_beside_tokens", name("alice"), with_secret(), Identity{"guest:alice", "alice", "", true}),
      accepted("anonymous_64_characters_beside_tokens", name(std::string(64, 'n')), with_secret(),
               Identity{"guest:" + std::string(64, 'n'), std::string(64, 'n'), "", true}),
      refused("anonymous_colon", name("guest:alice"), with_secret(), "name may only contain"),

      // A guest's email: as unproven as its name, one address.
      accepted("anonymous_with_email", {{"name", "bob"}, {"email", "bob@example.org"}}, AuthOptions{},
               Identity{"bob", "bob", "bob@example.org", true}),
      refused("anonymous_email_without_at", {{"name", "bob"}, {"email", "bob.example.org"}}, AuthOptions{},
              "email must be one address"),
      refused("anonymous_email_two_ats", {{"name", "bob"}, {"email", "b@b@example.org"}}, AuthOptions{},
              "email must be one address"),
      refused("anonymous_email_at_the_end", {{"name", "bob"}, {"email", "bob@"}}, AuthOptions{},
              "email must be one address"),
      refused("anonymous_email_space", {{"name", "bob"}, {"email", "bob @example.org"}}, AuthOptions{},
              "email must be one address"),
      refused("anonymous_email_129_characters", {{"name", "bob"}, {"email", std::string(121, 'b') + "@example"}},
              AuthOptions{}, "email must be one address"),
  };
}

class AuthenticateTest : public ::testing::TestWithParam<AuthCase> {};

TEST_P(AuthenticateTest, FollowsTheIdentityRules) {
  const AuthCase& test = GetParam();
  auto identity = authenticate(test.query, test.options, kNow);
  if (test.identity) {
    ASSERT_TRUE(identity.ok()) << identity.error().message;
    EXPECT_EQ(identity->user, test.identity->user);
    EXPECT_EQ(identity->name, test.identity->name);
    EXPECT_EQ(identity->email, test.identity->email);
    EXPECT_EQ(identity->anonymous, test.identity->anonymous);
    return;
  }
  ASSERT_FALSE(identity.ok()) << "accepted as " << identity->user;
  EXPECT_EQ(identity.error().code, close_code::kUnauthorized);
  EXPECT_NE(identity.error().message.find(test.reason), std::string::npos) << identity.error().message;
  EXPECT_LE(identity.error().message.size(), kMaxAuthReasonBytes);
}

std::string case_label(const ::testing::TestParamInfo<AuthCase>& info) { return info.param.label; }

INSTANTIATE_TEST_SUITE_P(Token, AuthenticateTest, ::testing::ValuesIn(token_cases()), case_label);
INSTANTIATE_TEST_SUITE_P(Anonymous, AuthenticateTest, ::testing::ValuesIn(anonymous_cases()), case_label);

TEST(Authenticate, RefusalNeverEchoesTheClaims) {
  std::string sub(129, 's');
  auto refused = authenticate(token(signed_token(R"({"sub":")" + sub + R"("})")), with_secret(), kNow);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message.find(sub), std::string::npos);
  auto wrong_issuer = authenticate(token(signed_token(R"({"sub":"a","iss":"https://evil.example"})")),
                                   with_secret("https://login.example.org"), kNow);
  ASSERT_FALSE(wrong_issuer.ok());
  EXPECT_EQ(wrong_issuer.error().message.find("evil"), std::string::npos);
}

TEST(UserIds, GuestsHaveTheirOwnSpaceOnlyWhereTokensAreAccepted) {
  EXPECT_EQ(guest_user_id("alice", AuthOptions{}), "alice");
  EXPECT_EQ(guest_user_id("alice", with_secret()), "guest:alice");
  EXPECT_EQ(plugin_user_id("recorder"), "plugin:recorder");
  // The same name, anonymous and as a token's `sub`: two users.
  auto anonymous = authenticate(name("alice"), with_secret(), kNow);
  auto token_user = authenticate(token(signed_token(R"({"sub":"alice"})")), with_secret(), kNow);
  ASSERT_TRUE(anonymous.ok() && token_user.ok());
  EXPECT_NE(anonymous->user, token_user->user);
  EXPECT_TRUE(anonymous->anonymous);
  EXPECT_FALSE(token_user->anonymous);
}

struct TokenJsonCase {
  std::string label;
  std::string token;
  std::string reason;  // empty: accepted
};

void PrintTo(const TokenJsonCase& test, std::ostream* out) { *out << test.label; }

std::string raw_token(const std::string& header, const std::string& claims, const std::string& signature = "c2ln") {
  return base64url(header) + "." + base64url(claims) + "." + signature;
}

std::vector<TokenJsonCase> token_json_cases() {
  return {
      {"plain", raw_token(R"({"alg":"HS256","typ":"JWT"})", R"({"sub":"alice","exp":1})"), ""},
      {"no_signature", raw_token(R"({"alg":"HS256"})", R"({"sub":"alice"})", ""), ""},
      {"sub_twice", raw_token(R"({"alg":"HS256"})", R"({"sub":"alice","sub":"bob"})"), "token claims repeat a member"},
      {"other_claim_twice", raw_token(R"({"alg":"HS256"})", R"({"exp":1,"sub":"a","exp":2})"),
       "token claims repeat a member"},
      {"nested_twice", raw_token(R"({"alg":"HS256"})", R"({"sub":"a","x":{"k":1,"k":2}})"),
       "token claims repeat a member"},
      {"escaped_twice", raw_token(R"({"alg":"HS256"})", R"({"sub":"alice","sub":"bob"})"),
       "token claims repeat a member"},
      {"header_alg_twice", raw_token(R"({"alg":"none","alg":"HS256"})", R"({"sub":"a"})"),
       "token header repeats a member"},
      {"crit", raw_token(R"({"alg":"HS256","crit":["exp"]})", R"({"sub":"a"})"), "token header has 'crit'"},
      {"crit_null", raw_token(R"({"alg":"HS256","crit":null})", R"({"sub":"a"})"), "token header has 'crit'"},
      {"crit_in_the_claims_is_a_claim", raw_token(R"({"alg":"HS256"})", R"({"sub":"a","crit":["x"]})"), ""},
      {"header_not_an_object", raw_token(R"(["alg","HS256"])", R"({"sub":"a"})"), "token is malformed"},
      {"claims_not_an_object", raw_token(R"({"alg":"HS256"})", R"("alice")"), "token is malformed"},
      {"claims_not_json", raw_token(R"({"alg":"HS256"})", R"({"sub":)"), "token is malformed"},
      {"padding", base64url(R"({"alg":"HS256"})") + "=." + base64url(R"({"sub":"a"})") + ".c2ln", "token is malformed"},
      {"standard_alphabet", raw_token(R"({"alg":"HS256"})", R"({"sub":"a"})").replace(0, 1, "+"),
       "token is malformed"},
      {"one_character_group", "eyJhbGciOiJIUzI1NiJ9A." + base64url(R"({"sub":"a"})") + ".c2ln", "token is malformed"},
      {"two_segments", base64url(R"({"alg":"HS256"})") + "." + base64url(R"({"sub":"a"})"), "token is malformed"},
      {"four_segments", raw_token(R"({"alg":"HS256"})", R"({"sub":"a"})") + ".x", "token is malformed"},
      {"empty", "", "token is malformed"},
  };
}

class TokenJsonTest : public ::testing::TestWithParam<TokenJsonCase> {};

TEST_P(TokenJsonTest, RefusesDuplicatesAndCrit) {
  const TokenJsonCase& test = GetParam();
  Status status = check_token_json(test.token);
  if (test.reason.empty()) {
    EXPECT_TRUE(status.ok()) << status.error().message;
    return;
  }
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, close_code::kUnauthorized);
  EXPECT_NE(status.error().message.find(test.reason), std::string::npos) << status.error().message;
}

INSTANTIATE_TEST_SUITE_P(Cases, TokenJsonTest, ::testing::ValuesIn(token_json_cases()),
                         [](const ::testing::TestParamInfo<TokenJsonCase>& info) { return info.param.label; });

}  // namespace
}  // namespace partyline::signaling
