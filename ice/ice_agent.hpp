// IceAgent: one libnice agent with one stream of one component (BUNDLE and
// rtcp-mux), full ICE, trickle, consent freshness, UDP only.
//
// Runs on the GMainContext given to create(): every callback is invoked on
// that context's thread, and the agent must be destroyed there. Callbacks
// must not destroy the IceAgent.
#pragma once

#include <glib.h>
#include <nice/agent.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ice/candidate_filter.hpp"
#include "ice/direct_udp_path.hpp"
#include "ice/ice_config.hpp"
#include "ice/send_result.hpp"
#include "rtp/result.hpp"

namespace partyline::ice {

enum class IceState { kNew, kGathering, kConnecting, kConnected, kReady, kFailed };
std::string_view to_string(IceState state);

// What add_remote_candidate did with a candidate line.
struct CandidateOutcome {
  bool accepted = false;  // false: ignored, see `reason`
  bool queued = false;    // accepted but held until set_remote_credentials
  std::string reason;
};

class IceAgent {
 public:
  struct Callbacks {
    std::function<void(std::string candidate)> on_local_candidate;  // "candidate:..." (no "a=")
    std::function<void()> on_gathering_done;
    std::function<void(IceState state)> on_state;
    // The pair media now flows on, as candidate lines (local, remote).
    std::function<void(const std::string& local, const std::string& remote)> on_selected_pair;
    // A received datagram (STUN is consumed by libnice). The bytes live in a
    // buffer owned by the agent, valid during the call, writable in place.
    std::function<void(std::span<uint8_t> datagram)> on_receive;
  };

  static Result<std::unique_ptr<IceAgent>> create(GMainContext* context, const IceConfig& config,
                                                  Callbacks callbacks);
  ~IceAgent();
  IceAgent(const IceAgent&) = delete;
  IceAgent& operator=(const IceAgent&) = delete;

  const std::string& local_ufrag() const { return local_ufrag_; }
  const std::string& local_pwd() const { return local_pwd_; }

  Status start_gathering();
  // Starts checks with the candidates known so far (including queued ones).
  Status set_remote_credentials(const std::string& ufrag, const std::string& pwd);
  // `candidate` with or without the leading "a=" / "candidate:" is accepted.
  // Malformed lines are errors (400); filtered ones are accepted == false.
  Result<CandidateOutcome> add_remote_candidate(std::string_view candidate);
  void end_of_remote_candidates();

  bool has_selected_pair() const { return has_selected_pair_; }
  // True while media goes straight to the selected pair's socket
  // (DirectUdpPath) rather than through nice_agent_send (relayed pairs).
  bool sends_directly() const { return direct_path_.has_value(); }
  IceState state() const { return state_; }
  // Sends one datagram on the selected pair, never blocking: kNoPath without
  // one (or once closed), kSocketRefused when the socket refused it.
  SendResult send(std::span<const uint8_t> datagram);
  // Stops checks and releases TURN allocations; no more callbacks.
  void close();

  struct AgentDeleter {
    void operator()(NiceAgent* agent) const { g_object_unref(agent); }
  };

 private:
  struct ConstructionTag {};

 public:
  IceAgent(ConstructionTag, GMainContext* context, IceConfig config, CandidateFilter filter,
           Callbacks callbacks);

 private:
  Status configure();
  Status add_local_addresses();
  Status add_relays();
  void apply_remote_candidate(NiceCandidate* candidate);
  void emit_local_candidate(NiceCandidate* candidate);

  static void on_candidate_gathering_done(NiceAgent* agent, guint stream_id, gpointer self);
  static void on_new_candidate(NiceAgent* agent, NiceCandidate* candidate, gpointer self);
  static void on_component_state_changed(NiceAgent* agent, guint stream_id, guint component_id,
                                         guint state, gpointer self);
  static void on_new_selected_pair(NiceAgent* agent, guint stream_id, guint component_id,
                                   NiceCandidate* local, NiceCandidate* remote, gpointer self);
  static void on_receive(NiceAgent* agent, guint stream_id, guint component_id, guint length,
                         gchar* data, gpointer self);

  struct CandidateDeleter {
    void operator()(NiceCandidate* candidate) const { nice_candidate_free(candidate); }
  };
  using CandidateHandle = std::unique_ptr<NiceCandidate, CandidateDeleter>;

  GMainContext* context_;
  IceConfig config_;
  CandidateFilter filter_;
  Callbacks callbacks_;
  std::unique_ptr<NiceAgent, AgentDeleter> agent_;
  guint stream_id_ = 0;
  std::string local_ufrag_;
  std::string local_pwd_;
  bool gathering_started_ = false;
  bool remote_credentials_set_ = false;
  bool has_selected_pair_ = false;
  bool closed_ = false;
  IceState state_ = IceState::kNew;
  std::vector<CandidateHandle> early_candidates_;  // before remote credentials
  std::vector<uint8_t> receive_buffer_;
  std::optional<DirectUdpPath> direct_path_;  // only while has_selected_pair_ and not failed
};

}  // namespace partyline::ice
