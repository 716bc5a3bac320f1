// Seed 001's, 002's and 004's room adapters (signaling/adapters/
// chat_realtime*, peers_relay*, verto_channel*) on arbitrary text: the input
// as one client text through a ChatRealtimeFormat, a PeersRelayFormat and a
// VertoChannelFormat (logged in first), each native request answered with
// a success and an error, then the input read as a native event (an
// occupants list, a relayed message or signal) and the own join refused.
// Checks: at most one message per text (a ping is answered by the format
// itself); a refusal has a message and a 4xx code; a request is the native
// `message` or `signal` into the adapter's own line, never naming a sender;
// everything written is one JSON object with a string `type` (verto: a
// JSON-RPC 2.0 object); a relayed packet's sender is the event's `from`,
// never a field of its data.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "signaling/adapters/chat_realtime.hpp"
#include "signaling/adapters/peers_relay.hpp"
#include "signaling/adapters/verto_channel.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace partyline::signaling {
namespace {

struct Sink final : TextSink {
  std::vector<std::string> texts;
  void send_text(std::string_view text) override { texts.emplace_back(text); }
};

const char* text_of(const json_t* object, const char* field) { return json_string_value(json_object_get(object, field)); }

// Every text is a packet with a type; relayed ones name the event's sender.
void require_packets(const Sink& sink, const json_t* event) {
  const char* from_user = text_of(json_object_get(event, "from"), "user");
  const char* from_session = text_of(json_object_get(event, "from"), "session");
  for (const std::string& text : sink.texts) {
    auto object = core::parse_json_object(text);
    FUZZ_REQUIRE(object.ok());
    const json_t* packet = object->get();
    const char* type = text_of(packet, "type");
    FUZZ_REQUIRE(type != nullptr);
    if (std::string_view(type) == "webrtc.signal") {
      const json_t* data = json_object_get(packet, "data");
      FUZZ_REQUIRE(from_user != nullptr && text_of(data, "senderAccountId") != nullptr &&
                   std::string_view(text_of(data, "senderAccountId")) == from_user);
      const char* info_id = text_of(json_object_get(data, "senderInfo"), "id");
      FUZZ_REQUIRE(info_id != nullptr && std::string_view(info_id) == from_user);
    }
    if (const char* peer = text_of(packet, "fromPeerId"); peer != nullptr) {
      FUZZ_REQUIRE(from_session != nullptr && std::string_view(peer) == from_session);
    }
  }
}

template <class Format>
void run(Format& format, std::string_view text, const char* line_id, const char* native_request) {
  Sink sink;
  HandshakeState state;
  state.session_id = "11111111-2222-4333-8444-555555555555";
  format.start(state, sink);
  for (const Request& own : format.take_own_requests()) FUZZ_REQUIRE(own.name == "join");
  DecodedText decoded = format.decode(text, sink);
  FUZZ_REQUIRE(decoded.messages.size() <= 1);
  for (const ClientMessage& message : decoded.messages) {
    if (const auto* request = std::get_if<Request>(&message)) {
      FUZZ_REQUIRE(request->name == native_request && !request->transaction.empty());
      const json_t* fields = request->message.get();
      FUZZ_REQUIRE(json_is_object(fields) && text_of(fields, "line_id") != nullptr &&
                   std::string_view(text_of(fields, "line_id")) == line_id);
      FUZZ_REQUIRE(json_object_get(fields, "from") == nullptr);
      format.success(request->transaction, request->name, nullptr, sink);
      format.error(request->transaction, request->name, make_error(error_code::kNotFound, "gone"), sink);
    } else {
      const auto* refusal = std::get_if<MessageError>(&message);
      FUZZ_REQUIRE(refusal != nullptr && !refusal->error.message.empty() && refusal->error.code >= 400 &&
                   refusal->error.code < 500);
      format.error(refusal->transaction, refusal->request, refusal->error, sink);
    }
  }
  require_packets(sink, nullptr);
  sink.texts.clear();
  if (auto event = core::parse_json_object(text)) {
    format.event(event->get(), sink);
    format.event(event->get(), sink);  // a second occupants list: notices instead of the welcome
    require_packets(sink, event->get());
  }
  const Error refused = make_error(error_code::kForbidden, "not a member");
  format.own_response("\x01own-1", "join", nullptr, &refused, sink);
  FUZZ_REQUIRE(format.take_close().has_value());
}

// The verto client logged in as ann@chan-1 with ben in the channel, then
// the input as a client text and as an event. Everything it writes is a
// JSON-RPC 2.0 object; a verto.event or verto.info names the event's sender.
void run_verto(std::string_view text) {
  VertoChannelFormat verto;
  Sink sink;
  verto.start(HandshakeState{}, sink);
  DecodedText login = verto.decode(R"({"jsonrpc":"2.0","id":1,"method":"login","params":{"login":"ann@chan-1","passwd":"pw"}})", sink);
  FUZZ_REQUIRE(login.login.has_value());
  verto.login_result({}, sink);
  for (const Request& own : verto.take_own_requests()) verto.own_response(own.transaction, own.name, nullptr, nullptr, sink);
  auto members = core::parse_json_object(R"({"event":"occupants","line":{"line_id":"chan-1","occupants":[
      {"session":"a","user":"verto:ann@chan-1","name":"ann"},{"session":"b","user":"verto:ben@chan-1","name":"ben"}]}})");
  verto.event(members->get(), sink);
  DecodedText decoded = verto.decode(text, sink);
  FUZZ_REQUIRE(decoded.messages.size() <= 1 && !decoded.login.has_value());
  for (const ClientMessage& message : decoded.messages) {
    if (const auto* request = std::get_if<Request>(&message)) {
      FUZZ_REQUIRE(request->name == "message" || request->name == "ping");
      FUZZ_REQUIRE(json_object_get(request->message.get(), "from") == nullptr);
      verto.success(request->transaction, request->name, nullptr, sink);
      verto.error(request->transaction, request->name, make_error(error_code::kNotFound, "gone"), sink);
    } else {
      const auto* refusal = std::get_if<MessageError>(&message);
      FUZZ_REQUIRE(refusal != nullptr && !refusal->error.message.empty());
      verto.error(refusal->transaction, refusal->request, refusal->error, sink);
    }
  }
  auto event = core::parse_json_object(text);
  if (event) verto.event(event->get(), sink);
  const char* from = event ? text_of(json_object_get(event->get(), "from"), "name") : nullptr;
  for (const std::string& written : sink.texts) {
    auto object = core::parse_json_object(written);
    FUZZ_REQUIRE(object.ok() && std::string_view(text_of(object->get(), "jsonrpc") ? text_of(object->get(), "jsonrpc") : "") == "2.0");
    const char* method = text_of(object->get(), "method");
    if (method != nullptr && std::string_view(method) == "verto.info") {
      const char* sender = text_of(json_object_get(json_object_get(object->get(), "params"), "msg"), "from");
      FUZZ_REQUIRE(from != nullptr && sender != nullptr && std::string_view(sender) == from);
    }
  }
}

void check(std::string_view text) {
  ChatRealtimeFormat chat("chat-1", 512, [] { return int64_t{1796637600123}; });
  run(chat, text, "chat-1", "message");
  PeersRelayFormat peers("peers");
  run(peers, text, "peers", "signal");
  run_verto(text);
}

}  // namespace
}  // namespace partyline::signaling

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  partyline::signaling::check(partyline::fuzz::as_text(data, size));
  return 0;
}
