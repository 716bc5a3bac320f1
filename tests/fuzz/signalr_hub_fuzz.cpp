// Seed 000's SignalR hub on arbitrary client text (signaling/adapters/):
// split_records, check_handshake_request and parse_client_message on each
// record, then the whole text through a SignalrHubFormat that has already
// seen the handshake (so invocations are translated), every native request
// it makes answered with a success and with an error, and the text read as
// a native event for the callbacks. Checks: records tile the text between
// separators and are never empty; refusals are 400 with a message; parsed
// invocations keep their limits; every request has a unique transaction and
// a native name, every refusal a transaction; everything the hub writes is
// one or more records of JSON objects.
#include <cstdint>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "signaling/adapters/signalr_hub.hpp"
#include "signaling/adapters/signalr_messages.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace partyline::signaling {
namespace {

struct Sink final : TextSink {
  std::vector<std::string> texts;
  void send_text(std::string_view text) override { texts.emplace_back(text); }
};

// Every text the hub writes is whole records of JSON objects.
void require_records(const Sink& sink) {
  for (const std::string& text : sink.texts) {
    auto records = signalr::split_records(text);
    FUZZ_REQUIRE(records.ok());
    for (std::string_view record : *records) FUZZ_REQUIRE(core::parse_json_object(record).ok());
  }
}

void check_records(std::string_view text, std::span<const uint8_t> input) {
  auto records = signalr::split_records(text);
  if (!records) {
    FUZZ_REQUIRE(records.error().code == error_code::kBadRequest && !records.error().message.empty());
    return;
  }
  size_t total = 0;
  for (std::string_view record : *records) {
    FUZZ_REQUIRE(!record.empty() && record.find(signalr::kRecordSeparator) == std::string_view::npos);
    FUZZ_REQUIRE(fuzz::inside(record, input));
    total += record.size() + 1;
    if (Status handshake = signalr::check_handshake_request(record); !handshake) {
      FUZZ_REQUIRE(handshake.error().code == error_code::kBadRequest && !handshake.error().message.empty());
    }
    auto message = signalr::parse_client_message(record);
    if (!message) {
      FUZZ_REQUIRE(message.error().code == error_code::kBadRequest && !message.error().message.empty());
      continue;
    }
    if (message->type == signalr::MessageType::kInvocation || message->type == signalr::MessageType::kStreamInvocation) {
      FUZZ_REQUIRE(!message->target.empty() && message->target.size() <= signalr::kMaxTargetBytes);
      FUZZ_REQUIRE(!message->invocation_id || message->invocation_id->size() <= signalr::kMaxInvocationIdBytes);
      FUZZ_REQUIRE(json_is_array(message->arguments.get()));
    }
  }
  FUZZ_REQUIRE(total == text.size());
}

void check_hub(std::string_view text) {
  SignalrHubFormat hub(Identity{"alice", "Alice", "alice@example.org", false}, std::chrono::milliseconds(15000));
  Sink sink;
  HandshakeState state;
  state.session_id = "11111111-2222-4333-8444-555555555555";
  hub.start(state, sink);
  const std::string handshake = std::string(R"({"protocol":"json","version":1})") + signalr::kRecordSeparator;
  FUZZ_REQUIRE(hub.decode(handshake, sink).messages.empty());
  DecodedText decoded = hub.decode(text, sink);
  std::set<std::string> transactions;
  for (const ClientMessage& message : decoded.messages) {
    if (const auto* request = std::get_if<Request>(&message)) {
      FUZZ_REQUIRE(!request->name.empty() && transactions.insert(request->transaction).second);
      FUZZ_REQUIRE(json_is_object(request->message.get()));
      // An empty success, then (dropped: already answered) an error.
      core::JsonPtr fields = core::adopt_json(json_object());
      hub.success(request->transaction, request->name, fields.get(), sink);
      hub.error(request->transaction, request->name, make_error(error_code::kNotFound, "gone"), sink);
    } else if (const auto* refusal = std::get_if<MessageError>(&message)) {
      FUZZ_REQUIRE(refusal->transaction && transactions.insert(*refusal->transaction).second);
      FUZZ_REQUIRE(!refusal->error.message.empty());
      hub.error(refusal->transaction, refusal->request, refusal->error, sink);
    } else {
      FUZZ_REQUIRE(false);  // the hub makes no native keepalives
    }
  }
  // The same text as a native event: whatever it holds, the callbacks
  // written are records.
  if (auto event = core::parse_json_object(text)) hub.event(event->get(), sink);
  hub.tick(int64_t{1} << 40, sink);
  hub.closing(4004, "kicked", sink);
  require_records(sink);
}

}  // namespace
}  // namespace partyline::signaling

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  const std::string_view text = partyline::fuzz::as_text(data, size);
  partyline::signaling::check_records(text, input);
  partyline::signaling::check_hub(text);
  return 0;
}
