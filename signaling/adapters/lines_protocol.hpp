// Seed 003's lines protocol (docs/compat.md, "Seed 003"): a WireFormat for
// `/signaling/v1?token=&force=`, a SIP-phone-style client with numbered
// lines, transactions acknowledged by `ack`, and call events with SIP codes.
// Its calls land on the native core: an outgoing call is the native
// `outgoing_call` with a paired offer (the caller's own m-lines carry the
// callee's media, since the client never renegotiates), an incoming call
// shows the server's `media_offer` (the callee only answers), and media
// goes through the SFU: a one-to-one call is a two-occupant line.
//
// It holds no call state of the core's: what it keeps is what translating
// needs, i.e. which native call and line its client's line 0 stands for,
// what the client calls it (its own call_id when it placed the call), the
// caller's SDP answer until the callee accepts (the seed's `accepted`
// carries both), and whether the other party was seen in the line (its
// leaving is the client's `hangup`).
//   lines_protocol.cpp         framing, handshake, requests, responses
//   lines_protocol_events.cpp  native events -> call events; call ends
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "signaling/auth.hpp"
#include "signaling/wire_format.hpp"

namespace partyline::signaling {

class LinesProtocolFormat final : public WireFormat {
 public:
  explicit LinesProtocolFormat(const Identity& identity);

  // A user id of digits only (1 to 15) is a registered number.
  static bool is_number(std::string_view user);

  bool resumable() const override { return false; }
  bool one_connection_per_user() const override { return true; }
  void start(const HandshakeState& state, TextSink& out) override;
  DecodedText decode(std::string_view text, TextSink& out) override;
  void keepalive_ack(const std::string& transaction, TextSink& out) override;
  void success(const std::string& transaction, const std::string& request, const json_t* fields,
               TextSink& out) override;
  void error(const std::optional<std::string>& transaction, const std::optional<std::string>& request,
             const Error& error, TextSink& out) override;
  void event(const json_t* event, TextSink& out) override;
  void own_response(const std::string& transaction, const std::string& request, const json_t* fields,
                    const Error* error, TextSink& out) override;

 private:
  // The call on line 0 (the only line that carries calls).
  struct Call {
    bool outgoing = true;
    std::string client_call_id;  // what the client names it: its own (outgoing), the native one (incoming)
    std::string native_call_id;  // empty until the outgoing_call response
    std::string line_id;
    bool answered = false;       // the callee accepted
    bool ringing_seen = false;   // `ringing` came before the outgoing_call response
    std::optional<std::string> held_answer;  // the caller's SDP answer, until the callee accepted
    bool other_seen = false;     // the other party was an occupant of the line
    std::string offer_transaction;  // incoming: the own media_offer awaiting its offer
    std::string number, display_name;  // incoming: the caller, for incoming_call
  };
  // A client request awaiting its native response.
  struct Pending {
    std::string request;  // the client's name for it
    std::optional<int64_t> line;
    int hangup_code = 0;  // hangup: the code its events carry
    std::string call_id;  // hangup: the call its events name
  };

  // lines_protocol.cpp
  ClientMessage translate(const json_t* message, const std::string& transaction, std::optional<int64_t> line);
  ClientMessage outgoing_call(const json_t* message, const std::string& transaction);
  ClientMessage accept(const json_t* message, const std::string& transaction);
  ClientMessage hangup(const json_t* message, const std::string& transaction);
  Request native(const std::string& name, const std::string& transaction, core::JsonPtr fields, Pending pending);
  void ack(const std::string& transaction, const std::optional<int64_t>& line, TextSink& out);
  // After a hangup's ack: `hangingup` and `hangup` with its code.
  void hung_up(const Pending& pending, TextSink& out);

  // lines_protocol_events.cpp
  void calling(TextSink& out);
  void answer_call(TextSink& out);  // `accepted` once the callee accepted and the answer is there
  void show_incoming(const json_t* fields, TextSink& out);
  void show_occupants(const json_t* line, TextSink& out);
  // The call is over for a reason the client did not ask for: `hangup` with
  // a SIP code, and the session leaves the line (or drops its offer).
  void call_ended(int code, const std::string& reason, TextSink& out);
  void line_event(const char* name, TextSink& out, core::JsonPtr fields = nullptr);
  bool is_our_call(const json_t* event) const;

  bool registered_ = false;
  std::string session_id_;  // ours, to tell the other occupants from us
  std::optional<Call> call_;
  std::unordered_map<std::string, Pending> pending_;  // by transaction
};

}  // namespace partyline::signaling
