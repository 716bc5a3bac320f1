// One simulated participant: a WebSocket to the server (spoken through a
// SignalingDialect), one PeerConnection per Leg the dialect uses
// (ice::PeerTransport: libnice, GnuTLS DTLS, SRTP; the SDP from
// SdpNegotiator), and its media: a SyntheticPublisher when it publishes (on
// Leg::kMain), and a StreamReception for every publisher stream it receives
// (on any leg: the payload trailer names the publisher).
//
// Lives on the run's loop thread; every method is called there.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/loadgen/run_context.hpp"
#include "bench/loadgen/sdp_negotiator.hpp"
#include "bench/loadgen/signaling_dialect.hpp"
#include "bench/loadgen/stream_reception.hpp"
#include "bench/loadgen/synthetic_publisher.hpp"
#include "bench/loadgen/websocket_client.hpp"
#include "core/runtime/event_loop.hpp"
#include "ice/peer_transport.hpp"

namespace partyline::loadgen {

class Participant final : public ParticipantControl, private PacketSink {
 public:
  Participant(RunContext& run, size_t index, bool publisher);
  ~Participant() override;
  Participant(const Participant&) = delete;
  Participant& operator=(const Participant&) = delete;

  void start();
  // Sends the media due by `now_ns` (publishers only).
  void poll_media(uint64_t now_ns);
  // When poll_media() next has something to send; max when nothing is due.
  uint64_t next_media_due_ns() const;
  // The run is over: leave, close the WebSocket and the PeerConnection.
  // Nothing that happens afterwards counts as a failure.
  void close();

  bool ready() const { return ready_; }
  bool failed() const { return failure_step_.has_value(); }
  Step failure_step() const { return *failure_step_; }
  const std::string& failure_reason() const { return failure_reason_; }
  // Where it is now (for a participant that is neither ready nor failed).
  Step step() const;
  // Set by the run when the window starts: this participant's reception counts.
  void set_measured(bool measured) { measured_ = measured; }
  // Re-evaluates readiness (after a publisher it waited for failed).
  void recheck() { check_ready(); }
  bool measured() const { return measured_; }

  const SyntheticPublisher* publisher() const { return publisher_.get(); }
  // What it received of publisher `index`'s stream of `kind`.
  const StreamReception& reception(size_t publisher_index, StreamKind kind) const {
    return receptions_[publisher_index][static_cast<size_t>(kind)];
  }
  uint64_t received_packets() const { return received_packets_; }
  uint64_t unrecognized_packets() const { return unrecognized_packets_; }
  uint64_t transport_drops() const;

  // ParticipantControl (for the dialect).
  size_t index() const override { return index_; }
  bool is_publisher() const override { return is_publisher_; }
  bool creates_room() const override { return index_ == 0; }
  RunContext& run() override { return run_; }
  void send_message(const json_t* message) override;
  void reached(Step step) override;
  void fail(Step step, std::string reason) override;
  void set_session(std::string session_id) override;
  void prepare(Leg leg, std::function<void()> ready) override;
  Result<std::string> create_offer() override;
  void start_gathering(Leg leg) override;
  Status apply_answer(std::string_view sdp) override;
  Result<std::string> answer_offer(Leg leg, std::string_view sdp, const StreamOwners& owners) override;
  void offer_answered(Leg leg) override;
  void add_remote_candidate(Leg leg, std::string_view candidate) override;
  void end_of_remote_candidates(Leg leg) override;

 private:
  // One PeerConnection and its negotiation state.
  struct Connection {
    std::unique_ptr<ice::PeerTransport> transport;
    std::optional<SdpNegotiator> sdp;
    bool gathering = false;
    bool remote_set = false;     // the server's answer applied, or its offer answered
    bool secure = false;         // DTLS-SRTP done
    bool offer_pending = false;  // we answered a server offer; the server has not confirmed yet
    std::function<void()> on_gathered;           // --no-trickle: makes the SDP once gathering is done
    std::vector<std::string> local_candidates;  // --no-trickle: they go in the SDP
  };

  bool send_rtp(std::span<uint8_t> buffer, size_t length) override;
  Connection& leg(Leg which) { return legs_[static_cast<size_t>(which)]; }
  const Connection& leg(Leg which) const { return legs_[static_cast<size_t>(which)]; }
  SdpNegotiator& negotiator(Leg which);
  void on_local_candidate(Leg which, std::string candidate);
  void on_gathering_done(Leg which);
  void on_transport_state(Leg which, ice::TransportState state, const Error* error);
  void on_rtp(std::span<uint8_t> packet);
  void on_rtcp(std::span<uint8_t> compound);
  void on_websocket_closed(uint16_t code, const std::string& reason);
  void learn_streams(const ServerOfferAnswer& answer, const StreamOwners& owners);
  void check_ready();
  bool legs_ready() const;
  bool streams_complete() const;
  bool sending() const;

  RunContext& run_;
  size_t index_;
  bool is_publisher_;
  std::string session_id_;
  std::unique_ptr<SignalingDialect> dialect_;
  std::unique_ptr<WebSocketClient> websocket_;
  std::array<Connection, kLegCount> legs_;
  std::unique_ptr<SyntheticPublisher> publisher_;
  // [publisher index][kind]
  std::vector<std::array<StreamReception, kStreamKinds>> receptions_;
  std::bitset<128> rtx_payload_types_;

  Step step_ = Step::kConnect;
  bool ready_ = false;
  bool measured_ = false;
  bool closing_ = false;
  std::optional<Step> failure_step_;
  std::string failure_reason_;
  uint64_t received_packets_ = 0;
  uint64_t unrecognized_packets_ = 0;
  core::Timer cleanup_;  // closes transport and WebSocket after a failure
};

}  // namespace partyline::loadgen
