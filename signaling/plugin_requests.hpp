// PluginRequests: the protocol's plugin requests (docs/protocol.md,
// "Plugins"): attach, message, detach, and ice_trickle and hangup for a
// handle's PeerConnection, on a core::PluginHost. A plugin's events reach the
// handle's client as {"event": "plugin", "handle", "plugin", "data",
// "jsep"?}; its PeerConnection's as ice_candidate and webrtc_state with
// "handle". A session's handles are detached when it closes.
//
// Runs on the signaling loop thread, like every RequestHandler.
#pragma once

#include <memory>

#include "core/plugins/plugin_host.hpp"
#include "signaling/client_session.hpp"

namespace partyline::signaling {

class PluginRequests : public RequestHandler {
 public:
  explicit PluginRequests(core::PluginHost& host);

  void on_session_open(const std::shared_ptr<ClientSession>& session) override;
  void on_request(const std::shared_ptr<ClientSession>& session, Request request) override;
  void on_session_closed(const std::shared_ptr<ClientSession>& session) override;
  // A session's handles live on while it is detached; plugin events sent
  // meanwhile are lost (a plugin's own state request tells the current state).
  void on_session_detached(const std::shared_ptr<ClientSession>&) override {}
  void on_session_resumed(const std::shared_ptr<ClientSession>&) override {}

 private:
  Result<core::JsonPtr> attach(const std::shared_ptr<ClientSession>& session, const Request& request);
  Result<core::JsonPtr> message(ClientSession& session, const Request& request);
  Result<core::JsonPtr> detach(ClientSession& session, const Request& request);
  // ice_trickle answers once the candidate was applied (or ignored).
  void trickle(const std::shared_ptr<ClientSession>& session, const Request& request);
  Result<core::JsonPtr> hangup(ClientSession& session, const Request& request);

  core::PluginHost& host_;
};

}  // namespace partyline::signaling
