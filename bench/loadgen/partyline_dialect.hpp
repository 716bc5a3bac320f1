// partyline's signaling (docs/protocol.md) for one loadgen participant:
// anonymous connect (?name=loadgen-N), handshake and keepalives, the first
// publisher's create_line, join with the line token and our offer, the
// answer in the `accepted` event, trickled candidates both ways, and the
// server's `update` offers answered with `update` requests.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "bench/loadgen/signaling_dialect.hpp"
#include "core/runtime/event_loop.hpp"
#include "core/runtime/json.hpp"

namespace partyline::loadgen {

class PartylineDialect final : public SignalingDialect {
 public:
  explicit PartylineDialect(ParticipantControl& participant) : participant_(participant) {}

  std::string websocket_path(const std::string& url_path) const override;
  bool ignorable(std::string_view text) const override;
  void on_open() override {}  // the server speaks first (handshake state)
  void on_message(const json_t* message) override;
  // partyline has one PeerConnection per participant: always Leg::kMain.
  void on_local_candidate(Leg leg, const std::string& candidate) override;
  void on_end_of_local_candidates(Leg leg) override;

 private:
  void on_handshake(const json_t* message);
  void on_response(const json_t* message);
  void on_event(const std::string& event, const json_t* message);
  void on_success(const std::string& request, const json_t* message);
  void join(bool room_exists);
  void send_join();
  // Adds "request" and a fresh "transaction" to `body` and sends it.
  void send_request(const char* name, core::JsonPtr body);
  void send_keepalive();
  // The step a refused request stands for.
  Step step_of(const std::string& request) const;

  ParticipantControl& participant_;
  std::map<std::string, std::string> pending_;  // transaction -> request name
  uint64_t next_transaction_ = 1;
  core::Timer keepalive_timer_;
  bool joining_ = false;
};

}  // namespace partyline::loadgen
