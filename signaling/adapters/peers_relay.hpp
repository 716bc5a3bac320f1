// Seed 002's connected-peers relay (docs/compat.md, "Seed 002"): a
// WireFormat for a WebSocket on which every client is a peer of every other
// in one room, told the peers connected before it (`connected-peers`), and
// forwards offers, answers and ICE candidates to a peer by its id
// (`forward-offer` -> `offer` with `fromPeerId`). Clients run their own
// peer-to-peer connections; the server never reads what they forward.
//
// On the core: the room is a line (signaling.peers_room, an open room), the
// session joins it signaling-only at start, a peer id is a session id, and
// a forward is the native `signal` to that session, so the sender is the
// server's and a forward never leaves the room.
#pragma once

#include <string>
#include <unordered_map>

#include "signaling/wire_format.hpp"

namespace partyline::signaling {

class PeersRelayFormat final : public WireFormat {
 public:
  explicit PeersRelayFormat(std::string room);

  bool resumable() const override { return false; }
  bool client_keepalives() const override { return false; }
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
  // A forward awaiting the native signal's response.
  struct Forward {
    std::string action;
    std::string to_peer;
  };

  std::string room_;
  std::string session_id_;
  bool peers_sent_ = false;  // connected-peers went out (the first occupants event)
  uint64_t counter_ = 0;
  std::unordered_map<std::string, Forward> forwards_;  // by transaction
};

}  // namespace partyline::signaling
