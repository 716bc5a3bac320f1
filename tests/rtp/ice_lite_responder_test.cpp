// The ICE-lite responder in virtual time: checks as a browser's controlling
// agent sends them, answered, refused or ignored; selection, nomination,
// address changes and consent.
#include "rtp/stun/ice_lite_responder.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace partyline::rtp {
namespace {

constexpr std::string_view kLocalUfrag = "srv1";
constexpr std::string_view kLocalPwd = "server-password-0123456789";
constexpr std::string_view kRemoteUfrag = "peer";
constexpr int64_t kSecond = 1'000'000;

TransportAddress address(uint8_t last, uint16_t port) {
  TransportAddress a;
  a.address = {127, 0, 0, last};
  a.port = port;
  return a;
}

struct Check {
  std::string username = std::string(kLocalUfrag) + ":" + std::string(kRemoteUfrag);
  std::string key = std::string(kLocalPwd);
  bool use_candidate = false;
  bool controlled = false;  // ICE-CONTROLLED instead of ICE-CONTROLLING
  bool with_username = true;
  bool with_integrity = true;
  uint16_t extra_attribute = 0;  // 0: none
  uint16_t method = kStunBindingMethod;
  StunClass message_class = StunClass::kRequest;
  uint8_t id = 1;
};

std::vector<uint8_t> build(const Check& check) {
  std::vector<uint8_t> bytes(256);
  StunTransactionId transaction{};
  transaction.fill(check.id);
  StunWriter writer(bytes, check.method, check.message_class, transaction);
  if (check.with_username) writer.add_string(stun_attribute::kUsername, check.username);
  writer.add_u32(stun_attribute::kPriority, 0x6e0001ff);
  writer.add_u64(check.controlled ? stun_attribute::kIceControlled : stun_attribute::kIceControlling, 42);
  if (check.use_candidate) writer.add_flag(stun_attribute::kUseCandidate);
  if (check.extra_attribute != 0) writer.add_u32(check.extra_attribute, 0);
  if (check.with_integrity) writer.add_message_integrity(check.key);
  writer.add_fingerprint();
  bytes.resize(writer.size());
  return bytes;
}

class IceLiteResponderTest : public ::testing::Test {
 protected:
  IceLiteResponder::Reply send(const Check& check, const TransportAddress& from, int64_t now_us) {
    const std::vector<uint8_t> bytes = build(check);
    const auto message = parse_stun_message(bytes);
    EXPECT_TRUE(message.ok());
    const auto reply = responder.on_message(*message, from, now_us, response);
    last_response = std::span<const uint8_t>(response.data(), reply.response_size);
    return reply;
  }

