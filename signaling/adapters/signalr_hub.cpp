#include "signaling/adapters/signalr_hub.hpp"

#include "core/runtime/log.hpp"
#include "signaling/websocket_connection.hpp"

namespace partyline::signaling {

SignalrHubFormat::SignalrHubFormat(const Identity& identity, std::chrono::milliseconds ping_interval)
    : self_{"", identity.name, identity.email}, user_(identity.user), ping_interval_(ping_interval) {}

void SignalrHubFormat::start(const HandshakeState& state, TextSink&) {
  // Nothing is sent: a SignalR client speaks first (its handshake request).
  self_.session = state.session_id;
}

void SignalrHubFormat::send(std::string text, TextSink& out) {
  if (!handshake_done_) {
    waiting_.push_back(std::move(text));
    return;
  }
  out.send_text(text);
}

DecodedText SignalrHubFormat::decode(std::string_view text, TextSink& out) {
  DecodedText decoded;
  auto records = signalr::split_records(text);
  if (!records) {
    decoded.fatal = make_error(close_code::kProtocolError, records.error().message);
    return decoded;
  }
  for (std::string_view record : *records) {
    decoded.alive = true;  // any message: the client pings only when otherwise silent
    if (!handshake_done_) {
      if (Status handshake = signalr::check_handshake_request(record); !handshake) {
        out.send_text(signalr::handshake_response(handshake.error().message));
        decoded.fatal = make_error(close_code::kProtocolError, handshake.error().message);
        return decoded;
      }
      handshake_done_ = true;
      out.send_text(signalr::handshake_response(std::nullopt));
      for (const std::string& waiting : waiting_) out.send_text(waiting);
      waiting_.clear();
      continue;
    }
    auto message = signalr::parse_client_message(record);
    if (!message) {
      decoded.fatal = make_error(close_code::kProtocolError, message.error().message);
      return decoded;
    }
    switch (message->type) {
      case signalr::MessageType::kInvocation:
        decoded.messages.push_back(translate(*message));
        break;
      case signalr::MessageType::kStreamInvocation:
        decoded.messages.push_back(
            refusal({message->invocation_id, message->target, "", true}, std::nullopt,
                    make_error(error_code::kNotImplemented, "streaming invocations are not supported")));
        break;
      case signalr::MessageType::kClose:
        decoded.goodbye = true;
        return decoded;
      default:
        // Pings count as life; completions, stream items, cancellations, acks
        // and sequence messages answer nothing this hub sends.
        break;
    }
  }
  return decoded;
}

void SignalrHubFormat::keepalive_ack(const std::string&, TextSink&) {}

void SignalrHubFormat::answer(const Pending& pending, const std::string& dto, TextSink& out) {
  if (!pending.invocation_id) return;
  // A hub method's result is a string: the serialized HttpResponseDto.
  core::JsonPtr result = core::adopt_json(json_stringn(dto.data(), dto.size()));
  send(signalr::completion_result(*pending.invocation_id, result.get()), out);
}

void SignalrHubFormat::success(const std::string& transaction, const std::string&, const json_t* fields,
                               TextSink& out) {
  auto found = pending_.find(transaction);
  if (found == pending_.end()) return;
  const Pending pending = std::move(found->second);
  pending_.erase(found);
  if (pending.method == "requestNewPhoneLineConnection") {
    const char* line_id = json_string_value(json_object_get(fields, "line_id"));
    own_line_ = line_id != nullptr ? line_id : "";
  } else if (pending.method == "sendHangUpNotice") {
    own_line_.clear();
  } else if (pending.method == "sendSDP@server" && json_object_get(fields, "jsep") != nullptr) {
    // The server's answer to the client's offer: as the seed's clients get
    // every description, from the line's guid.
    server_description(json_object_get(fields, "jsep"), out);
  }
  answer(pending, signalr::http_response(200, reply_content(pending, fields)), out);
}

void SignalrHubFormat::error(const std::optional<std::string>& transaction, const std::optional<std::string>&,
                             const Error& error, TextSink& out) {
  if (!transaction) {
    PL_LOG(kDebug, "signalr") << "refused: " << error.code << " " << error.message;
    return;
  }
  auto found = pending_.find(*transaction);
  if (found == pending_.end()) return;
  const Pending pending = std::move(found->second);
  pending_.erase(found);
  if (pending.completion_error) {
    if (pending.invocation_id) send(signalr::completion_error(*pending.invocation_id, error.message), out);
    return;
  }
  answer(pending, signalr::http_error(error.code, error.message), out);
}

void SignalrHubFormat::event(const json_t* event, TextSink& out) { translate_event(event, out); }

void SignalrHubFormat::closing(uint16_t code, std::string_view reason, TextSink& out) {
  if (!handshake_done_) return;
  // The official client reports the close message's error as the reason.
  std::optional<std::string> error;
  if (code != close_code::kNormal) error = std::to_string(code) + " " + std::string(reason);
  out.send_text(signalr::close_message(error));
}

void SignalrHubFormat::tick(int64_t now_us, TextSink& out) {
  if (!handshake_done_) return;
  const int64_t interval_us = std::chrono::duration_cast<std::chrono::microseconds>(ping_interval_).count();
  if (now_us - last_ping_us_ < interval_us) return;
  last_ping_us_ = now_us;
  out.send_text(signalr::ping());
}

}  // namespace partyline::signaling
