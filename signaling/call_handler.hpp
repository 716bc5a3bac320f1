// CallHandler: the application behind the protocol. It answers the requests
// of docs/protocol.md (echo, ice_trickle, hangup) by driving one
// PeerConnection per client session on the media workers, and turns the
// PeerConnection's events into protocol events.
//
// Runs on the signaling loop thread, like every RequestHandler.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/event_loop.hpp"
#include "core/peer_connection.hpp"
#include "core/peer_connection_handle.hpp"
#include "core/worker_pool.hpp"
#include "signaling/client_session.hpp"

namespace partyline::signaling {

class CallHandler : public RequestHandler {
 public:
  // Candidates a client may trickle before its offer arrives.
  static constexpr size_t kMaxEarlyCandidates = 64;

  CallHandler(core::EventLoop& signaling_loop, core::WorkerPool& workers, core::PeerConnectionSettings settings);

  void on_session_open(const std::shared_ptr<ClientSession>& session) override;
  void on_request(const std::shared_ptr<ClientSession>& session, Request request) override;
  void on_session_closed(const std::shared_ptr<ClientSession>& session) override;

  // Closes every PeerConnection (server shutdown).
  void close_all();
  size_t open_peer_connections() const;

 private:
  // What one client session has going on.
  struct CallState {
    std::shared_ptr<core::PeerConnectionHandle> peer;
    bool peer_finished = false;                       // failed or closed: a new echo may start
    std::optional<std::string> answer_transaction;    // the echo request awaiting its answer
    std::vector<std::string> early_candidates;        // trickled before the offer
    bool early_end_of_candidates = false;
  };

  void handle_echo(const std::shared_ptr<ClientSession>& session, const Request& request);
  void handle_ice_trickle(const std::shared_ptr<ClientSession>& session, const Request& request);
  void handle_hangup(const std::shared_ptr<ClientSession>& session, const Request& request);

  core::PeerConnectionHandle::Events peer_events(const std::shared_ptr<ClientSession>& session);
  void on_peer_state(const std::weak_ptr<ClientSession>& weak, ice::TransportState state,
                     const std::optional<Error>& error);
  void close_peer(CallState& call, const std::shared_ptr<ClientSession>& session);

  core::EventLoop& loop_;
  core::WorkerPool& workers_;
  core::PeerConnectionSettings settings_;
  std::unordered_map<std::string, CallState> calls_;  // by session id
};

}  // namespace partyline::signaling
