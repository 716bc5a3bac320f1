// parse_client_message() on arbitrary text (what a WebSocket client sends).
// Checks: it never throws; a keepalive or request has a transaction within
// kMaxTransactionBytes (a request also a non-empty name and its object); a
// refusal is 400 or 413 and echoes only what fits the limit; and the
// responses the server builds from any of these are valid JSON objects.
#include <cstdint>
#include <string>
#include <variant>

#include "core/runtime/json.hpp"
#include "signaling/protocol.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace partyline::signaling {
namespace {

void require_json_object(const std::string& text) {
  auto parsed = core::parse_json_object(text);
  if (!parsed) std::fprintf(stderr, "not a JSON object: %s\n", text.c_str());
  FUZZ_REQUIRE(parsed.ok());
}

void check(const KeepaliveMessage& keepalive) {
  FUZZ_REQUIRE(keepalive.transaction.size() <= kMaxTransactionBytes);
  require_json_object(format_keepalive_ack(keepalive.transaction));
}

void check(const Request& request) {
  FUZZ_REQUIRE(!request.name.empty() && request.transaction.size() <= kMaxTransactionBytes);
  FUZZ_REQUIRE(request.message != nullptr && json_is_object(request.message.get()));
  require_json_object(format_success(request.transaction, request.name, nullptr));
  require_json_object(format_success(request.transaction, request.name, request.message.get()));
}

void check(const MessageError& refusal) {
  FUZZ_REQUIRE(refusal.error.code == error_code::kBadRequest || refusal.error.code == error_code::kTooLarge);
  FUZZ_REQUIRE(!refusal.error.message.empty());
  if (refusal.transaction) FUZZ_REQUIRE(refusal.transaction->size() <= kMaxTransactionBytes);
  require_json_object(format_error(refusal.transaction, refusal.request, refusal.error));
}

}  // namespace
}  // namespace partyline::signaling

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace partyline::signaling;
  ClientMessage message = parse_client_message(partyline::fuzz::as_text(data, size));
  std::visit([](const auto& parsed) { check(parsed); }, message);
  return 0;
}
