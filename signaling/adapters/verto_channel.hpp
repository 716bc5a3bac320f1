// Seed 004's verto channel client (docs/compat.md, "Seed 004"): a
// WireFormat for the subset of FreeSWITCH's verto JSON-RPC 2.0 the seed's
// client speaks: `login` as "<client>@<channel>" with the channel's
// password, `verto.subscribe` to the channel's events, `verto.broadcast`
// (presence, published by the clients) delivered as `verto.event`,
// `verto.info` messages between clients (the seed's peer-to-peer signal
// channel), `echo` pings, and `verto.punt` when a newer login of the same
// client, or an operator, ends the connection.
//
// On the core: a channel is a room whose token is its password; the
// session identifies in-band (WireFormat::identifies_in_band) as the guest
// "<client>@<channel>" shown as "<client>", then joins the room
// signaling-only; a broadcast is the native `message` to the line, a
// verto.info the native `message` to one client's user, so every sender
// shown (`userid`, `from`) is the server's.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "signaling/wire_format.hpp"

namespace partyline::signaling {

class VertoChannelFormat final : public WireFormat {
 public:
  // A client id: 1 to 27 letters, digits, '.', '_', '-' (with '@' and a
  // channel id of at most 36 it stays a guest name of at most 64).
  static bool is_client_id(std::string_view id);

  bool resumable() const override { return false; }
  bool one_connection_per_user() const override { return true; }
  bool client_keepalives() const override { return false; }
  bool identifies_in_band() const override { return true; }
  void start(const HandshakeState& state, TextSink& out) override;
  DecodedText decode(std::string_view text, TextSink& out) override;
  void login_result(const Status& result, TextSink& out) override;
  void keepalive_ack(const std::string& transaction, TextSink& out) override;
  void success(const std::string& transaction, const std::string& request, const json_t* fields,
               TextSink& out) override;
  void error(const std::optional<std::string>& transaction, const std::optional<std::string>& request,
             const Error& error, TextSink& out) override;
  void event(const json_t* event, TextSink& out) override;
  void own_response(const std::string& transaction, const std::string& request, const json_t* fields,
                    const Error* error, TextSink& out) override;
  void closing(uint16_t code, std::string_view reason, TextSink& out) override;

 private:
  // A client request awaiting its native response (or its refusal): its
  // JSON-RPC id and method, and what its answer needs.
  struct Pending {
    core::JsonPtr id;
    std::string method;    // empty for a refusal
    int rpc_code = 0;      // a refusal's JSON-RPC error code
    core::JsonPtr params;  // echo: what to send back; subscribe: the channels asked for
    std::string to;        // verto.info: the client it is for
  };
  // An occupant of the channel, as verto.info finds a client by its id.
  struct Member {
    std::string session;
    std::string user;
    std::string client;  // its display name
  };
  struct Login {
    core::JsonPtr id;
    std::string client, channel, password, sessid;
  };

  // One client text as one ClientMessage (none for the client's answers
  // to the server's requests); a login also fills decoded.login.
  std::optional<ClientMessage> translate(std::string_view text, DecodedText& decoded);
  ClientMessage login(const json_t* id, const json_t* params, DecodedText& decoded);
  ClientMessage broadcast(const json_t* id, const json_t* params);
  ClientMessage info(const json_t* id, const json_t* params);
  // A refusal answered with `rpc_code`; `http_code` is what the session counts.
  ClientMessage refusal(const json_t* id, int http_code, int rpc_code, const std::string& reason);
  // A native request for the client's `method`; `pending` says what its answer needs.
  ClientMessage native(const char* name, core::JsonPtr fields, Pending pending);
  void subscription_result(const Pending& pending, bool subscribe, TextSink& out);
  // The server's own JSON-RPC request (an event) and its answers to the client's.
  void server_request(const char* method, core::JsonPtr params, TextSink& out);
  static void result(const json_t* id, core::JsonPtr result, TextSink& out);
  static void rpc_error(const json_t* id, int code, const std::string& message, TextSink& out);
  void deliver_event(const json_t* event_data, const std::string& client, const std::string& sessid, TextSink& out);

  std::optional<Login> login_;  // the login being checked, then the one that holds
  bool logged_in_ = false;
  bool subscribed_ = false;
  std::vector<Member> members_;  // the channel's occupants, from `occupants`
  std::unordered_map<std::string, Pending> pending_;  // by transaction
  uint64_t counter_ = 0;
  uint64_t server_ids_ = 0;
};

}  // namespace partyline::signaling
