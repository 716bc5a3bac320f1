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
