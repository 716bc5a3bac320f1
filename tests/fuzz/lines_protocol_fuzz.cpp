// Seed 003's lines protocol on arbitrary client text (signaling/adapters/):
// the text through a LinesProtocolFormat (one of its texts is one
// message), every native request it makes answered with a success and
// with an error, the text read as a native event (twice: an incoming call
// makes an own request), and every own request answered with the text as
// its fields. Checks: decode gives exactly one message; a refusal has a
// message and a code; a request has a native name, the client's
// transaction and an object; everything written is one JSON object with a
// `response`, `handshake` or `event`; own requests have native names and
// own transactions.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "signaling/adapters/lines_protocol.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace partyline::signaling {
namespace {

struct Sink final : TextSink {
  std::vector<std::string> texts;
  void send_text(std::string_view text) override { texts.emplace_back(text); }
};

void require_messages(const Sink& sink) {
  for (const std::string& text : sink.texts) {
    auto object = core::parse_json_object(text);
    FUZZ_REQUIRE(object.ok());
    const json_t* value = object->get();
    FUZZ_REQUIRE(json_object_get(value, "response") != nullptr || json_object_get(value, "handshake") != nullptr ||
                 json_object_get(value, "event") != nullptr);
  }
}

void answer_own(LinesProtocolFormat& format, const json_t* fields, Sink& sink) {
  for (int round = 0; round < 4 && format.has_own_requests(); ++round) {
    for (const Request& request : format.take_own_requests()) {
      FUZZ_REQUIRE(!request.name.empty() && request.transaction.rfind("\x01own-", 0) == 0);
      FUZZ_REQUIRE(json_is_object(request.message.get()));
      format.own_response(request.transaction, request.name, fields, nullptr, sink);
      const Error gone = make_error(error_code::kNotFound, "gone");
      format.own_response(request.transaction, request.name, nullptr, &gone, sink);
    }
  }
}

void check(std::string_view text) {
  LinesProtocolFormat format(Identity{"1001", "Alice", "", false});
  Sink sink;
  HandshakeState state;
  state.session_id = "11111111-2222-4333-8444-555555555555";
  state.keepalive_interval_ms = 30000;
  format.start(state, sink);
  DecodedText decoded = format.decode(text, sink);
  FUZZ_REQUIRE(decoded.messages.size() == 1);
  const ClientMessage& message = decoded.messages.front();
  if (const auto* request = std::get_if<Request>(&message)) {
    FUZZ_REQUIRE(!request->name.empty() && !request->transaction.empty());
    FUZZ_REQUIRE(json_is_object(request->message.get()));
    core::JsonPtr fields = core::parse_json_object(text).ok() ? core::parse_json_object(text).value()
                                                               : core::adopt_json(json_object());
    format.success(request->transaction, request->name, fields.get(), sink);
    format.error(request->transaction, request->name, make_error(error_code::kNotFound, "gone"), sink);
  } else if (const auto* refusal = std::get_if<MessageError>(&message)) {
    FUZZ_REQUIRE(!refusal->error.message.empty() && refusal->error.code >= 400);
    format.error(refusal->transaction, refusal->request, refusal->error, sink);
  } else {
    FUZZ_REQUIRE(!std::get<KeepaliveMessage>(message).transaction.empty());
    format.keepalive_ack(std::get<KeepaliveMessage>(message).transaction, sink);
  }
  if (auto event = core::parse_json_object(text)) {
    format.event(event->get(), sink);
    answer_own(format, event->get(), sink);
    format.event(event->get(), sink);
    answer_own(format, event->get(), sink);
  }
  require_messages(sink);
}

}  // namespace
}  // namespace partyline::signaling

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  partyline::signaling::check(partyline::fuzz::as_text(data, size));
  return 0;
}