  IceLiteResponder responder{std::string(kLocalUfrag), std::string(kLocalPwd), 30 * kSecond};
  std::array<uint8_t, IceLiteResponder::kMaxResponseSize> response{};
  std::span<const uint8_t> last_response;
};

TEST_F(IceLiteResponderTest, AnswersAValidCheckWithTheMappedAddressSignedAndFingerprinted) {
  responder.set_remote_ufrag(kRemoteUfrag);
  const auto reply = send({.id = 7}, address(1, 5000), 0);
  EXPECT_EQ(reply.verdict, IceLiteResponder::Verdict::kAnswered);
  EXPECT_TRUE(reply.selected_changed);
  const auto answer = parse_stun_message(last_response);
  ASSERT_TRUE(answer.ok()) << to_string(answer.error());
  EXPECT_EQ(answer->message_class, StunClass::kSuccess);
  EXPECT_EQ(answer->method, kStunBindingMethod);
  StunTransactionId expected_id{};
  expected_id.fill(7);
  EXPECT_EQ(answer->transaction_id, expected_id);
  EXPECT_EQ(answer->xor_mapped_address, address(1, 5000));
  EXPECT_TRUE(answer->has_fingerprint);
  EXPECT_TRUE(stun_integrity_matches(*answer, kLocalPwd));
  EXPECT_EQ(responder.selected(), address(1, 5000));
  EXPECT_FALSE(responder.nominated());
  EXPECT_EQ(responder.checks_answered(), 1u);
}

TEST_F(IceLiteResponderTest, AnswersBeforeTheRemoteFragmentIsKnownButNotAfterWithAnother) {
  Check other;
  other.username = std::string(kLocalUfrag) + ":other";
  EXPECT_EQ(send(other, address(1, 5000), 0).verdict, IceLiteResponder::Verdict::kAnswered);
  responder.set_remote_ufrag(kRemoteUfrag);
  const auto reply = send(other, address(1, 5000), 1);
  EXPECT_EQ(reply.verdict, IceLiteResponder::Verdict::kRefused);
  EXPECT_EQ(reply.error_code, 401);
  EXPECT_EQ(send({}, address(1, 5000), 2).verdict, IceLiteResponder::Verdict::kAnswered);
}

TEST_F(IceLiteResponderTest, RefusesWithTheDocumentedCodes) {
  responder.set_remote_ufrag(kRemoteUfrag);
  struct Case {
    const char* what;
    Check check;
    uint16_t code;
    bool signed_answer;
  };
  Check wrong_key;
  wrong_key.key = "not the password";
  Check wrong_receiver;
  wrong_receiver.username = "srv2:peer";
  Check no_colon;
  no_colon.username = "srv1";
  Check no_username;
  no_username.with_username = false;
  Check no_integrity;
  no_integrity.with_integrity = false;
  Check unknown;
  unknown.extra_attribute = 0x0033;
  Check controlled;
  controlled.controlled = true;
  Check allocate;
  allocate.method = 0x003;
  const Case cases[] = {
      {"wrong password", wrong_key, 401, false},
      {"another server fragment", wrong_receiver, 401, false},
      {"username without colon", no_colon, 401, false},
      {"no USERNAME", no_username, 400, false},
      {"no MESSAGE-INTEGRITY", no_integrity, 400, false},
      {"unknown required attribute", unknown, 420, true},
      {"both controlled", controlled, 487, true},
      {"not a Binding", allocate, 400, false},
  };
  for (const Case& c : cases) {
    const auto reply = send(c.check, address(9, 9000), 0);
    EXPECT_EQ(reply.verdict, IceLiteResponder::Verdict::kRefused) << c.what;
    EXPECT_EQ(reply.error_code, c.code) << c.what;
    const auto answer = parse_stun_message(last_response);
    ASSERT_TRUE(answer.ok()) << c.what;
    EXPECT_EQ(answer->message_class, StunClass::kError) << c.what;
    EXPECT_EQ(answer->error_code, c.code) << c.what;
    EXPECT_TRUE(answer->has_fingerprint) << c.what;
    EXPECT_EQ(stun_integrity_matches(*answer, kLocalPwd), c.signed_answer) << c.what;
  }
  EXPECT_FALSE(responder.selected().has_value());
  EXPECT_FALSE(responder.is_checked(address(9, 9000)));
  EXPECT_EQ(responder.checks_refused(), std::size(cases));
  EXPECT_EQ(responder.checks_answered(), 0u);
}

TEST_F(IceLiteResponderTest, IgnoresIndicationsAndResponses) {
  Check indication;
  indication.message_class = StunClass::kIndication;
  Check success;
  success.message_class = StunClass::kSuccess;
  for (const Check& check : {indication, success}) {
    const auto reply = send(check, address(1, 5000), 0);
    EXPECT_EQ(reply.verdict, IceLiteResponder::Verdict::kIgnored);
    EXPECT_EQ(reply.response_size, 0u);
  }
  EXPECT_FALSE(responder.selected().has_value());
}

TEST_F(IceLiteResponderTest, NominationMovesTheSelectedAddressAndPlainChecksDoNot) {
  responder.set_remote_ufrag(kRemoteUfrag);
  EXPECT_TRUE(send({}, address(1, 5000), 0).selected_changed);          // first answered: selected
  EXPECT_FALSE(send({}, address(2, 6000), 1).selected_changed);         // another pair's check
  EXPECT_EQ(responder.selected(), address(1, 5000));
  EXPECT_TRUE(responder.is_checked(address(2, 6000)));
  EXPECT_TRUE(send({.use_candidate = true}, address(2, 6000), 2).selected_changed);  // nominated
  EXPECT_EQ(responder.selected(), address(2, 6000));
  EXPECT_TRUE(responder.nominated());
  EXPECT_FALSE(send({}, address(1, 5000), 3).selected_changed);
  EXPECT_EQ(responder.selected(), address(2, 6000));
  // The participant's address changes (a new network): its agent nominates the new pair.
  EXPECT_TRUE(send({.use_candidate = true}, address(3, 7000), 4).selected_changed);
  EXPECT_EQ(responder.selected(), address(3, 7000));
  EXPECT_FALSE(send({.use_candidate = true}, address(3, 7000), 5).selected_changed);
}

TEST_F(IceLiteResponderTest, ConsentLapsesThirtySecondsAfterTheSelectedAddressLastChecked) {
  responder.set_remote_ufrag(kRemoteUfrag);
  EXPECT_FALSE(responder.consent_deadline_us().has_value());
  EXPECT_FALSE(responder.consent_expired(100 * kSecond));
  send({.use_candidate = true}, address(1, 5000), 0);
  EXPECT_EQ(responder.consent_deadline_us(), 30 * kSecond);
  // Consent checks every 5 s (RFC 7675's interval) keep it.
  for (int64_t t = 5; t <= 60; t += 5) send({}, address(1, 5000), t * kSecond);
  EXPECT_EQ(responder.consent_deadline_us(), 90 * kSecond);
  // Checks from another address do not renew the selected one's consent.
  send({}, address(2, 6000), 80 * kSecond);
  EXPECT_FALSE(responder.consent_expired(90 * kSecond - 1));
  EXPECT_TRUE(responder.consent_expired(90 * kSecond));
  // Refused checks do not either.
  Check wrong_key;
  wrong_key.key = "x";
  send(wrong_key, address(1, 5000), 85 * kSecond);
  EXPECT_EQ(responder.consent_deadline_us(), 90 * kSecond);
}

TEST_F(IceLiteResponderTest, AnIceRestartForgetsCheckedAddressesButKeepsMediaFlowing) {
  responder.set_remote_ufrag(kRemoteUfrag);
  send({.use_candidate = true}, address(1, 5000), 0);
  send({}, address(2, 6000), 1);
  responder.set_local_credentials("srv9", "new-server-password-0123");
  responder.set_remote_ufrag("peer2");
  EXPECT_FALSE(responder.is_checked(address(2, 6000)));
  EXPECT_EQ(responder.selected(), address(1, 5000));
  // Old credentials are refused now; the new ones are answered.
  EXPECT_EQ(send({}, address(1, 5000), 2).error_code, 401);
  Check restarted;
  restarted.username = "srv9:peer2";
  restarted.key = "new-server-password-0123";
  restarted.use_candidate = true;
  EXPECT_EQ(send(restarted, address(4, 8000), 3).verdict, IceLiteResponder::Verdict::kAnswered);
  EXPECT_EQ(responder.selected(), address(4, 8000));
}

TEST_F(IceLiteResponderTest, RemembersTheMostRecentCheckedAddresses) {
  for (uint16_t i = 0; i < IceLiteResponder::kMaxCheckedAddresses + 2; ++i) {
    send({}, address(1, static_cast<uint16_t>(5000 + i)), i);
  }
  EXPECT_FALSE(responder.is_checked(address(1, 5000)));
  EXPECT_FALSE(responder.is_checked(address(1, 5001)));
  EXPECT_TRUE(responder.is_checked(address(1, 5002)));
  EXPECT_TRUE(responder.is_checked(address(1, 5009)));
}

TEST_F(IceLiteResponderTest, WritesNoAnswerIntoATooSmallBuffer) {
  const std::vector<uint8_t> bytes = build({});
  const auto message = parse_stun_message(bytes);
  ASSERT_TRUE(message.ok());
  std::array<uint8_t, 40> small{};
  const auto reply = responder.on_message(*message, address(1, 5000), 0, small);
  EXPECT_EQ(reply.verdict, IceLiteResponder::Verdict::kAnswered);
  EXPECT_EQ(reply.response_size, 0u);
}

}  // namespace
}  // namespace partyline::rtp
