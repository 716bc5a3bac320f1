// Seed 000's SignalR `WebRtcHub` (docs/compat.md): a WireFormat that speaks
// the ASP.NET Core SignalR JSON hub protocol (signalr_messages.hpp) and
// translates the hub's methods into native requests and the native events
// into the hub's client callbacks. It holds no call state: what it keeps
// is what translating needs (which hub method an invocation is answered
// for, its own connection's identity, and which occupants it last showed
// its client, to tell it who hung up).
//   signalr_hub.cpp            framing, handshake, pings, responses
//   signalr_hub_methods.cpp    hub methods -> native requests; replies
//   signalr_hub_callbacks.cpp  native events -> client callbacks
// A hub client's media is the seed's (peer to peer through sendSDP and
// sendICE), or, when it names the phone line's own guid as the remote
// party, the server's: its offer becomes a native `update` and the line's
// streams come back as server offers (docs/compat.md, "Media").
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "signaling/adapters/signalr_dtos.hpp"
#include "signaling/adapters/signalr_messages.hpp"
#include "signaling/auth.hpp"
#include "signaling/wire_format.hpp"

namespace partyline::signaling {

class SignalrHubFormat final : public WireFormat {
 public:
  // `ping_interval`: how often the server pings (the client's serverTimeout
  // must be longer; the official client's default is 30 s).
  SignalrHubFormat(const Identity& identity, std::chrono::milliseconds ping_interval);

  bool resumable() const override { return false; }
  void start(const HandshakeState& state, TextSink& out) override;
  DecodedText decode(std::string_view text, TextSink& out) override;
  void keepalive_ack(const std::string& transaction, TextSink& out) override;
  void success(const std::string& transaction, const std::string& request, const json_t* fields,
               TextSink& out) override;
  void error(const std::optional<std::string>& transaction, const std::optional<std::string>& request,
             const Error& error, TextSink& out) override;
  void event(const json_t* event, TextSink& out) override;
  void closing(uint16_t code, std::string_view reason, TextSink& out) override;
  void tick(int64_t now_us, TextSink& out) override;

 private:
  // An invocation awaiting its answer, by the native transaction it got.
  struct Pending {
    std::optional<std::string> invocation_id;  // none: non-blocking, no completion
    std::string method;
    std::string argument;  // the remoteGuid (or line guid) a reply may echo
    // Refused as ASP.NET Core refuses what it cannot invoke (an unknown
    // method, a wrong argument count): a completion error, not a DTO.
    bool completion_error = false;
  };

  // signalr_hub_methods.cpp. Every invocation becomes a native request or
  // a refusal, so the session rate-limits, counts and answers each alike.
  ClientMessage translate(const signalr::ClientMessage& invocation);
  // sendSDP / sendICE naming the phone line itself: media with the server.
  ClientMessage translate_for_server(const signalr::ClientMessage& invocation, Pending pending);
  std::string track(Pending pending);  // a new transaction for it
  MessageError refusal(Pending pending, const std::optional<std::string>& request, Error error);
  std::string reply_content(const Pending& pending, const json_t* fields) const;

  // signalr_hub_callbacks.cpp
  void translate_event(const json_t* event, TextSink& out);
  void relay_signal(const json_t* event, TextSink& out);
  void show_occupants(const json_t* line, TextSink& out);
  void callback(const char* target, const std::string& argument, TextSink& out);
  // receiveSDP / receiveICE from the server (Sender: the line's guid).
  void server_description(const json_t* jsep, TextSink& out);
  void server_candidate(const json_t* candidate, TextSink& out);

  // Before the client's handshake, texts wait (the handshake response must
  // come first).
  void send(std::string text, TextSink& out);
  void answer(const Pending& pending, const std::string& dto, TextSink& out);

  signalr::HubParty self_;
  std::string user_;
  std::chrono::milliseconds ping_interval_;
  bool handshake_done_ = false;
  std::vector<std::string> waiting_;
  int64_t last_ping_us_ = 0;
  uint64_t next_transaction_ = 0;
  std::unordered_map<std::string, Pending> pending_;  // by native transaction
  // The line this connection occupies (its requestNewPhoneLineConnection
  // answered, no sendHangUpNotice since): sendSDP/sendICE to its guid go to
  // the server.
  std::string own_line_;
  // The occupants (sessions) of the line the client was last shown.
  std::string shown_line_;
  std::set<std::string> shown_sessions_;
};

}  // namespace partyline::signaling
