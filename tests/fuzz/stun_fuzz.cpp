// parse_stun_message() on arbitrary bytes, then an IceLiteResponder given
// what parsed (single-port mode's first reader of datagrams from anyone).
// Checks that what the parser accepts stays inside the datagram and within
// RFC 5389's limits, that its attributes written again by StunWriter (signed
// and fingerprinted) read back equal and verify, and that every answer the
// responder writes is a well-formed, fingerprinted STUN response matching its
// verdict: a success signed with the local password naming the sender's
// address, or an error response with the verdict's code. The re-signed copy
// is also given to a responder whose credentials it matches, so the answered
// paths (selection, nomination, consent) run too.
#include <array>
#include <cstdint>
#include <string>

#include "rtp/stun/ice_lite_responder.hpp"
#include "rtp/stun/stun_message.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace partyline::rtp {
namespace {

constexpr std::string_view kKey = "fuzz-password-0123456789";

void check_view(const StunMessage& message, std::span<const uint8_t> input) {
  FUZZ_REQUIRE(message.bytes.data() == input.data() && message.bytes.size() == input.size());
  FUZZ_REQUIRE(message.method <= 0xFFF);
  if (message.username) {
    FUZZ_REQUIRE(fuzz::inside(*message.username, input));
    FUZZ_REQUIRE(message.username->size() <= kStunMaxUsername);
  }
  if (message.has_integrity()) {
    FUZZ_REQUIRE(message.integrity_offset >= kStunHeaderSize);
    FUZZ_REQUIRE(message.integrity_offset + 4 + kStunIntegritySize <= input.size());
  }
  if (message.error_code) FUZZ_REQUIRE(*message.error_code >= 300 && *message.error_code <= 699);
  if (message.unknown_required) FUZZ_REQUIRE(*message.unknown_required < 0x8000);
}

// The attributes partyline reads, written again, signed with kKey.
size_t rewrite(const StunMessage& message, std::span<uint8_t> out) {
  StunWriter writer(out, message.method, message.message_class, message.transaction_id);
  if (message.username) writer.add_string(stun_attribute::kUsername, *message.username);
  if (message.priority) writer.add_u32(stun_attribute::kPriority, *message.priority);
  if (message.use_candidate) writer.add_flag(stun_attribute::kUseCandidate);
  if (message.ice_controlling) writer.add_u64(stun_attribute::kIceControlling, *message.ice_controlling);
  if (message.ice_controlled) writer.add_u64(stun_attribute::kIceControlled, *message.ice_controlled);
  if (message.xor_mapped_address) writer.add_xor_mapped_address(*message.xor_mapped_address);
  if (message.error_code) writer.add_error_code(*message.error_code, "fuzz");
  if (message.unknown_required) writer.add_u32(*message.unknown_required, 0);
  writer.add_message_integrity(kKey);
  writer.add_fingerprint();
  FUZZ_REQUIRE(writer.ok());
  return writer.size();
}

void check_same_attributes(const StunMessage& a, const StunMessage& b) {
  FUZZ_REQUIRE(a.method == b.method && a.message_class == b.message_class);
  FUZZ_REQUIRE(a.transaction_id == b.transaction_id);
  FUZZ_REQUIRE(a.username == b.username && a.priority == b.priority);
  FUZZ_REQUIRE(a.use_candidate == b.use_candidate);
  FUZZ_REQUIRE(a.ice_controlling == b.ice_controlling && a.ice_controlled == b.ice_controlled);
  FUZZ_REQUIRE(a.xor_mapped_address == b.xor_mapped_address && a.error_code == b.error_code);
  FUZZ_REQUIRE(a.unknown_required == b.unknown_required);
}

void check_reply(IceLiteResponder& responder, const StunMessage& message, const TransportAddress& from,
                 int64_t now_us) {
  std::array<uint8_t, IceLiteResponder::kMaxResponseSize> response{};
  const auto reply = responder.on_message(message, from, now_us, response);
  using Verdict = IceLiteResponder::Verdict;
  if (reply.verdict == Verdict::kIgnored) {
    FUZZ_REQUIRE(reply.response_size == 0);
    FUZZ_REQUIRE(message.message_class != StunClass::kRequest);
    return;
  }
  FUZZ_REQUIRE(message.message_class == StunClass::kRequest);
  FUZZ_REQUIRE(reply.response_size > 0 && reply.response_size <= response.size());
  const auto answer = parse_stun_message(std::span<const uint8_t>(response.data(), reply.response_size));
  FUZZ_REQUIRE(answer.ok());
  FUZZ_REQUIRE(answer->has_fingerprint);
  FUZZ_REQUIRE(answer->transaction_id == message.transaction_id);
  if (reply.verdict == Verdict::kAnswered) {
    FUZZ_REQUIRE(answer->message_class == StunClass::kSuccess);
    FUZZ_REQUIRE(answer->xor_mapped_address == from);
    FUZZ_REQUIRE(stun_integrity_matches(*answer, kKey));
    FUZZ_REQUIRE(responder.selected().has_value() && responder.is_checked(from));
    FUZZ_REQUIRE(responder.consent_deadline_us().has_value());
  } else {
    FUZZ_REQUIRE(answer->message_class == StunClass::kError);
    FUZZ_REQUIRE(answer->error_code == reply.error_code);
    FUZZ_REQUIRE(reply.error_code == 400 || reply.error_code == 401 || reply.error_code == 420 ||
                 reply.error_code == 487);
  }
}

}  // namespace
}  // namespace partyline::rtp

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace partyline::rtp;
  const std::span<const uint8_t> input(data, size);
  const auto parsed = parse_stun_message(input);
  if (!parsed.ok()) {
    FUZZ_REQUIRE(!to_string(parsed.error()).empty());
    return 0;
  }
  check_view(*parsed, input);
  (void)stun_integrity_matches(*parsed, kKey);

  TransportAddress from;
  from.address = {127, 0, 0, 1};
  from.port = 5000;
  IceLiteResponder stranger("srv1", std::string(kKey));
  check_reply(stranger, *parsed, from, 0);

  std::array<uint8_t, 2048> copy{};
  const size_t copy_size = rewrite(*parsed, copy);
  const auto again = parse_stun_message(std::span<const uint8_t>(copy.data(), copy_size));
  FUZZ_REQUIRE(again.ok());
  FUZZ_REQUIRE(again->has_fingerprint);
  FUZZ_REQUIRE(stun_integrity_matches(*again, kKey));
  check_same_attributes(*parsed, *again);

  // A responder whose credentials the signed copy carries.
  const auto username = parsed->username ? split_ice_username(*parsed->username) : std::nullopt;
  IceLiteResponder addressed(username ? std::string(username->receiver) : "srv1", std::string(kKey));
  if (username && (size % 2) == 1) addressed.set_remote_ufrag(username->sender);
  check_reply(addressed, *again, from, 0);
  TransportAddress moved = from;
  moved.port = 5001;
  check_reply(addressed, *again, moved, 1'000'000);
  return 0;
}
