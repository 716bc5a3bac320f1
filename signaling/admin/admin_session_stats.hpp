// A PeerConnection's figures as the admin API shows them in a session's
// detail (docs/admin-api.md, GET /admin/v1/sessions/{id}: `transport` and
// `streams`).
#pragma once

#include "core/runtime/json.hpp"
#include "core/session/peer_connection.hpp"

namespace partyline::signaling::admin {

// {"transport": {...}, "streams": {"published": [...], "received": [...]}}
// merged into `session` (the session's JSON object).
void add_peer_stats(json_t* session, const core::PeerConnectionStats& stats);

}  // namespace partyline::signaling::admin
