// A session whose WebSocket was lost, and its return (docs/protocol.md,
// "Resuming a session"). While it is detached nothing changes for anyone
// else: it stays an occupant, its PeerConnection keeps forwarding (consent
// freshness still ends it if the client is really gone), its invitations
// keep ringing. The events it misses meanwhile are dropped, not queued: on
// resume it gets the current state instead, which supersedes them.
#include "core/runtime/log.hpp"
#include "signaling/call_handler.hpp"
#include "signaling/protocol_events.hpp"

namespace partyline::signaling {

void CallHandler::on_session_detached(const std::shared_ptr<ClientSession>& session) {
  const SessionState* state = state_of(session->id());
  if (state == nullptr) return;
  PL_LOG(kInfo, session->log_context()) << "awaiting a resume"
                                        << (state->line_id.empty() ? "" : "; still in line " + state->line_id);
}

void CallHandler::on_session_resumed(const std::shared_ptr<ClientSession>& session) {
  SessionState* state = state_of(session->id());
  if (state == nullptr) return;
  // First where the session stands: in which line (it may have left one
  // meanwhile: kicked, its PeerConnection failed, the line closed).
  core::JsonPtr resumed = events::event("resumed");
  const core::Occupant* occupant = occupant_of(*state);
  json_object_set_new(resumed.get(), "line_id", occupant ? json_string(state->line_id.c_str()) : json_null());
  send_event(state->id, std::move(resumed));
  if (state->peer) send_event(state->id, events::webrtc_state(state->peer_state, nullptr));

  // Then what the session's own open would have sent: its lines' presence
  // and occupants (its own line among them: an occupant is a member).
  send_member_lines(*state);

  // Calls still ringing, for the user and from this session.
  for (const core::Invitation& call : lines_.invitations_for(state->user)) {
    core::JsonPtr incoming = events::call_event("incoming_call", call);
    json_object_set_new(incoming.get(), "caller", events::user(call.caller, call.caller_name).release());
    send_event(state->id, std::move(incoming));
  }
  for (const core::Invitation& call : lines_.invitations_from_session(state->id)) {
    core::JsonPtr ringing = events::call_event("ringing", call);
    json_object_set_new(ringing.get(), "user", json_string(call.callee.c_str()));
    send_event(state->id, std::move(ringing));
  }

  // The server's offer still awaiting its answer, as it was sent.
  if (state->peer && state->renegotiation.server_offer_out() && !state->server_offer_event.empty()) {
    send_text({state->id}, state->server_offer_event);
  }
  PL_LOG(kInfo, session->log_context()) << "resumed" << (occupant ? " in line " + state->line_id : "");
}

}  // namespace partyline::signaling
