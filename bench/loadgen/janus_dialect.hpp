// Janus 1.1's VideoRoom (--target janus) for one loadgen participant, over
// the Janus WebSocket API (janus_messages.hpp):
//
//   create a session, keep it alive (every 25 s; Janus drops it after 60 s)
//   publisher:  attach a handle; participant 0 first creates the room; join
//               as publisher, "publish" with our offer (Leg::kMain), apply
//               the answer; "webrtcup" marks it published for the others
//   everyone:   once every publisher is published or failed, attach a second
//               handle and subscribe to every other publisher in one
//               multistream subscription; Janus offers (Leg::kReceive), we
//               answer with "start"
//   both legs:  candidates trickled both ways ("trickle", "completed")
//
// A Janus client needs one PeerConnection per direction, so a publisher
// here has two; a partyline publisher has one. The counted packets are the
// same either way (each publisher's streams at every other participant).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bench/loadgen/janus_messages.hpp"
#include "bench/loadgen/signaling_dialect.hpp"
#include "core/runtime/event_loop.hpp"

namespace partyline::loadgen {

class JanusDialect final : public SignalingDialect {
 public:
  explicit JanusDialect(ParticipantControl& participant) : participant_(participant) {}

  std::string websocket_path(const std::string& url_path) const override { return url_path; }
  std::string websocket_subprotocol() const override { return janus::kSubprotocol; }
  bool ignorable(std::string_view text) const override;
  void on_open() override;
  void on_message(const json_t* message) override;
  void on_local_candidate(Leg leg, const std::string& candidate) override;
  void on_end_of_local_candidates(Leg leg) override;
  void leave() override;

 private:
  enum class Request : uint8_t {
    kCreateSession,
    kAttachPublisher,
    kAttachSubscriber,
    kCreateRoom,
    kJoinPublisher,
    kPublish,
    kSubscribe,
    kStart,
    kTrickle,
  };

  void on_reply(Request request, const janus::Message& message);
  void on_success(Request request, const janus::Message& message);
  void on_handle_event(const janus::Message& message);
  void on_trickle(const janus::Message& message);
  void join_as_publisher();
  void publish();
  void subscribe_when_published();
  void on_publishers_settled();
  void subscribe();
  void answer_subscription(std::string sdp, StreamOwners owners);
  // Sends a request (its "transaction" set) and remembers what it asked.
  void send(Request request, core::JsonPtr message);
  void send_to_plugin(Request request, uint64_t handle, core::JsonPtr body, const char* jsep_type = nullptr,
                      const std::string& sdp = {});
  std::string next_transaction();
  Leg leg_of(uint64_t handle) const;
  uint64_t handle_of(Leg leg) const;
  static Step step_of(Request request);
  static const char* name_of(Request request);

  ParticipantControl& participant_;
  std::map<std::string, Request> pending_;  // transaction -> what it asked
  uint64_t next_transaction_ = 1;
  uint64_t session_ = 0;
  uint64_t publisher_handle_ = 0;
  uint64_t subscriber_handle_ = 0;
  bool subscribing_ = false;
  bool receiving_prepared_ = false;
  std::vector<uint64_t> feeds_;  // the publishers we subscribe to
  core::Timer keepalive_timer_;
};

}  // namespace partyline::loadgen
