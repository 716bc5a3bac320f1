// The seam between a participant (WebSocket, PeerConnection, media) and the
// server's signaling protocol. A dialect turns the participant's progress
// into the server's messages and the server's messages into calls on the
// participant. partyline's protocol is PartylineDialect; another server
// (Janus VideoRoom) is another dialect, with the rest of the tool unchanged.
#pragma once

#include <jansson.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "bench/loadgen/run_context.hpp"
#include "rtp/result.hpp"

namespace partyline::loadgen {

// A participant's PeerConnections. partyline needs one (kMain: it
// publishes and receives on it). A Janus participant has one per direction,
// as a Janus client does: a publisher publishes on kMain and receives the
// other publishers on kReceive, a subscriber uses kReceive only.
enum class Leg : uint8_t {
  kMain,     // we offer (ICE controlling); the server answers
  kReceive,  // the server offers (we are ICE controlled); we answer
};
inline constexpr size_t kLegCount = 2;

// Which publisher session each m-line (by mid) of a server offer carries,
// when the dialect learns it from signaling rather than from a=msid.
using StreamOwners = std::map<std::string, std::string>;

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
  // The id the server knows this participant by; for a publisher, the id
  // its streams are announced under (a=msid, or StreamOwners).
  virtual void set_session(std::string session_id) = 0;

  // Creates the PeerConnection of `leg`; `ready` runs once an offer or
  // answer can be made: at once when trickling, else when gathering is
  // done (with --no-trickle the candidates go inside the SDP and never
  // reach the dialect).
  virtual void prepare(Leg leg, std::function<void()> ready) = 0;
  // Our SDP offer on kMain (after prepare()).
  virtual Result<std::string> create_offer() = 0;
  // After our SDP went out: gathering starts (if it has not), trickled
  // candidates reach the dialect.
  virtual void start_gathering(Leg leg) = 0;
  // The server's answer to our kMain offer.
  virtual Status apply_answer(std::string_view sdp) = 0;
  // Answers a server offer on `leg` (and learns the streams it announces;
  // `owners`, when not empty, says whose stream each m-line is). On
  // kReceive this also sets the server's ICE/DTLS parameters from the offer.
  virtual Result<std::string> answer_offer(Leg leg, std::string_view sdp, const StreamOwners& owners) = 0;
  // The server applied our answer on `leg`: its streams now flow.
  virtual void offer_answered(Leg leg) = 0;
  virtual void add_remote_candidate(Leg leg, std::string_view candidate) = 0;
  virtual void end_of_remote_candidates(Leg leg) = 0;
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
  virtual void on_local_candidate(Leg leg, const std::string& candidate) = 0;
  virtual void on_end_of_local_candidates(Leg leg) = 0;
  // The run is ending: leave politely if the protocol wants it.
  virtual void leave() {}
};

// One dialect per --target; nullptr for an unknown name.
std::unique_ptr<SignalingDialect> make_dialect(std::string_view target, ParticipantControl& participant);

}  // namespace partyline::loadgen
