// PeerConnectionHandle: how the control plane (signaling) drives a
// PeerConnection that lives on a worker thread. Every call is posted to the
// worker; every result and event is posted back to the caller's loop, so
// neither side ever locks the other.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/runtime/event_loop.hpp"
#include "core/session/peer_connection.hpp"
#include "rtp/result.hpp"

namespace partyline::core {

class PeerConnectionHandle {
 public:
  // Events, delivered on `reply_loop`; never after close().
  struct Events {
    std::function<void(std::string candidate)> on_local_candidate;
    std::function<void()> on_end_of_candidates;
    std::function<void(ice::TransportState state, std::optional<Error> error)> on_state;
    // Line participants: LineMedia::on_audio_level. Unset, the worker
    // neither measures nor posts levels.
    std::function<void(uint8_t level)> on_audio_level;
  };

  // `worker_index`: which of settings.fabric's routers is `worker`'s.
  static std::shared_ptr<PeerConnectionHandle> create(EventLoop& worker, size_t worker_index, EventLoop& reply_loop,
                                                      const PeerConnectionSettings& settings,
                                                      std::string log_context, Events events);
  ~PeerConnectionHandle();
  PeerConnectionHandle(const PeerConnectionHandle&) = delete;
  PeerConnectionHandle& operator=(const PeerConnectionHandle&) = delete;

  void negotiate(std::string offer_sdp, MediaRole role, std::function<void(Result<Negotiation>)> on_answer,
                 MediaHandlerFactory factory = nullptr);
  // See PeerConnection::offer_first, accept_first_answer and pair_streams.
  void offer_first(std::vector<rtp::MediaKind> kinds, std::function<void(Result<std::string>)> on_offer);
  void accept_first_answer(std::string answer_sdp, std::function<void(Result<Negotiation>)> on_done);
  void pair_streams(std::vector<LegRequest> streams);
  // See PeerConnection::offer_streams and apply_answer.
  void offer_streams(std::vector<LegRequest> streams, std::function<void(Result<std::string>)> on_offer);
  void apply_answer(std::string answer_sdp, std::function<void(Result<std::vector<UnreceivedStream>>)> on_done);
  // See PeerConnection::answer_offer. `on_answer` is not called when the
  // PeerConnection is closed by the time the worker gets to it.
  void answer_offer(std::string offer_sdp, std::function<void(Result<Negotiation>)> on_answer);
  void add_remote_candidate(std::string candidate, std::function<void(Result<bool>)> on_done);
  void end_of_remote_candidates();
  // A copy of the PeerConnection's figures, delivered on the reply loop;
  // nullopt when it is closed by the time the worker gets to it.
  void stats(std::function<void(std::optional<PeerConnectionStats>)> on_stats);
  // See PeerConnection::set_forwarding.
  void set_forwarding(rtp::MediaKind kind, bool forwarding);
  // See PeerConnection::set_max_height.
  void set_max_height(std::string stream_id, std::string track_id, std::optional<uint32_t> max_height);
  // See PeerConnection::set_video_from.
  void set_video_from(std::optional<std::vector<std::string>> publishers);
  // Closes the transport (DTLS close_notify) and destroys the PeerConnection
  // on its worker. Idempotent. A task posted to the worker after close()
  // runs after the PeerConnection is gone.
  void close();

 private:
  // Owned jointly by the handle and the tasks in flight; its PeerConnection
  // is only touched on the worker.
  struct Shared;
  struct ConstructionTag {};

 public:
  PeerConnectionHandle(ConstructionTag, EventLoop& worker, EventLoop& reply_loop, std::shared_ptr<Shared> shared);

 private:
  // Runs `task` on the worker with the live PeerConnection (skipped once closed).
  void on_worker(std::function<void(PeerConnection&)> task);

  EventLoop& worker_;
  EventLoop& reply_loop_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace partyline::core
