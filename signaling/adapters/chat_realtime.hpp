// Seed 001's chat-room realtime endpoint (docs/compat.md, "Seed 001"): a
// WireFormat for `GET <prefix><chatId>` (e.g. /api/chat/realtime/{chatId}),
// whose clients run a mesh call among the members of a chat room by
// broadcasting (or directing, with `to`) signaling packets that the server
// stamps with the sender's account (`senderAccountId`, `senderInfo`), in
// WebSocketPacket framing: {"type": ..., "data": ...}.
//
// On the core: the chat is a line (a room, or any line: its members are the
// chat's), membership is checked at the upgrade (403, see SignalingServer),
// the session joins the line signaling-only at start, a packet is the native
// `message` (to the line, or to one user's sessions), and the `occupants`
// events become the welcome packet and the join and leave notices. Native
// clients in the same line are participants like any.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "signaling/wire_format.hpp"

namespace partyline::signaling {

class ChatRealtimeFormat final : public WireFormat {
 public:
  // `wall_clock_ms` stamps the packets' timestamps (injectable for tests);
  // a relayed packet's data longer than `max_signal_bytes` serialized is
  // refused (413), like a native `signal`.
  ChatRealtimeFormat(std::string chat_id, size_t max_signal_bytes,
                     std::function<int64_t()> wall_clock_ms);

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
  // A participant as the seed's senderInfo shows an account.
  struct Account {
    std::string id;
    std::string nick;
  };

  // Welcome (`userId` is ours) or a notice (`userId` came or went: `event`).
  void send_room_packet(const std::string& user, const char* notice, const std::string& message, TextSink& out);
  core::JsonPtr participants_json() const;
  void relay_to_client(const json_t* event, TextSink& out);
  std::string timestamp() const;

  std::string chat_id_;
  std::string session_id_;
  size_t max_signal_bytes_;
  std::function<int64_t()> wall_clock_ms_;
  bool welcomed_ = false;
  std::vector<Account> participants_;  // one per account, in the order they came in
  uint64_t counter_ = 0;
};

}  // namespace partyline::signaling
