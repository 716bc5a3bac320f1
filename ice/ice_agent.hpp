// IceAgent: one libnice agent with one stream of one component (BUNDLE and
// rtcp-mux), full ICE, trickle, consent freshness, UDP only. The IceLink of
// the default mode, where every participant has its own sockets.
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
#include "ice/ice_link.hpp"
#include "ice/send_result.hpp"
#include "rtp/result.hpp"

namespace partyline::ice {

class IceAgent final : public IceLink {
 public:
  static Result<std::unique_ptr<IceAgent>> create(GMainContext* context, const IceConfig& config,
                                                  Callbacks callbacks);
  ~IceAgent();
  IceAgent(const IceAgent&) = delete;
  IceAgent& operator=(const IceAgent&) = delete;

  const std::string& local_ufrag() const override { return local_ufrag_; }
  const std::string& local_pwd() const override { return local_pwd_; }

  Status start_gathering() override;
  // Starts checks with the candidates known so far (including queued ones).
  Status set_remote_credentials(const std::string& ufrag, const std::string& pwd) override;
  Result<CandidateOutcome> add_remote_candidate(std::string_view candidate) override;
  void end_of_remote_candidates() override;

  bool has_selected_pair() const override { return has_selected_pair_; }
  // True while media goes straight to the selected pair's socket
  // (DirectUdpPath) rather than through nice_agent_send (relayed pairs).
  bool sends_directly() const { return direct_path_.has_value(); }
  IceState state() const override { return state_; }
  SendResult send(std::span<const uint8_t> datagram) override;
  // Stops checks and releases TURN allocations; no more callbacks.
  void close() override;

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
