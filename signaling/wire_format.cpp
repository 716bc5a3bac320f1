#include "signaling/wire_format.hpp"

#include "core/runtime/log.hpp"

namespace partyline::signaling {

void WireFormat::event_text(std::string_view text, TextSink& out) {
  json_error_t parse_error;
  core::JsonPtr event = core::adopt_json(json_loadb(text.data(), text.size(), 0, &parse_error));
  if (!event) {
    PL_LOG(kError, "server") << "event not translated: " << parse_error.text;
    return;
  }
  this->event(event.get(), out);
}

void WireFormat::closing(uint16_t, std::string_view, TextSink&) {}

void WireFormat::tick(int64_t, TextSink&) {}

void WireFormat::login_result(const Status&, TextSink&) {}

void WireFormat::own_response(const std::string&, const std::string& request, const json_t*, const Error* error,
                              TextSink&) {
  if (error != nullptr) {
    PL_LOG(kDebug, "server") << "own request '" << request << "' failed: " << error->message;
  }
}

std::string WireFormat::request_own(const std::string& name, core::JsonPtr message) {
  std::string transaction = "\x01own-" + std::to_string(++own_counter_);
  if (!message) message = core::adopt_json(json_object());
  json_object_set_new(message.get(), "request", json_string(name.c_str()));
  json_object_set_new(message.get(), "transaction", json_string(transaction.c_str()));
  own_requests_.push_back(Request{name, transaction, std::move(message)});
  return transaction;
}

void NativeWireFormat::start(const HandshakeState& state, TextSink& out) {
  out.send_text(format_handshake_state(state));
}

DecodedText NativeWireFormat::decode(std::string_view text, TextSink&) {
  DecodedText decoded;
  decoded.messages.push_back(parse_client_message(text));
  return decoded;
}

void NativeWireFormat::keepalive_ack(const std::string& transaction, TextSink& out) {
  out.send_text(format_keepalive_ack(transaction));
}

void NativeWireFormat::success(const std::string& transaction, const std::string& request, const json_t* fields,
                               TextSink& out) {
  out.send_text(format_success(transaction, request, fields));
}

void NativeWireFormat::error(const std::optional<std::string>& transaction, const std::optional<std::string>& request,
                             const Error& error, TextSink& out) {
  out.send_text(format_error(transaction, request, error));
}

void NativeWireFormat::event(const json_t* event, TextSink& out) {
  auto text = format_event(event);
  if (!text) {
    PL_LOG(kError, "server") << "event not sent: " << text.error().message;
    return;
  }
  out.send_text(*text);
}

void NativeWireFormat::event_text(std::string_view text, TextSink& out) { out.send_text(text); }

}  // namespace partyline::signaling
