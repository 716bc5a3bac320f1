// Builders for the events of docs/protocol.md, so each event's shape is
// written in one place.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/runtime/json.hpp"
#include "core/lines/line_store.hpp"
#include "ice/peer_transport.hpp"
#include "rtp/result.hpp"

namespace partyline::signaling::events {

// {"event": name}
core::JsonPtr event(const char* name);
// {"type": type, "sdp": sdp}
core::JsonPtr jsep(const char* type, const std::string& sdp);
// ice_candidate with a candidate line, or with null (end of candidates).
// `mid`: the m-line carrying the BUNDLE transport (the client's first), as
// sdpMid, with sdpMLineIndex 0.
core::JsonPtr ice_candidate(const std::string* candidate, const std::string& mid);
// The mid of an SDP's first m-line (nullopt: none, or the SDP is malformed).
std::optional<std::string> first_mid(std::string_view sdp);
core::JsonPtr webrtc_state(const char* state, const Error* error);
// The protocol's name of a transport state ("checking", ..., "closed");
// null for kNew, which is never sent.
const char* webrtc_state_name(ice::TransportState state);
core::JsonPtr error(const Error& error);
// {"event": name, "call_id": ..., "line_id": ...}
core::JsonPtr call_event(const char* name, const core::Invitation& call);
// {"user": ..., "name": ...}
core::JsonPtr user(const std::string& user, const std::string& name);
// {"user": ..., "name": ..., "session": ...}: a party as the server knows
// it (the `from` of relays, the answering callee, the caller).
core::JsonPtr party(const std::string& user, const std::string& name, const std::string& session);

}  // namespace partyline::signaling::events
