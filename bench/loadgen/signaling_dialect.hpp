// The seam between a participant (WebSocket, PeerConnection, media) and the
// server's signaling protocol. A dialect turns the participant's progress
// into the server's messages and the server's messages into calls on the
// participant. partyline's protocol is PartylineDialect; another server
// (Janus VideoRoom) is another dialect, with the rest of the tool unchanged.
#pragma once

#include <jansson.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "bench/loadgen/run_context.hpp"
#include "rtp/result.hpp"

namespace partyline::loadgen {

// What a dialect may ask of its participant. Every call is on the loop thread.
class ParticipantControl {
 public:
  virtual ~ParticipantControl() = default;
  virtual size_t index() const = 0;          // 0-based over the run; publishers first
  virtual bool is_publisher() const = 0;
  virtual bool creates_room() const = 0;     // the one participant that creates the room
  virtual RunContext& run() = 0;

  virtual void send_message(const json_t* message) = 0;
  // Progress, for reporting where a participant is stuck or failed.
  virtual void reached(Step step) = 0;
  virtual void fail(Step step, std::string reason) = 0;
  virtual void set_session(std::string session_id) = 0;

  // Creates the PeerConnection; `ready` runs once an offer can be made: at
  // once when trickling, else when gathering is done (with --no-trickle the
  // candidates go inside the offer and never reach the dialect).
  virtual void prepare(std::function<void()> ready) = 0;
  // Our SDP offer (after prepare()).
  virtual Result<std::string> create_offer() = 0;
  // After the offer went out: gathering starts (if it has not), trickled
  // candidates reach the dialect.
  virtual void start_gathering() = 0;
  virtual Status apply_answer(std::string_view sdp) = 0;
  // Answers a server offer (and learns the streams it announces).
  virtual Result<std::string> answer_offer(std::string_view sdp) = 0;
  // The server applied our answer: its streams now flow.
  virtual void offer_answered() = 0;
  virtual void add_remote_candidate(std::string_view candidate) = 0;
  virtual void end_of_remote_candidates() = 0;
};

class SignalingDialect {
 public:
  virtual ~SignalingDialect() = default;
  // The WebSocket path and query to open, from the --url path.
  virtual std::string websocket_path(const std::string& url_path) const = 0;
  virtual std::string websocket_subprotocol() const { return {}; }
  // True for a message the dialect never needs, judged from its raw text:
  // it is then not parsed (e.g. partyline's occupants events, whose size
  // grows with the room and which every occupant gets on every join).
  virtual bool ignorable(std::string_view text) const { return text.empty(); }
  virtual void on_open() = 0;
  virtual void on_message(const json_t* message) = 0;
  virtual void on_local_candidate(const std::string& candidate) = 0;
  virtual void on_end_of_local_candidates() = 0;
  // The run is ending: leave politely if the protocol wants it.
  virtual void leave() {}
};

// One dialect per --target; nullptr for an unknown name.
std::unique_ptr<SignalingDialect> make_dialect(std::string_view target, ParticipantControl& participant);

}  // namespace partyline::loadgen
